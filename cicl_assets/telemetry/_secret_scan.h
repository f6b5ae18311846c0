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

#define SCAN_WORD(w) scan_word_at(s, n, i, (w), sizeof(w) - 1)

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

/* The words scan_value looks for, by their first two letters (scan_pairs); keep in step. */
static const char *const scan_words[] = {
    "auth", "access", "akia", "asia", "agpa", "aida", "aroa", "aiza", "bearer", "basic",
    "cookie", "credential", "configmap", "code=", "digest", "eyj", "ghp_", "gho_", "ghu_",
    "ghs_", "ghr_", "github_pat_", "glpat-", "identified", "key", "k_live_", "k_test_", "pass",
    "pwd", "private", "secret", "sk-", "sig=", "signature=", "token", "xox", "ya29.", NULL,
};

/* Byte pairs that start a word of scan_words, "hook" or "://", in any case: most positions
 * of a value start none, and are passed over with one table look-up. */
static unsigned char scan_pairs[65536 / 8]; /* a bit set: small enough to stay in cache */
static int scan_pairs_ready = 0;

static void scan_mark_pair(unsigned char a, unsigned char b) {
    unsigned char as[2] = {a, (unsigned char)(a >= 'a' && a <= 'z' ? a - 32 : a)};
    unsigned char bs[2] = {b, (unsigned char)(b >= 'a' && b <= 'z' ? b - 32 : b)};
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++) {
            unsigned pair = as[x] | (bs[y] << 8);
            scan_pairs[pair >> 3] |= (unsigned char)(1u << (pair & 7));
        }
}

static void scan_prepare(void) {
    if (scan_pairs_ready) return;
    for (const char *const *w = scan_words; *w; w++)
        scan_mark_pair((unsigned char)(*w)[0], (unsigned char)(*w)[1]);
    scan_mark_pair('h', 'o');
    scan_mark_pair(':', '/');
    scan_pairs_ready = 1;
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
            backslash = 1;
            continue;
        }
        if (i + 1 >= n) continue;
        unsigned pair = raw | (s[i + 1] << 8);
        if (!(scan_pairs[pair >> 3] & (1u << (pair & 7)))) continue;
        switch (scan_lower(raw)) {
        case 'a':
            if (SCAN_WORD("auth") || SCAN_WORD("access") || SCAN_WORD("akia") ||
                SCAN_WORD("asia") || SCAN_WORD("agpa") || SCAN_WORD("aida") ||
                SCAN_WORD("aroa") || SCAN_WORD("aiza"))
                return 1;
            break;
        case 'b':
            if (SCAN_WORD("bearer") || SCAN_WORD("basic")) return 1;
            break;
        case 'c':
            if (SCAN_WORD("cookie") || SCAN_WORD("credential") || SCAN_WORD("configmap") ||
                SCAN_WORD("code="))
                return 1;
            break;
        case 'd':
            if (SCAN_WORD("digest")) return 1;
            break;
        case 'e':
            if (SCAN_WORD("eyj")) return 1;
            break;
        case 'g':
            if (SCAN_WORD("ghp_") || SCAN_WORD("gho_") || SCAN_WORD("ghu_") ||
                SCAN_WORD("ghs_") || SCAN_WORD("ghr_") || SCAN_WORD("github_pat_") ||
                SCAN_WORD("glpat-"))
                return 1;
            break;
        case 'h':
            if (SCAN_WORD("hook")) hook = 1;
            break;
        case 'i':
            if (SCAN_WORD("identified")) return 1;
            break;
        case 'k':
            if (SCAN_WORD("key") || SCAN_WORD("k_live_") || SCAN_WORD("k_test_")) return 1;
            break;
        case 'p':
            if (SCAN_WORD("pass") || SCAN_WORD("pwd") || SCAN_WORD("private")) return 1;
            break;
        case 's':
            if (SCAN_WORD("secret") || SCAN_WORD("sk-") || SCAN_WORD("sig=") ||
                SCAN_WORD("signature="))
                return 1;
            break;
        case 't':
            /* "tokens" (input_tokens) names a count; "TOKENS" may split into "token" + "S..." */
            if (SCAN_WORD("token") && (i + 5 >= n || s[i + 5] != 's')) return 1;
            break;
        case 'x':
            if (SCAN_WORD("xox")) return 1;
            break;
        case 'y':
            if (SCAN_WORD("ya29.")) return 1;
            break;
        case ':':
            if (SCAN_WORD("://")) scheme = 1;
            break;
        default:
            break;
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
    scan_prepare();
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
