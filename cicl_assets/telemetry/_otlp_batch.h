/* The second pass: spans of a checked ExportTraceServiceRequest into column buffers, batch by
 * batch (see _otlp_decode.c). Plain C, no Python: the fuzz target builds it on its own. */
#ifndef CICL_OTLP_BATCH_H
#define CICL_OTLP_BATCH_H

#include "_otlp_check.h"

enum { EMPTY, STR, BOOL, INT, DOUBLE, BYTES, ARRAY, KVLIST, RAW_JSON }; /* attributes.py's codes */

/* Strings as Arrow lays them out: int32 offsets (starting with 0) and the bytes. */
typedef struct {
    Buf off, data;
} Strs;

static int strs_init(Strs *s) {
    int32_t zero = 0;
    return buf_put(&s->off, &zero, 4);
}

static int strs_push(Strs *s, const void *p, size_t n) {
    if (s->data.len + n > INT32_MAX) return -1; /* check() caps requests at 1 GiB */
    if (buf_put(&s->data, p, n) < 0) return -1;
    int32_t end = (int32_t)s->data.len;
    return buf_put(&s->off, &end, 4);
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

/* The helpers run without the GIL: they return -1 and say why here; Decoder.next raises. */
static _Thread_local int failure;
enum { FAIL_MEMORY = 1, FAIL_DATA = 2 };

static int fail_memory(void) {
    failure = FAIL_MEMORY;
    return -1;
}

static int fail_data(void) {
    failure = FAIL_DATA;
    return -1;
}

#define TRY(expr) do { if ((expr) < 0) return fail_memory(); } while (0)
#define NEXT(pp, end, f) do { if (wire_field(pp, end, f) < 0) return fail_data(); } while (0)

static int add_kv(Attrs *A, int depth, int64_t owner, const uint8_t *p, const uint8_t *end);

/* The row's kind and value; an array's or kvlist's members become rows of the child level,
 * or, below the top level, the value stays serialized for Python to render (RAW_JSON). */
static int add_value(Attrs *A, int depth, int64_t row, const uint8_t *p, const uint8_t *end) {
    Level *L = depth ? &A->child : &A->top;
    Field f, value = {0};
    int which = 0;
    const uint8_t *q = p;
    while (q < end) {
        NEXT(&q, end, &f);
        if (f.number >= 1 && f.number <= 7 && f.wire == expected_wire(field_spec(M_ANY, f.number).kind)) {
            which = (int)f.number;
            value = f;
        }
    }
    uint8_t kind;
    switch (which) {
    case 1: kind = STR; break;
    case 2: kind = BOOL; break;
    case 3: kind = INT; break;
    case 4: kind = DOUBLE; break;
    case 7: kind = BYTES; break;
    case 5: kind = depth ? RAW_JSON : ARRAY; break;
    case 6: kind = depth ? RAW_JSON : KVLIST; break;
    default: kind = EMPTY;
    }
    TRY(buf_u8(&L->kind, kind));
    switch (kind) {
    case STR:
        TRY(strs_push(&L->s, value.data, value.len));
        return 0;
    case BYTES:
        TRY(push_b64(&L->s, value.data, value.len));
        return 0;
    default:
        TRY(strs_push(&L->s, NULL, 0));
    }
    if (kind == BOOL) {
        TRY(buf_i64(&L->b_rows, row));
        TRY(buf_u8(&L->b, value.value != 0));
    } else if (kind == INT) {
        TRY(buf_i64(&L->i_rows, row));
        TRY(buf_i64(&L->i, (int64_t)value.value));
    } else if (kind == DOUBLE) {
        TRY(buf_i64(&L->d_rows, row));
        TRY(buf_put(&L->d, &value.value, 8));
    } else if (kind == RAW_JSON) {
        TRY(buf_i64(&L->raw_rows, row));
        TRY(strs_push(&L->raw, p, (size_t)(end - p)));
    } else if (kind == ARRAY || kind == KVLIST) {
        const uint8_t *m = value.data, *mend = value.data + value.len;
        while (m < mend) {
            NEXT(&m, mend, &f);
            if (f.number != 1 || f.wire != WT_LEN) continue;
            if (kind == KVLIST) {
                if (add_kv(A, 1, row, f.data, f.data + f.len) < 0) return -1;
                continue;
            }
            int64_t child = A->child.m++;
            TRY(buf_i64(&A->child.owner, row));
            TRY(buf_u8(&A->child.key_valid, 0));
            TRY(strs_push(&A->child.keys, NULL, 0));
            if (add_value(A, 1, child, f.data, f.data + f.len) < 0) return -1;
        }
    }
    return 0;
}

static int add_kv(Attrs *A, int depth, int64_t owner, const uint8_t *p, const uint8_t *end) {
    Level *L = depth ? &A->child : &A->top;
    Field f, key = {0}, value = {0};
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.wire != WT_LEN) continue;
        if (f.number == 1) key = f;
        else if (f.number == 2) value = f;
    }
    int64_t row = L->m++;
    TRY(buf_i64(&L->owner, owner));
    TRY(buf_u8(&L->key_valid, 1));
    TRY(strs_push(&L->keys, key.data, key.len));
    return add_value(A, depth, row, value.data, value.data + value.len);
}

