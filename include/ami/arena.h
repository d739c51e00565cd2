/* arena: a leaderboard of the models one writer compared, from their own votes.
 *
 * The writer sends one question to two models, reads both answers side by side and votes:
 * A better, B better, a tie, or both bad.  arena_fit() turns those votes into a ranking with
 * honest error bars.  Pure math: no I/O, no global state, no clock; the same votes and
 * options always give the same numbers, bit for bit, whatever the order of the votes.
 *
 * The model (Bradley–Terry).  Model i has a log-strength θ_i, and
 *     P(i beats j) = 1 / (1 + exp(θ_j − θ_i)) = σ(θ_i − θ_j).
 * The strengths are fitted by maximum a posteriori: the log-likelihood of the votes plus a
 * Gaussian prior θ_i ~ N(0, 1/λ) on each log-strength (ridge-penalised MLE), solved by
 * Newton's method with a backtracking line search.
 *
 * Ties and "both bad" count as half a win for each side (the votes then form a plain BT
 * likelihood with fractional counts, as LMArena does).  Davidson's extension was not chosen:
 * it adds a tie-rate parameter that tens of votes cannot pin down, and "both bad" is not a
 * tie in Davidson's sense anyway (it says nothing about the draw rate of two good answers).
 * What a tie or both-bad vote does say is "neither is better than the other", which is what
 * half a win each encodes.
 *
 * The prior (options.prior = λ, the precision; default 0.5, i.e. a prior standard deviation
 * of √2 in log-strength, 95 % of models a priori within ±2.8, win odds 1:16 to 16:1 against
 * the average).  Near θ = 0 a precision of λ weighs as much as 4λ virtual ties against a
 * reference model of strength 0, so the default is worth two virtual ties per model: it keeps
 * a model that won every vote finite, costs a few percent of shrinkage when a model has tens
 * of votes, and next to nothing with hundreds.  With λ > 0 the objective is strictly concave,
 * so the maximum is unique and exists for any vote set: a disconnected comparison graph, a
 * one-sided record, a model with no votes (θ = 0, the prior mean).  Since every vote adds as
 * much to one side as it takes from the other, the solution has Σθ = 0 in each connected
 * group of models, so strengths are centred (mean 0 over all models) with no extra step.
 *
 * Intervals: a percentile bootstrap (as LMArena): the votes are resampled with replacement,
 * the model refitted, and the 2.5th and 97.5th percentiles of each θ_i over the rounds kept.
 * The resampling uses a PRNG of our own (xoshiro256**, seeded by splitmix64) on the votes
 * put in a canonical order first, so the intervals too do not depend on the order given.
 *
 * What the bootstrap cannot see, the flags say:
 *   ARENA_OPEN_HIGH  no model outside this one's "top group" ever took a point from it (the
 *                    model, and those it is tied in a cycle with, won every vote against the
 *                    rest of its connected group): the data set no upper bound, only the
 *                    prior does.  hi (and elo_hi) is +INFINITY.  With lo above 0 this reads
 *                    "better, by an unknown margin".
 *   ARENA_OPEN_LOW   the mirror: it never took a point from outside its bottom group; lo is
 *                    -INFINITY.  A model with no votes has both flags (nothing is known).
 *   ARENA_FEW_VOTES  fewer votes than options.min_votes (default 5): still fitted, but the
 *                    caller lists it apart.
 * Formally, "took a point" is an edge u→v when u beat or tied v; the groups are the strongly
 * connected components of that graph (Tarjan), and the open ends are those of the groups
 * with no edge in (top) or no edge out (bottom) inside a connected group of two or more
 * groups: exactly the cases where the plain MLE would be infinite.  A group in the middle of
 * a chain (A > B > C, each one-sided) gets no flag: the data bound neither its gap above nor
 * its gap below, but open ends on both sides would hide that it sits between the two.
 * `component` numbers the connected groups of the
 * comparison graph: strengths of models in different components were never compared, and
 * their relative level rests on the prior alone (each component is centred at 0).
 *
 * The Elo-like score for display: elo = 1000 + θ · 400 / ln 10, the chess and LMArena scale:
 * 400 points apart means 10:1 odds.  p_beat_avg = σ(θ_i): the probability of beating a model
 * of average strength (θ = 0).
 *
 * Limits: at most ARENA_MAX_MODELS models, ARENA_MAX_VOTES votes, ARENA_MAX_ROUNDS rounds
 * (ARENA_ETOOBIG past them).  Memory: O(models · rounds + votes) doubles, freed before
 * returning.  Time: each round costs O(votes + models³ · Newton steps), a handful of steps
 * warm-started from the full fit: 10 models × 500 votes × 1000 rounds takes about 20 ms,
 * 40 models × 2000 votes about 0.2 s (bench/bench_arena.c).
 */
