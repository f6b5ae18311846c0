/* The column buffers one batch of spans fills, laid out as Arrow wants them (offsets + bytes,
 * fixed-width values), and the hex and base64 writers. Plain C. */
#ifndef CICL_OTLP_COLUMNS_H
#define CICL_OTLP_COLUMNS_H

#include "_otlp_wire.h"

enum { EMPTY, STR, BOOL, INT, DOUBLE, BYTES, ARRAY, KVLIST, RAW_JSON }; /* attributes.py's codes */

/* Strings as Arrow lays them out: int32 offsets (starting with 0) and the bytes. */
typedef struct {
    Buf off, data;
} Strs;

static int strs_init(Strs *s) {
    int32_t zero = 0;
    return buf_put(&s->off, &zero, 4);
}

HOT int strs_push(Strs *s, const void *p, size_t n) {
    if (s->data.len + n > INT32_MAX) return -1; /* check() caps requests at 1 GiB */
    if (buf_reserve(&s->data, n) < 0 || buf_reserve(&s->off, 4) < 0) return -1;
    if (n) memcpy(s->data.p + s->data.len, p, n);
    s->data.len += n;
    int32_t end = (int32_t)s->data.len;
    memcpy(s->off.p + s->off.len, &end, 4);
    s->off.len += 4;
    return 0;
}

static void strs_free(Strs *s) {
    buf_free(&s->off);
    buf_free(&s->data);
}

/* One level of AnyValues (see attributes.AttrColumns). */
typedef struct {
    int64_t m;
    Buf owner, key_valid, kind, i_rows, i, d_rows, d, b_rows, b, raw_rows;
    Strs keys, s, raw;
} Level;

/* Top-level attributes and the elements/entries of their arrays and kvlists. */
typedef struct {
    Level top, child;
} Attrs;

typedef struct {
    int64_t n, resources, scopes, events, links;
    Buf trace, span, parent, parent_present, kind, start, end, code, resource_of, scope_of;
    Strs state, name, message, scope_name, scope_version;
    Attrs resource_attrs, attrs, event_attrs, link_attrs;
    Buf ev_owner, ev_time, ln_owner, ln_trace, ln_span;
    Strs ev_name, ln_state;
} Batch;

#define LEVEL_BUFS(L) &L->owner, &L->key_valid, &L->kind, &L->i_rows, &L->i, &L->d_rows, &L->d, \
    &L->b_rows, &L->b, &L->raw_rows

static int level_init(Level *L) {
    memset(L, 0, sizeof *L);
    return strs_init(&L->keys) | strs_init(&L->s) | strs_init(&L->raw);
}

static void level_free(Level *L) {
    Buf *bufs[] = {LEVEL_BUFS(L)};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) buf_free(bufs[k]);
    strs_free(&L->keys);
    strs_free(&L->s);
    strs_free(&L->raw);
}

#define BATCH_BUFS(B) &B->trace, &B->span, &B->parent, &B->parent_present, &B->kind, &B->start, \
    &B->end, &B->code, &B->resource_of, &B->scope_of, &B->ev_owner, &B->ev_time, &B->ln_owner, \
    &B->ln_trace, &B->ln_span
#define BATCH_STRS(B) &B->state, &B->name, &B->message, &B->scope_name, &B->scope_version, \
    &B->ev_name, &B->ln_state
#define BATCH_ATTRS(B) &B->resource_attrs, &B->attrs, &B->event_attrs, &B->link_attrs

static void batch_free(Batch *B) {
    Buf *bufs[] = {BATCH_BUFS(B)};
    Strs *strs[] = {BATCH_STRS(B)};
    Attrs *attrs[] = {BATCH_ATTRS(B)};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) buf_free(bufs[k]);
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) strs_free(strs[k]);
    for (size_t k = 0; k < sizeof attrs / sizeof *attrs; k++) {
        level_free(&attrs[k]->top);
        level_free(&attrs[k]->child);
    }
}

static void strs_reset(Strs *s) {
    s->off.len = 4; /* the leading 0, which strs_init wrote */
    s->data.len = 0;
}

static void level_reset(Level *L) {
    Buf *bufs[] = {LEVEL_BUFS(L)};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) bufs[k]->len = 0;
    strs_reset(&L->keys);
    strs_reset(&L->s);
    strs_reset(&L->raw);
    L->m = 0;
}

/* Empties an initialised batch but keeps its buffers: the next batch of a request is about as
 * large, so it is written without growing them (or faulting in fresh pages) again. */
static void batch_reset(Batch *B) {
    Buf *bufs[] = {BATCH_BUFS(B)};
    Strs *strs[] = {BATCH_STRS(B)};
    Attrs *attrs[] = {BATCH_ATTRS(B)};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) bufs[k]->len = 0;
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) strs_reset(strs[k]);
    for (size_t k = 0; k < sizeof attrs / sizeof *attrs; k++) {
        level_reset(&attrs[k]->top);
        level_reset(&attrs[k]->child);
    }
    B->n = B->resources = B->scopes = B->events = B->links = 0;
}

static int batch_init(Batch *B) {
    memset(B, 0, sizeof *B);
    Strs *strs[] = {BATCH_STRS(B)};
    Attrs *attrs[] = {BATCH_ATTRS(B)};
    int r = 0;
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) r |= strs_init(strs[k]);
    for (size_t k = 0; k < sizeof attrs / sizeof *attrs; k++)
        r |= level_init(&attrs[k]->top) | level_init(&attrs[k]->child);
    return r;
}

static const char HEX[] = "0123456789abcdef";

static int put_hex(Buf *b, const uint8_t *p, size_t n) {
    if (n == 0) return 0; /* b->p may still be NULL */
    if (buf_reserve(b, 2 * n) < 0) return -1;
    char *out = b->p + b->len;
    for (size_t k = 0; k < n; k++) {
        out[2 * k] = HEX[p[k] >> 4];
        out[2 * k + 1] = HEX[p[k] & 15];
    }
    b->len += 2 * n;
    return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int push_b64(Strs *s, const uint8_t *p, size_t n) {
    if (n == 0) return strs_push(s, NULL, 0); /* s->data.p may still be NULL */
    size_t size = (n + 2) / 3 * 4;
    if (s->data.len + size > INT32_MAX || buf_reserve(&s->data, size) < 0) return -1;
    char *out = s->data.p + s->data.len;
    size_t k = 0, o = 0;
    for (; k + 3 <= n; k += 3) {
        uint32_t v = (uint32_t)p[k] << 16 | (uint32_t)p[k + 1] << 8 | p[k + 2];
        out[o++] = B64[v >> 18];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = B64[v >> 6 & 63];
        out[o++] = B64[v & 63];
    }
    if (n - k == 1) {
        uint32_t v = (uint32_t)p[k] << 16;
        out[o++] = B64[v >> 18];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - k == 2) {
        uint32_t v = (uint32_t)p[k] << 16 | (uint32_t)p[k + 1] << 8;
        out[o++] = B64[v >> 18];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = B64[v >> 6 & 63];
        out[o++] = '=';
    }
    s->data.len += o;
    return strs_push(s, NULL, 0);
}

#endif
