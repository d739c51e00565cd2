/* anchor: find a note's quoted words in the document.  See include/ami/anchor.h.
 *
 * What anchor_doc_new() builds, once per document:
 *   doc    a copy of the bytes (tier 1 searches it; ranges index it);
 *   norm   the normalized text (tier 2 and 3 search it), never longer than doc;
 *   map    for each byte of norm, the offset in doc of the character it comes from: a range
 *          [a, b) of norm maps back to [map[a], end of the character at map[b - 1]);
 *   lines  the offset where each line starts (after every LF);
 *   hist   byte counts of doc and of norm: the search looks for the quote's rarest byte.
 *
 * How one quote is searched (anchor_find):
 *
 *     strip ─► empty? ─────────────────────────────────────────────► unanchored (empty)
 *       │
 *       ├─ fewer than 3 code points ─► exactly one occurrence in the passage? ─► exact / ambiguous
 *       │
 *       ├─ tier 1 in the passage ─► tier 2 in the passage ─► tiers 1 and 2 around it, widening
 *       │   (4 KiB, 8 KiB, … on each side; the first round that finds one ends the search)
 *       │
 *       ├─ an elision inside? ─► parts in order (exact, then fuzzy) ─► found / unanchored
 *       │
 *       └─ tier 3: Myers over passage ± 2 KiB ─► Myers over the whole document ─► found / not
 *
 * The exact searches (finder_*) look for the quote's rarest byte with memchr and compare from
 * there.  On ordinary text that skips most of the document at memchr speed; on a hostile one
 * (a document of "aaaa…" and a quote "aaa…ab") the comparisons would cost O(n m), so after
 * comparing about twice as many bytes as the region holds the finder switches to
 * Knuth–Morris–Pratt for the rest: linear in every case.
 *
 * Tier 3 is Myers' bit-parallel approximate string matching (G. Myers, "A fast bit-vector
 * algorithm for approximate string matching based on dynamic programming", JACM 1999), in
 * the block form of H. Hyyrö (2003) as used by edlib: the quote is the pattern, one 64-bit
 * word per 64 bytes; the document is scanned once and gives, for each end position, the
 * smallest edit distance of the quote to a substring ending there.  The start of the best
 * window is found by running the same algorithm backwards from its end, anchored there.
 *
 * The parts (what they share is in anchor_internal.h): this file holds anchor_find(), the
 * exact searches (tiers 1 and 2), short quotes and elisions; anchor_text.c the texts (UTF-8
 * units, normalization, the document's index, stripping, elisions cut out); anchor_fuzzy.c
 * tier 3.
 */
#include "ami/anchor.h"

#include "anchor_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- exact search ----------------------------------------------------------------------- */

/* A haystack: the document's bytes (tier 1) or its normalized text (tier 2). */
typedef struct hay {
    const anchor_doc *d;
    const uchar *s;
    size_t len;
    const size_t *hist;
    int norm;
} hay;

static hay hay_raw(const anchor_doc *d) {
    hay h = {d, d->doc, d->len, d->hist_raw, 0};
    return h;
}

static hay hay_norm(const anchor_doc *d) {
    hay h = {d, d->norm, d->nlen, d->hist_norm, 1};
    return h;
}

/* Is [s, s + m) of h a whole number of units?  (Raw: on UTF-8 boundaries.  Normalized: the
 * first and last bytes begin and end characters of the document, so "..." never matches the
 * end of a "…".) */
static int whole(const hay *h, size_t s, size_t m) {
    if (!h->norm)
        return anchor__on_boundary(h->s, h->len, s) && anchor__on_boundary(h->s, h->len, s + m);
    const uint32_t *map = h->d->map;
    return (s == 0 || map[s] != map[s - 1]) && (s + m >= h->len || map[s + m] != map[s + m - 1]);
}

/* The original range of an occurrence [s, s + m) of h. */
static void orig_range(const hay *h, size_t s, size_t m, size_t *os, size_t *oe) {
    if (!h->norm) {
        *os = s;
        *oe = s + m;
        return;
    }
    const anchor_doc *d = h->d;
    size_t last = d->map[s + m - 1];
    *os = d->map[s];
    *oe = last + anchor__unit_len(d->doc + last, d->len - last);
}

