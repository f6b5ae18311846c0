/* Protobuf wire reading and growable buffers shared by the OTLP decoder's two passes. Every read
 * is bounded by an explicit end pointer: nothing here trusts a length it has not checked. */
#ifndef CICL_OTLP_WIRE_H
#define CICL_OTLP_WIRE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

typedef struct {
    uint32_t number;
    int wire;
    uint64_t value;        /* varint, fixed64 and fixed32 payloads */
    const uint8_t *data;   /* length-delimited payload */
    size_t len;
} Field;

/* A varint of at most 10 bytes; *wide says whether it held bits past 64, which are dropped (as
 * upb does for values). 0 ok, -1 malformed. */
#define HOT static inline __attribute__((always_inline))

HOT int wire_varint_wide(const uint8_t **pp, const uint8_t *end, uint64_t *out, int *wide) {
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) { /* most tags and lengths are one byte */
        *pp = p + 1;
        *out = *p;
        *wide = 0;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end) return -1;
        uint8_t byte = *p++;
        v |= (uint64_t)(byte & 0x7F) << (7 * i);
        if (byte < 0x80) {
            *pp = p;
            *out = v;
            *wide = i == 9 && byte > 1;
            return 0;
        }
    }
    return -1;
}

HOT int wire_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    int wide;
    return wire_varint_wide(pp, end, out, &wide);
}

/* Field tags are at most 5 bytes and 32 bits (upb refuses longer ones). */
HOT int wire_tag(const uint8_t **pp, const uint8_t *end, uint64_t *tag, int *long_tag) {
    const uint8_t *start = *pp;
    if (wire_varint(pp, end, tag) < 0) return -1;
    *long_tag = (*pp - start) > 5 || *tag > 0xFFFFFFFFu;
    return 0;
}

/* One field (groups excluded). 0 ok, -1 malformed, -2 a group. */
HOT int wire_field(const uint8_t **pp, const uint8_t *end, Field *f) {
    uint64_t tag, len;
    int long_tag;
    if (wire_tag(pp, end, &tag, &long_tag) < 0 || long_tag) return -1;
    f->number = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    f->value = 0; /* every member set: callers read the one their wire type fills */
    f->data = NULL;
    f->len = 0;
    if (f->number == 0) return -1;
    switch (f->wire) {
    case WT_VARINT:
        return wire_varint(pp, end, &f->value);
    case WT_I64:
        if (end - *pp < 8) return -1;
        memcpy(&f->value, *pp, 8); /* little-endian hosts only (x86-64, aarch64) */
        *pp += 8;
        return 0;
    case WT_I32: {
        uint32_t v;
        if (end - *pp < 4) return -1;
        memcpy(&v, *pp, 4);
        f->value = v;
        *pp += 4;
        return 0;
    }
    case WT_LEN: {
        if (wire_varint(pp, end, &len) < 0 || len > (uint64_t)(end - *pp)) return -1;
        f->data = *pp;
        f->len = (size_t)len;
        *pp += len;
        return 0;
    }
    case WT_SGROUP:
    case WT_EGROUP:
        return -2;
    default:
        return -1;
    }
}

/* The end of a length-delimited field's payload; an absent field ({0}) is empty (NULL + 0 is
 * undefined behaviour). */
static inline const uint8_t *field_end(const Field *f) { return f->data ? f->data + f->len : f->data; }

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as upb checks it. */
static inline int utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* most text is ASCII: eight bytes at a time while no high bit is set */
        while (n - i >= 8) {
            uint64_t word;
            memcpy(&word, s + i, 8);
            if (word & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1; cp = c & 0x1F; min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2; cp = c & 0x0F; min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3; cp = c & 0x07; min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= need) return 0;
        for (size_t k = 1; k <= need; k++) {
            uint8_t cc = s[i + k];
            if ((cc & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += need + 1;
    }
    return 1;
}

typedef struct {
    char *p;
    size_t len, cap;
} Buf;

static int buf_grow(Buf *b, size_t extra) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

HOT int buf_reserve(Buf *b, size_t extra) {
    return __builtin_expect(b->len + extra <= b->cap, 1) ? 0 : buf_grow(b, extra);
}

HOT int buf_put(Buf *b, const void *src, size_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

static inline int buf_i64(Buf *b, int64_t v) { return buf_put(b, &v, 8); }
static inline int buf_u8(Buf *b, uint8_t v) { return buf_put(b, &v, 1); }

static inline void buf_free(Buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

#endif
