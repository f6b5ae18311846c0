/* The compiled OTLP decoders' passes (protobuf traces and logs) and the OTLP/JSON traces reader
 * without Python, for sanitizers and libFuzzer.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I cicl_assets/telemetry \
 *       tests/fuzz/otlp_target.c -o otlp-fuzz && ./otlp-fuzz CORPUS_DIR
 *   gcc -DCICL_STANDALONE -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
 *       -I cicl_assets/telemetry tests/fuzz/otlp_target.c -o otlp-target && ./otlp-target FILE...
 *
 * Each input goes through the check and, checked or not, through the second pass in batches of
 * seven spans (the buffers reused, as the Decoder reuses them), each batch then rendered to JSON
 * and two promoted columns picked: the second pass must bound its own reads. The OTLP/JSON reader
 * reads each input too, as JSON lines and as a document; then the same bytes as a logs request:
 * its check, and its decoder in batches of seven records.
 * `make fuzz` runs both forms. */
#include <stdio.h>

#include "_otlp_batch.h"
#include "_otlp_json.h"
#include "_otlp_jsonunits.h"
#include "_otlp_logs.h"
#include "_otlp_promote.h"

static void logs_pass(const uint8_t *data, size_t size) {
    Check c;
    check_logs_request(&c, data, size);
    Cursor cursor;
    cursor_init(&cursor, data, size);
    LogBatch B; /* reused for every batch, as LogDecoder.next reuses it */
    if (log_batch_init(&B) < 0) abort();
    for (;;) {
        log_batch_reset(&B);
        failure = 0;
        int r = log_fill(&cursor, data, &B, 7);
        if (r < 0 && failure == FAIL_MEMORY) abort();
        if (r <= 0 || B.n == 0) break;
    }
    log_batch_free(&B);
}

/* The OTLP/JSON reader over the same bytes, as lines in chunks of `chunk` bytes or as one
 * document, batches of seven spans rendered and promoted, units it is unsure of passed over. */
static void json_pass(const uint8_t *data, size_t size, int lines, size_t chunk) {
    JsonCursor cursor;
    JIn in;
    Batch B;
    Rendered J;
    Buf pick = {0}, prio = {0};
    Promoted model = {1, STR, 2, {"gen_ai.request.model", "k"}, {20, 1}};
    json_cursor_init(&cursor, data, size, lines, chunk);
    if (batch_init(&B) < 0 || rendered_init(&J) < 0 || jin_init(&in) < 0) abort();
    for (;;) {
        batch_reset(&B);
        rendered_reset(&J);
        int r = json_fill(&cursor, &in, &B, 7);
        if (r < 0) abort(); /* only memory fails */
        if (B.n && (render(&J, &B) < 0 || promote_level(&B.attrs.top, B.n, &model, &pick, &prio) < 0))
            abort();
        cursor.pending = 0;
        if (r == 0) break;
    }
    jin_free(&in);
    batch_free(&B);
    rendered_free(&J);
    buf_free(&pick);
    buf_free(&prio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_pass(data, size, 1, 64);
    json_pass(data, size, 0, 1);
    Check c;
    check_request(&c, data, size);
    Cursor cursor;
    cursor_init(&cursor, data, size);
    /* one batch and one rendering reused for every batch, as Decoder.next reuses them */
    Batch B;
    Rendered J;
    Buf pick = {0}, prio = {0};
    Promoted service = {0, STR, 2, {"service.name", "k"}, {12, 1}};
    Promoted status = {1, INT, 2, {"http.response.status_code", "k"}, {25, 1}};
    if (batch_init(&B) < 0 || rendered_init(&J) < 0) abort();
    for (;;) {
        batch_reset(&B);
        rendered_reset(&J);
        int r = fill(&cursor, &B, 7);
        int64_t n = B.n;
        if (r >= 0 && n && render(&J, &B) < 0) abort();
        if (r >= 0 && n && (promote_level(&B.resource_attrs.top, B.resources, &service, &pick, &prio) < 0 ||
                            promote_level(&B.attrs.top, n, &status, &pick, &prio) < 0))
            abort();
        if (r < 0 && failure == FAIL_MEMORY) abort();
        if (r <= 0 || n == 0) break;
    }
    batch_free(&B);
    rendered_free(&J);
    buf_free(&pick);
    buf_free(&prio);
    logs_pass(data, size);
    return 0;
}

#ifdef CICL_STANDALONE
int main(int argc, char **argv) {
    for (int k = 1; k < argc; k++) {
        FILE *f = fopen(argv[k], "rb");
        if (!f) {
            perror(argv[k]);
            return 2;
        }
        size_t size = 0, cap = 4096;
        uint8_t *data = malloc(cap);
        for (size_t got; data && (got = fread(data + size, 1, cap - size, f)) > 0;) {
            size += got;
            if (size == cap) data = realloc(data, cap *= 2);
        }
        if (!data || ferror(f)) {
            fprintf(stderr, "%s: cannot read\n", argv[k]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
    }
    printf("%d inputs\n", argc - 1);
    return 0;
}
#endif
