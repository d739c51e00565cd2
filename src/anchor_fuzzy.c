/* anchor_fuzzy: tier 3 of the quote matcher (see src/anchor.c), for a quote no exact tier
 * finds.  Myers' bit-parallel approximate matching (the block form of Hyyrö, as in edlib)
 * gives the smallest edit distance of the normalized quote to a window of the normalized
 * document ending at each byte; a fast four-way scan first marks where a hit may be.  The
 * best window's start comes from the same algorithm run backwards from its end, and its
 * edges move to word boundaries before it becomes a range of the document.
 */
#include "ami/anchor.h"

#include "anchor_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- approximate search (Myers) --------------------------------------------------------- */

typedef struct myers {
    size_t m, w;
    uint64_t last; /* the bit of row m in the last word */
    uint64_t *peq; /* 256 × w */
    uint64_t *pv, *mv;
    long *score; /* banded scan: the score at the bottom row of each word */
    size_t y;    /* banded scan: the last word computed (Ukkonen's cut-off) */
} myers;

static int myers_init(myers *M, const uchar *p, size_t m, int reversed) {
    M->m = m;
    M->w = (m + 63) / 64;
    M->last = (uint64_t)1 << ((m - 1) % 64);
    M->peq = calloc(256 * M->w + 3 * M->w, sizeof *M->peq);
    if (!M->peq)
        return 0;
    M->pv = M->peq + 256 * M->w;
    M->mv = M->pv + M->w;
    M->score = (long *)(void *)(M->mv + M->w); /* a long fits in a uint64_t slot */
    M->y = 0;
    for (size_t i = 0; i < m; i++) {
        uchar ch = reversed ? p[m - 1 - i] : p[i];
        M->peq[(size_t)ch * M->w + i / 64] |= (uint64_t)1 << (i % 64);
    }
    return 1;
}

/* Rows of word b (64, or what is left for the last one). */
static size_t myers_rows(const myers *M, size_t b) {
    return b + 1 == M->w ? M->m - 64 * b : 64;
}

/* The first column (D[i][0] = i); with k, the words a banded scan starts with. */
static void myers_reset(myers *M, size_t k) {
    for (size_t b = 0; b < M->w; b++) {
        M->pv[b] = ~(uint64_t)0;
        M->mv[b] = 0;
        M->score[b] = (long)(64 * b + myers_rows(M, b));
    }
    M->y = (k + 1 + 63) / 64;
    M->y = (M->y < M->w ? M->y : M->w) - 1;
}

/* Word b of the column for a text byte whose match bits there are eq, with hin (-1, 0, +1)
 * entering at its top; returns the change at its bottom row (row m for the last word). */
static int myers_block(myers *M, size_t b, uint64_t eq, int hin) {
    uint64_t pv = M->pv[b], mv = M->mv[b];
    uint64_t xv = eq | mv;
    if (hin < 0)
        eq |= 1;
    uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
    uint64_t ph = mv | ~(xh | pv);
    uint64_t mh = pv & xh;
    uint64_t bit = b + 1 == M->w ? M->last : (uint64_t)1 << 63;
    int hout = (ph & bit) ? 1 : (mh & bit) ? -1 : 0;
    ph <<= 1;
    mh <<= 1;
    if (hin < 0)
        mh |= 1;
    else if (hin > 0)
        ph |= 1;
    M->pv[b] = mh | ~(xv | ph);
    M->mv[b] = ph & xv;
    return hout;
}

/* One text byte, every word: returns the change of the score at row m.  global: the
 * alignment starts at the first text byte (a +1 enters the top row), else anywhere (0). */
static int myers_step(myers *M, uchar ch, int global) {
    const uint64_t *eqs = M->peq + (size_t)ch * M->w;
    int hin = global;
    for (size_t b = 0; b < M->w; b++)
        hin = myers_block(M, b, eqs[b], hin);
    return hin;
}

/* One text byte of a semi-global scan with Ukkonen's cut-off (as in Myers 1999, section 5,
 * and edlib): only words 0..y are computed, y grows by one when the bottom of word y could
 * still be within k, and shrinks while a word's bottom score is k + its rows or more (then
 * none of its cells is below k).  Returns the score at row m, or k + 1 when the last word
 * is not computed (the score is then above k). */
