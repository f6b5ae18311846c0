/* cicl_assets.telemetry._otlp_decode: OTLP ExportTraceServiceRequest protobuf bytes straight into
 * the column buffers the pure-Python decoder (otlp_proto.py) builds, batch by batch.
 *
 *   check(data) -> (status, why, offset)     the first pass (_otlp_check.h)
 *   Decoder(data, promote=()).next(limit) -> dict | None
 *       columns of up to `limit` spans, None at the end; promote: ((spans, kind, (key, ...)), ...)
 *       the promoted columns whose picks (_otlp_promote.h) it gives as "promoted", in that order
 *
 * A Decoder must only be given data check() passed: it still bounds every read, and raises
 * ValueError rather than read past a length, but it does not repeat the schema checks. The JSON
 * text columns are rendered here too (_otlp_json.h) unless the batch holds a value nested two
 * levels deep; redaction stays in Python. JsonDecoder (_otlp_jsonin_py.h) fills the same batches
 * from OTLP/JSON. json_depth (_json_depth.h) is the nesting guard every JSON file passes first. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_json_depth.h"
#include "_otlp_batch.h"
#include "_otlp_json.h"
#include "_otlp_logs_py.h"
#include "_otlp_promote.h"
#include "_secret_scan.h"

typedef struct {
    PyObject_HEAD
    Py_buffer view;
    int has_view, has_buffers;
    Cursor cursor;
    Batch batch;      /* reused from batch to batch (emptied, not freed) */
    Rendered json;
    int promoted;     /* columns in promote[] */
    Promoted promote[MAX_PROMOTED];
    Buf picks[MAX_PROMOTED], prio;
} Decoder;

static int put_bytes(PyObject *d, const char *key, const void *p, size_t n) {
    PyObject *v = PyBytes_FromStringAndSize(n ? p : "", (Py_ssize_t)n);
    if (!v) return -1;
    int r = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return r;
}

static int put_int(PyObject *d, const char *key, int64_t n) {
    PyObject *v = PyLong_FromLongLong(n);
    if (!v) return -1;
    int r = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return r;
}

static int put_buf(PyObject *d, const char *prefix, const char *key, const Buf *b) {
    char name[64];
    snprintf(name, sizeof name, "%s%s", prefix, key);
    return put_bytes(d, name, b->p, b->len);
}

static int put_strs(PyObject *d, const char *prefix, const char *key, const Strs *s) {
    char name[64];
    snprintf(name, sizeof name, "%s%s.off", prefix, key);
    if (put_bytes(d, name, s->off.p, s->off.len) < 0) return -1;
    snprintf(name, sizeof name, "%s%s.data", prefix, key);
    return put_bytes(d, name, s->data.p, s->data.len);
}

static int put_level(PyObject *d, const char *prefix, const Level *L) {
    char name[64];
    snprintf(name, sizeof name, "%sm", prefix);
    if (put_int(d, name, L->m) < 0) return -1;
    const Buf *bufs[] = {LEVEL_BUFS(L)};
    static const char *names[] = {"owner", "key_valid", "kind", "i_rows", "i", "d_rows", "d",
                                  "b_rows", "b", "raw_rows"};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++)
        if (put_buf(d, prefix, names[k], bufs[k]) < 0) return -1;
    return put_strs(d, prefix, "keys", &L->keys) | put_strs(d, prefix, "s", &L->s) |
           put_strs(d, prefix, "raw", &L->raw);
}

static int put_attrs(PyObject *d, const char *name, const Attrs *A) {
    char prefix[48];
    snprintf(prefix, sizeof prefix, "%s.", name);
    if (put_level(d, prefix, &A->top) < 0) return -1;
    snprintf(prefix, sizeof prefix, "%s.child.", name);
    return put_level(d, prefix, &A->child);
}

static int put_rendered(PyObject *d, const Rendered *J, int done) {
    const Strs *strs[] = {RENDERED_STRS(J)};
    static const char *names[] = {"resource_attributes", "span_attributes", "events", "links"};
    int r = PyDict_SetItemString(d, "rendered", done ? Py_True : Py_False);
    for (size_t k = 0; done && !r && k < sizeof strs / sizeof *strs; k++)
        r = put_strs(d, "json.", names[k], strs[k]);
    return r;
}

