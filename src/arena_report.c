/* arena_report: the leaderboard from the votes.  See include/ami/arena_report.h. */
#include "ami/arena_report.h"

#include "ami/arena.h"
#include "ami/cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct board {
    char **models; /* distinct model ids, in first-seen order (borrowed from the votes) */
    int n_models;
    arena_vote *votes;
    size_t n_votes;
    arena_rating *ratings;
    double *cost_median, *time_median; /* per model; NaN unknown */
    int *order;                        /* models by rank (enough votes first, by strength) */
    unsigned min_votes;
} board;

static void board_free(board *b) {
    free(b->models);
    free(b->votes);
    free(b->ratings);
    free(b->cost_median);
    free(b->time_median);
    free(b->order);
}

static int model_index(board *b, const char *m) {
    for (int i = 0; i < b->n_models; i++)
        if (strcmp(b->models[i], m) == 0)
            return i;
    if (b->n_models >= ARENA_MAX_MODELS)
        return -1;
    b->models[b->n_models] = (char *)m;
    return b->n_models++;
}

/* < 0 when model i ranks before model j: enough votes first, then by strength, then name. */
static int by_rank(const board *b, int i, int j) {
    int ei = b->ratings[i].votes >= b->min_votes, ej = b->ratings[j].votes >= b->min_votes;
    if (ei != ej)
        return ej - ei;
    if (b->ratings[i].strength != b->ratings[j].strength)
        return b->ratings[i].strength > b->ratings[j].strength ? -1 : 1;
    return strcmp(b->models[i], b->models[j]);
}

/* Fits the votes; 0, or -1 with why in err. */
static int board_fit(board *b, const ledger_vote *v, size_t n, const arena_report_options *o,
                     char *err, size_t errlen) {
    memset(b, 0, sizeof *b);
    b->min_votes = o && o->min_votes ? o->min_votes : ARENA_DEFAULT_MIN_VOTES;
    b->models = calloc(ARENA_MAX_MODELS, sizeof *b->models);
    b->votes = calloc(n ? n : 1, sizeof *b->votes);
    if (!b->models || !b->votes) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int a = model_index(b, v[i].model_a), c = model_index(b, v[i].model_b);
        if (a < 0 || c < 0 || a == c)
            continue; /* a pair of one model twice says nothing of strengths */
        arena_result r = strcmp(v[i].result, "a") == 0     ? ARENA_A
                         : strcmp(v[i].result, "b") == 0   ? ARENA_B
                         : strcmp(v[i].result, "tie") == 0 ? ARENA_TIE
                                                           : ARENA_BOTH_BAD;
        b->votes[b->n_votes++] = (arena_vote){a, c, r};
    }
    int m = b->n_models;
    b->ratings = calloc(m ? (size_t)m : 1, sizeof *b->ratings);
    b->cost_median = calloc(m ? (size_t)m : 1, sizeof *b->cost_median);
    b->time_median = calloc(m ? (size_t)m : 1, sizeof *b->time_median);
    b->order = calloc(m ? (size_t)m : 1, sizeof *b->order);
    double *vals = calloc(n ? n : 1, sizeof *vals);
    if (!b->ratings || !b->cost_median || !b->time_median || !b->order || !vals) {
        free(vals);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    arena_options ao;
    arena_options_default(&ao);
    ao.min_votes = b->min_votes;
    if (o && o->rounds)
        ao.rounds = o->rounds;
    int rc = arena_fit(m, b->votes, b->n_votes, &ao, b->ratings);
    if (rc != ARENA_OK) {
        free(vals);
        snprintf(err, errlen, "the leaderboard could not be fitted (error %d)", rc);
        return -1;
    }
    /* Medians of each model's answers, on whichever side it was. */
    for (int k = 0; k < m; k++) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(v[i].model_a, b->models[k]) == 0)
                vals[c++] = v[i].cost_a >= 0 ? v[i].cost_a : NAN;
            else if (strcmp(v[i].model_b, b->models[k]) == 0)
                vals[c++] = v[i].cost_b >= 0 ? v[i].cost_b : NAN;
        }
        b->cost_median[k] = arena_median(vals, c);
        c = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(v[i].model_a, b->models[k]) == 0)
                vals[c++] = v[i].duration_a >= 0 ? (double)v[i].duration_a / 1000 : NAN;
            else if (strcmp(v[i].model_b, b->models[k]) == 0)
                vals[c++] = v[i].duration_b >= 0 ? (double)v[i].duration_b / 1000 : NAN;
        }
        b->time_median[k] = arena_median(vals, c);
        b->order[k] = k;
    }
    free(vals);
    for (int i = 1; i < m; i++) /* insertion sort: at most ARENA_MAX_MODELS */
        for (int j = i; j > 0 && by_rank(b, b->order[j], b->order[j - 1]) < 0; j--) {
            int t = b->order[j];
            b->order[j] = b->order[j - 1];
            b->order[j - 1] = t;
        }
    return 0;
}

