/* import: the set of strings the readers key things by: a conversation's message ids, its
 * model names, and the file's conversation ids or activity rows (to tell repeats).
 *
 * Open addressing (linear probing on an FNV-1a hash) over entries kept in insertion order, so
 * that an entry's index is stable and the set can be walked in the order of first mention; keys
 * live NUL-terminated in one buffer.  Cleared in O(entries), not O(capacity), because it is
 * cleared once per conversation.  The types are in src/import_internal.h.
 */
#include "import_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- a set of strings ----------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

const char *import_strset_key(const import_strset *s, size_t i) {
    return s->keys.data + s->ents[i].off;
}

static int strset_grow(import_strset *s) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = (size_t)s->ents[i].hash & (cap - 1);
        while (slots[k])
            k = (k + 1) & (cap - 1);
        slots[k] = i + 1;
        s->ents[i].slot = k;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

/* Finds key k or adds it (with val 0).  Returns 1 when found, 0 when added, -1 when out of
 * memory; *idx is the entry's index either way. */
int import_strset_get(import_strset *s, const char *k, size_t n, size_t *idx) {
    if ((s->n + 1) * 2 > s->cap && strset_grow(s))
        return -1;
    uint64_t h = hash_bytes(k, n);
    size_t slot = (size_t)h & (s->cap - 1);
    while (s->slots[slot]) {
        const import_strset_ent *e = &s->ents[s->slots[slot] - 1];
        if (e->hash == h && e->len == n && memcmp(s->keys.data + e->off, k, n) == 0) {
            *idx = s->slots[slot] - 1;
            return 1;
        }
        slot = (slot + 1) & (s->cap - 1);
    }
    if (s->n == s->ents_cap) {
        size_t c = s->ents_cap ? s->ents_cap * 2 : 16;
        import_strset_ent *e = realloc(s->ents, c * sizeof *e);
        if (!e)
            return -1;
        s->ents = e;
        s->ents_cap = c;
    }
    size_t off = s->keys.len;
    /* Each key is NUL-terminated in the buffer, so it can be handed out as a C string. */
    if (buf_append(&s->keys, k, n) || buf_append_byte(&s->keys, '\0')) {
        s->keys.len = off;
        return -1;
    }
    import_strset_ent *e = &s->ents[s->n];
    e->off = off;
    e->len = n;
    e->slot = slot;
    e->hash = h;
    e->val = 0;
    s->slots[slot] = ++s->n;
    *idx = s->n - 1;
    return 0;
}

void import_strset_clear(import_strset *s) {
    for (size_t i = 0; i < s->n; i++)
        s->slots[s->ents[i].slot] = 0;
    s->n = 0;
    buf_clear(&s->keys);
}

void import_strset_free(import_strset *s) {
    buf_free(&s->keys);
    free(s->ents);
    free(s->slots);
    memset(s, 0, sizeof *s);
}
