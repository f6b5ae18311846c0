/* The OTLP/JSON reader (_otlp_jsonin.h) over a file: its requests batch by batch, in the Python
 * reader's units. Plain C. */
#ifndef CICL_OTLP_JSONUNITS_H
#define CICL_OTLP_JSONUNITS_H

#include "_otlp_jsonin.h"

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
