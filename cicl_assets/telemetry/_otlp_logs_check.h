/* The first pass over an ExportLogsServiceRequest: the whole tree against the OTLP logs schema,
 * with the verdicts of _otlp_check.h (the messages logs share with traces are checked by its
 * check_msg). The fallback parses the whole request with upb, so the request itself is one more
 * level of upb's depth count, and its framing follows upb's rules. Plain C. */
#ifndef CICL_OTLP_LOGS_CHECK_H
#define CICL_OTLP_LOGS_CHECK_H

#include "_otlp_check.h"

static int check_log_record(Check *c, const uint8_t *p, const uint8_t *end, int depth) {
    const uint8_t *start = p;
    int body_seen = 0;
    size_t trace = 0, span = 0;
    uint64_t time = 0, observed = 0;
    while (p < end) {
        const uint8_t *at = p;
        Field f;
        int r = wire_field(&p, end, &f);
        if (r == -2) return verdict(c, CHECK_UNUSUAL, "a group field", at);
        if (r < 0) return verdict(c, CHECK_REJECT, "malformed field", at);
        if (f.wire == WT_I64 && (f.number == 1 || f.number == 11)) {
            *(f.number == 1 ? &time : &observed) = f.value;
            continue;
        }
        if (f.wire != WT_LEN) continue; /* severity, flags, dropped count; or an unknown field */
        int status = CHECK_OK;
        switch (f.number) {
        case 3:
        case 12:
            if (!utf8_valid(f.data, f.len)) return verdict(c, CHECK_REJECT, "invalid UTF-8", at);
            break;
        case 5:
            if (body_seen++) return verdict(c, CHECK_UNUSUAL, "a message field repeated", at);
            status = check_msg(c, f.data, f.data + f.len, M_ANY, depth + 1);
            break;
        case 6:
            status = check_msg(c, f.data, f.data + f.len, M_KV, depth + 1);
            break;
        case 9:
            trace = f.len;
            break;
        case 10:
            span = f.len;
            break;
        }
        if (status != CHECK_OK) return status;
    }
    if ((trace != 0 && trace != 16) || (span != 0 && span != 8))
        return verdict(c, CHECK_REJECT, "log record id length", start);
    if (time >= TIME_LIMIT || observed >= TIME_LIMIT)
        return verdict(c, CHECK_UNUSUAL, "log time past 2^63", start);
    return CHECK_OK;
}

/* ResourceLogs (records at level 2) and ScopeLogs (records at level 1): the singular message of
 * field 1 (Resource or InstrumentationScope), field 2 repeated, field 3 the schema URL. */
static int check_log_level(Check *c, const uint8_t *p, const uint8_t *end, int records_below,
                           int depth) {
    int first_seen = 0;
    while (p < end) {
        const uint8_t *at = p;
        Field f;
        int r = wire_field(&p, end, &f);
        if (r == -2) return verdict(c, CHECK_UNUSUAL, "a group field", at);
        if (r < 0) return verdict(c, CHECK_REJECT, "malformed field", at);
        if (f.wire != WT_LEN) continue;
        int status = CHECK_OK;
        if (f.number == 1) {
            if (first_seen++) return verdict(c, CHECK_UNUSUAL, "a message field repeated", at);
            status = check_msg(c, f.data, f.data + f.len, records_below == 2 ? M_RES : M_SCOPE,
                               depth + 1);
        } else if (f.number == 2) {
            status = records_below == 2
                         ? check_log_level(c, f.data, f.data + f.len, 1, depth + 1)
                         : check_log_record(c, f.data, f.data + f.len, depth + 1);
        } else if (f.number == 3 && !utf8_valid(f.data, f.len)) {
            return verdict(c, CHECK_REJECT, "invalid UTF-8", at);
        }
        if (status != CHECK_OK) return status;
    }
    return CHECK_OK;
}

static int check_logs_request(Check *c, const uint8_t *p, size_t size) {
    const uint8_t *end = p + size;
    c->base = p;
    c->why = NULL;
    c->at = 0;
    if (size > MAX_COMPILED_BYTES) return verdict(c, CHECK_UNUSUAL, "larger than 1 GiB", p);
    while (p < end) {
        const uint8_t *at = p;
        Field f;
        int r = wire_field(&p, end, &f);
        if (r == -2) return verdict(c, CHECK_UNUSUAL, "a group field", at);
        if (r < 0) return verdict(c, CHECK_REJECT, "malformed field", at);
        if (f.number != 1 || f.wire != WT_LEN) continue;
        int status = check_log_level(c, f.data, f.data + f.len, 2, 1);
        if (status != CHECK_OK) return status;
    }
    return CHECK_OK;
}

#endif
