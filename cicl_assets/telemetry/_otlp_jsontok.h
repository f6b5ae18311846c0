/* The JSON tokens of the OTLP/JSON reader (_otlp_jsonin.h) and its state: strings (escapes and
 * surrogate pairs decoded, UTF-8 checked), numbers as JSON spells them, 64-bit integers and doubles
 * as OTLP/JSON gives them, base64, and any value skipped. A token the Python reader could read
 * otherwise makes the request "unsure" (unsure(): -1 with failure = FAIL_UNSURE). Every read is
 * bounded by J->end. Plain C. */
#ifndef CICL_OTLP_JSONTOK_H
#define CICL_OTLP_JSONTOK_H

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

#endif
