/* json_depth(data, give_up_above=None): the deepest nesting of arrays and objects in JSON text,
 * brackets inside strings not counted, in one pass without allocating. It is the compiled form
 * of ingest/text_guards.json_depth_numpy and must return what that returns on any bytes, valid
 * JSON or not (tests/unit/ingest/test_json_depth_compiled.py), so it follows its rules, not a
 * JSON grammar's:
 *   - a backslash followed by a backslash or a quote takes both, inside strings or not; before
 *     any other byte it is dropped and that byte counts as usual;
 *   - a quote toggles being inside a string, at any level, even out of place;
 *   - closing brackets may take the level below zero, and later openings count from there.
 * Past give_up_above it stops: the value is then only known to be above it. */
#ifndef CICL_JSON_DEPTH_H
#define CICL_JSON_DEPTH_H

#include <Python.h>
#include <stdint.h>

enum { DEPTH_OTHER, DEPTH_OPEN, DEPTH_CLOSE, DEPTH_QUOTE, DEPTH_BACKSLASH };

/* Byte classes outside strings and inside them, where brackets are text. */
static unsigned char depth_class[2][256];
static int depth_ready = 0;

static void depth_prepare(void) {
    if (depth_ready) return;
    for (int inside = 0; inside < 2; inside++) {
        depth_class[inside]['"'] = DEPTH_QUOTE;
        depth_class[inside]['\\'] = DEPTH_BACKSLASH;
    }
    depth_class[0]['['] = depth_class[0]['{'] = DEPTH_OPEN;
    depth_class[0][']'] = depth_class[0]['}'] = DEPTH_CLOSE;
    depth_ready = 1;
}

static int64_t json_depth_of(const unsigned char *s, size_t n, int limited, int64_t give_up_above) {
    int64_t level = 0, deepest = 0;
    int inside = 0;
    size_t i = 0;
    while (i < n) {
        const unsigned char *classes = depth_class[inside];
        while (i < n && classes[s[i]] == DEPTH_OTHER) i++;
        if (i == n) break;
        switch (classes[s[i]]) {
        case DEPTH_OPEN:
            if (++level > deepest) {
                deepest = level;
                if (limited && deepest > give_up_above) return deepest;
            }
            break;
        case DEPTH_CLOSE:
            level--;
            break;
        case DEPTH_QUOTE:
            inside = !inside;
            break;
        default: /* DEPTH_BACKSLASH */
            if (i + 1 < n && (s[i + 1] == '\\' || s[i + 1] == '"')) i++;
            break;
        }
        i++;
    }
    return deepest;
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
    depth_prepare();
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
