/* OTLP ExportLogsServiceRequest protobuf -> the `otel_logs` columns, batch by batch (see
 * otlp_logs_compiled.py). Plain C, no Python: the fuzz target builds it on its own.
 *
 * check_logs_request (_otlp_logs_check.h) is the first pass; log_fill is the second. It renders
 * attributes, resource attributes and non-string bodies straight from the wire as JSON text
 * (_otlp_logs_json.h). A record whose rows the Python path derives
 * in a way this pass does not repeat is flagged `hard`, and Python decodes that record itself:
 * a key repeated within one object (a dict keeps the first place and the last value), event.name
 * or session.id (or, on its resource, service.name, service.version, deployment.environment[.name])
 * that is not a string, and gen_ai.evaluation.result events (they also fill eval_scores). */
#ifndef CICL_OTLP_LOGS_H
#define CICL_OTLP_LOGS_H

#include "_otlp_batch.h"
#include "_otlp_json.h"
#include "_otlp_logs_check.h"
#include "_otlp_logs_json.h"

/* ---- the column buffers of one batch ---- */

enum { BODY_NONE = 0, BODY_TEXT = 1, BODY_JSON = 2 };

typedef struct {
    int64_t n, resources, scopes;
    /* per record */
    Buf time, observed, severity, flags, body_kind, hard, resource_of, scope_of, at, len;
    Strs severity_text, body, body_json, event_name, attributes, session_id, trace, span;
    /* per resource and per scope */
    Buf res_at, res_len, res_hard;
    Strs res_json, service_name, service_version, environment, scope_name, scope_version;
    Buf keys; /* scratch for lj_object */
} LogBatch;

#define LOG_BUFS(B) &B->time, &B->observed, &B->severity, &B->flags, &B->body_kind, &B->hard, \
    &B->resource_of, &B->scope_of, &B->at, &B->len, &B->res_at, &B->res_len, &B->res_hard
#define LOG_STRS(B) &B->severity_text, &B->body, &B->body_json, &B->event_name, &B->attributes, \
    &B->session_id, &B->trace, &B->span, &B->res_json, &B->service_name, &B->service_version, \
    &B->environment, &B->scope_name, &B->scope_version

static int log_batch_init(LogBatch *B) {
    memset(B, 0, sizeof *B);
    Strs *strs[] = {LOG_STRS(B)};
    int r = 0;
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) r |= strs_init(strs[k]);
    return r;
}

static void log_batch_reset(LogBatch *B) {
    Buf *bufs[] = {LOG_BUFS(B)};
    Strs *strs[] = {LOG_STRS(B)};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) bufs[k]->len = 0;
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) strs_reset(strs[k]);
    B->keys.len = 0;
    B->n = B->resources = B->scopes = 0;
}

static void log_batch_free(LogBatch *B) {
    Buf *bufs[] = {LOG_BUFS(B)};
    Strs *strs[] = {LOG_STRS(B)};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) buf_free(bufs[k]);
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) strs_free(strs[k]);
    buf_free(&B->keys);
}

/* ---- the records ---- */

static int key_is(const Field *key, const char *text) {
    size_t n = strlen(text);
    return key->len == n && memcmp(key->data, text, n) == 0;
}

/* The value of attribute `name` among the KeyValues in fields `number` of [p, end) as text:
 * 0 absent or not set (null), 1 a string (*text), 2 any other kind (Python renders it). */
static int attr_text(const uint8_t *p, const uint8_t *end, uint32_t number, const char *name,
                     Field *text) {
    Field f, g;
    int found = 0;
    memset(text, 0, sizeof *text);
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.number != number || f.wire != WT_LEN) continue;
        Field key = {0}, value = {0};
        const uint8_t *q = f.data, *qend = f.data + f.len;
        while (q < qend) {
            NEXT(&q, qend, &g);
            if (g.wire != WT_LEN) continue;
            if (g.number == 1) key = g;
            else if (g.number == 2) value = g;
        }
        if (!key_is(&key, name)) continue;
        Field member;
        int which = value.data ? any_member(value.data, field_end(&value), &member) : 0;
        if (which < 0) return -1;
        found = which == 0 ? 0 : which == 1 ? 1 : 2;
        if (found == 1) *text = member;
    }
    return found;
}

