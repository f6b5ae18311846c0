/* OTLP/JSON ExportTraceServiceRequest text (one document, or JSON lines: one request per line, as
 * the Collector's file exporter writes them) into the column buffers the protobuf decoder fills
 * (_otlp_columns.h), whole requests at a time. Plain C, no Python: the fuzz target builds it too.
 *
 * It reads canonical OTLP/JSON only: lowerCamelCase names, hex ids, 64-bit integers as decimal
 * strings or integer numbers, enums as integers, AnyValues with one value and at most one level
 * of arrays/kvlists, valid UTF-8, no nulls, each known name once. Unknown names are skipped (their
 * values still parsed), but in a ResourceSpans or ScopeSpans without its list an unknown name may
 * be a misspelling that would lose spans (the Python reader rejects those). Anything else makes
 * the request "unsure": the rows its unit added are taken back and the unit goes to the Python
 * reader (_otlp_jsonunits.h), which reads it or words its reject as it would without this reader.
 * Tokens: _otlp_jsontok.h. Every read is bounded by the request's end. */
#ifndef CICL_OTLP_JSONIN_H
#define CICL_OTLP_JSONIN_H

#include "_otlp_jsontok.h"

/* ---- taking back what an unsure request added ---- */

#define LEVEL_STRS(L) &L->keys, &L->s, &L->raw
enum { MARK_SIZES = 15 + 2 * 7 + 4 * 2 * (10 + 2 * 3) };

typedef struct {
    size_t len[MARK_SIZES];
    int64_t m[8], n, resources, scopes, events, links;
} Mark;

/* Calls visit(buf) for every buffer of B in one fixed order. */
#define BATCH_EACH_BUF(B, visit)                                              \
    do {                                                                      \
        Buf *bufs_[] = {BATCH_BUFS(B)};                                       \
        Strs *strs_[] = {BATCH_STRS(B)};                                      \
        Attrs *attrs_[] = {BATCH_ATTRS(B)};                                   \
        for (size_t k_ = 0; k_ < sizeof bufs_ / sizeof *bufs_; k_++) visit(bufs_[k_]); \
        for (size_t k_ = 0; k_ < sizeof strs_ / sizeof *strs_; k_++) {        \
            visit(&strs_[k_]->off);                                           \
            visit(&strs_[k_]->data);                                          \
        }                                                                     \
        for (size_t k_ = 0; k_ < 2 * sizeof attrs_ / sizeof *attrs_; k_++) {  \
            Level *L_ = k_ & 1 ? &attrs_[k_ / 2]->child : &attrs_[k_ / 2]->top; \
            Buf *lb_[] = {LEVEL_BUFS(L_)};                                    \
            Strs *ls_[] = {LEVEL_STRS(L_)};                                   \
            for (size_t j_ = 0; j_ < sizeof lb_ / sizeof *lb_; j_++) visit(lb_[j_]); \
            for (size_t j_ = 0; j_ < 3; j_++) {                               \
                visit(&ls_[j_]->off);                                         \
                visit(&ls_[j_]->data);                                        \
            }                                                                 \
        }                                                                     \
    } while (0)

static void batch_mark(const Batch *cB, Mark *M) {
    Batch *B = (Batch *)cB;
    size_t k = 0;
#define SAVE(b) M->len[k++] = (b)->len
    BATCH_EACH_BUF(B, SAVE);
#undef SAVE
    Attrs *attrs[] = {BATCH_ATTRS(B)};
    for (int a = 0; a < 4; a++) {
        M->m[2 * a] = attrs[a]->top.m;
        M->m[2 * a + 1] = attrs[a]->child.m;
    }
    M->n = B->n;
    M->resources = B->resources;
    M->scopes = B->scopes;
    M->events = B->events;
    M->links = B->links;
}

static void batch_restore(Batch *B, const Mark *M) {
    size_t k = 0;
#define LOAD(b) (b)->len = M->len[k++]
    BATCH_EACH_BUF(B, LOAD);
#undef LOAD
    Attrs *attrs[] = {BATCH_ATTRS(B)};
    for (int a = 0; a < 4; a++) {
        attrs[a]->top.m = M->m[2 * a];
        attrs[a]->child.m = M->m[2 * a + 1];
    }
    B->n = M->n;
    B->resources = M->resources;
    B->scopes = M->scopes;
    B->events = M->events;
    B->links = M->links;
}

