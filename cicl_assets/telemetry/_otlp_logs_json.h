/* JSON text of OTLP values straight from the wire, byte for byte what orjson.dumps writes for
 * the values otlp_proto.natural gives: strings escaped as orjson escapes them (as _otlp_json.h
 * does), doubles in its shortest form, NaN and infinities as null, bytes as base64 text. An object
 * holding a key twice is written as sent and flagged: Python's dict would keep the first place
 * and the last value. Plain C. */
#ifndef CICL_OTLP_LOGS_JSON_H
#define CICL_OTLP_LOGS_JSON_H

#include "_otlp_batch.h"
#include "_otlp_json.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} KeyRef;

/* orjson's float form: shortest digits, fixed from 1e-5 to below 1e16 (with ".0" when whole),
 * else d[.ddd]e[+-]x. */
static int lj_double(Buf *b, double v) {
    if (!isfinite(v)) return PUT(b, "null");
    if (signbit(v) && buf_u8(b, '-') < 0) return -1;
    if (v == 0) return PUT(b, "0.0");
    return put_shortest(b, v, -5, 15, 1);
}

/* Bytes as base64 text, in quotes when `quoted` (a JSON string needs no escapes inside). */
static int lj_b64(Buf *b, const uint8_t *p, size_t n, int quoted) {
    if (buf_reserve(b, (n + 2) / 3 * 4 + 2) < 0) return -1;
    char *out = b->p + b->len;
    size_t o = 0;
    if (quoted) out[o++] = '"';
    for (size_t k = 0; k < n; k += 3) {
        uint32_t v = (uint32_t)p[k] << 16;
        if (k + 1 < n) v |= (uint32_t)p[k + 1] << 8;
        if (k + 2 < n) v |= p[k + 2];
        out[o++] = B64[v >> 18];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = k + 1 < n ? B64[v >> 6 & 63] : '=';
        out[o++] = k + 2 < n ? B64[v & 63] : '=';
    }
    if (quoted) out[o++] = '"';
    b->len += o;
    return 0;
}

/* The AnyValue in [p, end): which member is set (0: none) and that field. */
static int any_member(const uint8_t *p, const uint8_t *end, Field *value) {
    Field f;
    int which = 0;
    memset(value, 0, sizeof *value);
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.number <= 7 && field_spec(M_ANY, &f)->kind != K_UNKNOWN) {
            which = (int)f.number;
            *value = f;
        }
    }
    return which;
}

static int lj_object(Buf *keys, Buf *out, const uint8_t *p, const uint8_t *end, uint32_t number,
                     int depth, int *hard);

/* The AnyValue in [p, end) as JSON (an absent value is null). */
static int lj_value(Buf *keys, Buf *out, const uint8_t *p, const uint8_t *end, int depth, int *hard) {
    Field value, f;
    int which = p ? any_member(p, end, &value) : 0;
    if (which < 0) return -1;
    if (depth > MAX_DEPTH) return fail_data(); /* check() bounds it; unchecked input must not recurse on */
    switch (which) {
    case 1:
        return json_string(out, value.data, value.len) < 0 ? fail_memory() : 0;
    case 2:
        return (value.value ? PUT(out, "true") : PUT(out, "false")) < 0 ? fail_memory() : 0;
    case 3:
        return json_i64(out, (int64_t)value.value) < 0 ? fail_memory() : 0;
    case 4: {
        double v;
        memcpy(&v, &value.value, 8);
        return lj_double(out, v) < 0 ? fail_memory() : 0;
    }
    case 7:
        return lj_b64(out, value.data, value.len, 1) < 0 ? fail_memory() : 0;
    case 5: {
        const uint8_t *q = value.data, *qend = field_end(&value);
        int first = 1;
        TRY(buf_u8(out, '['));
        while (q < qend) {
            NEXT(&q, qend, &f);
            if (f.number != 1 || f.wire != WT_LEN) continue;
            if (!first) TRY(buf_u8(out, ','));
            first = 0;
            if (lj_value(keys, out, f.data, f.data + f.len, depth + 1, hard) < 0) return -1;
        }
        TRY(buf_u8(out, ']'));
        return 0;
    }
    case 6:
        return lj_object(keys, out, value.data, field_end(&value), 1, depth + 1, hard);
    default:
        return PUT(out, "null") < 0 ? fail_memory() : 0;
    }
}

/* Past this many keys in one object, a repeat is not looked for: the record goes to Python. */
#define MAX_COMPARED_KEYS 1024

/* The KeyValues in the fields `number` of [p, end) as a JSON object; *hard set on a repeated key.
 * `keys` holds the KeyRefs of the objects being rendered, innermost last. */
static int lj_object(Buf *keys, Buf *out, const uint8_t *p, const uint8_t *end, uint32_t number,
                     int depth, int *hard) {
    size_t base = keys->len;
    Field f, g;
    int first = 1;
    TRY(buf_u8(out, '{'));
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.number != number || f.wire != WT_LEN) continue;
        Field key = {0}, value = {0};
        const uint8_t *q = f.data, *qend = f.data + f.len;
        while (q < qend) {
            NEXT(&q, qend, &g);
            if (g.wire != WT_LEN) continue;
            if (g.number == 1) key = g;
            else if (g.number == 2) value = g;
        }
        size_t seen = (keys->len - base) / sizeof(KeyRef);
        if (seen >= MAX_COMPARED_KEYS) {
            *hard = 1;
        } else {
            /* keys->p is NULL until the first key: no offset from it before then */
            const KeyRef *refs = seen ? (const KeyRef *)(keys->p + base) : NULL;
            for (size_t k = 0; k < seen; k++)
                if (refs[k].n == key.len && (key.len == 0 || memcmp(refs[k].p, key.data, key.len) == 0))
                    *hard = 1;
            KeyRef ref = {key.data, key.len};
            TRY(buf_put(keys, &ref, sizeof ref));
        }
        if (!first) TRY(buf_u8(out, ','));
        first = 0;
        TRY(json_string(out, key.data ? key.data : (const uint8_t *)"", key.len));
        TRY(buf_u8(out, ':'));
        if (lj_value(keys, out, value.data, field_end(&value), depth + 1, hard) < 0) return -1;
    }
    keys->len = base;
    TRY(buf_u8(out, '}'));
    return 0;
}

#endif