static int push_field(Strs *s, const Field *f) { return strs_push(s, f->data, f->len); }

/* The resource's row: its attributes as JSON and the columns taken from them. */
static int add_log_resource(LogBatch *B, const uint8_t *base, const Field *resource) {
    const uint8_t *p = resource->data, *end = field_end(resource);
    int hard = 0;
    Field service, version, name, env;
    if (p) {
        if (lj_object(&B->keys, &B->res_json.data, p, end, 1, 2, &hard) < 0) return -1;
    } else {
        TRY(PUT(&B->res_json.data, "{}"));
    }
    TRY(strs_end(&B->res_json));
    const Field *environment = &name;
    int kinds[4];
    if ((kinds[0] = attr_text(p, end, 1, "service.name", &service)) < 0 ||
        (kinds[1] = attr_text(p, end, 1, "service.version", &version)) < 0 ||
        (kinds[2] = attr_text(p, end, 1, "deployment.environment.name", &name)) < 0 ||
        (kinds[3] = attr_text(p, end, 1, "deployment.environment", &env)) < 0)
        return -1;
    for (int k = 0; k < 4; k++) hard |= kinds[k] == 2;
    if (name.len == 0) environment = &env; /* resource.get(name) or resource.get(env) */
    TRY(push_field(&B->service_name, &service));
    TRY(push_field(&B->service_version, &version));
    TRY(push_field(&B->environment, environment));
    TRY(buf_i64(&B->res_at, p ? (int64_t)(p - base) : -1));
    TRY(buf_i64(&B->res_len, p ? (int64_t)resource->len : 0));
    TRY(buf_u8(&B->res_hard, (uint8_t)hard));
    B->resources++;
    return 0;
}

static int add_log_scope(LogBatch *B, const Field *scope) {
    Field f, name = {0}, version = {0};
    const uint8_t *p = scope->data, *end = field_end(scope);
    while (p < end) {
        NEXT(&p, end, &f);
        if (f.wire != WT_LEN) continue;
        if (f.number == 1) name = f;
        else if (f.number == 2) version = f;
    }
    TRY(push_field(&B->scope_name, &name));
    TRY(push_field(&B->scope_version, &version));
    B->scopes++;
    return 0;
}

static const char EVALUATION_EVENT[] = "gen_ai.evaluation.result";

