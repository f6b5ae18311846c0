/* The JSON text columns of a batch (span and resource attributes, events, links), byte for byte
 * what span_batch.build_table renders from the same columns: strings escaped as Python's
 * json.dumps(ensure_ascii=False) escapes them, integers in decimal, doubles as Arrow casts them to
 * text (shortest round trip; exponent form below 1e-6 and from 1e10), NaN and infinities as the
 * OTLP/JSON strings. Values nested two levels deep (RAW_JSON) are left to Python: a batch that
 * holds one is not rendered here. Plain C. */
#ifndef CICL_OTLP_JSON_H
#define CICL_OTLP_JSON_H

#include <math.h>
#include <stdio.h>

#include "_otlp_columns.h"

typedef struct {
    Strs resource, spans, events, links;
} Rendered;

#define RENDERED_STRS(J) &J->resource, &J->spans, &J->events, &J->links

static int rendered_init(Rendered *J) {
    memset(J, 0, sizeof *J);
    Strs *strs[] = {RENDERED_STRS(J)};
    int r = 0;
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) r |= strs_init(strs[k]);
    return r;
}

static void rendered_reset(Rendered *J) {
    Strs *strs[] = {RENDERED_STRS(J)};
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) strs_reset(strs[k]);
}

static void rendered_free(Rendered *J) {
    Strs *strs[] = {RENDERED_STRS(J)};
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) strs_free(strs[k]);
}

#define PUT(b, lit) buf_put(b, lit, sizeof lit - 1)

static int json_string(Buf *b, const uint8_t *p, size_t n) {
    static const char SHORT[32] = {
        [8] = 'b', [9] = 't', [10] = 'n', [12] = 'f', [13] = 'r',
    };
    if (buf_reserve(b, n + 2) < 0 || buf_u8(b, '"') < 0) return -1;
    size_t start = 0;
    for (size_t k = 0; k < n; k++) {
        /* eight bytes at a time while none is below 0x20, a quote or a backslash */
        while (n - k >= 8) {
            uint64_t w;
            memcpy(&w, p + k, 8);
            const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
            uint64_t q = w ^ (ones * '"'), s = w ^ (ones * '\\');
            if ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((s - ones) & ~s)) & high) break;
            k += 8;
        }
        if (k >= n) break;
        uint8_t c = p[k];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        if (buf_put(b, p + start, k - start) < 0) return -1;
        start = k + 1;
        char esc[7] = {'\\', (char)c, 0};
        size_t len = 2;
        if (c < 0x20 && SHORT[c]) {
            esc[1] = SHORT[c];
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            len = 6;
        }
        if (buf_put(b, esc, len) < 0) return -1;
    }
    if (buf_put(b, p + start, n - start) < 0) return -1;
    return buf_u8(b, '"');
}

