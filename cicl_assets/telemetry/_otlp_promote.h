/* The promoted columns (service_name, gen_ai_model, input_tokens, ...): per owner, the row of the
 * value span_batch.build_table would promote, found while the batch is still in C. Plain C. */
#ifndef CICL_OTLP_PROMOTE_H
#define CICL_OTLP_PROMOTE_H

#include "_otlp_columns.h"

#define MAX_PROMOTED 16
#define MAX_PROMOTED_KEYS 4

/* One promoted column: the owners' level (resource or span attributes), the value kind (STR or
 * INT) and its attribute keys, the preferred first. */
typedef struct {
    int spans; /* 1: span attributes, 0: resource attributes */
    uint8_t kind;
    int keys;
    char *key[MAX_PROMOTED_KEYS];
    size_t len[MAX_PROMOTED_KEYS];
} Promoted;

/* pick[owner]: the slot of the value promoted for each owner, -1 for none. A STR value's slot is
 * its row in the level (its string in `s`), an INT value's its place among the INT rows (in
 * `i`). Of the keys present with the kind, the first listed wins; of its rows, the last (as
 * attributes.promote assigns them). `prio` is scratch space. */
static int promote_level(const Level *L, int64_t owners, const Promoted *P, Buf *out, Buf *prio) {
    out->len = prio->len = 0;
    if (owners == 0) return 0;
    if (buf_reserve(out, (size_t)owners * 8) < 0 || buf_reserve(prio, (size_t)owners) < 0) return -1;
    int64_t *pick = (int64_t *)out->p;
    uint8_t *best = (uint8_t *)prio->p;
    for (int64_t o = 0; o < owners; o++) pick[o] = -1;
    memset(best, 0xFF, (size_t)owners);
    out->len = (size_t)owners * 8;
    int64_t ints = 0;
    for (int64_t r = 0; r < L->m; r++) {
        uint8_t kind = (uint8_t)L->kind.p[r];
        int64_t slot = kind == INT ? ints++ : r;
        if (kind != P->kind || !L->key_valid.p[r]) continue;
        const int32_t *off = (const int32_t *)L->keys.off.p;
        size_t n = (size_t)(off[r + 1] - off[r]);
        for (int j = 0; j < P->keys; j++) {
            /* keys are never empty, so keys.data is allocated when the lengths agree */
            if (n != P->len[j] || memcmp(L->keys.data.p + off[r], P->key[j], n) != 0) continue;
            int64_t owner;
            memcpy(&owner, L->owner.p + 8 * r, 8);
            if (owner >= 0 && owner < owners && j <= best[owner]) {
                best[owner] = (uint8_t)j;
                pick[owner] = slot;
            }
            break;
        }
    }
    return 0;
}

#endif
