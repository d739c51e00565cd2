/* arena: Bradley–Terry strengths and bootstrap intervals from pairwise votes.  See
 * include/ami/arena.h for the model and its choices.
 *
 * The path of one arena_fit():
 *
 *   votes ──check──► canonical votes (low index first, result seen from it), sorted
 *         ──► pairs: one per pair of models that met, with the half-points the low one won
 *         ──► fit(pairs, θ = 0)                       the strengths
 *         ──► rounds × { resample the canonical votes, recount the pairs,
 *                        fit(pairs, θ = the strengths) }  one θ vector per round
 *         ──► per model: sort its θs, 2.5 % / 97.5 % percentiles
 *         ──► took-a-point graph: closure, components, open ends
 *
 * Why it is shaped like this:
 *   - Counting in half-points makes every count an integer: sums are exact in any order, so
 *     the fit is bit-identical for any permutation of the votes.  Sorting the canonical votes
 *     makes the resampling see the same list whatever order the caller used.
 *   - A round only recounts pairs (O(votes)) and refits on the pairs (O(pairs) per Newton
 *     step plus one Cholesky, O(models³)); starting each round from the full fit, Newton
 *     needs a handful of steps.
 *   - Newton on a strictly concave objective with a backtracking (Armijo) line search always
 *     converges; the prior term λI keeps the Hessian positive definite, so the Cholesky
 *     factorisation never fails, even for a model with no votes.
 */
#include "ami/arena.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ELO_BASE   1000.0
#define ELO_SCALE  (400.0 / 2.302585092994045684) /* 400 / ln 10 */
#define LEVEL_LO   0.025
#define LEVEL_HI   0.975
#define MAX_NEWTON 100
#define MAX_HALVES 60

/* ---- the PRNG: xoshiro256** (Blackman & Vigna), seeded with splitmix64 ----------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void arena_rng_seed(arena_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t arena_rng_next(arena_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double arena_rng_uniform(arena_rng *r) {
    return (double)(arena_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t arena_rng_below(arena_rng *r, uint64_t n) {
    if (n == 0)
        return 0;
    /* Reject the lowest 2^64 mod n values so that every residue is equally likely. */
    uint64_t floor = (0 - n) % n;
    for (;;) {
        uint64_t x = arena_rng_next(r);
        if (x >= floor)
            return x % n;
    }
}

/* ---- small helpers ---------------------------------------------------------------------- */

void arena_options_default(arena_options *o) {
    o->rounds = ARENA_DEFAULT_ROUNDS;
    o->seed = ARENA_DEFAULT_SEED;
    o->prior = ARENA_DEFAULT_PRIOR;
    o->min_votes = ARENA_DEFAULT_MIN_VOTES;
}

double arena_p_win(double ta, double tb) {
    double x = ta - tb;
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double arena_elo(double theta) {
    return ELO_BASE + theta * ELO_SCALE;
}

/* log σ(x), without overflow for large |x|. */
static double log_sigmoid(double x) {
    if (x >= 0)
        return -log1p(exp(-x));
    return x - log1p(exp(x));
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double arena_median(double *values, size_t n) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(values[i])) {
            double v = values[i];
            values[i] = values[m];
            values[m++] = v;
        }
    }
    for (size_t i = m; i < n; i++)
        values[i] = NAN;
    if (m == 0)
        return NAN;
    qsort(values, m, sizeof *values, cmp_double);
    if (m % 2)
        return values[m / 2];
    double a = values[m / 2 - 1], b = values[m / 2];
    if (isinf(a) && isinf(b))
        return a == b ? a : 0.0; /* -inf and +inf: halfway is taken as 0 */
    return a / 2 + b / 2;        /* never overflows, unlike (a + b) / 2 */
}

/* ---- canonical votes and pairs ---------------------------------------------------------- */

/* A vote seen from its lower-indexed model: half-points it won (2 win, 1 tie, 0 loss). */
typedef struct cvote {
    int lo, hi;
    int kind; /* 0 lo won, 1 tie, 2 both bad, 3 hi won: the sort key after the pair */
    size_t pair;
} cvote;