/* Decimal digits of n into the end of text[24]; returns where they start. */
static char *u64_digits(uint64_t n, char text[24]) {
    char *p = text + 24;
    do {
        *--p = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    return p;
}

static int json_i64(Buf *b, int64_t v) {
    char text[24];
    uint64_t n = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = u64_digits(n, text);
    if (v < 0) *--p = '-';
    return buf_put(b, p, (size_t)(text + 24 - p));
}

/* The p-digit decimal nearest v (v finite, positive): digits[0..p), v ~ d1.d2.. * 10^exp; 1 when it
 * reads back as v. Below a power of two the doubles are twice as dense, so there the nearest
 * may miss while the next one up reads back: that one is taken (as shortest-form printers do). */
static int digits_at(double v, int p, char digits[20], int *exp) {
    char text[48];
    snprintf(text, sizeof text, "%.*e", p - 1, v);
    int n = 0;
    const char *q = text;
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[n++] = *q;
    *exp = atoi(q + 1);
    double back = strtod(text, NULL);
    if (back == v) return 1;
    if (back > v) return 0;
    int k = n - 1;
    for (; k >= 0 && digits[k] == '9'; k--) digits[k] = '0';
    if (k >= 0) {
        digits[k]++;
    } else {
        digits[0] = '1';
        ++*exp;
    }
    int o = 0;
    text[o++] = digits[0];
    text[o++] = '.';
    memcpy(text + o, digits + 1, (size_t)n - 1);
    o += n - 1;
    snprintf(text + o, sizeof text - (size_t)o, "e%d", *exp);
    return strtod(text, NULL) == v;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                               1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

/* Most doubles people send are short decimals (0.25, 1234.5): the fewest decimals k for which
 * the nearest integer n to v * 10^k gives back v as n / 10^k (both exact, so the division
 * rounds as reading "n e-k" does). Below 2^51 the doubles reading back as v span less than half
 * a unit of n, so n is the only candidate and the product's rounding cannot move it; past that
 * (16 digits and more) 0, and printf decides. */
static int short_decimal(double v, char digits[20], int *exp) {
    for (int k = 0; k < (int)(sizeof POW10 / sizeof *POW10); k++) {
        double x = v * POW10[k];
        if (x >= 2251799813685248.0) return 0;
        uint64_t n = (uint64_t)(x + 0.5);
        if (n == 0 || (double)n / POW10[k] != v) continue;
        char text[24];
        const char *p = u64_digits(n, text);
        int len = (int)(text + 24 - p);
        *exp = len - 1 - k;
        while (len > 1 && p[len - 1] == '0') len--;
        memcpy(digits, p, (size_t)len);
        return len;
    }
    return 0;
}

/* The shortest digits that read back as v (finite, positive), searched by precision: glibc's
 * printf rounds correctly, and once p digits read back so do p + 1. */
static int shortest_digits(double v, char digits[20], int *exp) {
    int n = short_decimal(v, digits, exp);
    if (n) return n;
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (digits_at(v, mid, digits, exp)) hi = mid;
        else lo = mid + 1;
    }
    digits_at(v, lo, digits, exp);
    n = lo;
    while (n > 1 && digits[n - 1] == '0') n--;
    return n;
}

/* |v| (finite, not zero) in its shortest digits: fixed while the decimal exponent lies in
 * [lo, hi], else d[.ddd]e[+-]x; a whole number ends in ".0" when `whole_point`. The two JSON
 * writers differ only in those three choices. */
static int put_shortest(Buf *b, double v, int lo, int hi, int whole_point) {
    char digits[20], out[48];
    int exp, n = shortest_digits(fabs(v), digits, &exp), o = 0;
    if (exp < lo || exp > hi) {
        out[o++] = digits[0];
        if (n > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)n - 1);
            o += n - 1;
        }
        o += snprintf(out + o, sizeof out - (size_t)o, "e%c%d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int k = 0; k < -exp - 1; k++) out[o++] = '0';
        memcpy(out + o, digits, (size_t)n);
        o += n;
    } else {
        for (int k = 0; k <= exp; k++) out[o++] = k < n ? digits[k] : '0';
        if (n > exp + 1) {
            out[o++] = '.';
            memcpy(out + o, digits + exp + 1, (size_t)(n - exp - 1));
            o += n - exp - 1;
        } else if (whole_point) {
            out[o++] = '.';
            out[o++] = '0';
        }
    }
    return buf_put(b, out, (size_t)o);
}

/* Arrow's float64 -> string cast (double-conversion's shortest form, exponents -6..9 fixed). */
static int json_double(Buf *b, double v) {
    if (isnan(v)) return PUT(b, "\"NaN\"");
    if (isinf(v)) return v > 0 ? PUT(b, "\"Infinity\"") : PUT(b, "\"-Infinity\"");
    if (signbit(v) && buf_u8(b, '-') < 0) return -1;
    if (v == 0) return buf_u8(b, '0');
    return put_shortest(b, v, -6, 9, 0);
}

/* A walk over one level's rows in order, with the next row of each sparse kind. */
typedef struct {
    const Level *L;
    int64_t row, i, d, b;
} Walk;

static const int32_t *str_off(const Strs *s) { return (const int32_t *)s->off.p; }

/* String r of s and its length (data is NULL while every string is empty). */
static const uint8_t *str_at(const Strs *s, int64_t r, size_t *n) {
    const int32_t *off = str_off(s);
    *n = (size_t)(off[r + 1] - off[r]);
    return s->data.p ? (const uint8_t *)s->data.p + off[r] : (const uint8_t *)"";
}

static int64_t at_i64(const Buf *b, int64_t k) {
    int64_t v;
    memcpy(&v, b->p + 8 * k, 8);
    return v;
}

static int json_value(Buf *out, Walk *w, Walk *child);

/* The rows of `w`'s level owned by `owner`, comma-separated ("key":value, or the value alone
 * for array elements). */
static int json_members(Buf *out, Walk *w, Walk *child, int64_t owner) {
    const Level *L = w->L;
    int first = 1;
    while (w->row < L->m && at_i64(&L->owner, w->row) == owner) {
        if (!first && buf_u8(out, ',') < 0) return -1;
        first = 0;
        if (L->key_valid.p[w->row]) {
            size_t n;
            const uint8_t *key = str_at(&L->keys, w->row, &n);
            if (json_string(out, key, n) < 0 || buf_u8(out, ':') < 0) return -1;
        }
        if (json_value(out, w, child) < 0) return -1;
    }
    return 0;
}