typedef struct finder {
    const uchar *h;
    size_t hi;
    const uchar *p;
    size_t m, ri;
    size_t pos;    /* rare-byte mode: next start; KMP mode: next text byte */
    size_t budget; /* bytes the rare-byte mode may still compare */
    size_t *fail;
    size_t q;
    int kmp;
} finder;

/* Index of the byte of p that is rarest in the haystack. */
static size_t rarest(const hay *h, const uchar *p, size_t m) {
    size_t best = 0;
    for (size_t i = 1; i < m; i++)
        if (h->hist[p[i]] < h->hist[p[best]])
            best = i;
    return best;
}

static void finder_init(finder *f, const uchar *h, size_t lo, size_t hi, const uchar *p, size_t m,
                        size_t ri) {
    f->h = h;
    f->hi = hi;
    f->p = p;
    f->m = m;
    f->ri = ri;
    f->pos = lo;
    f->budget = 2 * (hi > lo ? hi - lo : 0) + 4 * m + 64;
    f->fail = NULL;
    f->q = 0;
    f->kmp = 0;
}

static void finder_done(finder *f) {
    free(f->fail);
    f->fail = NULL;
}

static int start_kmp(finder *f) {
    size_t m = f->m;
    f->fail = malloc(m * sizeof *f->fail);
    if (!f->fail)
        return 0;
    f->fail[0] = 0;
    for (size_t i = 1, k = 0; i < m; i++) {
        while (k > 0 && f->p[i] != f->p[k])
            k = f->fail[k - 1];
        if (f->p[i] == f->p[k])
            k++;
        f->fail[i] = k;
    }
    f->kmp = 1;
    f->q = 0;
    return 1;
}

/* The next start s (ascending) with h[s, s + m) == p inside [lo, hi), or NONE. */
static size_t finder_next(finder *f) {
    const size_t m = f->m;
    if (m == 0 || f->hi < m)
        return NONE;
    if (!f->kmp) {
        while (f->pos + m <= f->hi) {
            const uchar *q = memchr(f->h + f->pos + f->ri, f->p[f->ri], f->hi - m - f->pos + 1);
            if (!q) {
                f->pos = f->hi;
                return NONE;
            }
            size_t s = (size_t)(q - f->h) - f->ri, k = 0;
            while (k < m && f->h[s + k] == f->p[k])
                k++;
            f->pos = s + 1;
            if (k == m)
                return s;
            if (k + 1 < f->budget) {
                f->budget -= k + 1;
            } else if (start_kmp(f)) {
                break; /* KMP goes on from text byte s + 1 */
            } else {
                f->budget = NONE; /* no memory for the table: stay in this mode */
            }
        }
        if (!f->kmp)
            return NONE;
    }
    for (size_t i = f->pos; i < f->hi; i++) {
        while (f->q > 0 && f->h[i] != f->p[f->q])
            f->q = f->fail[f->q - 1];
        if (f->h[i] == f->p[f->q])
            f->q++;
        if (f->q == m) {
            f->q = f->fail[m - 1];
            f->pos = i + 1;
            return i + 1 - m;
        }
    }
    f->pos = f->hi;
    return NONE;
}

/* Occurrences of p lying inside h[lo, hi) that are whole (see whole()): the first one in
 * *first (NONE when none), the last in *last (may be NULL), and their number up to limit. */
static size_t scan(const hay *h, const uchar *p, size_t m, size_t lo, size_t hi, size_t limit,
                   size_t *first, size_t *last) {
    *first = NONE;
    if (last)
        *last = NONE;
    if (hi > h->len)
        hi = h->len;
    if (m == 0 || lo >= hi || hi - lo < m)
        return 0;
    finder f;
    finder_init(&f, h->s, lo, hi, p, m, rarest(h, p, m));
    size_t count = 0, s;
    while (count < limit && (s = finder_next(&f)) != NONE) {
        if (!whole(h, s, m))
            continue;
        if (*first == NONE)
            *first = s;
        if (last)
            *last = s;
        count++;
    }
    finder_done(&f);
    return count;
}

/* ---- matching context ----------------------------------------------------------------- */

static void set_match(const ctx *c, match *mt, const hay *h, size_t s, size_t m) {
    mt->found = 1;
    mt->tier = h->norm ? ANCHOR_TIER_NORMALIZED : ANCHOR_TIER_BYTES;
    orig_range(h, s, m, &mt->s, &mt->e);
    mt->dist = 0;
    mt->away = c->has_passage ? anchor__gap(mt->s, mt->e, c->ops, c->ope) : 0;
}

