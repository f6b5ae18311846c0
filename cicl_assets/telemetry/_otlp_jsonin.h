/* OTLP/JSON ExportTraceServiceRequest text (one document, or JSON lines: one request per line, as
 * the Collector's file exporter writes them) into the column buffers the protobuf decoder fills
 * (_otlp_columns.h), whole requests at a time. Plain C, no Python: the fuzz target builds it too.
 *
 * It reads canonical OTLP/JSON only: lowerCamelCase names, hex ids, 64-bit integers as decimal
 * strings or integer numbers, enums as integers, AnyValues with one value and at most one level
 * of arrays/kvlists, valid UTF-8, no nulls, each known name once. Unknown names are skipped (their
 * values still parsed). Anything else makes the request "unsure": the rows it added are taken
 * back and the whole request goes to the Python reader, which reads it or words its reject as it
 * would without this reader. Every read is bounded by the request's end. */
#ifndef CICL_OTLP_JSONIN_H
#define CICL_OTLP_JSONIN_H

#include <errno.h>
#include <math.h>

#include "_otlp_batch.h"

enum { FAIL_UNSURE = 3 };

static int unsure(void) {
    failure = FAIL_UNSURE;
    return -1;
}

#define JIN_MAX_DEPTH 64 /* of skipped values; the Python reader takes the deeper ones */
/* a statement expression (GNU C, as gcc and clang take it): usable in a for loop's step */
#define JTRY(expr) ({ if ((expr) < 0) return -1; })

/* Strings held until their object ends (its members come in any order). */
enum { H_NAME, H_STATE, H_MESSAGE, H_EV_NAME, H_LN_STATE, H_SCOPE_NAME, H_SCOPE_VERSION, HELD };

typedef struct {
    const uint8_t *p, *end; /* the request being read */
    Batch *B;
    Attrs scope_attrs; /* read so that a bad one is noticed, never stored */
    Buf held[HELD], tmp, bytes;
} JIn;

typedef struct {
    const uint8_t *s;
    size_t n;
} Text;

static int jin_init(JIn *J) {
    memset(J, 0, sizeof *J);
    return level_init(&J->scope_attrs.top) | level_init(&J->scope_attrs.child);
}

static void jin_free(JIn *J) {
    level_free(&J->scope_attrs.top);
    level_free(&J->scope_attrs.child);
    for (int k = 0; k < HELD; k++) buf_free(&J->held[k]);
    buf_free(&J->tmp);
    buf_free(&J->bytes);
}

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

/* ---- JSON tokens ---- */

static inline void jin_ws(JIn *J) {
    while (J->p < J->end && (*J->p == ' ' || *J->p == '\t' || *J->p == '\n' || *J->p == '\r'))
        J->p++;
}

static inline int jin_byte(JIn *J, uint8_t c) {
    jin_ws(J);
    if (J->p >= J->end || *J->p != c) return unsure();
    J->p++;
    return 0;
}

/* After the first member of an object or array: 1 another follows (its comma eaten), 0 the
 * closing `close` was eaten. */
static inline int jin_more(JIn *J, uint8_t close) {
    jin_ws(J);
    if (J->p < J->end && *J->p == ',') {
        J->p++;
        return 1;
    }
    if (J->p < J->end && *J->p == close) {
        J->p++;
        return 0;
    }
    return unsure();
}

/* Opens an object or array: 1 a member follows, 0 it was empty (and is closed). */
static inline int jin_open(JIn *J, uint8_t open, uint8_t close) {
    JTRY(jin_byte(J, open));
    jin_ws(J);
    if (J->p < J->end && *J->p == close) {
        J->p++;
        return 0;
    }
    return 1;
}

static int hex4(const uint8_t *p, uint32_t *out) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = p[k];
        int d = c >= '0' && c <= '9' ? c - '0'
                : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static int put_utf8(Buf *b, uint32_t cp) {
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 63));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | (cp >> 6 & 63));
        u[2] = (uint8_t)(0x80 | (cp & 63));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xF0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | (cp >> 12 & 63));
        u[2] = (uint8_t)(0x80 | (cp >> 6 & 63));
        u[3] = (uint8_t)(0x80 | (cp & 63));
        n = 4;
    }
    return buf_put(b, u, n);
}