static void score_text(double x, char *out, size_t n, int low) {
    if (isinf(x))
        snprintf(out, n, "%s", low ? "-∞" : "∞");
    else if (isnan(x))
        snprintf(out, n, "?");
    else
        snprintf(out, n, "%.0f", x);
}

/* Appends s padded with spaces to width display cells (code points). */
static void append_padded(buf *out, const char *s, size_t width) {
    size_t cells = 0;
    for (const char *p = s; *p; p++)
        cells += ((unsigned char)*p & 0xc0) != 0x80;
    buf_append_str(out, s);
    for (; cells < width; cells++)
        buf_append_byte(out, ' ');
}

static void append_row(buf *out, const board *b, int k, int rank, size_t mw) {
    const arena_rating *r = &b->ratings[k];
    char lo[16], hi[16], money[48] = "?", secs[24] = "?", ranks[16] = "";
    score_text(r->elo_lo, lo, sizeof lo, 1);
    score_text(r->elo_hi, hi, sizeof hi, 0);
    if (!isnan(b->cost_median[k]))
        cost_format(b->cost_median[k], COST_REPORTED, money, sizeof money);
    if (!isnan(b->time_median[k]))
        snprintf(secs, sizeof secs, "%.1f s", b->time_median[k]);
    if (rank > 0)
        snprintf(ranks, sizeof ranks, "%d", rank);
    char interval[48];
    snprintf(interval, sizeof interval, "%s%s, %s%s", isinf(r->elo_lo) ? "(" : "[", lo, hi,
             isinf(r->elo_hi) ? ")" : "]");
    buf_printf(out, "%3s  ", ranks);
    append_padded(out, b->models[k], mw);
    buf_printf(out, " %5.0f  ", r->elo);
    append_padded(out, interval, 14);
    buf_printf(out, " %5zu  %3zu / %zu / %-3zu %11s %8s\n", r->votes, r->wins,
               r->ties + r->both_bad, r->losses, money, secs);
}