static size_t myers_band_step(myers *M, uchar ch, size_t k) {
    const uint64_t *eqs = M->peq + (size_t)ch * M->w;
    long *score = M->score, lk = (long)k;
    size_t y = M->y;
    int hin = 0;
    for (size_t b = 0; b <= y; b++) {
        hin = myers_block(M, b, eqs[b], hin);
        score[b] += hin;
    }
    if (y + 1 < M->w && score[y] - hin <= lk && ((eqs[y + 1] & 1) || hin < 0)) {
        y++;
        M->pv[y] = ~(uint64_t)0;
        M->mv[y] = 0;
        score[y] = score[y - 1] - hin + (long)myers_rows(M, y) + myers_block(M, y, eqs[y], hin);
    } else {
        while (y > 0 && score[y] >= lk + (long)myers_rows(M, y))
            y--;
    }
    M->y = y;
    return y + 1 == M->w && score[y] <= lk ? (size_t)score[y] : k + 1;
}

/* Runs the forward (semi-global) scan over t[j..hi) until the score drops to k or below:
 * returns that index (the score after its byte is in *score), or hi.  The hot loop of tier
 * 3: a quote of up to 64 bytes keeps its two bit vectors in registers. */
static size_t myers_run(myers *M, const uchar *t, size_t j, size_t hi, size_t k, size_t *score) {
    size_t sc = *score;
    if (M->w == 1) {
        const uint64_t *peq = M->peq, last = M->last;
        uint64_t pv = M->pv[0], mv = M->mv[0];
        for (; j < hi; j++) {
            uint64_t eq = peq[t[j]];
            uint64_t xv = eq | mv;
            uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
            uint64_t ph = mv | ~(xh | pv);
            uint64_t mh = pv & xh;
            sc += (ph & last) != 0;
            sc -= (mh & last) != 0;
            ph <<= 1;
            mh <<= 1;
            pv = mh | ~(xv | ph);
            mv = ph & xv;
            if (sc <= k)
                break;
        }
        M->pv[0] = pv;
        M->mv[0] = mv;
    } else {
        for (; j < hi; j++) {
            sc = myers_band_step(M, t[j], k);
            if (sc <= k)
                break;
        }
    }
    *score = sc;
    return j;
}

/* One step of Myers' recurrence for a one-word pattern, without the score (peq in scope). */
#define MYERS1(pv, mv, ch)                                                                         \
    do {                                                                                           \
        uint64_t eq_ = peq[ch], xv_ = eq_ | (mv);                                                  \
        uint64_t xh_ = (((eq_ & (pv)) + (pv)) ^ (pv)) | eq_;                                       \
        uint64_t ph_ = ((mv) | ~(xh_ | (pv))) << 1, mh_ = ((pv)&xh_) << 1;                         \
        (pv) = mh_ | ~(xv_ | ph_);                                                                 \
        (mv) = ph_ & xv_;                                                                          \
    } while (0)

static unsigned popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

/* The score at row m of a semi-global column: D[0] is 0, so D[m] is the sum of the vertical
 * deltas, +1 for each bit of pv and -1 for each bit of mv in rows 1..m. */
static long col_score(uint64_t pv, uint64_t mv, uint64_t rows) {
    return (long)popcount64(pv & rows) - (long)popcount64(mv & rows);
}

/* Spans of end indices [a, b] where a fuzzy hit may be (myers_hits finds them, the exact
 * pass looks only there).  Past SPANS_MAX (memory is bounded) or when out of memory, they
 * become one span from the first to the last: slower, never wrong. */
#define SPANS_MAX 65536
typedef struct hit_span {
    size_t a, b;
} hit_span;
typedef struct spans {
    hit_span *v;
    size_t n, cap;
    size_t min, max;
    int whole; /* one span [min, max] */
} spans;

static void note_hits(spans *S, size_t a, size_t b) {
    if (S->min == NONE || a < S->min)
        S->min = a;
    if (S->max == NONE || b > S->max)
        S->max = b;
    if (S->whole)
        return;
    if (S->n && S->v[S->n - 1].b + 1 >= a && S->v[S->n - 1].a <= a) {
        if (b > S->v[S->n - 1].b)
            S->v[S->n - 1].b = b;
        return;
    }
    if (S->n == S->cap) {
        size_t cap = S->cap ? 2 * S->cap : 64;
        hit_span *v = cap <= SPANS_MAX ? realloc(S->v, cap * sizeof *v) : NULL;
        if (!v) {
            S->whole = 1;
            return;
        }
        S->v = v;
        S->cap = cap;
    }
    S->v[S->n].a = a;
    S->v[S->n].b = b;
    S->n++;
}