/* ---- attributes ---- */

static int jin_kv(JIn *J, Attrs *A, int depth, int64_t owner);

/* The elements of an arrayValue, or the entries of a kvlistValue: rows of the child level. */
static int jin_members(JIn *J, Attrs *A, int64_t row, int array);

/* One AnyValue object at `row` of the level `depth`, written as add_value writes it. */
static int jin_value(JIn *J, Attrs *A, int depth, int64_t row) {
    Level *L = depth ? &A->child : &A->top;
    int r, have = 0;
    Text name, t;
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        int kind = IS(name, "stringValue") ? STR
                   : IS(name, "boolValue")   ? BOOL
                   : IS(name, "intValue")    ? INT
                   : IS(name, "doubleValue") ? DOUBLE
                   : IS(name, "bytesValue")  ? BYTES
                   : IS(name, "arrayValue")  ? ARRAY
                   : IS(name, "kvlistValue") ? KVLIST
                                             : EMPTY;
        if (kind == EMPTY) {
            JTRY(jin_skip(J, 1));
            continue;
        }
        if (have) return unsure(); /* two values: the readers pick differently */
        have = 1;
        if ((kind == ARRAY || kind == KVLIST) && depth) return unsure(); /* nested two deep */
        TRY(buf_u8(&L->kind, (uint8_t)kind));
        switch (kind) {
        case STR:
            JTRY(jin_string(J, &t, &J->tmp));
            TRY(strs_push(&L->s, t.s, t.n));
            break;
        case BYTES:
            JTRY(jin_string(J, &t, &J->tmp));
            JTRY(jin_base64(J, t));
            TRY(push_b64(&L->s, (const uint8_t *)J->bytes.p, J->bytes.len));
            break;
        case BOOL: {
            uint8_t b;
            JTRY(jin_bool(J, &b));
            TRY(strs_push(&L->s, NULL, 0));
            TRY(buf_i64(&L->b_rows, row));
            TRY(buf_u8(&L->b, b));
            break;
        }
        case INT: {
            int64_t v;
            JTRY(jin_i64(J, &v));
            TRY(strs_push(&L->s, NULL, 0));
            TRY(buf_i64(&L->i_rows, row));
            TRY(buf_i64(&L->i, v));
            break;
        }
        case DOUBLE: {
            double v;
            JTRY(jin_double(J, &v));
            TRY(strs_push(&L->s, NULL, 0));
            TRY(buf_i64(&L->d_rows, row));
            TRY(buf_put(&L->d, &v, 8));
            break;
        }
        default: /* ARRAY, KVLIST */
            TRY(strs_push(&L->s, NULL, 0));
            JTRY(jin_members(J, A, row, kind == ARRAY));
        }
    }
    if (!have) {
        TRY(buf_u8(&L->kind, EMPTY));
        TRY(strs_push(&L->s, NULL, 0));
    }
    return 0;
}

static int jin_members(JIn *J, Attrs *A, int64_t row, int array) {
    int r, r2;
    unsigned seen = 0;
    Text name;
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (!IS(name, "values")) {
            JTRY(jin_skip(J, 1));
            continue;
        }
        ONCE(seen, 0);
        JTRY(r2 = jin_open(J, '[', ']'));
        for (; r2; JTRY(r2 = jin_more(J, ']'))) {
            if (!array) {
                JTRY(jin_kv(J, A, 1, row));
                continue;
            }
            int64_t child = A->child.m++;
            TRY(buf_i64(&A->child.owner, row));
            TRY(buf_u8(&A->child.key_valid, 0));
            TRY(strs_push(&A->child.keys, NULL, 0));
            JTRY(jin_value(J, A, 1, child));
        }
    }
    return 0;
}

