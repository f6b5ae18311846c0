/* json_depth(data, give_up_above=None): the deepest nesting of arrays and objects in JSON text,
 * brackets inside strings not counted, in one pass without allocating. It is the compiled form
 * of ingest/text_guards.json_depth_numpy and must return what that returns on any bytes, valid
 * JSON or not (tests/unit/ingest/test_json_depth_compiled.py), so it follows its rules, not a
 * JSON grammar's:
 *   - a backslash followed by a backslash or a quote takes both, inside strings or not; before
 *     any other byte it is dropped and that byte counts as usual;
 *   - a quote toggles being inside a string, at any level, even out of place;
 *   - closing brackets may take the level below zero, and later openings count from there.
 * Past give_up_above it stops: the value is then only known to be above it. With SSE2 (every
 * x86-64 build) it looks at sixteen bytes at once; the tail, and other targets, a byte at a time. */
#ifndef CICL_JSON_DEPTH_H
#define CICL_JSON_DEPTH_H

#include <Python.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    int64_t level, deepest;
    size_t skip_to; /* bytes before this were taken by a backslash */
    int inside;
} DepthScan;

/* One of the bytes '"', '\\', '[', ']', '{', '}' at s[i]; 1 once past give_up_above. */
static inline int depth_step(DepthScan *d, const unsigned char *s, size_t n, size_t i, int limited,
                             int64_t give_up_above) {
    if (i < d->skip_to) return 0;
    unsigned char c = s[i];
    if (c == '\\') {
        if (i + 1 < n && (s[i + 1] == '\\' || s[i + 1] == '"')) d->skip_to = i + 2;
    } else if (c == '"') {
        d->inside = !d->inside;
    } else if (!d->inside) {
        if (c == '[' || c == '{') {
            if (++d->level > d->deepest) {
                d->deepest = d->level;
                if (limited && d->deepest > give_up_above) return 1;
            }
        } else {
            d->level--;
        }
    }
    return 0;
}

static inline int depth_special(unsigned char c) {
    return c == '"' || c == '\\' || c == '[' || c == ']' || c == '{' || c == '}';
}

static int64_t json_depth_of(const unsigned char *s, size_t n, int limited, int64_t give_up_above) {
    DepthScan d = {0, 0, 0, 0};
    size_t i = 0;
#if defined(__SSE2__)
    /* Sixteen bytes at a time: a bit per byte that matters, handled in order. */
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i bracket = _mm_set1_epi8('['), close_bracket = _mm_set1_epi8(']');
    const __m128i case_bit = _mm_set1_epi8(0x20); /* '{' and '}' are '[' and ']' with it set */
    for (; i + 16 <= n; i += 16) {
        __m128i block = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i folded = _mm_andnot_si128(case_bit, block);
        __m128i hits = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)),
            _mm_or_si128(_mm_cmpeq_epi8(folded, bracket), _mm_cmpeq_epi8(folded, close_bracket)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hits);
        while (mask) {
            size_t at = i + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (depth_step(&d, s, n, at, limited, give_up_above)) return d.deepest;
        }
    }
#endif
    for (; i < n; i++)
        if (depth_special(s[i]) && depth_step(&d, s, n, i, limited, give_up_above)) return d.deepest;
    return d.deepest;
}

static PyObject *json_depth(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data;
    PyObject *give_up = Py_None;
    if (!PyArg_ParseTuple(args, "y*|O", &data, &give_up)) return NULL;
    int limited = give_up != Py_None;
    int64_t give_up_above = 0;
    if (limited) {
        int overflow = 0;
        long long value = PyLong_AsLongLongAndOverflow(give_up, &overflow);
        if (value == -1 && PyErr_Occurred()) {
            PyBuffer_Release(&data);
            return NULL;
        }
        /* A bound beyond int64 is as good as none above, and always exceeded below. */
        if (overflow > 0) limited = 0;
        give_up_above = overflow < 0 ? INT64_MIN : (int64_t)value;
    }
    int64_t deepest;
    Py_BEGIN_ALLOW_THREADS
    deepest = json_depth_of((const unsigned char *)data.buf, (size_t)data.len, limited, give_up_above);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyLong_FromLongLong(deepest);
}

#define JSON_DEPTH_METHODS                                                                     \
    {"json_depth", json_depth, METH_VARARGS,                                                  \
     "json_depth(data, give_up_above=None) -> deepest nesting of arrays and objects, brackets " \
     "in strings not counted (ingest/text_guards.py)"},

#endif