static int cmp_span(const void *x, const void *y) {
    const hit_span *a = x, *b = y;
    return (a->a > b->a) - (a->a < b->a);
}

/* Sorts and merges the spans; spans closer than join are joined (a rescan costs a warm-up of
 * m + k bytes, so nearer spans are cheaper as one). */
static void spans_finish(spans *S, size_t join) {
    if (S->whole || S->min == NONE) {
        S->n = 0;
        if (S->min != NONE && (S->v || (S->v = malloc(sizeof *S->v)))) {
            S->v[0].a = S->min;
            S->v[0].b = S->max;
            S->n = 1;
        }
        return;
    }
    qsort(S->v, S->n, sizeof *S->v, cmp_span);
    size_t w = 0;
    for (size_t i = 1; i < S->n; i++) {
        if (S->v[i].a <= S->v[w].b + join) {
            if (S->v[i].b > S->v[w].b)
                S->v[w].b = S->v[i].b;
        } else {
            S->v[++w] = S->v[i];
        }
    }
    S->n = w + 1;
}

#define CHECK_EVERY 8

/* Where the score may reach k or less in t[lo, hi) for a quote of one word (m <= 64): adds to
 * S spans that hold every end index where it does (they may be a little wider, never
 * narrower; an end index may be past hi - 1).  Two tricks make this the fastest loop of the module:
 *   - the text is cut into four pieces scanned in the same loop, so that their independent
 *     dependency chains overlap in the processor (Myers' recurrence is one long chain: about
 *     3.5 ns a byte alone).  Each piece starts m + k bytes early: a window with at most k
 *     edits is at most m + k bytes long, so from there on its score is the one of a single
 *     scan from lo;
 *   - the score is not kept up to date: it is read from the bit vectors (col_score) every
 *     CHECK_EVERY bytes.  It changes by at most 1 a byte, so a score above k + CHECK_EVERY
 *     rules out a hit in the next CHECK_EVERY bytes; otherwise they are marked. */
static void myers_hits(const myers *M, const uchar *t, size_t lo, size_t hi, size_t k, spans *S) {
    const uint64_t *peq = M->peq;
    const uint64_t rows = M->m == 64 ? ~(uint64_t)0 : (((uint64_t)1 << M->m) - 1);
    const long lk = (long)k, ahead = (long)k + CHECK_EVERY;
    size_t warm = M->m + k, piece = (hi - lo + 3) / 4;
    size_t beg[4], end[4], pos[4];
    uint64_t pv[4], mv[4];
    size_t common = NONE;
    for (int i = 0; i < 4; i++) {
        beg[i] = lo + (size_t)i * piece < hi ? lo + (size_t)i * piece : hi;
        end[i] = beg[i] + piece < hi ? beg[i] + piece : hi;
        pos[i] = beg[i] > lo + warm ? beg[i] - warm : lo;
        pv[i] = ~(uint64_t)0;
        mv[i] = 0;
        if (end[i] - pos[i] < common)
            common = end[i] - pos[i];
        /* The first CHECK_EVERY bytes: the score starts at m. */
        if ((long)M->m <= ahead && pos[i] + CHECK_EVERY > beg[i] && beg[i] < end[i])
            note_hits(S, beg[i], pos[i] + CHECK_EVERY);
    }
    common -= common % CHECK_EVERY;
    uint64_t pv0 = pv[0], pv1 = pv[1], pv2 = pv[2], pv3 = pv[3];
    uint64_t mv0 = mv[0], mv1 = mv[1], mv2 = mv[2], mv3 = mv[3];
    const uchar *t0 = t + pos[0], *t1 = t + pos[1], *t2 = t + pos[2], *t3 = t + pos[3];
    for (size_t n = 0; n < common; n += CHECK_EVERY) {
        for (size_t r = n; r < n + CHECK_EVERY; r++) {
            MYERS1(pv0, mv0, t0[r]);
            MYERS1(pv1, mv1, t1[r]);
            MYERS1(pv2, mv2, t2[r]);
            MYERS1(pv3, mv3, t3[r]);
        }
        long s0 = col_score(pv0, mv0, rows), s1 = col_score(pv1, mv1, rows);
        long s2 = col_score(pv2, mv2, rows), s3 = col_score(pv3, mv3, rows);
        if ((s0 <= ahead) | (s1 <= ahead) | (s2 <= ahead) | (s3 <= ahead)) {
            long sc[4] = {s0, s1, s2, s3};
            for (int i = 0; i < 4; i++) {
                /* The byte just read is pos + n + CHECK_EVERY - 1: a hit is possible there
                 * (score <= k) and in the next CHECK_EVERY bytes. */
                size_t j = pos[i] + n + CHECK_EVERY - 1;
                if (sc[i] <= ahead && j + CHECK_EVERY >= beg[i])
                    note_hits(S, j > beg[i] ? j : beg[i], j + CHECK_EVERY);
            }
        }
    }
    pv[0] = pv0, pv[1] = pv1, pv[2] = pv2, pv[3] = pv3;
    mv[0] = mv0, mv[1] = mv1, mv[2] = mv2, mv[3] = mv3;
    /* The rest of each piece, alone, checked at every byte. */
    for (int i = 0; i < 4; i++) {
        for (size_t j = pos[i] + common; j < end[i]; j++) {
            MYERS1(pv[i], mv[i], t[j]);
            if (j >= beg[i] && col_score(pv[i], mv[i], rows) <= lk)
                note_hits(S, j, j);
        }
    }
}

