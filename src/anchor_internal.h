/* The quote matcher's parts that its own files share (src/anchor*.c); not for other modules.
 * Nothing here is API: every function's name starts with anchor__.
 *
 *   src/anchor.c        anchor_find(): the tiers in order and the passage rule, with the search
 *                       diagram at its top; the exact searches (tiers 1 and 2), short quotes,
 *                       elisions;
 *   src/anchor_text.c   the texts the search reads: UTF-8 units, normalization, the document
 *                       and its index (anchor_doc_new), a quote stripped and cut at its
 *                       elisions;
 *   src/anchor_fuzzy.c  tier 3: Myers' bit-parallel approximate matching, and the window it
 *                       finds turned into a range of whole words.
 */
#ifndef AMI_ANCHOR_INTERNAL_H
#define AMI_ANCHOR_INTERNAL_H

#include "ami/anchor.h"

#include <stddef.h>
#include <stdint.h>

#define NONE SIZE_MAX

typedef unsigned char uchar;

struct anchor_doc {
    uchar *doc;
    size_t len;
    uchar *norm;
    uint32_t *map;
    size_t nlen;
    size_t *starts; /* line starts: 0 and the offset after every LF */
    size_t nstarts;
    long nlines;
    size_t hist_raw[256];
    size_t hist_norm[256];
};

/* A quote, or one part of a quote with elisions. */
typedef struct part {
    const uchar *s; /* raw bytes, stripped */
    size_t n;
    uchar *nq; /* normalized */
    size_t nn;
} part;

/* ---- matching context ----------------------------------------------------------------- */

typedef struct ctx {
    const anchor_doc *d;
    int has_passage;
    size_t ops, ope; /* the passage in the document */
    size_t nps, npe; /* the passage in the normalized text */
} ctx;

/* A found range. */
typedef struct match {
    int found;
    anchor_tier tier;
    size_t s, e; /* in the document */
    size_t dist; /* edit distance (tier 3) */
    size_t m;    /* normalized length, for the similarity */
    size_t away; /* bytes between the range and the passage */
    int repeated;
} match;

/* Bytes between [a, b) and [t0, t1) (0 when they overlap). */
static inline size_t anchor__gap(size_t a, size_t b, size_t t0, size_t t1) {
    if (b <= t0)
        return t0 - b;
    if (a >= t1)
        return a - t1;
    return 0;
}

/* ---- the texts (src/anchor_text.c) ----------------------------------------------------- */

/* Bytes of the unit at s[0..n): a well-formed UTF-8 sequence, or one byte. */
size_t anchor__unit_len(const uchar *s, size_t n);
/* Whether p does not cut a well-formed sequence of s[0..n). */
int anchor__on_boundary(const uchar *s, size_t n, size_t p);
/* The units of s[0..n). */
size_t anchor__count_units(const uchar *s, size_t n);
/* Normalizes s[0..n) into out (never longer); m32 or m64, when not NULL, get for each byte of
 * out the offset in s of the character it comes from.  Returns the length of out. */
size_t anchor__normalize(const uchar *s, size_t n, uchar *out, uint32_t *m32, size_t *m64);
/* Cuts the stripped quote q[0..n) at its elisions into at most ANCHOR_MAX_PARTS parts (s and n
 * set).  Returns how many. */
size_t anchor__split_parts(const uchar *q, size_t n, part *parts);
/* The first index of d's normalized text whose map is >= off (its length when none). */
size_t anchor__norm_index(const anchor_doc *d, size_t off);

/* ---- tier 3 (src/anchor_fuzzy.c) ------------------------------------------------------- */

/* Whether a normalized quote nq[0..nn) may be matched approximately. */
int anchor__fuzzy_ok(const uchar *nq, size_t nn);
/* Tier 3 in norm[lo, hi), preferring windows near [t0, t1): 1 found (*mt set), 0 not, -1 out
 * of memory. */
int anchor__fuzzy_in(const ctx *c, const uchar *nq, size_t nn, size_t lo, size_t hi, size_t t0,
                     size_t t1, match *mt);

#endif