#ifndef AMI_ARENA_H
#define AMI_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Return codes.  ARENA_EINVAL: a vote names a model out of range or the same model twice, or
 * has an unknown result; a NULL pointer where one is needed; a prior that is not > 0. */
#define ARENA_OK      0
#define ARENA_EINVAL  (-1)
#define ARENA_ENOMEM  (-2)
#define ARENA_ETOOBIG (-3) /* more models, votes or rounds than the limits below */

#define ARENA_MAX_MODELS 128
#define ARENA_MAX_VOTES  1000000
#define ARENA_MAX_ROUNDS 10000

#define ARENA_DEFAULT_ROUNDS    1000
#define ARENA_DEFAULT_SEED      0x616d692d6172656eULL /* "ami-aren" */
#define ARENA_DEFAULT_PRIOR     0.5
#define ARENA_DEFAULT_MIN_VOTES 5

/* Flags of arena_rating. */
#define ARENA_FEW_VOTES 1u
#define ARENA_OPEN_HIGH 2u
#define ARENA_OPEN_LOW  4u

typedef enum arena_result {
    ARENA_A = 0,    /* a's answer was better */
    ARENA_B = 1,    /* b's answer was better */
    ARENA_TIE = 2,  /* as good as each other */
    ARENA_BOTH_BAD, /* both bad: counted as a tie in the fit, counted apart in the record */
} arena_result;

/* One vote: models are indices 0 .. n_models-1, a != b. */
typedef struct arena_vote {
    int a, b;
    arena_result r;
} arena_vote;

typedef struct arena_options {
    unsigned rounds;    /* bootstrap rounds; 0: no intervals (lo, hi NaN unless open) */
    uint64_t seed;      /* of the resampling PRNG */
    double prior;       /* λ, precision of the Gaussian prior on each log-strength; > 0 */
    unsigned min_votes; /* below it, ARENA_FEW_VOTES */
} arena_options;

/* One model's line on the leaderboard. */
typedef struct arena_rating {
    double strength;       /* θ, log scale, centred (mean 0 over all models) */
    double lo, hi;         /* 95 % bootstrap interval of θ; ±INFINITY at an open end */
    double elo;            /* 1000 + θ · 400 / ln 10 */
    double elo_lo, elo_hi; /* the interval on the same scale */
    double p_beat_avg;     /* σ(θ) */
    size_t votes;          /* votes this model took part in */
    size_t wins, ties, both_bad, losses;
    int component;  /* connected group of the comparison graph, from 0, by lowest index */
    unsigned flags; /* ARENA_FEW_VOTES | ARENA_OPEN_HIGH | ARENA_OPEN_LOW */
} arena_rating;

/* The resampling PRNG, exposed for tests and simulations: xoshiro256** seeded through
 * splitmix64.  The caller owns the state (no global state); any seed, 0 included, is fine. */
typedef struct arena_rng {
    uint64_t s[4];
} arena_rng;

/// Fills o with the defaults above.
void arena_options_default(arena_options *o);

/// Fits the votes and writes n_models ratings to out[0 .. n_models-1] (caller-owned array).
/// votes may be NULL when n_votes is 0; opt may be NULL for the defaults.  Returns ARENA_OK,
/// or a negative code, in which case out is left untouched.  n_models == 0 with no votes is
/// fine (nothing written).  Does not keep any pointer.
int arena_fit(int n_models, const arena_vote *votes, size_t n_votes, const arena_options *opt,
              arena_rating *out);

/// The probability that a model of strength ta beats one of strength tb: σ(ta − tb).
double arena_p_win(double ta, double tb);

/// θ on the Elo-like display scale (±INFINITY and NaN pass through).
double arena_elo(double theta);

/// The median of the values that are not NaN (the mean of the two middle ones for an even
/// count), for the leaderboard's cost per answer and time to answer; NaN when there are none
/// (n == 0 or all NaN).  Reorders values[0 .. n) in place (sorted, NaN moved last); values
/// may be NULL when n is 0.
double arena_median(double *values, size_t n);

/// Seeds the PRNG.
void arena_rng_seed(arena_rng *r, uint64_t seed);
/// The next 64 random bits.
uint64_t arena_rng_next(arena_rng *r);
/// Uniform in [0, 1), 53 random bits.
double arena_rng_uniform(arena_rng *r);
/// Uniform integer in [0, n), unbiased (rejection); 0 when n is 0.
uint64_t arena_rng_below(arena_rng *r, uint64_t n);

#endif