/* The value of w's current row, then the walk moves past it. */
static int json_value(Buf *out, Walk *w, Walk *child) {
    const Level *L = w->L;
    int64_t r = w->row++;
    size_t n;
    const uint8_t *text;
    switch ((uint8_t)L->kind.p[r]) {
    case STR:
    case BYTES:
        text = str_at(&L->s, r, &n);
        return json_string(out, text, n);
    case INT:
        return json_i64(out, at_i64(&L->i, w->i++));
    case DOUBLE: {
        double v;
        memcpy(&v, L->d.p + 8 * w->d++, 8);
        return json_double(out, v);
    }
    case BOOL:
        return L->b.p[w->b++] ? PUT(out, "true") : PUT(out, "false");
    case ARRAY:
    case KVLIST: {
        int array = L->kind.p[r] == ARRAY;
        if (!child) return -1;
        if (buf_u8(out, array ? '[' : '{') < 0 || json_members(out, child, NULL, r) < 0) return -1;
        return buf_u8(out, array ? ']' : '}');
    }
    case EMPTY:
        return PUT(out, "null");
    default:
        return -1; /* RAW_JSON: the caller checked there is none */
    }
}

typedef struct {
    Walk top, child;
} AttrWalk;

static void attr_walk(AttrWalk *a, const Attrs *A) {
    memset(a, 0, sizeof *a);
    a->top.L = &A->top;
    a->child.L = &A->child;
}

static int json_object(Buf *out, AttrWalk *a, int64_t owner) {
    if (buf_u8(out, '{') < 0 || json_members(out, &a->top, &a->child, owner) < 0) return -1;
    return buf_u8(out, '}');
}

/* Closes the string being written into s->data. */
static int strs_end(Strs *s) { return strs_push(s, NULL, 0); }

static int json_objects(Strs *out, const Attrs *A, int64_t owners) {
    AttrWalk a;
    attr_walk(&a, A);
    for (int64_t o = 0; o < owners; o++)
        if (json_object(&out->data, &a, o) < 0 || strs_end(out) < 0) return -1;
    return 0;
}

static int has_raw(const Batch *B) {
    const Attrs *attrs[] = {BATCH_ATTRS(B)};
    for (size_t k = 0; k < sizeof attrs / sizeof *attrs; k++)
        if (attrs[k]->top.raw_rows.len || attrs[k]->child.raw_rows.len) return 1;
    return 0;
}

static int json_events(Strs *out, const Batch *B) {
    AttrWalk a;
    attr_walk(&a, &B->event_attrs);
    int64_t e = 0;
    Buf *b = &out->data;
    for (int64_t span = 0; span < B->n; span++) {
        if (buf_u8(b, '[') < 0) return -1;
        for (int first = 1; e < B->events && at_i64(&B->ev_owner, e) == span; e++, first = 0) {
            size_t n;
            const uint8_t *name = str_at(&B->ev_name, e, &n);
            if ((!first && buf_u8(b, ',') < 0) || PUT(b, "{\"name\":") < 0 || json_string(b, name, n) < 0 ||
                PUT(b, ",\"time_unix_nano\":") < 0 || json_i64(b, at_i64(&B->ev_time, e)) < 0 ||
                PUT(b, ",\"attributes\":") < 0 || json_object(b, &a, e) < 0 || buf_u8(b, '}') < 0)
                return -1;
        }
        if (buf_u8(b, ']') < 0 || strs_end(out) < 0) return -1;
    }
    return 0;
}

static int json_links(Strs *out, const Batch *B) {
    AttrWalk a;
    attr_walk(&a, &B->link_attrs);
    int64_t l = 0;
    Buf *b = &out->data;
    for (int64_t span = 0; span < B->n; span++) {
        if (buf_u8(b, '[') < 0) return -1;
        for (int first = 1; l < B->links && at_i64(&B->ln_owner, l) == span; l++, first = 0) {
            size_t state;
            const uint8_t *text = str_at(&B->ln_state, l, &state);
            if ((!first && buf_u8(b, ',') < 0) || PUT(b, "{\"trace_id\":\"") < 0 ||
                buf_put(b, B->ln_trace.p + 32 * l, 32) < 0 || PUT(b, "\",\"span_id\":\"") < 0 ||
                buf_put(b, B->ln_span.p + 16 * l, 16) < 0 || buf_u8(b, '"') < 0)
                return -1;
            if (state && (PUT(b, ",\"trace_state\":") < 0 ||
                          json_string(b, text, state) < 0))
                return -1;
            if (PUT(b, ",\"attributes\":") < 0 || json_object(b, &a, l) < 0 || buf_u8(b, '}') < 0)
                return -1;
        }
        if (buf_u8(b, ']') < 0 || strs_end(out) < 0) return -1;
    }
    return 0;
}

/* 1 rendered, 0 left to Python (a RAW_JSON value), -1 out of memory. */
static int render(Rendered *J, const Batch *B) {
    if (has_raw(B)) return 0;
    if (json_objects(&J->resource, &B->resource_attrs, B->resources) < 0 ||
        json_objects(&J->spans, &B->attrs, B->n) < 0 || json_events(&J->events, B) < 0 ||
        json_links(&J->links, B) < 0)
        return -1;
    return 1;
}

#endif