static int add_kvs(Attrs *A, int64_t owner, const uint8_t *p, const uint8_t *end, uint32_t number) {
    Field f;
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.number == number && f.wire == WT_LEN && add_kv(A, 0, owner, f.data, f.data + f.len) < 0)
            return -1;
    }
    return 0;
}

static int add_event(Batch *B, int64_t span_row, const uint8_t *p, const uint8_t *end) {
    Field f, name = {0};
    uint64_t time = 0;
    int64_t row = B->events++;
    const uint8_t *q = p;
    while (q < end) {
        NEXT(&q, end, &f);
        if (f.number == 1 && f.wire == WT_I64) time = f.value;
        else if (f.number == 2 && f.wire == WT_LEN) name = f;
    }
    TRY(buf_i64(&B->ev_owner, span_row));
    TRY(buf_i64(&B->ev_time, (int64_t)time));
    TRY(strs_push(&B->ev_name, name.data, name.len));
    return add_kvs(&B->event_attrs, row, p, end, 3);
}

static int add_link(Batch *B, int64_t span_row, const uint8_t *p, const uint8_t *end) {
    Field f, trace = {0}, span = {0}, state = {0};
    int64_t row = B->links++;
    const uint8_t *q = p;
    while (q < end) {
        NEXT(&q, end, &f);
        if (f.wire != WT_LEN) continue;
        if (f.number == 1) trace = f;
        else if (f.number == 2) span = f;
        else if (f.number == 3) state = f;
    }
    if (trace.len != 16 || span.len != 8) return fail_data();
    TRY(buf_i64(&B->ln_owner, span_row));
    TRY(put_hex(&B->ln_trace, trace.data, 16));
    TRY(put_hex(&B->ln_span, span.data, 8));
    TRY(strs_push(&B->ln_state, state.data, state.len));
    return add_kvs(&B->link_attrs, row, p, end, 4);
}

static int add_span(Batch *B, int64_t resource_row, int64_t scope_row, const uint8_t *p,
                    const uint8_t *end) {
    Field f, trace = {0}, span = {0}, parent = {0}, state = {0}, name = {0}, message = {0};
    int64_t kind = 0, code = 0;
    uint64_t start = 0, stop = 0;
    int64_t row = B->n;
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.wire == WT_LEN) {
            switch (f.number) {
            case 1: trace = f; break;
            case 2: span = f; break;
            case 3: state = f; break;
            case 4: parent = f; break;
            case 5: name = f; break;
            case 9:
                if (add_kv(&B->attrs, 0, row, f.data, f.data + f.len) < 0) return -1;
                break;
            case 11:
                if (add_event(B, row, f.data, f.data + f.len) < 0) return -1;
                break;
            case 13:
                if (add_link(B, row, f.data, f.data + f.len) < 0) return -1;
                break;
            case 15: {
                const uint8_t *s = f.data, *send = f.data + f.len;
                Field g;
                while (s < send) {
                    NEXT(&s, send, &g);
                    if (g.number == 2 && g.wire == WT_LEN) message = g;
                    else if (g.number == 3 && g.wire == WT_VARINT) code = (int32_t)g.value;
                }
                break;
            }
            }
        } else if (f.number == 6 && f.wire == WT_VARINT) {
            kind = (int32_t)f.value; /* an open enum: any int32 */
        } else if (f.number == 7 && f.wire == WT_I64) {
            start = f.value;
        } else if (f.number == 8 && f.wire == WT_I64) {
            stop = f.value;
        }
    }
    if (trace.len != 16 || span.len != 8 || (parent.len != 0 && parent.len != 8)) return fail_data();
    TRY(put_hex(&B->trace, trace.data, 16));
    TRY(put_hex(&B->span, span.data, 8));
    TRY(put_hex(&B->parent, parent.data, parent.len));
    TRY(buf_u8(&B->parent_present, parent.len == 8));
    TRY(strs_push(&B->state, state.data, state.len));
    TRY(strs_push(&B->name, name.data, name.len));
    TRY(strs_push(&B->message, message.data, message.len));
    TRY(buf_i64(&B->kind, kind));
    TRY(buf_i64(&B->code, code));
    TRY(buf_i64(&B->start, (int64_t)start));
    TRY(buf_i64(&B->end, (int64_t)stop));
    TRY(buf_i64(&B->resource_of, resource_row));
    TRY(buf_i64(&B->scope_of, scope_row));
    B->n++;
    return 0;
}

