/* Which values of an Arrow string column redaction must look at (ingest/redact_table.py).
 *
 * A value is cleared when it holds none of the words any secret rule needs, so the
 * redaction of the whole value cannot change it: a superset of the RE2 prefilter
 * (secret_text.MAY_HOLD_SECRET), of every text pattern's literal part, and of the key names
 * the structural JSON redaction acts on (ConfigMap too). "hook" alone (webhook, hooks) is
 * cleared when the value has no "://" and no backslash: the capability-URL rule needs a URL,
 * and without a JSON escape the decoded keys and strings are the text itself. Matching is
 * ASCII case-insensitive; the few non-ASCII characters that case-fold to ASCII letters (the
 * Kelvin sign, the long s, ligatures...) flag their value. Everything flagged goes through
 * the exact prefilter and redact_text as before.
 */
#ifndef CICL_SECRET_SCAN_H
#define CICL_SECRET_SCAN_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

static inline unsigned char scan_lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static inline int scan_word_at(const unsigned char *s, size_t n, size_t i, const char *word, size_t len) {
    if (i + len > n) return 0;
    for (size_t k = 0; k < len; k++)
        if (scan_lower(s[i + k]) != (unsigned char)word[k]) return 0;
    return 1;
}

/* A non-ASCII character starting at s[i] whose lower, upper or case-folded form holds an
 * ASCII letter (tests/unit/ingest/test_secret_scan.py derives the list from Unicode). */
static int scan_folds_to_ascii(const unsigned char *s, size_t n, size_t i) {
    unsigned char a = s[i], b = i + 1 < n ? s[i + 1] : 0, c = i + 2 < n ? s[i + 2] : 0;
    switch (a) {
    case 0xC3: return b == 0x9F;                          /* U+00DF sharp s */
    case 0xC4: return b == 0xB0 || b == 0xB1;             /* U+0130, U+0131 dotted/dotless i */
    case 0xC5: return b == 0x89 || b == 0xBF;             /* U+0149, U+017F long s */
    case 0xC7: return b == 0xB0;                          /* U+01F0 */
    case 0xE1: return b == 0xBA && ((c >= 0x96 && c <= 0x9A) || c == 0x9E); /* U+1E96..9A, 9E */
    case 0xE2: return b == 0x84 && c == 0xAA;             /* U+212A Kelvin sign */
    case 0xEF: return b == 0xAC && c >= 0x80 && c <= 0x86; /* U+FB00..FB06 ligatures */
    default: return 0;
    }
}

enum { SCAN_FLAGS, SCAN_HOOK, SCAN_SCHEME, SCAN_TOKEN };

/* The words scan_value looks for, lowercase, in order of their first byte. "hook" and
 * "://" flag a value only together with others (see the header comment); "token" does unless
 * a lowercase "s" follows: "tokens" (input_tokens) names a count, while "TOKENS" may split
 * into the key words "token" + "S...". */
static const struct {
    const char *word;
    unsigned char kind;
} scan_words[] = {
    {"://", SCAN_SCHEME}, {"auth", SCAN_FLAGS}, {"access", SCAN_FLAGS}, {"akia", SCAN_FLAGS}, {"asia", SCAN_FLAGS},
    {"agpa", SCAN_FLAGS}, {"aida", SCAN_FLAGS}, {"aroa", SCAN_FLAGS}, {"aiza", SCAN_FLAGS},
    {"bearer", SCAN_FLAGS}, {"basic", SCAN_FLAGS}, {"cookie", SCAN_FLAGS},
    {"credential", SCAN_FLAGS}, {"configmap", SCAN_FLAGS}, {"code=", SCAN_FLAGS},
    {"digest", SCAN_FLAGS}, {"eyj", SCAN_FLAGS}, {"ghp_", SCAN_FLAGS}, {"gho_", SCAN_FLAGS},
    {"ghu_", SCAN_FLAGS}, {"ghs_", SCAN_FLAGS}, {"ghr_", SCAN_FLAGS},
    {"github_pat_", SCAN_FLAGS}, {"glpat-", SCAN_FLAGS}, {"hook", SCAN_HOOK},
    {"identified", SCAN_FLAGS}, {"key", SCAN_FLAGS}, {"k_live_", SCAN_FLAGS},
    {"k_test_", SCAN_FLAGS}, {"pass", SCAN_FLAGS}, {"pwd", SCAN_FLAGS}, {"private", SCAN_FLAGS},
    {"secret", SCAN_FLAGS}, {"sk-", SCAN_FLAGS}, {"sig=", SCAN_FLAGS},
    {"signature=", SCAN_FLAGS}, {"token", SCAN_TOKEN}, {"xox", SCAN_FLAGS},
    {"ya29.", SCAN_FLAGS},
};
#define SCAN_WORD_COUNT (sizeof(scan_words) / sizeof(scan_words[0]))

/* Byte pairs that start a word, in any case, as a bit set small enough to stay in cache:
 * most positions of a value start none and are passed over with one look-up. */
static unsigned char scan_pairs[65536 / 8];
static size_t scan_word_len[SCAN_WORD_COUNT];
/* scan_words[scan_first[c] .. scan_first[c + 1]) start with the lowercase character c. */
static unsigned short scan_first[257];
static int scan_ready = 0;