/* The passage of h, widened so that any occurrence overlapping it lies inside. */
static void passage_text(const ctx *c, const hay *h, size_t m, size_t *lo, size_t *hi) {
    size_t ps = h->norm ? c->nps : c->ops, pe = h->norm ? c->npe : c->ope;
    *lo = ps >= m ? ps - m + 1 : 0;
    *hi = m - 1 < h->len - pe ? pe + m - 1 : h->len;
}

/* First occurrence overlapping the passage (or, without one, in the whole text). */
static void in_passage(const ctx *c, const hay *h, const uchar *p, size_t m, match *mt) {
    size_t lo = 0, hi = h->len, first;
    if (c->has_passage)
        passage_text(c, h, m, &lo, &hi);
    size_t n = scan(h, p, m, lo, hi, 2, &first, NULL);
    if (n) {
        set_match(c, mt, h, first, m);
        mt->repeated = n > 1;
    }
}

/* The occurrence nearest to the passage, outside it: rounds of doubling width on each side;
 * the first round that finds anything decides. */
static void around_passage(const ctx *c, const hay *h, const uchar *p, size_t m, match *mt) {
    size_t ps = h->norm ? c->nps : c->ops, pe = h->norm ? c->npe : c->ope, len = h->len;
    if (m > len)
        return;
    size_t dprev = 0, d = 4096;
    for (;;) {
        /* Before: starts s with s + m <= ps and ps - (s + m) in [dprev, d). */
        size_t bs = NONE, as = NONE, first, last;
        int before_left = 0, after_left = 0;
        if (ps >= m + dprev) {
            size_t shi = ps - m - dprev; /* the highest start */
            size_t slo = ps >= m + d - 1 ? ps - m - d + 1 : 0;
            if (scan(h, p, m, slo, shi + m, NONE, &first, &last))
                bs = last;
            before_left = slo > 0;
        }
        /* After: starts s >= pe with s - pe in [dprev, d). */
        if (pe + dprev + m <= len) {
            size_t slo = pe + dprev, shi = pe + d - 1;
            if (shi > len - m)
                shi = len - m;
            if (scan(h, p, m, slo, shi + m, 1, &first, NULL))
                as = first;
            after_left = shi < len - m;
        }
        if (bs != NONE || as != NONE) {
            match b = {0}, a = {0};
            if (bs != NONE)
                set_match(c, &b, h, bs, m);
            if (as != NONE)
                set_match(c, &a, h, as, m);
            *mt = (bs != NONE && (as == NONE || b.away <= a.away)) ? b : a;
            mt->repeated = bs != NONE && as != NONE;
            return;
        }
        if (!before_left && !after_left)
            return;
        dprev = d;
        d = d <= len ? 2 * d : len + 1;
    }
}

/* ---- one quote (or one part) ---------------------------------------------------------- */

/* Tiers 1 and 2 by the passage rule. */
static void find_exact(const ctx *c, const part *pt, match *mt) {
    hay raw = hay_raw(c->d), nrm = hay_norm(c->d);
    memset(mt, 0, sizeof *mt);
    in_passage(c, &raw, pt->s, pt->n, mt);
    if (!mt->found)
        in_passage(c, &nrm, pt->nq, pt->nn, mt);
    if (!mt->found && c->has_passage) {
        match a = {0}, b = {0};
        around_passage(c, &raw, pt->s, pt->n, &a);
        around_passage(c, &nrm, pt->nq, pt->nn, &b);
        if (a.found && (!b.found || a.away <= b.away))
            *mt = a;
        else if (b.found)
            *mt = b;
    }
    mt->m = pt->nn;
}