static int put_picks(PyObject *d, const Decoder *D) {
    PyObject *picks = PyTuple_New(D->promoted);
    if (!picks) return -1;
    for (int c = 0; c < D->promoted; c++) {
        const Buf *b = &D->picks[c];
        PyObject *v = PyBytes_FromStringAndSize(b->len ? b->p : "", (Py_ssize_t)b->len);
        if (!v) {
            Py_DECREF(picks);
            return -1;
        }
        PyTuple_SET_ITEM(picks, c, v);
    }
    int r = PyDict_SetItemString(d, "promoted", picks);
    Py_DECREF(picks);
    return r;
}

static PyObject *batch_dict(const Batch *B, const Rendered *J, int done) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    const Buf *bufs[] = {BATCH_BUFS(B)};
    static const char *buf_names[] = {"trace_id", "span_id", "parent", "parent_present", "kind",
                                      "start", "end", "code", "resource_of", "scope_of",
                                      "ev_owner", "ev_time", "ln_owner", "ln_trace", "ln_span"};
    const Strs *strs[] = {BATCH_STRS(B)};
    static const char *str_names[] = {"state", "name", "message", "scope_name", "scope_version",
                                      "ev_name", "ln_state"};
    const Attrs *attrs[] = {BATCH_ATTRS(B)};
    static const char *attr_names[] = {"resource_attrs", "attrs", "ev_attrs", "ln_attrs"};
    int r = put_int(d, "n", B->n) | put_int(d, "resources", B->resources);
    for (size_t k = 0; !r && k < sizeof bufs / sizeof *bufs; k++) r = put_buf(d, "", buf_names[k], bufs[k]);
    for (size_t k = 0; !r && k < sizeof strs / sizeof *strs; k++) r = put_strs(d, "", str_names[k], strs[k]);
    for (size_t k = 0; !r && k < sizeof attrs / sizeof *attrs; k++) r = put_attrs(d, attr_names[k], attrs[k]);
    if (!r) r = put_rendered(d, J, done);
    if (r) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *Decoder_next(Decoder *D, PyObject *arg) {
    int64_t limit = PyLong_AsLongLong(arg);
    if (limit == -1 && PyErr_Occurred()) return NULL;
    if (limit < 1) {
        PyErr_SetString(PyExc_ValueError, "limit must be positive");
        return NULL;
    }
    Batch *B = &D->batch;
    Rendered *J = &D->json;
    int done = 0;
    if (!D->has_buffers) {
        PyErr_SetString(PyExc_ValueError, "Decoder not initialised");
        return NULL;
    }
    batch_reset(B);
    rendered_reset(J);
    int r;
    Py_BEGIN_ALLOW_THREADS
    failure = 0;
    r = fill(&D->cursor, B, limit);
    if (r >= 0 && B->n) {
        done = render(J, B);
        if (done < 0) r = fail_memory();
    }
    for (int c = 0; r >= 0 && B->n && c < D->promoted; c++) {
        const Promoted *P = &D->promote[c];
        const Level *L = P->spans ? &B->attrs.top : &B->resource_attrs.top;
        if (promote_level(L, P->spans ? B->n : B->resources, P, &D->picks[c], &D->prio) < 0)
            r = fail_memory();
    }
    Py_END_ALLOW_THREADS
    PyObject *out = NULL;
    if (r < 0 && failure == FAIL_DATA) {
        PyErr_SetString(PyExc_ValueError, "malformed protobuf reached the compiled decoder");
    } else if (r < 0) {
        PyErr_NoMemory();
    } else if (B->n == 0) {
        out = Py_NewRef(Py_None);
    } else {
        out = batch_dict(B, J, done);
        if (out && put_picks(out, D) < 0) Py_CLEAR(out);
    }
    return out;
}

static void Decoder_clear(Decoder *D) {
    if (D->has_view) PyBuffer_Release(&D->view);
    if (D->has_buffers) {
        batch_free(&D->batch);
        rendered_free(&D->json);
    }
    D->has_view = D->has_buffers = 0;
    for (int c = 0; c < D->promoted; c++) {
        for (int k = 0; k < D->promote[c].keys; k++) free(D->promote[c].key[k]);
        buf_free(&D->picks[c]);
    }
    buf_free(&D->prio);
    D->promoted = 0;
}