typedef struct best_window {
    size_t score, gap, end; /* the best so far (score NONE: none) */
    int in_run;             /* the last end index looked at extends the best window */
} best_window;

/* The exact pass over the end indices [a, b] of norm, starting m + k bytes before a (or at
 * lo): for each end with a score of k or less, keeps the best (see fuzzy_window). */
static void scan_span(myers *M, const uchar *t, size_t lo, size_t a, size_t b, size_t k, size_t t0,
                      size_t t1, best_window *B) {
    size_t m = M->m, from = a > lo + m + k ? a - m - k : lo, score = m;
    if (a > b)
        return;
    myers_reset(M, k);
    B->in_run = 0;
    for (size_t j = from; j <= b; j++) {
        size_t at = myers_run(M, t, j, b + 1, k, &score);
        if (at != j)
            B->in_run = 0; /* ends above k in between */
        j = at;
        if (j > b)
            break;
        if (j < a) /* warming up: not an end of this span */
            continue;
        size_t end = j + 1, g = anchor__gap(end > m ? end - m : 0, end, t0, t1);
        if (score < B->score || (score == B->score && g < B->gap)) {
            B->score = score;
            B->gap = g;
            B->end = end;
            B->in_run = 1;
        } else if (score == B->score && B->in_run && end == B->end + 1) {
            B->end = end; /* the same window, one byte longer: keep the longest */
        } else {
            B->in_run = 0;
        }
    }
}

/* The best window of norm[lo, hi) for the normalized quote q (m bytes) with at most k edits:
 * the smallest distance, then the smallest gap to [t0, t1), then the first.  Sets *ws, *we
 * (normalized offsets) and *dist; returns 0 none, 1 found, -1 out of memory. */
static int fuzzy_window(const anchor_doc *d, const uchar *q, size_t m, size_t k, size_t lo,
                        size_t hi, size_t t0, size_t t1, size_t *ws, size_t *we, size_t *dist) {
    if (hi > d->nlen)
        hi = d->nlen;
    if (lo >= hi || m == 0)
        return 0;
    myers M;
    if (!myers_init(&M, q, m, 0))
        return -1;
    const uchar *t = d->norm;
    best_window B = {NONE, NONE, NONE, 0};
    if (M.w == 1 && hi - lo > 4 * (m + k) + 256) {
        /* Find where hits may be with the fast scan, then look closely only there. */
        spans S = {NULL, 0, 0, NONE, NONE, 0};
        myers_hits(&M, t, lo, hi, k, &S);
        spans_finish(&S, 2 * (m + k));
        for (size_t i = 0; i < S.n; i++)
            scan_span(&M, t, lo, S.v[i].a, S.v[i].b < hi ? S.v[i].b : hi - 1, k, t0, t1, &B);
        int lost = S.min != NONE && S.n == 0; /* out of memory for even one span */
        free(S.v);
        if (lost) {
            free(M.peq);
            return -1;
        }
    } else {
        scan_span(&M, t, lo, lo, hi - 1, k, t0, t1, &B);
    }
    free(M.peq);
    if (B.score == NONE)
        return 0;
    size_t best = B.score, best_end = B.end;

    /* The start: the same quote reversed, aligned from the end backwards. */
    if (!myers_init(&M, q, m, 1))
        return -1;
    myers_reset(&M, m);
    size_t floor_ = best_end > m + best + lo ? best_end - m - best : lo;
    size_t sc = m, bsc = NONE, bt = 0;
    for (size_t j = best_end; j > floor_; j--) {
        sc = (size_t)((long long)sc + myers_step(&M, t[j - 1], 1));
        size_t len = best_end - (j - 1);
        size_t off = len > m ? len - m : m - len, boff = bt > m ? bt - m : m - bt;
        if (sc < bsc || (sc == bsc && off < boff)) {
            bsc = sc;
            bt = len;
        }
    }
    free(M.peq);
    *ws = best_end - bt;
    *we = best_end;
    *dist = best;
    return 1;
}

