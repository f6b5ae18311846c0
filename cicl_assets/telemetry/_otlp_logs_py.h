/* The Python face of _otlp_logs.h, registered by _otlp_decode.c's module:
 *
 *   check_logs(data) -> (status, why, offset)     the first pass, statuses as check()'s
 *   LogDecoder(data).next(limit) -> dict | None   columns of up to `limit` records, None at the end
 *
 * Like Decoder, a LogDecoder must only be given data check_logs() passed: it bounds every read
 * and raises ValueError rather than read past a length, but does not repeat the schema checks. */
#ifndef CICL_OTLP_LOGS_PY_H
#define CICL_OTLP_LOGS_PY_H

#include "_otlp_logs.h"

typedef struct {
    PyObject_HEAD
    Py_buffer view;
    int has_view, has_batch;
    Cursor cursor;
    LogBatch batch; /* reused from batch to batch (emptied, not freed) */
} LogDecoder;

static int logs_put(PyObject *d, const char *key, PyObject *v) {
    if (!v) return -1;
    int r = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return r;
}

static int logs_put_buf(PyObject *d, const char *key, const Buf *b) {
    return logs_put(d, key, PyBytes_FromStringAndSize(b->len ? b->p : "", (Py_ssize_t)b->len));
}

static PyObject *log_batch_dict(const LogBatch *B) {
    const Buf *bufs[] = {LOG_BUFS(B)};
    static const char *buf_names[] = {"time", "observed", "severity", "flags", "body_kind", "hard",
                                      "resource_of", "scope_of", "at", "len", "res_at", "res_len",
                                      "res_hard"};
    const Strs *strs[] = {LOG_STRS(B)};
    static const char *str_names[] = {"severity_text", "body", "body_json", "event_name",
                                      "attributes", "session_id", "trace_id", "span_id",
                                      "resource_attributes", "service_name", "service_version",
                                      "deployment_environment", "scope_name", "scope_version"};
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    int r = logs_put(d, "n", PyLong_FromLongLong(B->n)) |
            logs_put(d, "resources", PyLong_FromLongLong(B->resources)) |
            logs_put(d, "scopes", PyLong_FromLongLong(B->scopes));
    for (size_t k = 0; !r && k < sizeof bufs / sizeof *bufs; k++)
        r = logs_put_buf(d, buf_names[k], bufs[k]);
    for (size_t k = 0; !r && k < sizeof strs / sizeof *strs; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s.off", str_names[k]);
        r = logs_put_buf(d, name, &strs[k]->off);
        snprintf(name, sizeof name, "%s.data", str_names[k]);
        if (!r) r = logs_put_buf(d, name, &strs[k]->data);
    }
    if (r) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *LogDecoder_next(LogDecoder *D, PyObject *arg) {
    int64_t limit = PyLong_AsLongLong(arg);
    if (limit == -1 && PyErr_Occurred()) return NULL;
    if (limit < 1) {
        PyErr_SetString(PyExc_ValueError, "limit must be positive");
        return NULL;
    }
    if (!D->has_batch || !D->has_view) {
        PyErr_SetString(PyExc_ValueError, "LogDecoder not initialised");
        return NULL;
    }
    LogBatch *B = &D->batch;
    log_batch_reset(B);
    int r;
    Py_BEGIN_ALLOW_THREADS
    failure = 0;
    r = log_fill(&D->cursor, (const uint8_t *)D->view.buf, B, limit);
    Py_END_ALLOW_THREADS
    if (r < 0 && failure == FAIL_DATA) {
        PyErr_SetString(PyExc_ValueError, "malformed protobuf reached the compiled decoder");
        return NULL;
    }
    if (r < 0) return PyErr_NoMemory();
    if (B->n == 0) Py_RETURN_NONE;
    return log_batch_dict(B);
}

static void LogDecoder_clear(LogDecoder *D) {
    if (D->has_view) PyBuffer_Release(&D->view);
    if (D->has_batch) log_batch_free(&D->batch);
    D->has_view = D->has_batch = 0;
}

static int LogDecoder_init(LogDecoder *D, PyObject *args, PyObject *kwds) {
    PyObject *data;
    if (!PyArg_ParseTuple(args, "O", &data)) return -1;
    LogDecoder_clear(D);
    int init = log_batch_init(&D->batch);
    D->has_batch = 1;
    if (init < 0) {
        LogDecoder_clear(D);
        PyErr_NoMemory();
        return -1;
    }
    if (PyObject_GetBuffer(data, &D->view, PyBUF_SIMPLE) < 0) return -1;
    D->has_view = 1;
    cursor_init(&D->cursor, D->view.buf, (size_t)D->view.len);
    return 0;
}

static void LogDecoder_dealloc(LogDecoder *D) {
    LogDecoder_clear(D);
    Py_TYPE(D)->tp_free((PyObject *)D);
}

static PyMethodDef LogDecoder_methods[] = {
    {"next", (PyCFunction)LogDecoder_next, METH_O,
     "next(limit) -> dict of column buffers for up to `limit` log records, or None at the end"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LogDecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cicl_assets.telemetry._otlp_decode.LogDecoder",
    .tp_basicsize = sizeof(LogDecoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "LogDecoder(data): log records of a checked ExportLogsServiceRequest, batch by batch",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)LogDecoder_init,
    .tp_dealloc = (destructor)LogDecoder_dealloc,
    .tp_methods = LogDecoder_methods,
};

static PyObject *check_logs(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Check c;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = check_logs_request(&c, view.buf, (size_t)view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("(izn)", status, c.why, (Py_ssize_t)c.at);
}

#define LOGS_METHODS                                                                              \
    {"check_logs", check_logs, METH_O,                                                            \
     "check_logs(data) -> (status, why, offset) of an ExportLogsServiceRequest, as check()'s"},

/* Adds LogDecoder to the module; -1 on failure. */
static int add_log_decoder(PyObject *m) {
    if (PyType_Ready(&LogDecoderType) < 0) return -1;
    return PyModule_AddObjectRef(m, "LogDecoder", (PyObject *)&LogDecoderType);
}

#endif