/* A run of unescaped string bytes [p, q): no control characters, valid UTF-8. */
static int jin_run_ok(const uint8_t *p, const uint8_t *q) {
    int high = 0;
    for (const uint8_t *s = p; s < q; s++) {
        if (*s < 0x20) return 0;
        high |= *s;
    }
    return !(high & 0x80) || utf8_valid(p, (size_t)(q - p));
}

/* A string's text: in the input when it has no escapes, else decoded into `scratch`. */
static int jin_string(JIn *J, Text *t, Buf *scratch) {
    jin_ws(J);
    const uint8_t *p = J->p, *end = J->end;
    if (p >= end || *p != '"') return unsure();
    const uint8_t *start = ++p;
    while (p < end && *p != '"' && *p != '\\') p++;
    if (p >= end) return unsure();
    if (!jin_run_ok(start, p)) return unsure();
    if (*p == '"') {
        t->s = start;
        t->n = (size_t)(p - start);
        J->p = p + 1;
        return 0;
    }
    scratch->len = 0;
    TRY(buf_put(scratch, start, (size_t)(p - start)));
    for (;;) {
        if (p >= end) return unsure();
        if (*p == '"') break;
        if (*p != '\\') {
            const uint8_t *run = p;
            while (p < end && *p != '"' && *p != '\\') p++;
            if (p >= end || !jin_run_ok(run, p)) return unsure();
            TRY(buf_put(scratch, run, (size_t)(p - run)));
            continue;
        }
        if (end - p < 2) return unsure();
        uint8_t c = p[1], out;
        p += 2;
        switch (c) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u': {
            uint32_t cp, low;
            if (end - p < 4 || hex4(p, &cp) < 0) return unsure();
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return unsure(); /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &low) < 0 ||
                    low < 0xDC00 || low > 0xDFFF)
                    return unsure();
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            TRY(put_utf8(scratch, cp));
            continue;
        }
        default:
            return unsure();
        }
        TRY(buf_u8(scratch, out));
    }
    t->s = (const uint8_t *)scratch->p;
    t->n = scratch->len;
    if (!t->n) t->s = (const uint8_t *)"";
    J->p = p + 1;
    return 0;
}

/* An object member's name, which must not need unescaping. */
static int jin_name(JIn *J, Text *t) {
    jin_ws(J);
    const uint8_t *p = J->p, *end = J->end;
    if (p >= end || *p != '"') return unsure();
    const uint8_t *start = ++p;
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80) p++;
    if (p >= end || *p != '"') return unsure();
    t->s = start;
    t->n = (size_t)(p - start);
    J->p = p + 1;
    return jin_byte(J, ':');
}

#define IS(t, lit) ((t).n == sizeof lit - 1 && memcmp((t).s, lit, sizeof lit - 1) == 0)

/* Marks a known member seen; a second one makes the request unsure (the readers differ on it). */
#define ONCE(seen, bit) do { if ((seen) & (1u << (bit))) return unsure(); (seen) |= 1u << (bit); } while (0)

