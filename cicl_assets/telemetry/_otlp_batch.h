/* The second pass: spans of a checked ExportTraceServiceRequest into column buffers, batch by
 * batch (see _otlp_decode.c). Plain C, no Python: the fuzz target builds it on its own. */
#ifndef CICL_OTLP_BATCH_H
#define CICL_OTLP_BATCH_H

#include "_otlp_check.h"
#include "_otlp_columns.h"

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
        if (f.number <= 7 && field_spec(M_ANY, &f)->kind != K_UNKNOWN) {
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
        const uint8_t *m = value.data, *mend = field_end(&value);
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
    return add_value(A, depth, row, value.data, field_end(&value));
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
    const uint8_t *p = scope->data, *end = field_end(scope);
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