static int cmp_cvote(const void *pa, const void *pb) {
    const cvote *a = pa, *b = pb;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    return (a->kind > b->kind) - (a->kind < b->kind);
}

static int half_points(int kind) {
    return kind == 0 ? 2 : kind == 3 ? 0 : 1;
}

typedef struct pairs {
    size_t n;
    int *i, *j; /* i < j */
    double *w;  /* wins of i over j, ties counting one half */
    double *c;  /* votes between i and j */
} pairs;

/* ---- the fit ---------------------------------------------------------------------------- */

typedef struct solver {
    int n;
    double lambda;
    double *g, *h, *d, *trial;
} solver;

/* The objective to minimise: minus the log posterior (up to a constant). */
static double objective(const solver *s, const pairs *p, const double *th) {
    double f = 0;
    for (size_t k = 0; k < p->n; k++) {
        double x = th[p->i[k]] - th[p->j[k]];
        f -= p->w[k] * log_sigmoid(x) + (p->c[k] - p->w[k]) * log_sigmoid(-x);
    }
    double q = 0;
    for (int i = 0; i < s->n; i++)
        q += th[i] * th[i];
    return f + 0.5 * s->lambda * q;
}

/* Gradient into s->g and Hessian into s->h (row-major n × n). */
static void derivatives(solver *s, const pairs *p, const double *th) {
    int n = s->n;
    memset(s->h, 0, (size_t)n * (size_t)n * sizeof *s->h);
    for (int i = 0; i < n; i++) {
        s->g[i] = s->lambda * th[i];
        s->h[(size_t)i * (size_t)n + (size_t)i] = s->lambda;
    }
    for (size_t k = 0; k < p->n; k++) {
        int i = p->i[k], j = p->j[k];
        double pr = arena_p_win(th[i], th[j]);
        double r = p->w[k] - p->c[k] * pr;
        double v = p->c[k] * pr * (1.0 - pr);
        s->g[i] -= r;
        s->g[j] += r;
        s->h[(size_t)i * (size_t)n + (size_t)i] += v;
        s->h[(size_t)j * (size_t)n + (size_t)j] += v;
        s->h[(size_t)i * (size_t)n + (size_t)j] -= v;
        s->h[(size_t)j * (size_t)n + (size_t)i] -= v;
    }
}

/* Solves h d = -g in place by Cholesky (h is symmetric positive definite: λI plus a graph
 * Laplacian with positive weights).  Returns -1 if a pivot is not positive (cannot happen
 * with λ > 0 short of NaN input; the caller then stops iterating). */
