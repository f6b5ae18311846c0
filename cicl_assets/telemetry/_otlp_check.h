/* The first pass over an ExportTraceServiceRequest: the whole tree against the OTLP trace schema.
 *
 * It decides, before any row is produced, whether the compiled decoder may handle the request:
 *   CHECK_OK       well formed, and encoded the way the second pass reads it;
 *   CHECK_REJECT   the fallback decoder refuses it too (malformed wire data, invalid UTF-8, depth
 *                  past upb's limit, a bad id length or a missing time): it words the reject;
 *   CHECK_UNUSUAL  valid but spelled in a way only the full protobuf runtime interprets (groups,
 *                  a singular message field repeated, which protobuf merges, a oneof set twice,
 *                  string indexes, times past 2^63): the fallback decodes it.
 * So the second pass can assume every framing, length and string it meets was checked here. */
#ifndef CICL_OTLP_CHECK_H
#define CICL_OTLP_CHECK_H

#include "_otlp_wire.h"

enum { CHECK_OK = 0, CHECK_REJECT = 1, CHECK_UNUSUAL = 2 };
enum { M_RS, M_RES, M_ENT, M_SS, M_SCOPE, M_SPAN, M_EVENT, M_LINK, M_STATUS, M_KV, M_ANY, M_ARR, M_KVL };
enum { K_UNKNOWN, K_STR, K_BYTES, K_VARINT, K_F64, K_F32, K_MSG };

/* upb's recursion limit: a submessage deeper than this below the ResourceSpans is refused. */
#define MAX_DEPTH 100
/* Larger requests go to the fallback rather than risk 32-bit Arrow offsets. */
#define MAX_COMPILED_BYTES ((size_t)1 << 30)

/* A field's kind, its submessage and whether it is singular, and the wire type it must have (another
 * one makes it an unknown field: upb's rule). */
typedef struct {
    uint8_t kind, sub, singular, wire;
} Spec;

typedef struct {
    const uint8_t *base;
    const char *why;
    size_t at; /* byte offset the verdict refers to */
} Check;

#define S(k) {k, 0, 0, k == K_VARINT ? WT_VARINT : k == K_F64 ? WT_I64 : k == K_F32 ? WT_I32 : WT_LEN}
#define MSG(m) {K_MSG, m, 0, WT_LEN}
#define ONE(m) {K_MSG, m, 1, WT_LEN}
#define MAX_KNOWN 16

/* The OTLP trace schema, one row per message, by field number (0: an unknown field). */
static const Spec SPECS[M_KVL + 1][MAX_KNOWN + 1] = {
    [M_RS] = {[1] = ONE(M_RES), [2] = MSG(M_SS), [3] = S(K_STR)},
    [M_RES] = {[1] = MSG(M_KV), [2] = S(K_VARINT), [3] = MSG(M_ENT)},
    [M_ENT] = {[1] = S(K_STR), [2] = S(K_STR), [3] = S(K_STR), [4] = S(K_STR)},
    [M_SS] = {[1] = ONE(M_SCOPE), [2] = MSG(M_SPAN), [3] = S(K_STR)},
    [M_SCOPE] = {[1] = S(K_STR), [2] = S(K_STR), [3] = MSG(M_KV), [4] = S(K_VARINT)},
    [M_SPAN] = {[1] = S(K_BYTES), [2] = S(K_BYTES), [3] = S(K_STR), [4] = S(K_BYTES),
                [5] = S(K_STR), [6] = S(K_VARINT), [7] = S(K_F64), [8] = S(K_F64),
                [9] = MSG(M_KV), [10] = S(K_VARINT), [11] = MSG(M_EVENT), [12] = S(K_VARINT),
                [13] = MSG(M_LINK), [14] = S(K_VARINT), [15] = ONE(M_STATUS), [16] = S(K_F32)},
    [M_EVENT] = {[1] = S(K_F64), [2] = S(K_STR), [3] = MSG(M_KV), [4] = S(K_VARINT)},
    [M_LINK] = {[1] = S(K_BYTES), [2] = S(K_BYTES), [3] = S(K_STR), [4] = MSG(M_KV),
                [5] = S(K_VARINT), [6] = S(K_F32)},
    [M_STATUS] = {[2] = S(K_STR), [3] = S(K_VARINT)},
    [M_KV] = {[1] = S(K_STR), [2] = ONE(M_ANY), [3] = S(K_VARINT)},
    [M_ANY] = {[1] = S(K_STR), [2] = S(K_VARINT), [3] = S(K_VARINT), [4] = S(K_F64),
               [5] = MSG(M_ARR), [6] = MSG(M_KVL), [7] = S(K_BYTES), [8] = S(K_VARINT)},
    [M_ARR] = {[1] = MSG(M_ANY)},
    [M_KVL] = {[1] = MSG(M_KV)},
};

/* The spec of field n of msg; whether the field is known with its wire type. */
static inline const Spec *field_spec(int msg, const Field *f) {
    static const Spec unknown = {K_UNKNOWN, 0, 0, 0xFF};
    if (f->number > MAX_KNOWN) return &unknown;
    const Spec *s = &SPECS[msg][f->number];
    return s->kind != K_UNKNOWN && f->wire == s->wire ? s : &unknown;
}

static int verdict(Check *c, int status, const char *why, const uint8_t *at) {
    c->why = why;
    c->at = (size_t)(at - c->base);
    return status;
}