/* {"key": ..., "value": {...}}: a row of the level `depth` owned by `owner`. */
static int jin_kv(JIn *J, Attrs *A, int depth, int64_t owner) {
    Level *L = depth ? &A->child : &A->top;
    int64_t row = L->m++;
    unsigned seen = 0;
    int r;
    Text name, t;
    TRY(buf_i64(&L->owner, owner));
    TRY(buf_u8(&L->key_valid, 1));
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "key")) {
            ONCE(seen, 0);
            JTRY(jin_string(J, &t, &J->tmp));
            TRY(strs_push(&L->keys, t.s, t.n));
        } else if (IS(name, "value")) {
            ONCE(seen, 1);
            JTRY(jin_value(J, A, depth, row));
        } else {
            JTRY(jin_skip(J, 1));
        }
    }
    if (!(seen & 1)) return unsure();
    if (!(seen & 2)) {
        TRY(buf_u8(&L->kind, EMPTY));
        TRY(strs_push(&L->s, NULL, 0));
    }
    return 0;
}

static int jin_attrs(JIn *J, Attrs *A, int64_t owner) {
    int r;
    JTRY(r = jin_open(J, '[', ']'));
    for (; r; JTRY(r = jin_more(J, ']'))) JTRY(jin_kv(J, A, 0, owner));
    return 0;
}

/* ---- spans ---- */

/* A quoted id of `digits` hex digits, lowercased into out. */
static int jin_hex_id(JIn *J, Buf *out, size_t digits) {
    jin_ws(J);
    const uint8_t *p = J->p;
    if ((size_t)(J->end - p) < digits + 2 || p[0] != '"' || p[digits + 1] != '"') return unsure();
    TRY(buf_reserve(out, digits));
    char *o = out->p + out->len;
    for (size_t k = 0; k < digits; k++) {
        uint8_t c = p[1 + k], lower = c | 32;
        if (!((c >= '0' && c <= '9') || (lower >= 'a' && lower <= 'f'))) return unsure();
        o[k] = (char)(c >= '0' && c <= '9' ? c : lower);
    }
    out->len += digits;
    J->p = p + digits + 2;
    return 0;
}

static int jin_held(JIn *J, int slot, Text *t) {
    JTRY(jin_string(J, t, &J->held[slot]));
    return 0;
}

static int jin_event(JIn *J, int64_t span_row) {
    Batch *B = J->B;
    int64_t row = B->events++, time = 0;
    unsigned seen = 0;
    int r;
    Text name, text = {(const uint8_t *)"", 0};
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "timeUnixNano")) {
            ONCE(seen, 0);
            JTRY(jin_nanos(J, &time));
        } else if (IS(name, "name")) {
            ONCE(seen, 1);
            JTRY(jin_held(J, H_EV_NAME, &text));
        } else if (IS(name, "attributes")) {
            ONCE(seen, 2);
            JTRY(jin_attrs(J, &B->event_attrs, row));
        } else {
            JTRY(jin_skip(J, 1));
        }
    }
    TRY(buf_i64(&B->ev_owner, span_row));
    TRY(buf_i64(&B->ev_time, time));
    TRY(strs_push(&B->ev_name, text.s, text.n));
    return 0;
}

static int jin_link(JIn *J, int64_t span_row) {
    Batch *B = J->B;
    int64_t row = B->links++;
    unsigned seen = 0;
    int r;
    Text name, state = {(const uint8_t *)"", 0};
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "traceId")) {
            ONCE(seen, 0);
            JTRY(jin_hex_id(J, &B->ln_trace, 32));
        } else if (IS(name, "spanId")) {
            ONCE(seen, 1);
            JTRY(jin_hex_id(J, &B->ln_span, 16));
        } else if (IS(name, "traceState")) {
            ONCE(seen, 2);
            JTRY(jin_held(J, H_LN_STATE, &state));
        } else if (IS(name, "attributes")) {
            ONCE(seen, 3);
            JTRY(jin_attrs(J, &B->link_attrs, row));
        } else {
            JTRY(jin_skip(J, 1));
        }
    }
    if ((seen & 3) != 3) return unsure();
    TRY(buf_i64(&B->ln_owner, span_row));
    TRY(strs_push(&B->ln_state, state.s, state.n));
    return 0;
}

