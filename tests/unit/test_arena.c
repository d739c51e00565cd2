/* Tests for the arena's statistics (src/arena.c): Bradley–Terry by MAP, bootstrap intervals,
 * the open-end flags, the median helper and the PRNG.
 *
 * The synthetic vote sets are drawn with the module's own PRNG from strengths chosen here, so
 * every run sees the same votes and the checks are exact, not "usually true".
 */
#include "ami/arena.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------------------- */

/* n_votes votes among n models of the given true strengths: a random pair, then a tie with
 * probability p_tie, both bad with p_bad, else a BT draw. */
static arena_vote *draw_votes(arena_rng *rng, const double *truth, int n, size_t n_votes,
                              double p_tie, double p_bad) {
    arena_vote *v = malloc(n_votes * sizeof *v);
    for (size_t k = 0; k < n_votes; k++) {
        int a = (int)arena_rng_below(rng, (uint64_t)n);
        int b = (int)arena_rng_below(rng, (uint64_t)n - 1);
        if (b >= a)
            b++;
        v[k].a = a;
        v[k].b = b;
        double u = arena_rng_uniform(rng);
        if (u < p_tie)
            v[k].r = ARENA_TIE;
        else if (u < p_tie + p_bad)
            v[k].r = ARENA_BOTH_BAD;
        else
            v[k].r = arena_rng_uniform(rng) < arena_p_win(truth[a], truth[b]) ? ARENA_A : ARENA_B;
    }
    return v;
}

static arena_options opts(unsigned rounds) {
    arena_options o;
    arena_options_default(&o);
    o.rounds = rounds;
    return o;
}