static int newton_direction(solver *s) {
    int n = s->n;
    double *a = s->h;
    for (int j = 0; j < n; j++) {
        double sum = a[(size_t)j * (size_t)n + (size_t)j];
        for (int k = 0; k < j; k++)
            sum -= a[(size_t)j * (size_t)n + (size_t)k] * a[(size_t)j * (size_t)n + (size_t)k];
        if (!(sum > 0))
            return -1;
        double l = sqrt(sum);
        a[(size_t)j * (size_t)n + (size_t)j] = l;
        for (int i = j + 1; i < n; i++) {
            double t = a[(size_t)i * (size_t)n + (size_t)j];
            for (int k = 0; k < j; k++)
                t -= a[(size_t)i * (size_t)n + (size_t)k] * a[(size_t)j * (size_t)n + (size_t)k];
            a[(size_t)i * (size_t)n + (size_t)j] = t / l;
        }
    }
    /* L y = -g, then Lᵀ d = y. */
    for (int i = 0; i < n; i++) {
        double t = -s->g[i];
        for (int k = 0; k < i; k++)
            t -= a[(size_t)i * (size_t)n + (size_t)k] * s->d[k];
        s->d[i] = t / a[(size_t)i * (size_t)n + (size_t)i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double t = s->d[i];
        for (int k = i + 1; k < n; k++)
            t -= a[(size_t)k * (size_t)n + (size_t)i] * s->d[k];
        s->d[i] = t / a[(size_t)i * (size_t)n + (size_t)i];
    }
    return 0;
}

/* Maximises the posterior from the start in th, leaving the maximum in th. */
static void fit(solver *s, const pairs *p, double *th) {
    int n = s->n;
    double f = objective(s, p, th);
    for (int it = 0; it < MAX_NEWTON; it++) {
        derivatives(s, p, th);
        double gmax = 0;
        for (int i = 0; i < n; i++)
            gmax = fmax(gmax, fabs(s->g[i]));
        if (gmax < 1e-10)
            break;
        if (newton_direction(s) != 0)
            break;
        double slope = 0, dmax = 0;
        for (int i = 0; i < n; i++) {
            slope += s->g[i] * s->d[i];
            dmax = fmax(dmax, fabs(s->d[i]));
        }
        if (!(slope < 0))
            break;
        double t = 1.0, ft = f;
        int accepted = 0;
        for (int half = 0; half < MAX_HALVES; half++, t *= 0.5) {
            for (int i = 0; i < n; i++)
                s->trial[i] = th[i] + t * s->d[i];
            ft = objective(s, p, s->trial);
            if (ft <= f + 1e-4 * t * slope) {
                accepted = 1;
                break;
            }
        }
        if (!accepted)
            break; /* at the limit of double precision: as good as it gets */
        memcpy(th, s->trial, (size_t)n * sizeof *th);
        f = ft;
        if (t * dmax < 1e-12)
            break;
    }
    /* The optimum has Σθ = 0 (see arena.h); remove the rounding residue. */
    double mean = 0;
    for (int i = 0; i < n; i++)
        mean += th[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        th[i] -= mean;
}

/* Type-7 percentile (linear between closest ranks) of sorted x[0 .. m), m >= 1. */
static double percentile(const double *x, size_t m, double q) {
    double h = (double)(m - 1) * q;
    size_t k = (size_t)h;
    if (k + 1 >= m)
        return x[m - 1];
    return x[k] + (h - (double)k) * (x[k + 1] - x[k]);
}

/* ---- the took-a-point graph ------------------------------------------------------------- */

static int find_root(int *parent, int x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Sets component and the open flags (see arena.h).  reach is n × n scratch. */
static void graph_flags(int n, const cvote *cv, size_t nv, unsigned char *reach, int *parent,
                        arena_rating *out) {
    size_t nn = (size_t)n;
    memset(reach, 0, nn * nn);
    for (int i = 0; i < n; i++) {
        reach[(size_t)i * nn + (size_t)i] = 1;
        parent[i] = i;
    }
    for (size_t k = 0; k < nv; k++) {
        size_t lo = (size_t)cv[k].lo, hi = (size_t)cv[k].hi;
        if (cv[k].kind != 3)
            reach[lo * nn + hi] = 1; /* lo took a point from hi */
        if (cv[k].kind != 0)
            reach[hi * nn + lo] = 1;
        int a = find_root(parent, cv[k].lo), b = find_root(parent, cv[k].hi);
        if (a != b)
            parent[a > b ? a : b] = a < b ? a : b;
    }
    for (size_t k = 0; k < nn; k++)
        for (size_t i = 0; i < nn; i++)
            if (reach[i * nn + k])
                for (size_t j = 0; j < nn; j++)
                    reach[i * nn + j] |= reach[k * nn + j];
    /* Number the components by their lowest model (the union keeps the lowest as root). */
    int next = 0;
    for (int i = 0; i < n; i++) {
        int r = find_root(parent, i);
        if (r == i)
            out[i].component = next++;
    }
    for (int i = 0; i < n; i++)
        out[i].component = out[find_root(parent, i)].component;

    for (size_t u = 0; u < nn; u++) {
        if (out[u].votes == 0) {
            out[u].flags |= ARENA_OPEN_HIGH | ARENA_OPEN_LOW;
            continue;
        }
        int others = 0, in = 0, outgoing = 0;
        for (size_t x = 0; x < nn; x++) {
            if (out[x].component != out[u].component)
                continue;
            int same = reach[u * nn + x] && reach[x * nn + u];
            if (same)
                continue;
            others = 1;
            if (reach[x * nn + u])
                in = 1;
            if (reach[u * nn + x])
                outgoing = 1;
        }
        if (others && !in)
            out[u].flags |= ARENA_OPEN_HIGH;
        if (others && !outgoing)
            out[u].flags |= ARENA_OPEN_LOW;
    }
}

/* ---- arena_fit -------------------------------------------------------------------------- */

static int vote_kind(arena_result r, int swapped) {
    switch (r) {
    case ARENA_A:
        return swapped ? 3 : 0;
    case ARENA_B:
        return swapped ? 0 : 3;
    case ARENA_TIE:
        return 1;
    case ARENA_BOTH_BAD:
        return 2;
    default:
        return -1;
    }
}

typedef struct work {
    cvote *cv;
    double *th, *boot, *col;
    double *g, *h, *d, *trial;
    int *pi, *pj, *parent;
    double *pw, *pc;
    unsigned char *reach;
} work;

static void work_free(work *w) {
    free(w->cv);
    free(w->th);
    free(w->boot);
    free(w->col);
    free(w->g);
    free(w->h);
    free(w->d);
    free(w->trial);
    free(w->pi);
    free(w->pj);
    free(w->parent);
    free(w->pw);
    free(w->pc);
    free(w->reach);
}

int arena_fit(int n_models, const arena_vote *votes, size_t n_votes, const arena_options *opt,
              arena_rating *out) {
    arena_options defaults;
    if (!opt) {
        arena_options_default(&defaults);
        opt = &defaults;
    }
    if (n_models < 0 || (n_votes && !votes) || (n_models && !out))
        return ARENA_EINVAL;
    if (!(opt->prior > 0) || isinf(opt->prior))
        return ARENA_EINVAL;
    if (n_models > ARENA_MAX_MODELS || n_votes > ARENA_MAX_VOTES || opt->rounds > ARENA_MAX_ROUNDS)
        return ARENA_ETOOBIG;
    for (size_t k = 0; k < n_votes; k++) {
        const arena_vote *v = &votes[k];
        if (v->a < 0 || v->b < 0 || v->a >= n_models || v->b >= n_models || v->a == v->b ||
            vote_kind(v->r, 0) < 0)
            return ARENA_EINVAL;
    }
    if (n_models == 0)
        return ARENA_OK;

    size_t n = (size_t)n_models, rounds = opt->rounds;
    work w;
    memset(&w, 0, sizeof w);
    w.cv = malloc((n_votes ? n_votes : 1) * sizeof *w.cv);
    w.th = calloc(n, sizeof *w.th);
    w.boot = malloc((rounds ? rounds * n : 1) * sizeof *w.boot);
    w.col = malloc((rounds ? rounds : 1) * sizeof *w.col);
    w.g = malloc(n * sizeof *w.g);
    w.h = malloc(n * n * sizeof *w.h);
    w.d = malloc(n * sizeof *w.d);
    w.trial = malloc(n * sizeof *w.trial);
    w.parent = malloc(n * sizeof *w.parent);
    w.reach = malloc(n * n);
    /* At most one pair per vote, and at most n(n-1)/2. */
    size_t max_pairs = n * (n - 1) / 2 < n_votes ? n * (n - 1) / 2 : n_votes;
    size_t pcap = max_pairs ? max_pairs : 1;
    w.pi = malloc(pcap * sizeof *w.pi);
    w.pj = malloc(pcap * sizeof *w.pj);
    w.pw = malloc(pcap * sizeof *w.pw);
    w.pc = malloc(pcap * sizeof *w.pc);
    if (!w.cv || !w.th || !w.boot || !w.col || !w.g || !w.h || !w.d || !w.trial || !w.parent ||
        !w.reach || !w.pi || !w.pj || !w.pw || !w.pc) {
        work_free(&w);
        return ARENA_ENOMEM;
    }

    /* Canonical votes, sorted, then the pairs they fall in. */
    for (size_t k = 0; k < n_votes; k++) {
        int swapped = votes[k].a > votes[k].b;
        w.cv[k].lo = swapped ? votes[k].b : votes[k].a;
        w.cv[k].hi = swapped ? votes[k].a : votes[k].b;
        w.cv[k].kind = vote_kind(votes[k].r, swapped);
    }
    qsort(w.cv, n_votes, sizeof *w.cv, cmp_cvote);
    pairs p = {0, w.pi, w.pj, w.pw, w.pc};
    for (size_t k = 0; k < n_votes; k++) {
        if (p.n == 0 || p.i[p.n - 1] != w.cv[k].lo || p.j[p.n - 1] != w.cv[k].hi) {
            p.i[p.n] = w.cv[k].lo;
            p.j[p.n] = w.cv[k].hi;
            p.w[p.n] = 0;
            p.c[p.n] = 0;
            p.n++;
        }
        w.cv[k].pair = p.n - 1;
        p.w[p.n - 1] += 0.5 * half_points(w.cv[k].kind);
        p.c[p.n - 1] += 1;
    }

    solver s = {n_models, opt->prior, w.g, w.h, w.d, w.trial};
    fit(&s, &p, w.th);

    if (rounds && n_votes) {
        arena_rng rng;
        arena_rng_seed(&rng, opt->seed);
        for (size_t r = 0; r < rounds; r++) {
            for (size_t k = 0; k < p.n; k++)
                p.w[k] = p.c[k] = 0;
            for (size_t t = 0; t < n_votes; t++) {
                const cvote *v = &w.cv[arena_rng_below(&rng, n_votes)];
                p.w[v->pair] += 0.5 * half_points(v->kind);
                p.c[v->pair] += 1;
            }
            double *th = w.boot + r * n;
            memcpy(th, w.th, n * sizeof *th);
            fit(&s, &p, th);
        }
    } else if (rounds) {
        memset(w.boot, 0, rounds * n * sizeof *w.boot);
    }

    arena_rating *res = out;
    for (size_t i = 0; i < n; i++) {
        arena_rating *o = &res[i];
        memset(o, 0, sizeof *o);
        o->strength = w.th[i];
        if (rounds) {
            for (size_t r = 0; r < rounds; r++)
                w.col[r] = w.boot[r * n + i];
            qsort(w.col, rounds, sizeof *w.col, cmp_double);
            o->lo = percentile(w.col, rounds, LEVEL_LO);
            o->hi = percentile(w.col, rounds, LEVEL_HI);
        } else {
            o->lo = o->hi = NAN;
        }
    }
    for (size_t k = 0; k < n_votes; k++) {
        arena_rating *lo = &res[w.cv[k].lo], *hi = &res[w.cv[k].hi];
        lo->votes++;
        hi->votes++;
        switch (w.cv[k].kind) {
        case 0:
            lo->wins++;
            hi->losses++;
            break;
        case 1:
            lo->ties++;
            hi->ties++;
            break;
        case 2:
            lo->both_bad++;
            hi->both_bad++;
            break;
        default:
            lo->losses++;
            hi->wins++;
            break;
        }
    }
    graph_flags(n_models, w.cv, n_votes, w.reach, w.parent, res);
    for (size_t i = 0; i < n; i++) {
        arena_rating *o = &res[i];
        if (o->votes < opt->min_votes)
            o->flags |= ARENA_FEW_VOTES;
        if (o->flags & ARENA_OPEN_HIGH)
            o->hi = INFINITY;
        if (o->flags & ARENA_OPEN_LOW)
            o->lo = -INFINITY;
        o->elo = arena_elo(o->strength);
        o->elo_lo = arena_elo(o->lo);
        o->elo_hi = arena_elo(o->hi);
        o->p_beat_avg = arena_p_win(o->strength, 0);
    }
    work_free(&w);
    return ARENA_OK;
}
