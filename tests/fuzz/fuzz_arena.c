/* libFuzzer target for the arena's fit (src/arena.c).  Checks, aborting on failure:
 *   - arena_fit() accepts any valid vote set, and every strength is finite, the strengths
 *     sum to 0, each lies within its interval, open ends are infinite exactly when flagged;
 *   - the record adds up (wins + ties + both bad + losses = votes; Σ votes = 2 × votes);
 *   - reversing the votes and swapping a and b in every other one (the result flipped to
 *     match) gives the same ratings, bit for bit, intervals included;
 *   - a vote naming a model out of range is refused and leaves the output untouched.
 *
 * Input layout: byte 0 models (1..12), byte 1 rounds (0..31), byte 2 prior (1..255 / 16),
 * then three bytes per vote: a, b (mod models; a == b is skipped), result (mod 4).
 *
 *   make build/fuzz/fuzz_arena
 *   cp -r tests/fuzz/corpus/arena /tmp/corpus_arena && build/fuzz/fuzz_arena \
 *     -max_total_time=120 /tmp/corpus_arena
 */
#include "ami/arena.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what) {
    fprintf(stderr, "fuzz_arena: %s\n", what);
    abort();
}

static int same(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3)
        return 0;
    int n = 1 + data[0] % 12;
    arena_options o;
    arena_options_default(&o);
    o.rounds = data[1] % 32;
    o.prior = (1 + data[2]) / 16.0;
    size_t cap = (size - 3) / 3, nv = 0;
    arena_vote *v = malloc((cap ? cap : 1) * sizeof *v);
    arena_vote *w = malloc((cap ? cap : 1) * sizeof *w);
    arena_rating *r1 = malloc((size_t)n * sizeof *r1), *r2 = malloc((size_t)n * sizeof *r2);
    if (!v || !w || !r1 || !r2)
        abort();
    for (size_t k = 0; k < cap; k++) {
        const uint8_t *p = data + 3 + 3 * k;
        int a = p[0] % n, b = p[1] % n;
        if (a == b)
            continue;
        v[nv].a = a;
        v[nv].b = b;
        v[nv].r = (arena_result)(p[2] % 4);
        nv++;
    }
    if (arena_fit(n, v, nv, &o, r1) != ARENA_OK)
        fail("a valid vote set was refused");
    double sum = 0;
    size_t votes = 0;
    for (int i = 0; i < n; i++) {
        const arena_rating *x = &r1[i];
        if (!isfinite(x->strength))
            fail("strength not finite");
        sum += x->strength;
        votes += x->votes;
        if (x->wins + x->ties + x->both_bad + x->losses != x->votes)
            fail("record does not add up");
        if (!!isinf(x->hi) != !!(x->flags & ARENA_OPEN_HIGH) ||
            !!isinf(x->lo) != !!(x->flags & ARENA_OPEN_LOW))
            fail("open end and flag disagree");
        if (o.rounds && !(x->lo <= x->hi))
            fail("interval upside down");
        if (!!(x->flags & ARENA_FEW_VOTES) != (x->votes < o.min_votes))
            fail("few-votes flag");
        if (!(x->p_beat_avg >= 0 && x->p_beat_avg <= 1))
            fail("probability out of [0, 1]");
    }
    if (votes != 2 * nv || fabs(sum) > 1e-6 * n)
        fail("totals");

    for (size_t k = 0; k < nv; k++) {
        w[k] = v[nv - 1 - k];
        if (k % 2) {
            int t = w[k].a;
            w[k].a = w[k].b;
            w[k].b = t;
            w[k].r = w[k].r == ARENA_A ? ARENA_B : w[k].r == ARENA_B ? ARENA_A : w[k].r;
        }
    }
    if (arena_fit(n, w, nv, &o, r2) != ARENA_OK)
        fail("the reordered set was refused");
    for (int i = 0; i < n; i++) {
        const arena_rating *x = &r1[i], *y = &r2[i];
        if (!same(x->strength, y->strength) || !same(x->lo, y->lo) || !same(x->hi, y->hi) ||
            x->flags != y->flags || x->component != y->component || x->wins != y->wins ||
            x->losses != y->losses || x->ties != y->ties || x->both_bad != y->both_bad)
            fail("the order of the votes changed the result");
    }

    if (nv) {
        memcpy(r2, r1, (size_t)n * sizeof *r2);
        w[0].a = n; /* out of range */
        if (arena_fit(n, w, nv, &o, r2) != ARENA_EINVAL || memcmp(r1, r2, (size_t)n * sizeof *r1))
            fail("a bad vote was accepted or touched the output");
    }
    free(v);
    free(w);
    free(r1);
    free(r2);
    return 0;
}