static int add_log_record(LogBatch *B, const uint8_t *base, int64_t resource_row, int64_t scope_row,
                          const uint8_t *p, const uint8_t *end) {
    Field f, text = {0}, body = {0}, trace = {0}, span = {0}, event = {0};
    uint64_t time = 0, observed = 0, flags = 0;
    int64_t severity = 0;
    int hard = 0, has_body = 0;
    const uint8_t *q = p;
    while (q < end) {
        NEXT(&q, end, &f);
        if (f.wire == WT_LEN) {
            switch (f.number) {
            case 3: text = f; break;
            case 5: body = f; has_body = 1; break;
            case 9: trace = f; break;
            case 10: span = f; break;
            case 12: event = f; break;
            }
        } else if (f.wire == WT_I64 && f.number == 1) {
            time = f.value;
        } else if (f.wire == WT_I64 && f.number == 11) {
            observed = f.value;
        } else if (f.wire == WT_VARINT && f.number == 2) {
            severity = (int32_t)f.value; /* an open enum: any int32 */
        } else if (f.wire == WT_I32 && f.number == 8) {
            flags = f.value;
        }
    }
    if ((trace.len != 0 && trace.len != 16) || (span.len != 0 && span.len != 8) ||
        time >= TIME_LIMIT || observed >= TIME_LIMIT)
        return fail_data();
    /* the body: a string (bytes as base64 text) in `body`, anything else as JSON in `body_json` */
    Field member;
    int which = has_body ? any_member(body.data, field_end(&body), &member) : 0;
    if (which < 0) return -1;
    uint8_t kind = which == 0 ? BODY_NONE : which == 1 || which == 7 ? BODY_TEXT : BODY_JSON;
    if (which == 1) {
        TRY(push_field(&B->body, &member));
    } else if (which == 7) {
        TRY(lj_b64(&B->body.data, member.data, member.len, 0));
        TRY(strs_end(&B->body));
    } else {
        TRY(strs_end(&B->body));
    }
    if (kind == BODY_JSON &&
        lj_value(&B->keys, &B->body_json.data, body.data, field_end(&body), 4, &hard) < 0)
        return -1;
    TRY(strs_end(&B->body_json));
    if (lj_object(&B->keys, &B->attributes.data, p, end, 6, 4, &hard) < 0) return -1;
    TRY(strs_end(&B->attributes));
    /* event_name: eventName, else the event.name attribute; session_id: session.id */
    Field attr_event, session;
    int event_kind = attr_text(p, end, 6, "event.name", &attr_event);
    int session_kind = attr_text(p, end, 6, "session.id", &session);
    if (event_kind < 0 || session_kind < 0) return -1;
    const Field *event_name = event.len ? &event : &attr_event;
    if (!event.len && event_kind == 2) hard = 1;
    if (session_kind == 2) hard = 1;
    if (key_is(event_name, EVALUATION_EVENT)) hard = 1;
    TRY(push_field(&B->event_name, event_name));
    TRY(push_field(&B->session_id, &session));
    TRY(push_field(&B->severity_text, &text));
    TRY(put_hex(&B->trace.data, trace.data, trace.len));
    TRY(strs_end(&B->trace));
    TRY(put_hex(&B->span.data, span.data, span.len));
    TRY(strs_end(&B->span));
    TRY(buf_i64(&B->time, (int64_t)time));
    TRY(buf_i64(&B->observed, (int64_t)observed));
    TRY(buf_i64(&B->severity, severity));
    TRY(buf_i64(&B->flags, (int64_t)flags));
    TRY(buf_u8(&B->body_kind, kind));
    TRY(buf_u8(&B->hard, (uint8_t)hard));
    TRY(buf_i64(&B->resource_of, resource_row));
    TRY(buf_i64(&B->scope_of, scope_row));
    TRY(buf_i64(&B->at, (int64_t)(p - base)));
    TRY(buf_i64(&B->len, (int64_t)(end - p)));
    B->n++;
    return 0;
}

/* Up to `limit` more records into B; 0 when the request is exhausted, 1 when the limit was hit.
 * The same walk as fill(): request field 1, its field 2, their field 2; field 1 of the two
 * levels is the Resource and the InstrumentationScope. */
static int log_fill(Cursor *D, const uint8_t *base, LogBatch *B, int64_t limit) {
    Field f;
    int r;
    D->resource_row = D->scope_row = -1;
    while (B->n < limit) {
        if (D->ss) {
            r = next_message(&D->ss, D->ss_end, 2, &f);
            if (r < 0) return -1;
            if (r == 0) {
                D->ss = NULL;
                continue;
            }
            if (D->resource_row < 0) {
                D->resource_row = B->resources;
                if (add_log_resource(B, base, &D->resource) < 0) return -1;
            }
            if (D->scope_row < 0) {
                D->scope_row = B->scopes;
                if (add_log_scope(B, &D->scope) < 0) return -1;
            }
            if (add_log_record(B, base, D->resource_row, D->scope_row, f.data, f.data + f.len) < 0)
                return -1;
            continue;
        }
        if (D->rs) {
            r = next_message(&D->rs, D->rs_end, 2, &f);
            if (r < 0) return -1;
            if (r == 0) {
                D->rs = NULL;
                D->resource_row = -1;
                continue;
            }
            D->ss = f.data;
            D->ss_end = f.data + f.len;
            D->scope_row = -1;
            if (find_message(D->ss, D->ss_end, 1, &D->scope) < 0) return -1;
            continue;
        }
        r = next_message(&D->req, D->end, 1, &f);
        if (r <= 0) return r;
        D->rs = f.data;
        D->rs_end = f.data + f.len;
        if (find_message(D->rs, D->rs_end, 1, &D->resource) < 0) return -1;
    }
    return 1;
}

#endif
