/* cicl_assets.telemetry._otlp_decode.JsonDecoder: OTLP/JSON traces (_otlp_jsonin.h) into the same
 * batches Decoder gives, rendered and promoted the same way. Included by _otlp_decode.c after
 * Decoder (it shares batch_dict and the promote parsing).
 *
 *   JsonDecoder(data, lines, chunk_bytes, promote=()).next(limit) -> dict | (start, end, line) | None
 *       whole units (the document, or the Python reader's chunks of lines: `chunk_bytes`) until
 *       a batch holds `limit` spans or more; a tuple names a unit holding a request this reader
 *       is unsure of (bytes [start, end), first line `line`), which the caller reads with the
 *       Python reader before asking for the next batch; None at the end. */
#ifndef CICL_OTLP_JSONIN_PY_H
#define CICL_OTLP_JSONIN_PY_H

#include "_otlp_jsonunits.h"

typedef struct {
    Decoder base; /* its view, batch, rendering and promoted columns; its cursor unused */
    JsonCursor cursor;
    JIn in;
    int has_in;
} JsonDecoder;

static PyObject *unsure_request(JsonCursor *C) {
    C->pending = 0;
    return Py_BuildValue("(nnL)", (Py_ssize_t)C->unsure_start, (Py_ssize_t)C->unsure_end,
                         (long long)C->unsure_line);
}

static PyObject *JsonDecoder_next(JsonDecoder *JD, PyObject *arg) {
    Decoder *D = &JD->base;
    int64_t limit = PyLong_AsLongLong(arg);
    if (limit == -1 && PyErr_Occurred()) return NULL;
    if (limit < 1) {
        PyErr_SetString(PyExc_ValueError, "limit must be positive");
        return NULL;
    }
    if (!D->has_buffers || !JD->has_in) {
        PyErr_SetString(PyExc_ValueError, "JsonDecoder not initialised");
        return NULL;
    }
    if (JD->cursor.pending) return unsure_request(&JD->cursor);
    Batch *B = &D->batch;
    Rendered *J = &D->json;
    int r, done = 0;
    batch_reset(B);
    rendered_reset(J);
    Py_BEGIN_ALLOW_THREADS
    r = json_fill(&JD->cursor, &JD->in, B, limit);
    if (r >= 0 && B->n) {
        done = render(J, B);
        if (done < 0) r = -1;
    }
    for (int c = 0; r >= 0 && B->n && c < D->promoted; c++) {
        const Promoted *P = &D->promote[c];
        const Level *L = P->spans ? &B->attrs.top : &B->resource_attrs.top;
        if (promote_level(L, P->spans ? B->n : B->resources, P, &D->picks[c], &D->prio) < 0) r = -1;
    }
    Py_END_ALLOW_THREADS
    if (r < 0) return PyErr_NoMemory();
    if (B->n == 0) return JD->cursor.pending ? unsure_request(&JD->cursor) : Py_NewRef(Py_None);
    PyObject *out = batch_dict(B, J, done);
    if (out && put_picks(out, D) < 0) Py_CLEAR(out);
    return out;
}

static int JsonDecoder_init(JsonDecoder *JD, PyObject *args, PyObject *kwds) {
    PyObject *data, *promote = NULL;
    int lines;
    Py_ssize_t chunk_bytes;
    if (!PyArg_ParseTuple(args, "Opn|O", &data, &lines, &chunk_bytes, &promote)) return -1;
    if (chunk_bytes < 1) {
        PyErr_SetString(PyExc_ValueError, "chunk_bytes must be positive");
        return -1;
    }
    PyObject *base_args = promote ? PyTuple_Pack(2, data, promote) : PyTuple_Pack(1, data);
    if (!base_args) return -1;
    int r = Decoder_init(&JD->base, base_args, NULL);
    Py_DECREF(base_args);
    if (r < 0) return -1;
    if (JD->has_in) jin_free(&JD->in);
    JD->has_in = 1;
    if (jin_init(&JD->in) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    json_cursor_init(&JD->cursor, JD->base.view.buf, (size_t)JD->base.view.len, lines,
                     (size_t)chunk_bytes);
    return 0;
}

static void JsonDecoder_dealloc(JsonDecoder *JD) {
    if (JD->has_in) jin_free(&JD->in);
    JD->has_in = 0;
    Decoder_clear(&JD->base);
    Py_TYPE(JD)->tp_free((PyObject *)JD);
}

static PyMethodDef JsonDecoder_methods[] = {
    {"next", (PyCFunction)JsonDecoder_next, METH_O,
     "next(limit) -> column buffers of whole requests (>= limit spans, or the rest), "
     "(start, end, line) of a request left to the Python reader, or None at the end"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject JsonDecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cicl_assets.telemetry._otlp_decode.JsonDecoder",
    .tp_basicsize = sizeof(JsonDecoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "JsonDecoder(data, lines, chunk_bytes, promote=()): spans of OTLP/JSON traces, batch by batch",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)JsonDecoder_init,
    .tp_dealloc = (destructor)JsonDecoder_dealloc,
    .tp_methods = JsonDecoder_methods,
};

#endif