static int jin_list(JIn *J, int (*item)(JIn *, int64_t), int64_t owner) {
    int r;
    JTRY(r = jin_open(J, '[', ']'));
    for (; r; JTRY(r = jin_more(J, ']'))) JTRY(item(J, owner));
    return 0;
}

static int jin_status(JIn *J, int64_t *code, Text *message) {
    unsigned seen = 0;
    int r;
    Text name;
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "message")) {
            ONCE(seen, 0);
            JTRY(jin_held(J, H_MESSAGE, message));
        } else if (IS(name, "code")) {
            ONCE(seen, 1);
            JTRY(jin_enum(J, code));
        } else {
            JTRY(jin_skip(J, 1));
        }
    }
    return 0;
}

static int jin_span(JIn *J, int64_t resource_row, int64_t scope_row) {
    Batch *B = J->B;
    int64_t row = B->n, kind = 0, code = 0, start = 0, stop = 0;
    unsigned seen = 0;
    int r;
    Text name, state = {(const uint8_t *)"", 0}, text = state, message = state;
    size_t parent_at = B->parent.len;
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "traceId")) {
            ONCE(seen, 0);
            JTRY(jin_hex_id(J, &B->trace, 32));
        } else if (IS(name, "spanId")) {
            ONCE(seen, 1);
            JTRY(jin_hex_id(J, &B->span, 16));
        } else if (IS(name, "parentSpanId")) {
            ONCE(seen, 2);
            jin_ws(J);
            if (J->end - J->p >= 2 && J->p[0] == '"' && J->p[1] == '"')
                J->p += 2; /* "" is a root span's */
            else
                JTRY(jin_hex_id(J, &B->parent, 16));
        } else if (IS(name, "traceState")) {
            ONCE(seen, 3);
            JTRY(jin_held(J, H_STATE, &state));
        } else if (IS(name, "name")) {
            ONCE(seen, 4);
            JTRY(jin_held(J, H_NAME, &text));
        } else if (IS(name, "kind")) {
            ONCE(seen, 5);
            JTRY(jin_enum(J, &kind));
        } else if (IS(name, "startTimeUnixNano")) {
            ONCE(seen, 6);
            JTRY(jin_nanos(J, &start));
        } else if (IS(name, "endTimeUnixNano")) {
            ONCE(seen, 7);
            JTRY(jin_nanos(J, &stop));
        } else if (IS(name, "attributes")) {
            ONCE(seen, 8);
            JTRY(jin_attrs(J, &B->attrs, row));
        } else if (IS(name, "events")) {
            ONCE(seen, 9);
            JTRY(jin_list(J, jin_event, row));
        } else if (IS(name, "links")) {
            ONCE(seen, 10);
            JTRY(jin_list(J, jin_link, row));
        } else if (IS(name, "status")) {
            ONCE(seen, 11);
            JTRY(jin_status(J, &code, &message));
        } else {
            JTRY(jin_skip(J, 1));
        }
    }
    /* missing ids or times: the Python reader words the reject */
    if ((seen & 3) != 3 || start == 0 || stop == 0) return unsure();
    int has_parent = B->parent.len > parent_at;
    TRY(buf_u8(&B->parent_present, (uint8_t)has_parent));
    TRY(strs_push(&B->state, state.s, state.n));
    TRY(strs_push(&B->name, text.s, text.n));
    TRY(strs_push(&B->message, message.s, message.n));
    TRY(buf_i64(&B->kind, kind));
    TRY(buf_i64(&B->code, code));
    TRY(buf_i64(&B->start, start));
    TRY(buf_i64(&B->end, stop));
    TRY(buf_i64(&B->resource_of, resource_row));
    TRY(buf_i64(&B->scope_of, scope_row));
    B->n++;
    return 0;
}