/* A number token as JSON spells it; *integer: no fraction or exponent. */
static int jin_number(JIn *J, Text *t, int *integer) {
    jin_ws(J);
    const uint8_t *p = J->p, *end = J->end, *start = p;
    if (p < end && *p == '-') p++;
    if (p >= end || *p < '0' || *p > '9') return unsure();
    if (*p == '0') p++;
    else while (p < end && *p >= '0' && *p <= '9') p++;
    *integer = 1;
    if (p < end && *p == '.') {
        *integer = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9') return unsure();
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *integer = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return unsure();
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    t->s = start;
    t->n = (size_t)(p - start);
    J->p = p;
    return 0;
}

/* Decimal digits with an optional '-', no leading zeros, no "-0", within int64. */
static int decimal_i64(Text t, int64_t *out) {
    size_t k = 0;
    int negative = t.n && t.s[0] == '-';
    k = (size_t)negative;
    size_t digits = t.n - k;
    if (digits == 0 || digits > 19 || (t.s[k] == '0' && (digits > 1 || negative))) return -1;
    uint64_t v = 0;
    for (; k < t.n; k++) {
        if (t.s[k] < '0' || t.s[k] > '9') return -1;
        v = v * 10 + (uint64_t)(t.s[k] - '0'); /* 19 digits fit in uint64 */
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)negative) return -1;
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* A 64-bit integer given as a decimal string or an integer number. */
static int jin_i64(JIn *J, int64_t *out) {
    Text t;
    int integer = 1;
    jin_ws(J);
    if (J->p < J->end && *J->p == '"') {
        JTRY(jin_string(J, &t, &J->tmp));
    } else {
        JTRY(jin_number(J, &t, &integer));
    }
    if (!integer || decimal_i64(t, out) < 0) return unsure();
    return 0;
}

/* An enum as an integer number (names go to the Python reader). */
static int jin_enum(JIn *J, int64_t *out) {
    Text t;
    int integer;
    JTRY(jin_number(J, &t, &integer));
    if (!integer || decimal_i64(t, out) < 0) return unsure();
    return 0;
}

/* Unix nanoseconds: a non-negative 64-bit integer. */
static int jin_nanos(JIn *J, int64_t *out) {
    JTRY(jin_i64(J, out));
    return *out < 0 ? unsure() : 0;
}

static int jin_double(JIn *J, double *out) {
    Text t;
    jin_ws(J);
    if (J->p < J->end && *J->p == '"') {
        JTRY(jin_string(J, &t, &J->tmp));
        if (IS(t, "NaN")) *out = NAN;
        else if (IS(t, "Infinity")) *out = INFINITY;
        else if (IS(t, "-Infinity")) *out = -INFINITY;
        else return unsure();
        return 0;
    }
    int integer;
    JTRY(jin_number(J, &t, &integer));
    char text[48];
    /* Arrow reads an integer as int64 first: "-0" becomes 0, and past 16 digits it may differ */
    if (t.n >= sizeof text || (integer && (t.n > 16 || IS(t, "-0")))) return unsure();
    memcpy(text, t.s, t.n);
    text[t.n] = 0;
    errno = 0;
    char *stop;
    *out = strtod(text, &stop);
    if (errno || stop != text + t.n || !isfinite(*out)) return unsure();
    return 0;
}

static int jin_literal(JIn *J, const char *word, size_t n) {
    if ((size_t)(J->end - J->p) < n || memcmp(J->p, word, n) != 0) return unsure();
    J->p += n;
    return 0;
}

static int jin_bool(JIn *J, uint8_t *out) {
    jin_ws(J);
    if (J->p < J->end && *J->p == 't') {
        *out = 1;
        return jin_literal(J, "true", 4);
    }
    *out = 0;
    return jin_literal(J, "false", 5);
}

/* Any JSON value, parsed and dropped (an unknown member's). */
static int jin_skip(JIn *J, int depth) {
    if (depth > JIN_MAX_DEPTH) return unsure();
    jin_ws(J);
    if (J->p >= J->end) return unsure();
    Text t;
    int r, integer;
    switch (*J->p) {
    case '"':
        return jin_string(J, &t, &J->tmp);
    case '{':
        JTRY(r = jin_open(J, '{', '}'));
        for (; r; JTRY(r = jin_more(J, '}'))) {
            JTRY(jin_string(J, &t, &J->tmp));
            JTRY(jin_byte(J, ':'));
            JTRY(jin_skip(J, depth + 1));
        }
        return 0;
    case '[':
        JTRY(r = jin_open(J, '[', ']'));
        for (; r; JTRY(r = jin_more(J, ']'))) JTRY(jin_skip(J, depth + 1));
        return 0;
    case 't':
        return jin_literal(J, "true", 4);
    case 'f':
        return jin_literal(J, "false", 5);
    case 'n':
        return jin_literal(J, "null", 4);
    default:
        /* numbers the readers could take differently (huge, exponents) go to the Python one */
        JTRY(jin_number(J, &t, &integer));
        return t.n > 20 || memchr(t.s, 'e', t.n) || memchr(t.s, 'E', t.n) ? unsure() : 0;
    }
}

static int b64_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strictly padded standard base64, decoded into J->bytes (what b64decode(validate=True) takes). */
static int jin_base64(JIn *J, Text t) {
    if (t.n % 4) return unsure();
    size_t pad = 0;
    while (pad < 2 && pad < t.n && t.s[t.n - 1 - pad] == '=') pad++;
    J->bytes.len = 0;
    TRY(buf_reserve(&J->bytes, t.n / 4 * 3));
    uint8_t *out = (uint8_t *)J->bytes.p;
    size_t o = 0;
    for (size_t k = 0; k < t.n; k += 4) {
        uint32_t v = 0;
        size_t real = k + 4 == t.n ? 4 - pad : 4;
        for (size_t j = 0; j < 4; j++) {
            int d = j < real ? b64_value(t.s[k + j]) : 0;
            if (d < 0) return unsure();
            v = v << 6 | (uint32_t)d;
        }
        out[o++] = (uint8_t)(v >> 16);
        if (real > 2) out[o++] = (uint8_t)(v >> 8);
        if (real > 3) out[o++] = (uint8_t)v;
    }
    J->bytes.len = o;
    return 0;
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
            JTRY(jin_skip(J, 1));
        }
    }
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
            JTRY(jin_skip(J, 1));
        }
    }
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