/* All tiers for a quote of ANCHOR_SHORT code points or more.  Returns 0 or -1 (memory). */
static int find_one(const ctx *c, const part *pt, int fuzzy, match *mt) {
    find_exact(c, pt, mt);
    if (mt->found || !fuzzy || !anchor__fuzzy_ok(pt->nq, pt->nn))
        return 0;
    const anchor_doc *d = c->d;
    if (c->has_passage) {
        size_t lo =
            anchor__norm_index(d, c->ops > ANCHOR_SURROUNDINGS ? c->ops - ANCHOR_SURROUNDINGS : 0);
        size_t hi = anchor__norm_index(d, c->ope + ANCHOR_SURROUNDINGS);
        int rc = anchor__fuzzy_in(c, pt->nq, pt->nn, lo, hi, c->nps, c->npe, mt);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
    int rc = anchor__fuzzy_in(c, pt->nq, pt->nn, 0, d->nlen, c->nps, c->npe, mt);
    return rc < 0 ? -1 : 0;
}

/* A short quote: exactly one occurrence in the passage. */
static void find_short(const ctx *c, const part *pt, match *mt, anchor_reason *why) {
    hay raw = hay_raw(c->d), nrm = hay_norm(c->d);
    size_t lo = 0, hi = raw.len, first;
    memset(mt, 0, sizeof *mt);
    mt->m = pt->nn;
    if (c->has_passage)
        passage_text(c, &raw, pt->n, &lo, &hi);
    size_t n = scan(&raw, pt->s, pt->n, lo, hi, 2, &first, NULL);
    if (n == 1) {
        set_match(c, mt, &raw, first, pt->n);
        return;
    }
    if (n == 0) {
        lo = 0;
        hi = nrm.len;
        if (c->has_passage)
            passage_text(c, &nrm, pt->nn, &lo, &hi);
        n = scan(&nrm, pt->nq, pt->nn, lo, hi, 2, &first, NULL);
        if (n == 1) {
            set_match(c, mt, &nrm, first, pt->nn);
            return;
        }
    }
    *why = n ? ANCHOR_AMBIGUOUS : ANCHOR_NOT_FOUND;
}

/* ---- elision ---------------------------------------------------------------------------- */

/* A part inside the document window [lo, hi): with last == 0 the first occurrence, which must
 * start at most ANCHOR_ELISION_GAP bytes after lo; with last == 1 the last one, which must end
 * at most ANCHOR_ELISION_GAP bytes before hi.  Tier 1, else 2, else (fuzzy) 3.  Returns 0, or
 * -1 when out of memory. */
static int find_in_window(const ctx *c, const part *pt, size_t lo, size_t hi, int last, int fuzzy,
                          match *mt) {
    const anchor_doc *d = c->d;
    hay raw = hay_raw(d), nrm = hay_norm(d);
    memset(mt, 0, sizeof *mt);
    mt->m = pt->nn;
    if (hi > d->len)
        hi = d->len;
    if (lo >= hi)
        return 0;
    /* The exact tiers look only where the part may be: starting within the gap after lo, or
     * ending within the gap before hi. */
    size_t elo = lo, ehi = hi;
    if (!last && hi - lo > ANCHOR_ELISION_GAP)
        ehi = lo + ANCHOR_ELISION_GAP;
    if (last && hi - lo > ANCHOR_ELISION_GAP)
        elo = hi - ANCHOR_ELISION_GAP;
    size_t first, lst;
    for (int t = 0; t < 2 && !mt->found; t++) {
        const hay *h = t ? &nrm : &raw;
        const uchar *p = t ? pt->nq : pt->s;
        size_t m = t ? pt->nn : pt->n;
        size_t a, b;
        if (!last) { /* starts in [lo, ehi] */
            a = t ? anchor__norm_index(d, lo) : lo;
            b = (t ? anchor__norm_index(d, ehi) : ehi) + m;
            size_t cap = t ? anchor__norm_index(d, hi) : hi;
            b = b < cap ? b : cap;
        } else { /* ends in [elo, hi] */
            b = t ? anchor__norm_index(d, hi) : hi;
            size_t e = t ? anchor__norm_index(d, elo) : elo,
                   floor_ = t ? anchor__norm_index(d, lo) : lo;
            a = e > floor_ + m ? e - m : floor_;
        }
        if (scan(h, p, m, a, b, last ? NONE : 1, &first, &lst))
            set_match(c, mt, h, last ? lst : first, m);
    }
    if (!mt->found && fuzzy && anchor__fuzzy_ok(pt->nq, pt->nn)) {
        size_t a = anchor__norm_index(d, lo), b = anchor__norm_index(d, hi), at = last ? b : a;
        if (anchor__fuzzy_in(c, pt->nq, pt->nn, a, b, at, at, mt) < 0)
            return -1;
    }
    if (mt->found &&
        ((!last && mt->s > lo + ANCHOR_ELISION_GAP) || (last && mt->e + ANCHOR_ELISION_GAP < hi)))
        mt->found = 0;
    return 0;
}

static size_t window_span(const part *pt) {
    return ANCHOR_ELISION_GAP + 2 * pt->n + 16;
}

/* Parts 1.. after a first part found at [s, e): each in the window after the one before.
 * Fills *mt with the whole range.  Returns 1 found, 0 not, -1 memory. */
static int chain(const ctx *c, const part *parts, size_t np, const match *head, int fuzzy,
                 match *mt) {
    *mt = *head;
    for (size_t i = 1; i < np; i++) {
        match nx;
        if (find_in_window(c, &parts[i], mt->e, mt->e + window_span(&parts[i]), 0, fuzzy, &nx))
            return -1;
        if (!nx.found)
            return 0;
        mt->e = nx.e;
        mt->dist += nx.dist;
        mt->m += nx.m;
        if (nx.tier > mt->tier)
            mt->tier = nx.tier;
    }
    mt->away = c->has_passage ? anchor__gap(mt->s, mt->e, c->ops, c->ope) : 0;
    return 1;
}

static int better(const match *a, const match *b) {
    if (!b->found)
        return 1;
    if (a->away != b->away)
        return a->away < b->away;
    return a->s < b->s;
}

static int find_elided(const ctx *c, const part *parts, size_t np, match *best) {
    const anchor_doc *d = c->d;
    memset(best, 0, sizeof *best);
    /* Every exact occurrence of the first part, both tiers. */
    for (int t = 0; t < 2; t++) {
        hay h = t ? hay_norm(d) : hay_raw(d);
        const uchar *p = t ? parts[0].nq : parts[0].s;
        size_t m = t ? parts[0].nn : parts[0].n;
        if (m == 0 || m > h.len)
            continue;
        finder f;
        finder_init(&f, h.s, 0, h.len, p, m, rarest(&h, p, m));
        size_t s, tried = 0;
        while (tried < ANCHOR_ELISION_HEADS && (s = finder_next(&f)) != NONE) {
            if (!whole(&h, s, m))
                continue;
            tried++;
            match head = {0}, mt;
            set_match(c, &head, &h, s, m);
            head.m = parts[0].nn;
            int rc = chain(c, parts, np, &head, 0, &mt);
            if (rc < 0) {
                finder_done(&f);
                return -1;
            }
            /* Heads that lead to the same end: the last (tightest) one is the match. */
            if (rc && (best->found && mt.e == best->e ? mt.s > best->s : better(&mt, best)))
                *best = mt;
        }
        finder_done(&f);
    }
    if (best->found)
        return 0;

    /* Then the first and last parts, fuzzy allowed: first part first, then last part first. */
    const part *p0 = &parts[0], *pl = &parts[np - 1];
    part two[2] = {*p0, *pl};
    match h, mt;
    if (anchor__count_units(p0->s, p0->n) >= ANCHOR_SHORT) {
        if (find_one(c, p0, 1, &h))
            return -1;
        if (h.found) {
            h.m = p0->nn;
            int rc = chain(c, two, 2, &h, 1, &mt);
            if (rc < 0)
                return -1;
            if (rc) {
                *best = mt;
                return 0;
            }
        }
    }
    if (anchor__count_units(pl->s, pl->n) >= ANCHOR_SHORT) {
        match tl;
        if (find_one(c, pl, 1, &tl))
            return -1;
        if (tl.found) {
            size_t span = window_span(p0), lo = tl.s > span ? tl.s - span : 0;
            if (find_in_window(c, p0, lo, tl.s, 1, 1, &h))
                return -1;
            if (h.found) {
                best->found = 1;
                best->s = h.s;
                best->e = tl.e;
                best->tier = h.tier > tl.tier ? h.tier : tl.tier;
                best->dist = h.dist + tl.dist;
                best->m = p0->nn + pl->nn;
                best->away = c->has_passage ? anchor__gap(best->s, best->e, c->ops, c->ope) : 0;
            }
        }
    }
    return 0;
}

/* ---- anchor_find -------------------------------------------------------------------------- */

/* Normalizes each part into one scratch block.  Returns the block (caller frees) or NULL. */
static uchar *normalize_parts(part *parts, size_t np) {
    size_t total = 0;
    for (size_t i = 0; i < np; i++)
        total += parts[i].n;
    uchar *block = malloc(total ? total : 1);
    if (!block)
        return NULL;
    uchar *at = block;
    for (size_t i = 0; i < np; i++) {
        parts[i].nq = at;
        parts[i].nn = anchor__normalize(parts[i].s, parts[i].n, at, NULL, NULL);
        at += parts[i].nn;
    }
    return block;
}

static void set_passage(ctx *c, long first, long last) {
    const anchor_doc *d = c->d;
    c->has_passage = 0;
    if (first < 1 || first > d->nlines)
        return;
    if (last < first)
        last = first;
    if (last > d->nlines)
        last = d->nlines;
    c->has_passage = 1;
    c->ops = d->starts[first - 1];
    c->ope = (size_t)last < d->nstarts ? d->starts[last] : d->len;
    c->nps = anchor__norm_index(d, c->ops);
    c->npe = anchor__norm_index(d, c->ope);
}

static void fill(const ctx *c, const match *mt, anchor_result *out) {
    out->tier = mt->tier;
    out->status = mt->tier == ANCHOR_TIER_FUZZY ? ANCHOR_APPROXIMATE : ANCHOR_EXACT;
    out->reason = ANCHOR_FOUND;
    out->start = mt->s;
    out->end = mt->e;
    out->distance = mt->dist;
    out->similarity = mt->m ? 1.0 - (double)mt->dist / (double)mt->m : 1.0;
    if (mt->repeated)
        out->flags |= ANCHOR_F_REPEATED;
    if (c->has_passage && mt->s < c->ope && mt->e > c->ops)
        out->flags |= ANCHOR_F_IN_PASSAGE;
}

int anchor_find(const anchor_doc *d, long first_line, long last_line, const char *quote,
                size_t qlen, anchor_result *out) {
    if (out) {
        memset(out, 0, sizeof *out);
        out->reason = ANCHOR_NOT_FOUND;
    }
    if (!d || !out || (!quote && qlen))
        return ANCHOR_EINVAL;
    ctx c = {d, 0, 0, 0, 0, 0};
    set_passage(&c, first_line, last_line);

    const uchar *q = (const uchar *)quote;
    size_t so, sl;
    size_t units = anchor_strip_quote(quote, qlen, &so, &sl);
    if (so != 0 || sl != qlen)
        out->flags |= ANCHOR_F_STRIPPED;
    if (sl == 0) {
        out->reason = ANCHOR_EMPTY;
        return ANCHOR_OK;
    }
    part parts[ANCHOR_MAX_PARTS + 1];
    parts[0].s = q + so;
    parts[0].n = sl;
    size_t np = anchor__split_parts(q + so, sl, parts + 1);
    uchar *block = normalize_parts(parts, np + 1);
    if (!block)
        return ANCHOR_ENOMEM;
    int rc = 0;
    match mt = {0};
    if (parts[0].nn == 0) {
        out->reason = ANCHOR_EMPTY;
    } else if (units < ANCHOR_SHORT) {
        out->flags |= ANCHOR_F_SHORT;
        find_short(&c, &parts[0], &mt, &out->reason);
    } else {
        rc = find_one(&c, &parts[0], np < 2, &mt);
        if (!rc && !mt.found && np >= 2) {
            rc = find_elided(&c, parts + 1, np, &mt);
            if (mt.found)
                out->flags |= ANCHOR_F_ELISION;
        }
    }
    free(block);
    if (rc < 0) {
        unsigned keep = out->flags & ANCHOR_F_STRIPPED;
        memset(out, 0, sizeof *out);
        out->flags = keep;
        out->reason = ANCHOR_NOT_FOUND;
        return ANCHOR_ENOMEM;
    }
    if (mt.found)
        fill(&c, &mt, out);
    return ANCHOR_OK;
}

const char *anchor_status_name(anchor_status s) {
    switch (s) {
    case ANCHOR_EXACT:
        return "exact";
    case ANCHOR_APPROXIMATE:
        return "approximate";
    default:
        return "unanchored";
    }
}

const char *anchor_tier_name(anchor_tier t) {
    switch (t) {
    case ANCHOR_TIER_BYTES:
        return "bytes";
    case ANCHOR_TIER_NORMALIZED:
        return "normalized";
    case ANCHOR_TIER_FUZZY:
        return "fuzzy";
    default:
        return "none";
    }
}

const char *anchor_reason_name(anchor_reason r) {
    switch (r) {
    case ANCHOR_FOUND:
        return "found";
    case ANCHOR_EMPTY:
        return "empty";
    case ANCHOR_AMBIGUOUS:
        return "ambiguous";
    default:
        return "not found";
    }
}