/* The promoted columns Decoder(data, promote) looks for: ((spans, kind, (key, ...)), ...). */
static int parse_promote(Decoder *D, PyObject *spec) {
    PyObject *seq = PySequence_Fast(spec, "promote must be a sequence");
    if (!seq) return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    int r = 0;
    if (count > MAX_PROMOTED) {
        PyErr_SetString(PyExc_ValueError, "too many promoted columns");
        r = -1;
    }
    for (Py_ssize_t c = 0; !r && c < count; c++) {
        Promoted *P = &D->promote[c];
        PyObject *keys;
        int spans, kind;
        memset(P, 0, sizeof *P);
        D->promoted = (int)c + 1; /* what is set so far is freed by Decoder_clear */
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, c), "iiO!", &spans, &kind, &PyTuple_Type,
                              &keys)) {
            r = -1;
            break;
        }
        if ((kind != STR && kind != INT) || PyTuple_GET_SIZE(keys) > MAX_PROMOTED_KEYS) {
            PyErr_SetString(PyExc_ValueError, "a promoted column is STR or INT, with up to 4 keys");
            r = -1;
            break;
        }
        P->spans = spans != 0;
        P->kind = (uint8_t)kind;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(keys); k++) {
            Py_ssize_t n;
            const char *text = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(keys, k), &n);
            if (!text || n == 0) {
                if (text) PyErr_SetString(PyExc_ValueError, "an empty promoted key");
                r = -1;
                break;
            }
            P->key[k] = malloc((size_t)n);
            if (!P->key[k]) {
                PyErr_NoMemory();
                r = -1;
                break;
            }
            memcpy(P->key[k], text, (size_t)n);
            P->len[k] = (size_t)n;
            P->keys++;
        }
    }
    Py_DECREF(seq);
    return r;
}

static int Decoder_init(Decoder *D, PyObject *args, PyObject *kwds) {
    PyObject *data, *promote = NULL;
    if (!PyArg_ParseTuple(args, "O|O", &data, &promote)) return -1;
    Decoder_clear(D);
    if (promote && parse_promote(D, promote) < 0) {
        Decoder_clear(D);
        return -1;
    }
    int init = batch_init(&D->batch);
    init |= rendered_init(&D->json);
    D->has_buffers = 1;
    if (init < 0) {
        Decoder_clear(D); /* frees what was allocated before the failure */
        PyErr_NoMemory();
        return -1;
    }
    if (PyObject_GetBuffer(data, &D->view, PyBUF_SIMPLE) < 0) return -1;
    D->has_view = 1;
    cursor_init(&D->cursor, D->view.buf, (size_t)D->view.len);
    return 0;
}

static void Decoder_dealloc(Decoder *D) {
    Decoder_clear(D);
    Py_TYPE(D)->tp_free((PyObject *)D);
}

static PyMethodDef Decoder_methods[] = {
    {"next", (PyCFunction)Decoder_next, METH_O,
     "next(limit) -> dict of column buffers for up to `limit` spans, or None at the end"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cicl_assets.telemetry._otlp_decode.Decoder",
    .tp_basicsize = sizeof(Decoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Decoder(data, promote=()): spans of a checked ExportTraceServiceRequest, batch by batch",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Decoder_init,
    .tp_dealloc = (destructor)Decoder_dealloc,
    .tp_methods = Decoder_methods,
};

#include "_otlp_jsonin_py.h"

static PyObject *check(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Check c;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = check_request(&c, view.buf, (size_t)view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("(izn)", status, c.why, (Py_ssize_t)c.at);
}

static PyMethodDef module_methods[] = {
    {"check", check, METH_O,
     "check(data) -> (status, why, offset): 0 ok, 1 the fallback rejects it, 2 the fallback decodes it"},
    LOGS_METHODS
    JSON_DEPTH_METHODS
    {"scan_strings", scan_strings, METH_VARARGS,
     "scan_strings(offsets, data, offset, length, wide) -> bitmap of values redaction must look at"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_otlp_decode", "Compiled OTLP decoders: protobuf traces and logs, OTLP/JSON traces.", -1, module_methods,
};

PyMODINIT_FUNC PyInit__otlp_decode(void) {
    if (PyType_Ready(&DecoderType) < 0 || PyType_Ready(&JsonDecoderType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Decoder", (PyObject *)&DecoderType) < 0 || add_log_decoder(m) < 0 ||
        PyModule_AddObjectRef(m, "JsonDecoder", (PyObject *)&JsonDecoderType) < 0 ||
        PyModule_AddIntConstant(m, "OK", CHECK_OK) < 0 ||
        PyModule_AddIntConstant(m, "REJECT", CHECK_REJECT) < 0 ||
        PyModule_AddIntConstant(m, "UNUSUAL", CHECK_UNUSUAL) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