/* The scope's name and version (held), its attributes read and dropped. */
static int jin_scope(JIn *J, Text *name_out, Text *version) {
    unsigned seen = 0;
    int r;
    Text name;
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "name")) {
            ONCE(seen, 0);
            JTRY(jin_held(J, H_SCOPE_NAME, name_out));
        } else if (IS(name, "version")) {
            ONCE(seen, 1);
            JTRY(jin_held(J, H_SCOPE_VERSION, version));
        } else if (IS(name, "attributes")) {
            ONCE(seen, 2);
            level_reset(&J->scope_attrs.top);
            level_reset(&J->scope_attrs.child);
            JTRY(jin_attrs(J, &J->scope_attrs, 0));
        } else {
            JTRY(jin_skip(J, 1));
        }
    }
    return 0;
}

/* One ScopeSpans; a scope row is added when it holds a span, as the protobuf decoder adds it. */
static int jin_scope_spans(JIn *J, int64_t resource_row, int *resource_used) {
    Batch *B = J->B;
    int64_t scope_row = B->scopes;
    unsigned seen = 0;
    int r, r2;
    Text name, scope_name = {(const uint8_t *)"", 0}, version = scope_name;
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "scope")) {
            ONCE(seen, 0);
            JTRY(jin_scope(J, &scope_name, &version));
        } else if (IS(name, "spans")) {
            ONCE(seen, 1);
            JTRY(r2 = jin_open(J, '[', ']'));
            for (; r2; JTRY(r2 = jin_more(J, ']'))) {
                JTRY(jin_span(J, resource_row, scope_row));
                if (!*resource_used) {
                    *resource_used = 1;
                    B->resources++;
                }
                seen |= 1u << 2;
            }
        } else {
            if (!IS(name, "schemaUrl")) seen |= 1u << 3;
            JTRY(jin_skip(J, 1));
        }
    }
    if ((seen & (1u << 3)) && !(seen & 2)) return unsure(); /* a misspelled "spans"? */
    if (seen & (1u << 2)) {
        TRY(strs_push(&B->scope_name, scope_name.s, scope_name.n));
        TRY(strs_push(&B->scope_version, version.s, version.n));
        B->scopes++;
    }
    return 0;
}

/* One ResourceSpans; its attributes are taken back when it holds no span. */
static int jin_resource_spans(JIn *J) {
    Batch *B = J->B;
    int64_t resource_row = B->resources;
    int used = 0, r, r2;
    unsigned seen = 0;
    Text name;
    Mark before;
    batch_mark(B, &before);
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "resource")) {
            ONCE(seen, 0);
            JTRY(r2 = jin_open(J, '{', '}'));
            unsigned inner = 0;
            for (; r2; JTRY(r2 = jin_more(J, '}'))) {
                JTRY(jin_name(J, &name));
                if (IS(name, "attributes")) {
                    ONCE(inner, 0);
                    JTRY(jin_attrs(J, &B->resource_attrs, resource_row));
                } else {
                    JTRY(jin_skip(J, 1));
                }
            }
        } else if (IS(name, "scopeSpans")) {
            ONCE(seen, 1);
            JTRY(r2 = jin_open(J, '[', ']'));
            for (; r2; JTRY(r2 = jin_more(J, ']'))) JTRY(jin_scope_spans(J, resource_row, &used));
        } else {
            if (!IS(name, "schemaUrl")) seen |= 1u << 2;
            JTRY(jin_skip(J, 1));
        }
    }
    if ((seen & 4) && !(seen & 2)) return unsure(); /* a misspelled "scopeSpans"? */
    if (!used) batch_restore(B, &before);
    return 0;
}

/* One ExportTraceServiceRequest filling [p, end) but for whitespace. */
static int jin_request(JIn *J) {
    unsigned seen = 0;
    int r, r2;
    Text name;
    JTRY(r = jin_open(J, '{', '}'));
    for (; r; JTRY(r = jin_more(J, '}'))) {
        JTRY(jin_name(J, &name));
        if (IS(name, "resourceSpans")) {
            ONCE(seen, 0);
            JTRY(r2 = jin_open(J, '[', ']'));
            for (; r2; JTRY(r2 = jin_more(J, ']'))) JTRY(jin_resource_spans(J));
        } else {
            JTRY(jin_skip(J, 1));
        }
    }
    jin_ws(J);
    if (!seen || J->p != J->end) return unsure();
    return 0;
}

#endif
