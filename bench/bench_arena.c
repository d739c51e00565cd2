/* Micro-benchmark of the arena's fit (src/arena.c): Bradley–Terry MAP plus the bootstrap,
 * at the sizes a writer reaches (10 models, 500 votes) and beyond (2,000 votes; 40 models).
 * Prints the median of several runs of each case; exits 1 if a fit fails.
 *
 *   make build/bench/bench_arena && build/bench/bench_arena
 */
#include "ami/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RUNS 9

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench(int n, size_t n_votes, unsigned rounds) {
    arena_rng rng;
    arena_rng_seed(&rng, 2026);
    arena_vote *v = malloc(n_votes * sizeof *v);
    arena_rating *r = malloc((size_t)n * sizeof *r);
    if (!v || !r)
        return 1;
    for (size_t k = 0; k < n_votes; k++) {
        int a = (int)arena_rng_below(&rng, (uint64_t)n);
        int b = (int)arena_rng_below(&rng, (uint64_t)n - 1);
        b += b >= a;
        double p = arena_p_win(0.3 * a, 0.3 * b), u = arena_rng_uniform(&rng);
        v[k].a = a;
        v[k].b = b;
        v[k].r = u < 0.1    ? ARENA_TIE
                 : u < 0.15 ? ARENA_BOTH_BAD
                            : (u < 0.15 + 0.85 * p ? ARENA_A : ARENA_B);
    }
    arena_options o;
    arena_options_default(&o);
    o.rounds = rounds;
    double t[RUNS];
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_ms();
        if (arena_fit(n, v, n_votes, &o, r) != ARENA_OK) {
            fprintf(stderr, "bench_arena: arena_fit failed\n");
            return 1;
        }
        t[i] = now_ms() - t0;
    }
    qsort(t, RUNS, sizeof *t, cmp);
    printf("arena_fit  %3d models × %5zu votes, %4u rounds: median %8.2f ms (min %.2f, max %.2f, "
           "%d runs)\n",
           n, n_votes, rounds, t[RUNS / 2], t[0], t[RUNS - 1], RUNS);
    free(v);
    free(r);
    return 0;
}

int main(void) {
    int rc = 0;
    rc |= bench(10, 500, 0);
    rc |= bench(10, 500, 1000);
    rc |= bench(10, 2000, 1000);
    rc |= bench(40, 2000, 1000);
    return rc;
}