/* Bit-for-bit equality of two doubles, NaN included. */
static int same_double(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

static int same_rating(const arena_rating *x, const arena_rating *y) {
    return same_double(x->strength, y->strength) && same_double(x->lo, y->lo) &&
           same_double(x->hi, y->hi) && same_double(x->elo, y->elo) &&
           same_double(x->elo_lo, y->elo_lo) && same_double(x->elo_hi, y->elo_hi) &&
           same_double(x->p_beat_avg, y->p_beat_avg) && x->votes == y->votes &&
           x->wins == y->wins && x->ties == y->ties && x->both_bad == y->both_bad &&
           x->losses == y->losses && x->component == y->component && x->flags == y->flags;
}

static arena_vote vote(int a, int b, arena_result r) {
    arena_vote v = {a, b, r};
    return v;
}

/* ---- the PRNG --------------------------------------------------------------------------- */

static void test_rng_reference(void) {
    /* xoshiro256** from the state {1, 2, 3, 4}: the reference implementation's first
     * outputs (rotl(2 * 5, 7) * 9 = 11520, then 0, then 1509978240). */
    arena_rng r = {{1, 2, 3, 4}};
    CHECK(arena_rng_next(&r) == 11520);
    CHECK(arena_rng_next(&r) == 0);
    CHECK(arena_rng_next(&r) == 1509978240);
}

static void test_rng_ranges(void) {
    arena_rng a, b;
    arena_rng_seed(&a, 0);
    arena_rng_seed(&b, 0);
    CHECK(arena_rng_next(&a) == arena_rng_next(&b)); /* same seed, same stream */
    CHECK(a.s[0] | a.s[1] | a.s[2] | a.s[3]);        /* seed 0 does not give the zero state */
    arena_rng_seed(&b, 1);
    CHECK(arena_rng_next(&a) != arena_rng_next(&b));
    size_t bucket[7] = {0};
    for (int i = 0; i < 70000; i++) {
        double u = arena_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        uint64_t k = arena_rng_below(&a, 7);
        CHECK(k < 7);
        bucket[k]++;
    }
    for (int k = 0; k < 7; k++) /* 10000 expected, sd ≈ 93 */
        CHECK(bucket[k] > 9500 && bucket[k] < 10500);
    CHECK(arena_rng_below(&a, 0) == 0);
    CHECK(arena_rng_below(&a, 1) == 0);
    /* A bound just over 2^63: half of all 64-bit values are rejected, and it still ends. */
    uint64_t big = (UINT64_C(1) << 63) + 1;
    for (int i = 0; i < 100; i++)
        CHECK(arena_rng_below(&a, big) < big);
}

/* ---- recovery of known strengths -------------------------------------------------------- */

/* 10 models × 2,000 votes, 1,000 bootstrap rounds (the size bench_arena measures). */
static void test_recovers_strengths(void) {
    enum { N = 10, V = 2000 };
    double truth[N];
    for (int i = 0; i < N; i++)
        truth[i] = 0.45 * (i - 4.5); /* centred, −2.0 .. 2.0 */
    arena_rng rng;
    arena_rng_seed(&rng, 42);
    arena_vote *v = draw_votes(&rng, truth, N, V, 0, 0);
    arena_options o = opts(1000);
    arena_rating r[N];
    CHECK_INT(arena_fit(N, v, V, &o, r), ARENA_OK);
    int covered = 0;
    double sum = 0, abs_err = 0;
    for (int i = 0; i < N; i++) {
        sum += r[i].strength;
        abs_err += fabs(r[i].strength - truth[i]);
        /* Close: within one interval width (about four standard errors). */
        CHECK(fabs(r[i].strength - truth[i]) < r[i].hi - r[i].lo);
        CHECK(r[i].lo <= r[i].strength && r[i].strength <= r[i].hi);
        CHECK(r[i].hi - r[i].lo > 0.1 && r[i].hi - r[i].lo < 1.0);
        covered += r[i].lo <= truth[i] && truth[i] <= r[i].hi;
        CHECK_INT(r[i].flags, 0);
        CHECK_INT(r[i].component, 0);
        CHECK_INT(r[i].wins + r[i].losses, r[i].votes);
        if (i > 0)
            CHECK(r[i].strength > r[i - 1].strength); /* the order is recovered */
        CHECK(fabs(r[i].elo - (1000 + r[i].strength * 400 / log(10))) < 1e-9);
        CHECK(fabs(r[i].p_beat_avg - 1 / (1 + exp(-r[i].strength))) < 1e-12);
    }
    CHECK(fabs(sum) < 1e-9);
    CHECK(abs_err / N < 0.15);
    CHECK(covered >= 8); /* 95 % intervals: P(3 misses or more in 10) ≈ 1 % */
    free(v);
}

/* Ties and both-bad votes pull strengths together but keep the order. */
static void test_recovers_order_with_ties(void) {
    enum { N = 6, V = 1500 };
    double truth[N] = {-1.5, -0.9, -0.3, 0.3, 0.9, 1.5};
    arena_rng rng;
    arena_rng_seed(&rng, 7);
    arena_vote *v = draw_votes(&rng, truth, N, V, 0.15, 0.05);
    arena_options o = opts(200);
    arena_rating r[N];
    CHECK_INT(arena_fit(N, v, V, &o, r), ARENA_OK);
    size_t total = 0, ties = 0, bad = 0;
    for (int i = 0; i < N; i++) {
        CHECK_INT(r[i].wins + r[i].ties + r[i].both_bad + r[i].losses, r[i].votes);
        total += r[i].votes;
        ties += r[i].ties;
        bad += r[i].both_bad;
        if (i > 0)
            CHECK(r[i].strength > r[i - 1].strength);
    }
    CHECK_INT(total, 2 * V);
    CHECK(ties > 0 && bad > 0 && ties % 2 == 0 && bad % 2 == 0);
    /* Counted as half wins, ties shrink the scale: the extremes come out inside the truth. */
    CHECK(r[N - 1].strength < truth[N - 1] && r[0].strength > truth[0]);
    free(v);
}

/* ---- small and awkward vote sets -------------------------------------------------------- */

/* A wins all ten votes against B: finite strengths, open ends, "better by an unknown
 * margin": A's interval starts above the average and has no upper end. */
static void test_one_sided(void) {
    arena_vote v[10];
    for (int k = 0; k < 10; k++)
        v[k] = k % 2 ? vote(0, 1, ARENA_A) : vote(1, 0, ARENA_B);
    arena_options o = opts(300);
    arena_rating r[2];
    CHECK_INT(arena_fit(2, v, 10, &o, r), ARENA_OK);
    CHECK(isfinite(r[0].strength) && isfinite(r[1].strength));
    CHECK(r[0].strength > 0.5 && r[0].strength < 3);
    CHECK(fabs(r[0].strength + r[1].strength) < 1e-12);
    /* The MAP condition: 10 (1 − σ(2t)) = λ t with t = θ_A. */
    double t = r[0].strength;
    CHECK(fabs(10 * (1 - arena_p_win(t, -t)) - o.prior * t) < 1e-9);
    CHECK_INT(r[0].flags, ARENA_OPEN_HIGH);
    CHECK_INT(r[1].flags, ARENA_OPEN_LOW);
    CHECK(r[0].lo > 0 && isinf(r[0].hi) && r[0].hi > 0);
    CHECK(r[1].hi < 0 && isinf(r[1].lo) && r[1].lo < 0);
    CHECK(isinf(r[0].elo_hi) && isfinite(r[0].elo_lo) && r[0].elo_lo > 1000);
    CHECK(r[0].p_beat_avg > 0.5 && r[0].p_beat_avg < 1);
    CHECK_INT(r[0].wins, 10);
    CHECK_INT(r[1].losses, 10);
    /* A stronger prior holds them closer to the average. */
    o.prior = 4;
    arena_rating s[2];
    CHECK_INT(arena_fit(2, v, 10, &o, s), ARENA_OK);
    CHECK(s[0].strength > 0 && s[0].strength < r[0].strength);
}

/* A beats B and C every time, B and C split: A is open above, {B, C} below. */
static void test_one_sided_group(void) {
    arena_vote v[] = {vote(0, 1, ARENA_A), vote(0, 2, ARENA_A), vote(2, 0, ARENA_B),
                      vote(1, 2, ARENA_A), vote(1, 2, ARENA_B), vote(1, 0, ARENA_B)};
    arena_rating r[3];
    arena_options o = opts(100);
    CHECK_INT(arena_fit(3, v, 6, &o, r), ARENA_OK);
    CHECK_INT(r[0].flags, ARENA_OPEN_HIGH | ARENA_FEW_VOTES);
    CHECK_INT(r[1].flags, ARENA_OPEN_LOW | ARENA_FEW_VOTES);
    CHECK_INT(r[2].flags, ARENA_OPEN_LOW | ARENA_FEW_VOTES);
    CHECK(fabs(r[1].strength - r[2].strength) < 1e-12);
    CHECK(r[0].strength > r[1].strength);
}

/* A chain of one-sided records, then a cycle. */
static void test_chain_and_cycle(void) {
    arena_vote chain[] = {vote(0, 1, ARENA_A), vote(1, 2, ARENA_A), vote(0, 2, ARENA_A)};
    arena_rating r[3];
    arena_options o = opts(50);
    o.min_votes = 0;
    CHECK_INT(arena_fit(3, chain, 3, &o, r), ARENA_OK);
    CHECK_INT(r[0].flags, ARENA_OPEN_HIGH);
    CHECK_INT(r[1].flags, 0); /* the middle: neither end flagged */
    CHECK_INT(r[2].flags, ARENA_OPEN_LOW);
    CHECK(r[0].strength > r[1].strength && r[1].strength > r[2].strength);
    CHECK(fabs(r[1].strength) < 1e-12);

    arena_vote cycle[] = {vote(0, 1, ARENA_A), vote(1, 2, ARENA_A), vote(2, 0, ARENA_A)};
    CHECK_INT(arena_fit(3, cycle, 3, &o, r), ARENA_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(r[i].flags, 0);
        CHECK(fabs(r[i].strength) < 1e-12);
        CHECK(isfinite(r[i].lo) && isfinite(r[i].hi));
    }
    /* A tie closes the loop too: A beat B, B tied A → one group, no open end. */
    arena_vote tied[] = {vote(0, 1, ARENA_A), vote(0, 1, ARENA_TIE)};
    CHECK_INT(arena_fit(2, tied, 2, &o, r), ARENA_OK);
    CHECK_INT(r[0].flags, 0);
    CHECK_INT(r[1].flags, 0);
    CHECK(r[0].strength > 0);
}

static void test_ties_only(void) {
    arena_vote v[] = {vote(0, 1, ARENA_TIE),      vote(1, 0, ARENA_TIE),
                      vote(0, 1, ARENA_BOTH_BAD), vote(1, 2, ARENA_TIE),
                      vote(2, 0, ARENA_BOTH_BAD), vote(2, 1, ARENA_BOTH_BAD)};
    arena_rating r[3];
    arena_options o = opts(100);
    CHECK_INT(arena_fit(3, v, 6, &o, r), ARENA_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(r[i].strength == 0); /* exactly: the gradient is zero at the start */
        CHECK(r[i].lo == 0 && r[i].hi == 0);
        CHECK(r[i].p_beat_avg == 0.5);
        CHECK(r[i].elo == 1000);
        CHECK_INT(r[i].wins + r[i].losses, 0);
        CHECK_INT(r[i].flags, r[i].votes < 5 ? ARENA_FEW_VOTES : 0);
    }
    CHECK_INT(r[0].ties, 2);
    CHECK_INT(r[0].both_bad, 2);
    CHECK_INT(r[1].ties, 3);
    CHECK_INT(r[1].both_bad, 2);
}

/* Shuffled, and with a and b swapped (the result flipped to match): the same ratings, to
 * the bit, intervals included. */
static void test_order_independence(void) {
    enum { N = 6, V = 300 };
    double truth[N] = {-1, -0.5, 0, 0.2, 0.6, 1.1};
    arena_rng rng;
    arena_rng_seed(&rng, 99);
    arena_vote *v = draw_votes(&rng, truth, N, V, 0.1, 0.1);
    arena_options o = opts(200);
    arena_rating r1[N], r2[N];
    CHECK_INT(arena_fit(N, v, V, &o, r1), ARENA_OK);
    for (int round = 0; round < 3; round++) {
        for (size_t k = V - 1; k > 0; k--) {
            size_t j = (size_t)arena_rng_below(&rng, k + 1);
            arena_vote t = v[k];
            v[k] = v[j];
            v[j] = t;
        }
        for (size_t k = 0; k < V; k++) {
            if (arena_rng_below(&rng, 2)) {
                int t = v[k].a;
                v[k].a = v[k].b;
                v[k].b = t;
                if (v[k].r == ARENA_A)
                    v[k].r = ARENA_B;
                else if (v[k].r == ARENA_B)
                    v[k].r = ARENA_A;
            }
        }
        CHECK_INT(arena_fit(N, v, V, &o, r2), ARENA_OK);
        for (int i = 0; i < N; i++)
            CHECK(same_rating(&r1[i], &r2[i]));
    }
    /* Another seed changes the intervals, never the strengths. */
    o.seed = 1234;
    CHECK_INT(arena_fit(N, v, V, &o, r2), ARENA_OK);
    int differs = 0;
    for (int i = 0; i < N; i++) {
        CHECK(same_double(r1[i].strength, r2[i].strength));
        differs |= !same_double(r1[i].lo, r2[i].lo);
    }
    CHECK(differs);
    free(v);
}

/* Two pairs never compared with each other: both fitted, each centred on its own. */
static void test_disconnected_pairs(void) {
    arena_vote v[] = {vote(0, 1, ARENA_A), vote(0, 1, ARENA_A), vote(1, 0, ARENA_B),
                      vote(0, 1, ARENA_B), vote(3, 2, ARENA_B), vote(2, 3, ARENA_A),
                      vote(2, 3, ARENA_A), vote(3, 2, ARENA_A)};
    arena_rating r[5];
    arena_options o = opts(200);
    CHECK_INT(arena_fit(5, v, 8, &o, r), ARENA_OK);
    CHECK_INT(r[0].component, 0);
    CHECK_INT(r[1].component, 0);
    CHECK_INT(r[2].component, 1);
    CHECK_INT(r[3].component, 1);
    CHECK_INT(r[4].component, 2); /* no votes: a group of its own */
    CHECK(r[0].strength > 0);
    CHECK(fabs(r[0].strength - r[2].strength) < 1e-12);
    CHECK(fabs(r[0].strength + r[1].strength) < 1e-12);
    CHECK(fabs(r[2].strength + r[3].strength) < 1e-12);
    CHECK(r[4].strength == 0);
    for (int i = 0; i < 4; i++) {
        CHECK_INT(r[i].flags, ARENA_FEW_VOTES);
        CHECK(isfinite(r[i].lo) && isfinite(r[i].hi) && r[i].lo <= r[i].hi);
    }
    CHECK_INT(r[4].flags, ARENA_FEW_VOTES | ARENA_OPEN_HIGH | ARENA_OPEN_LOW);
    /* One pair one-sided, the other tied: the one-sided pair opens, the other does not. */
    arena_vote w[] = {vote(0, 1, ARENA_A), vote(0, 1, ARENA_A), vote(2, 3, ARENA_TIE)};
    CHECK_INT(arena_fit(4, w, 3, &o, r), ARENA_OK);
    CHECK(r[0].flags & ARENA_OPEN_HIGH);
    CHECK(r[1].flags & ARENA_OPEN_LOW);
    CHECK_INT(r[2].flags, ARENA_FEW_VOTES);
    CHECK(r[2].strength == 0 && r[3].strength == 0);
}

static void test_one_vote(void) {
    arena_vote v = vote(1, 0, ARENA_A);
    arena_rating r[2];
    CHECK_INT(arena_fit(2, &v, 1, NULL, r), ARENA_OK);
    CHECK(r[1].strength > 0 && r[1].strength < 1 && isfinite(r[0].strength));
    CHECK_INT(r[1].flags, ARENA_FEW_VOTES | ARENA_OPEN_HIGH);
    CHECK_INT(r[0].flags, ARENA_FEW_VOTES | ARENA_OPEN_LOW);
    CHECK_INT(r[1].votes, 1);
    CHECK_INT(r[1].wins, 1);
    CHECK_INT(r[0].losses, 1);
}

static void test_zero_votes(void) {
    arena_rating r[3];
    CHECK_INT(arena_fit(3, NULL, 0, NULL, r), ARENA_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(r[i].strength == 0);
        CHECK(isinf(r[i].lo) && r[i].lo < 0 && isinf(r[i].hi) && r[i].hi > 0);
        CHECK_INT(r[i].flags, ARENA_FEW_VOTES | ARENA_OPEN_HIGH | ARENA_OPEN_LOW);
        CHECK_INT(r[i].votes, 0);
        CHECK_INT(r[i].component, i);
        CHECK(r[i].p_beat_avg == 0.5);
    }
    CHECK_INT(arena_fit(0, NULL, 0, NULL, NULL), ARENA_OK);
}

static void test_no_rounds(void) {
    arena_vote v[] = {vote(0, 1, ARENA_A), vote(0, 1, ARENA_B), vote(0, 2, ARENA_A),
                      vote(2, 1, ARENA_A)};
    arena_options o = opts(0);
    arena_rating r[4];
    CHECK_INT(arena_fit(4, v, 4, &o, r), ARENA_OK);
    for (int i = 0; i < 3; i++)
        CHECK(isnan(r[i].lo) && isnan(r[i].hi)); /* no intervals asked for */
    CHECK(isinf(r[3].lo) && isinf(r[3].hi));     /* an open end is still known to be open */
    CHECK(r[0].strength > r[1].strength);
}

static void test_min_votes(void) {
    arena_vote v[] = {vote(0, 1, ARENA_A), vote(0, 1, ARENA_B), vote(0, 2, ARENA_TIE)};
    arena_options o = opts(10);
    o.min_votes = 2;
    arena_rating r[3];
    CHECK_INT(arena_fit(3, v, 3, &o, r), ARENA_OK);
    CHECK(!(r[0].flags & ARENA_FEW_VOTES)); /* 3 votes */
    CHECK(!(r[1].flags & ARENA_FEW_VOTES)); /* 2 votes */
    CHECK(r[2].flags & ARENA_FEW_VOTES);    /* 1 vote */
}

static void test_invalid(void) {
    arena_rating r[3], keep[3];
    memset(r, 0x5a, sizeof r);
    memcpy(keep, r, sizeof r);
    arena_vote same = vote(1, 1, ARENA_A), out = vote(0, 3, ARENA_A), neg = vote(-1, 0, ARENA_A);
    arena_vote bad = vote(0, 1, (arena_result)7);
    CHECK_INT(arena_fit(3, &same, 1, NULL, r), ARENA_EINVAL);
    CHECK_INT(arena_fit(3, &out, 1, NULL, r), ARENA_EINVAL);
    CHECK_INT(arena_fit(3, &neg, 1, NULL, r), ARENA_EINVAL);
    CHECK_INT(arena_fit(3, &bad, 1, NULL, r), ARENA_EINVAL);
    CHECK_INT(arena_fit(3, NULL, 1, NULL, r), ARENA_EINVAL);
    CHECK_INT(arena_fit(3, NULL, 0, NULL, NULL), ARENA_EINVAL);
    CHECK_INT(arena_fit(-1, NULL, 0, NULL, r), ARENA_EINVAL);
    CHECK_INT(arena_fit(0, &out, 1, NULL, r), ARENA_EINVAL);
    arena_options o = opts(10);
    o.prior = 0;
    CHECK_INT(arena_fit(3, NULL, 0, &o, r), ARENA_EINVAL);
    o.prior = NAN;
    CHECK_INT(arena_fit(3, NULL, 0, &o, r), ARENA_EINVAL);
    o.prior = INFINITY;
    CHECK_INT(arena_fit(3, NULL, 0, &o, r), ARENA_EINVAL);
    o = opts(ARENA_MAX_ROUNDS + 1);
    CHECK_INT(arena_fit(3, NULL, 0, &o, r), ARENA_ETOOBIG);
    CHECK_INT(arena_fit(ARENA_MAX_MODELS + 1, NULL, 0, NULL, r), ARENA_ETOOBIG);
    CHECK_INT(arena_fit(3, &out, ARENA_MAX_VOTES + 1, NULL, r), ARENA_ETOOBIG);
    CHECK(memcmp(r, keep, sizeof r) == 0); /* untouched on failure */
}

/* Extreme records still converge: 500 to 0, and a tiny prior. */
static void test_extremes(void) {
    arena_vote *v = malloc(500 * sizeof *v);
    for (int k = 0; k < 500; k++)
        v[k] = vote(0, 1, ARENA_A);
    arena_options o = opts(20);
    o.prior = 1e-6;
    arena_rating r[2];
    CHECK_INT(arena_fit(2, v, 500, &o, r), ARENA_OK);
    CHECK(isfinite(r[0].strength) && r[0].strength > 5);
    CHECK(isfinite(r[0].lo) && r[0].p_beat_avg <= 1);
    double t = r[0].strength; /* still the MAP: 500 (1 − σ(2t)) = λ t */
    CHECK(fabs(500 * (1 - arena_p_win(t, -t)) - o.prior * t) < 1e-9);
    free(v);
}

static void test_helpers(void) {
    CHECK(arena_elo(0) == 1000);
    CHECK(fabs(arena_elo(log(10)) - 1400) < 1e-9);
    CHECK(isinf(arena_elo(INFINITY)) && isnan(arena_elo(NAN)));
    CHECK(arena_p_win(0, 0) == 0.5);
    CHECK(fabs(arena_p_win(1, 0) + arena_p_win(0, 1) - 1) < 1e-15);
    CHECK(arena_p_win(1000, -1000) == 1 && arena_p_win(-1000, 1000) == 0);
    CHECK(fabs(arena_p_win(log(10), 0) - 10.0 / 11) < 1e-15); /* 400 Elo: 10:1 odds */
}

static void test_median(void) {
    double a[] = {3, 1, 2};
    CHECK(arena_median(a, 3) == 2);
    double b[] = {4, NAN, 1, 3, 2};
    CHECK(arena_median(b, 5) == 2.5);
    CHECK(b[0] == 1 && b[3] == 4 && isnan(b[4])); /* sorted, NaN last */
    double c[] = {NAN, NAN};
    CHECK(isnan(arena_median(c, 2)));
    CHECK(isnan(arena_median(NULL, 0)));
    double d[] = {0.004542};
    CHECK(arena_median(d, 1) == 0.004542);
    double e[] = {1e308, 1.7e308};
    CHECK(arena_median(e, 2) == 1.35e308); /* no overflow */
    double f[] = {-INFINITY, INFINITY};
    CHECK(arena_median(f, 2) == 0);
    double g[] = {INFINITY, 1, INFINITY, 2};
    CHECK(isinf(arena_median(g, 4)));
}

int main(void) {
    RUN(test_rng_reference);
    RUN(test_rng_ranges);
    RUN(test_recovers_strengths);
    RUN(test_recovers_order_with_ties);
    RUN(test_one_sided);
    RUN(test_one_sided_group);
    RUN(test_chain_and_cycle);
    RUN(test_ties_only);
    RUN(test_order_independence);
    RUN(test_disconnected_pairs);
    RUN(test_one_vote);
    RUN(test_zero_votes);
    RUN(test_no_rounds);
    RUN(test_min_votes);
    RUN(test_invalid);
    RUN(test_extremes);
    RUN(test_helpers);
    RUN(test_median);
    return check_report("arena");
}