#define TIME_LIMIT ((uint64_t)1 << 63)

static int check_msg(Check *c, const uint8_t *p, const uint8_t *end, int msg, int depth) {
    uint32_t singular_seen = 0;
    int oneofs = 0;
    uint32_t oneof_last = 0;
    size_t ids[3] = {0, 0, 0};
    uint64_t t1 = 0, t2 = 0;
    const uint8_t *start = p;
    while (p < end) {
        const uint8_t *at = p;
        Field f;
        int r = wire_field(&p, end, &f);
        if (r == -2) return verdict(c, CHECK_UNUSUAL, "a group field", at);
        if (r < 0) return verdict(c, CHECK_REJECT, "malformed field", at);
        const Spec *s = field_spec(msg, &f);
        if (s->kind == K_UNKNOWN) continue;
        if (s->kind == K_STR && !utf8_valid(f.data, f.len))
            return verdict(c, CHECK_REJECT, "invalid UTF-8", at);
        if (s->kind == K_MSG) {
            if (depth + 1 > MAX_DEPTH) return verdict(c, CHECK_REJECT, "nested too deep", at);
            if (s->singular) {
                if (singular_seen & (1u << f.number))
                    return verdict(c, CHECK_UNUSUAL, "a message field repeated", at);
                singular_seen |= 1u << f.number;
            }
            int status = check_msg(c, f.data, f.data + f.len, s->sub, depth + 1);
            if (status != CHECK_OK) return status;
        }
        if (msg == M_SPAN) {
            if (f.number == 1) ids[0] = f.len;
            else if (f.number == 2) ids[1] = f.len;
            else if (f.number == 4) ids[2] = f.len;
            else if (f.number == 7) t1 = f.value;
            else if (f.number == 8) t2 = f.value;
        } else if (msg == M_LINK) {
            if (f.number == 1) ids[0] = f.len;
            else if (f.number == 2) ids[1] = f.len;
        } else if (msg == M_EVENT && f.number == 1) {
            t1 = f.value;
        } else if (msg == M_ANY) {
            oneofs++;
            oneof_last = f.number;
        }
    }
    if (msg == M_SPAN) {
        if (ids[0] != 16 || ids[1] != 8 || (ids[2] != 0 && ids[2] != 8))
            return verdict(c, CHECK_REJECT, "span id length", start);
        if (t1 == 0 || t2 == 0) return verdict(c, CHECK_REJECT, "span time missing", start);
        if (t1 >= TIME_LIMIT || t2 >= TIME_LIMIT)
            return verdict(c, CHECK_UNUSUAL, "span time past 2^63", start);
    } else if (msg == M_LINK) {
        if (ids[0] != 16 || ids[1] != 8) return verdict(c, CHECK_REJECT, "link id length", start);
    } else if (msg == M_EVENT) {
        if (t1 >= TIME_LIMIT) return verdict(c, CHECK_UNUSUAL, "event time past 2^63", start);
    } else if (msg == M_ANY) {
        if (oneofs > 1) return verdict(c, CHECK_UNUSUAL, "a value set twice", start);
        if (oneof_last == 8) return verdict(c, CHECK_UNUSUAL, "a string index", start);
    }
    return CHECK_OK;
}

/* The request level is framed by cicl's own splitter, not upb: its rules are those of
 * otlp_proto_split._fields (10-byte tags, no groups, field 0 refused). */
static int check_request(Check *c, const uint8_t *p, size_t size) {
    const uint8_t *end = p + size;
    c->base = p;
    c->why = NULL;
    c->at = 0;
    if (size > MAX_COMPILED_BYTES) return verdict(c, CHECK_UNUSUAL, "larger than 1 GiB", p);
    while (p < end) {
        const uint8_t *at = p;
        uint64_t tag, skip;
        int wide;
        if (wire_varint_wide(&p, end, &tag, &wide) < 0)
            return verdict(c, CHECK_REJECT, "malformed tag", at);
        /* the splitter reads a tag of up to 10 bytes, with every bit: only upb's spelling here */
        int long_tag = (p - at) > 5 || tag > 0xFFFFFFFFu;
        int wire = (int)(tag & 7);
        const uint8_t *data = p;
        switch (wire) {
        case WT_VARINT:
            if (wire_varint(&p, end, &skip) < 0) return verdict(c, CHECK_REJECT, "truncated", at);
            break;
        case WT_I64:
        case WT_I32:
            skip = wire == WT_I64 ? 8 : 4;
            if ((uint64_t)(end - p) < skip) return verdict(c, CHECK_REJECT, "truncated", at);
            p += skip;
            break;
        case WT_LEN:
            if (wire_varint_wide(&p, end, &skip, &wide) < 0 || wide || skip > (uint64_t)(end - p))
                return verdict(c, CHECK_REJECT, "truncated", at);
            data = p;
            p += skip;
            break;
        default:
            return verdict(c, CHECK_REJECT, "unsupported wire type", at);
        }
        if (long_tag) return verdict(c, CHECK_UNUSUAL, "an overlong tag", at);
        if ((tag >> 3) == 0) return verdict(c, CHECK_REJECT, "field number 0", at);
        if ((tag >> 3) != 1) continue;
        if (wire != WT_LEN) return verdict(c, CHECK_UNUSUAL, "resource_spans not a message", at);
        int status = check_msg(c, data, p, M_RS, 0);
        if (status != CHECK_OK) return status;
    }
    return CHECK_OK;
}

#endif