static void scan_mark_pair(unsigned char a, unsigned char b) {
    unsigned char as[2] = {a, (unsigned char)(a >= 'a' && a <= 'z' ? a - 32 : a)};
    unsigned char bs[2] = {b, (unsigned char)(b >= 'a' && b <= 'z' ? b - 32 : b)};
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++) {
            unsigned pair = as[x] | (bs[y] << 8);
            scan_pairs[pair >> 3] |= (unsigned char)(1u << (pair & 7));
        }
}

/* 0 when the tables are ready; -1 (a Python error set) when scan_words is out of order. */
static int scan_prepare(void) {
    if (scan_ready) return 0;
    for (size_t k = 0; k < SCAN_WORD_COUNT; k++) {
        const char *w = scan_words[k].word;
        scan_word_len[k] = strlen(w);
        scan_mark_pair((unsigned char)w[0], (unsigned char)w[1]);
    }
    /* the words are grouped by first character: each group's range */
    size_t k = 0;
    for (int c = 0; c < 256; c++) {
        scan_first[c] = (unsigned short)k;
        while (k < SCAN_WORD_COUNT && (unsigned char)scan_words[k].word[0] == c) k++;
    }
    scan_first[256] = (unsigned short)k;
    if (k != SCAN_WORD_COUNT) {
        PyErr_SetString(PyExc_RuntimeError, "scan_words is not in order of first byte");
        return -1;
    }
    scan_ready = 1;
    return 0;
}

/* 1 when redaction must look at the value, 0 when it cannot change it. */
static int scan_value(const unsigned char *s, size_t n) {
    int hook = 0, scheme = 0, at = 0, backslash = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char raw = s[i];
        if (raw >= 0x80) {
            if (scan_folds_to_ascii(s, n, i)) return 1;
            continue;
        }
        if (raw == '@') {
            at = 1;
            continue;
        }
        if (raw == '\\') {
            /* a backslash-u escape may spell any word (the prefilter's HIDDEN_IN_JSON) */
            if (i + 1 < n && scan_lower(s[i + 1]) == 'u') return 1;
            backslash = 1;
            continue;
        }
        if (i + 1 >= n) continue;
        unsigned pair = raw | (s[i + 1] << 8);
        if (!(scan_pairs[pair >> 3] & (1u << (pair & 7)))) continue;
        unsigned char first = scan_lower(raw);
        for (size_t k = scan_first[first]; k < scan_first[first + 1]; k++) {
            if (!scan_word_at(s, n, i, scan_words[k].word, scan_word_len[k])) continue;
            switch (scan_words[k].kind) {
            case SCAN_HOOK: hook = 1; break;
            case SCAN_SCHEME: scheme = 1; break;
            case SCAN_TOKEN:
                if (i + 5 >= n || s[i + 5] != 's') return 1;
                break;
            default: return 1;
            }
        }
    }
    return (scheme && (at || hook)) || (hook && backslash);
}

/* scan_strings(offsets, data, offset, length, wide) -> bytes: a validity-style bitmap (LSB
 * first) with a bit set for each value redaction must look at. ``offsets`` and ``data`` are
 * an Arrow string array's buffers (int32 offsets, or int64 when ``wide``), ``offset`` the
 * array's slice offset. */
static PyObject *scan_strings(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer offsets, data;
    Py_ssize_t offset, length;
    int wide;
    if (!PyArg_ParseTuple(args, "y*z*nnp", &offsets, &data, &offset, &length, &wide)) return NULL;
    PyObject *result = NULL;
    size_t width = wide ? 8 : 4;
    if (offset < 0 || length < 0 ||
        (size_t)offsets.len < ((size_t)offset + (size_t)length + 1) * width) {
        PyErr_SetString(PyExc_ValueError, "scan_strings: offsets buffer too short");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, (length + 7) / 8);
    if (!result) goto done;
    unsigned char *bits = (unsigned char *)PyBytes_AS_STRING(result);
    memset(bits, 0, (size_t)(length + 7) / 8);
    const unsigned char *base = data.buf ? (const unsigned char *)data.buf : (const unsigned char *)"";
    size_t data_len = data.buf ? (size_t)data.len : 0;
    int bad = 0;
    if (scan_prepare() < 0) {
        Py_CLEAR(result);
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    /* A value equal to the one before it (a resource's attributes on each of its spans) takes
     * its flag without a scan. */
    int64_t last_start = -1, last_end = -1;
    int last_flag = 0;
    for (Py_ssize_t k = 0; k < length; k++) {
        int64_t start, end;
        if (wide) {
            const int64_t *o = (const int64_t *)offsets.buf + offset + k;
            start = o[0];
            end = o[1];
        } else {
            const int32_t *o = (const int32_t *)offsets.buf + offset + k;
            start = o[0];
            end = o[1];
        }
        if (start < 0 || end < start || (uint64_t)end > data_len) {
            bad = 1;
            break;
        }
        int flag;
        if (last_start >= 0 && end - start == last_end - last_start &&
            memcmp(base + start, base + last_start, (size_t)(end - start)) == 0) {
            flag = last_flag;
        } else {
            flag = scan_value(base + start, (size_t)(end - start));
            last_start = start, last_end = end, last_flag = flag;
        }
        if (flag) bits[k >> 3] |= (unsigned char)(1u << (k & 7));
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "scan_strings: an offset is outside the data buffer");
    }
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return result;
}

#endif