static int word_byte(uchar c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

/* Moves a window edge that falls inside a word to the nearer end of that word, by at most
 * SNAP bytes, so that a fuzzy range covers whole words.  e is the edge (a boundary between
 * norm[e - 1] and norm[e]); returns the new edge. */
#define SNAP 24
static size_t snap(const anchor_doc *d, size_t e, size_t lo, size_t hi) {
    const uchar *t = d->norm;
    if (e <= lo || e >= hi || !word_byte(t[e - 1]) || !word_byte(t[e]))
        return e;
    size_t back = e, fwd = e;
    while (back > lo && e - back < SNAP && word_byte(t[back - 1]))
        back--;
    while (fwd < hi && fwd - e < SNAP && word_byte(t[fwd]))
        fwd++;
    int back_ok = back == lo || !word_byte(t[back - 1]);
    int fwd_ok = fwd == hi || !word_byte(t[fwd]);
    if (back_ok && (!fwd_ok || e - back <= fwd - e))
        return back;
    return fwd_ok ? fwd : e;
}

/* Turns a window of norm into a document range on whole characters, without the spaces at
 * its edges, its edges moved to word boundaries (see snap()).  Returns 0 when nothing is
 * left. */
static int window_range(const anchor_doc *d, size_t a, size_t b, size_t *os, size_t *oe) {
    size_t a2 = snap(d, a, 0, d->nlen), b2 = snap(d, b, 0, d->nlen);
    if (a2 < b2) {
        a = a2;
        b = b2;
    }
    while (a < b && d->norm[a] == ' ')
        a++;
    while (b > a && d->norm[b - 1] == ' ')
        b--;
    if (a >= b)
        return 0;
    while (a > 0 && d->map[a] == d->map[a - 1])
        a--;
    while (b < d->nlen && d->map[b] == d->map[b - 1])
        b++;
    size_t last = d->map[b - 1];
    *os = d->map[a];
    *oe = last + anchor__unit_len(d->doc + last, d->len - last);
    return 1;
}

static size_t fuzzy_k(size_t m) {
    return m * 15 / 100; /* 100 d <= 15 m */
}

int anchor__fuzzy_ok(const uchar *nq, size_t nn) {
    return nn <= ANCHOR_FUZZY_MAX && anchor__count_units(nq, nn) >= ANCHOR_FUZZY_MIN;
}

/* Tier 3 in norm[lo, hi), preferring windows near [t0, t1) (normalized offsets). */
int anchor__fuzzy_in(const ctx *c, const uchar *nq, size_t nn, size_t lo, size_t hi, size_t t0,
                     size_t t1, match *mt) {
    size_t ws, we, dist;
    int rc = fuzzy_window(c->d, nq, nn, fuzzy_k(nn), lo, hi, t0, t1, &ws, &we, &dist);
    if (rc <= 0)
        return rc;
    size_t os, oe;
    if (!window_range(c->d, ws, we, &os, &oe))
        return 0;
    mt->found = 1;
    mt->tier = ANCHOR_TIER_FUZZY;
    mt->s = os;
    mt->e = oe;
    mt->dist = dist;
    mt->m = nn;
    mt->away = c->has_passage ? anchor__gap(os, oe, c->ops, c->ope) : 0;
    return 1;
}