/* ---- a cursor over request -> resource_spans -> scope_spans -> spans ---- */

typedef struct {
    const uint8_t *end;
    const uint8_t *req;                 /* next request-level field */
    const uint8_t *rs, *rs_end;         /* current ResourceSpans: next field, end (NULL: none) */
    Field resource;                     /* its Resource message (len 0 when absent) */
    const uint8_t *ss, *ss_end;         /* current ScopeSpans */
    Field scope;
    int64_t resource_row, scope_row;    /* rows in the batch being built, -1 before its first span */
} Cursor;

static void cursor_init(Cursor *D, const uint8_t *data, size_t size) {
    memset(D, 0, sizeof *D);
    D->req = data;
    D->end = data + size;
}

/* The first field `number` (length-delimited) of [p, end), or an empty one. */
static int find_message(const uint8_t *p, const uint8_t *end, uint32_t number, Field *out) {
    Field f;
    memset(out, 0, sizeof *out);
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.number == number && f.wire == WT_LEN) {
            *out = f;
            return 0;
        }
    }
    return 0;
}

/* The next length-delimited field `number` after *pp, or 0 when there is none left. */
static int next_message(const uint8_t **pp, const uint8_t *end, uint32_t number, Field *out) {
    while (*pp < end) {
        NEXT(pp, end, out);
        if (out->number == number && out->wire == WT_LEN) return 1;
    }
    return 0;
}

static int add_scope_row(Batch *B, const Field *scope) {
    Field f, name = {0}, version = {0};
    const uint8_t *p = scope->data, *end = scope->data + scope->len;
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.wire != WT_LEN) continue;
        if (f.number == 1) name = f;
        else if (f.number == 2) version = f;
    }
    TRY(strs_push(&B->scope_name, name.data, name.len));
    TRY(strs_push(&B->scope_version, version.data, version.len));
    B->scopes++;
    return 0;
}

/* Up to `limit` more spans into B; 0 when the request is exhausted, 1 when the limit was hit. */
static int fill(Cursor *D, Batch *B, int64_t limit) {
    Field f;
    int r;
    D->resource_row = D->scope_row = -1;
    while (B->n < limit) {
        if (D->ss) {
            r = next_message(&D->ss, D->ss_end, 2, &f);
            if (r < 0) return -1;
            if (r == 0) {
                D->ss = NULL;
                continue;
            }
            if (D->resource_row < 0) {
                D->resource_row = B->resources++;
                const uint8_t *res = D->resource.data;
                if (res && add_kvs(&B->resource_attrs, D->resource_row, res, res + D->resource.len, 1) < 0)
                    return -1;
            }
            if (D->scope_row < 0) {
                D->scope_row = B->scopes;
                if (add_scope_row(B, &D->scope) < 0) return -1;
            }
            if (add_span(B, D->resource_row, D->scope_row, f.data, f.data + f.len) < 0) return -1;
            continue;
        }
        if (D->rs) {
            r = next_message(&D->rs, D->rs_end, 2, &f);
            if (r < 0) return -1;
            if (r == 0) {
                D->rs = NULL;
                D->resource_row = -1;
                continue;
            }
            D->ss = f.data;
            D->ss_end = f.data + f.len;
            D->scope_row = -1;
            if (find_message(D->ss, D->ss_end, 1, &D->scope) < 0) return -1;
            continue;
        }
        r = next_message(&D->req, D->end, 1, &f);
        if (r <= 0) return r;
        D->rs = f.data;
        D->rs_end = f.data + f.len;
        if (find_message(D->rs, D->rs_end, 1, &D->resource) < 0) return -1;
    }
    return 1;
}

#endif