int arena_report_text(const ledger_vote *votes, size_t n, const arena_report_options *o, buf *out) {
    board b;
    char err[256];
    if (board_fit(&b, votes, n, o, err, sizeof err) != 0) {
        buf_printf(out, "ami arena: %s\n", err);
        board_free(&b);
        return -1;
    }
    if (b.n_votes == 0) {
        buf_printf(out,
                   "ami arena: no votes yet%s%s%s.  Compare two models with :Critique! (or ami "
                   "compare FILE), then vote with :AmiVote a|b|tie|bad.\n",
                   o && o->filters ? " (" : "", o && o->filters ? o->filters : "",
                   o && o->filters ? ")" : "");
        board_free(&b);
        return 0;
    }
    buf_printf(out, "ami arena: %zu vote%s on %d models%s%s%s\n\n", b.n_votes,
               b.n_votes == 1 ? "" : "s", b.n_models, o && o->filters ? " (" : "",
               o && o->filters ? o->filters : "", o && o->filters ? ")" : "");
    size_t mw = 10; /* the model column: the longest id, 10 to 40 cells */
    for (int i = 0; i < b.n_models; i++) {
        size_t c = 0;
        for (const char *p = b.models[i]; *p; p++)
            c += ((unsigned char)*p & 0xc0) != 0x80;
        mw = c > mw ? c : mw;
    }
    mw = mw > 40 ? 40 : mw;
    buf_printf(out, "%3s  ", "");
    append_padded(out, "model", mw);
    buf_printf(out, " %5s  %-14s %5s  %-13s %11s %8s\n", "score", "95 %", "votes", "W / T / L",
               "cost/answer", "time");
    int rank = 0, apart = 0;
    for (int i = 0; i < b.n_models; i++) {
        int k = b.order[i];
        if (b.ratings[k].votes < b.min_votes) {
            apart++;
            continue;
        }
        append_row(out, &b, k, ++rank, mw);
    }
    if (rank == 0)
        buf_printf(out, "     (no model has %u votes yet)\n", b.min_votes);
    if (apart) {
        buf_printf(out, "\nNot enough votes yet (fewer than %u), listed apart:\n", b.min_votes);
        for (int i = 0; i < b.n_models; i++)
            if (b.ratings[b.order[i]].votes < b.min_votes)
                append_row(out, &b, b.order[i], 0, mw);
    }
    buf_printf(out,
               "\nScore: a Bradley–Terry strength fitted to your votes, on an Elo-like scale "
               "(1000 = the\naverage of these models; 100 points ≈ a 64 %% chance of being "
               "preferred).  A tie or \"both\nbad\" counts as half a win for each side; a weak "
               "prior keeps a model that always wins\nfinite.  95 %% intervals from %u "
               "bootstrap resamples of the votes; an open end means it\nnever lost (or never "
               "won) a point.  W / T / L: wins, ties (both bad included), losses.\n",
               o && o->rounds ? o->rounds : ARENA_DEFAULT_ROUNDS);
    board_free(&b);
    return 0;
}

static void add_num_or_null(cJSON *o, const char *k, double v) {
    if (isnan(v) || isinf(v))
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, v);
}

cJSON *arena_report_json(const ledger_vote *votes, size_t n, const arena_report_options *o) {
    board b;
    char err[256];
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    if (board_fit(&b, votes, n, o, err, sizeof err) != 0) {
        cJSON_AddStringToObject(root, "error", err);
        board_free(&b);
        return root;
    }
    cJSON_AddNumberToObject(root, "votes", (double)b.n_votes);
    cJSON_AddStringToObject(
        root, "method",
        "Bradley-Terry, penalised maximum likelihood (Gaussian prior, "
        "precision 0.5), ties and both-bad as half a win each, 95% "
        "bootstrap percentile intervals; score = 1000 + 400 * strength / ln 10");
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    int rank = 0;
    for (int i = 0; i < b.n_models; i++) {
        int k = b.order[i];
        const arena_rating *r = &b.ratings[k];
        int enough = r->votes >= b.min_votes;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "model", b.models[k]);
        if (enough)
            cJSON_AddNumberToObject(m, "rank", ++rank);
        else
            cJSON_AddNullToObject(m, "rank");
        add_num_or_null(m, "score", r->elo);
        add_num_or_null(m, "low", r->elo_lo);
        add_num_or_null(m, "high", r->elo_hi);
        add_num_or_null(m, "strength", r->strength);
        add_num_or_null(m, "p_beat_average", r->p_beat_avg);
        cJSON_AddNumberToObject(m, "votes", (double)r->votes);
        cJSON_AddNumberToObject(m, "wins", (double)r->wins);
        cJSON_AddNumberToObject(m, "ties", (double)r->ties);
        cJSON_AddNumberToObject(m, "both_bad", (double)r->both_bad);
        cJSON_AddNumberToObject(m, "losses", (double)r->losses);
        add_num_or_null(m, "median_cost_usd", b.cost_median[k]);
        add_num_or_null(m, "median_seconds", b.time_median[k]);
        cJSON_AddBoolToObject(m, "enough_votes", enough);
        cJSON_AddItemToArray(models, m);
    }
    board_free(&b);
    return root;
}