/* ---- requests of a file, batch by batch ---- */

/* The text is read in the Python reader's units: a document whole, JSON lines in its chunks (up
 * to the first line ending at or past chunk_bytes from the chunk's start). A unit holding a
 * request this reader is unsure of goes whole to the Python reader, which then reads (or
 * rejects) exactly what it reads without this reader: its fast path reads a chunk at once, and
 * what it accepts in a line can depend on the chunk's other lines. */
typedef struct {
    const uint8_t *data, *pos, *end;
    int lines;           /* one request per line, else the whole text is one */
    int done;
    int64_t line_no;     /* of pos (1-based) */
    size_t chunk_bytes;
    int pending;         /* a unit waits for the Python reader: */
    size_t unsure_start, unsure_end;
    int64_t unsure_line;
} JsonCursor;

static void json_cursor_init(JsonCursor *C, const uint8_t *data, size_t size, int lines,
                             size_t chunk_bytes) {
    memset(C, 0, sizeof *C);
    C->data = C->pos = data;
    C->end = data + size;
    C->lines = lines;
    C->line_no = 1;
    C->chunk_bytes = chunk_bytes;
}

/* The end of the unit that starts at pos. */
static const uint8_t *unit_end(const JsonCursor *C) {
    size_t left = (size_t)(C->end - C->pos);
    if (!C->lines || C->chunk_bytes >= left) return C->end;
    const uint8_t *nl = memchr(C->pos + C->chunk_bytes, '\n', left - C->chunk_bytes);
    return nl ? nl + 1 : C->end;
}

static int64_t count_lines(const uint8_t *p, const uint8_t *end) {
    int64_t n = 0;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* What bytes.strip() removes: a line of only these is skipped, as the Python reader skips it. */
static int blank_line(const uint8_t *p, const uint8_t *end) {
    for (; p < end; p++)
        if (!(*p == ' ' || (*p >= '\t' && *p <= '\r'))) return 0;
    return 1;
}

/* Every request of [p, end): one per line, or one. */
static int json_unit(JIn *J, const uint8_t *p, const uint8_t *end, int lines) {
    if (!lines) {
        J->p = p;
        J->end = end;
        return jin_request(J);
    }
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl ? nl : end;
        if (!blank_line(p, stop)) {
            J->p = p;
            J->end = stop;
            JTRY(jin_request(J));
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

/* Whole units into B until it holds `limit` spans: 0 the text is exhausted, 1 the limit was
 * reached, 2 a unit is left to the Python reader (C->pending; the rows before it stay in B), -1
 * out of memory. */
static int json_fill(JsonCursor *C, JIn *J, Batch *B, int64_t limit) {
    J->B = B;
    while (B->n < limit) {
        if (C->done) return 0;
        const uint8_t *start = C->pos, *stop = unit_end(C);
        int64_t line = C->line_no;
        Mark before;
        batch_mark(B, &before);
        failure = 0;
        /* a unit past 1 GiB could overflow the int32 string offsets: the Python reader takes it */
        int r = stop - start > (1 << 30) ? unsure() : json_unit(J, start, stop, C->lines);
        C->pos = stop;
        C->line_no += count_lines(start, stop);
        C->done = C->pos >= C->end;
        if (r < 0) {
            batch_restore(B, &before);
            if (failure != FAIL_UNSURE) return -1;
            C->pending = 1;
            C->unsure_start = (size_t)(start - C->data);
            C->unsure_end = (size_t)(stop - C->data);
            C->unsure_line = line;
            return 2;
        }
    }
    return 1;
}

#endif
