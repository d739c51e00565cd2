/* compare: the same question to two models at once, for the writer's own arena.
 *
 * compare_start() starts two requests, one per model, as a pair (request_params.pair_with):
 * both stream at the same time, and the budget decides once for both on the sum of their
 * estimates.  Which model is on side A and which on side B is random (and recorded, so a
 * blind vote is not biased by position); the pair's row is written to the ledger's votes table
 * at once, without a result: a pair never voted on counts for nothing (ledger_votes.h).
 */
#ifndef AMI_COMPARE_H
#define AMI_COMPARE_H

#include "ami/request.h"

#include <stddef.h>

struct engine;

typedef struct compare_params {
    request_params base;   /* what to ask (base.model is ignored) */
    const char *models[2]; /* the two models; models[0] is the "first" one (the current model) */
    int blind;             /* the names are hidden until the vote (kept in the votes row) */
    int swap;              /* -1: random; 0 or 1: put models[0] on side B when 1 (tests) */
} compare_params;

typedef struct compare_pair {
    char pair[64];        /* the pair's uid, "p-…": what the vote names */
    request *side[2];     /* A, B */
    const char *model[2]; /* the model on each side (borrowed from the params) */
    int swapped;          /* models[0] is on side B */
} compare_pair;

/// Starts the pair; ud_a and ud_b tag the two requests (request_ud()).  Returns 0, or -1 with
/// err set (the two models are the same, out of memory, the engine is closing); on -1 nothing
/// was started.
int compare_start(struct engine *e, const compare_params *p, void *ud_a, void *ud_b,
                  compare_pair *out, char *err, size_t errlen);

/// The pair of models to compare when none are given: the configured list (compare.models),
/// the current model against the next one of the list when it is in it, else the list's first
/// two.  Fills out[0..1] with borrowed strings; 0, or -1 with err set (fewer than two models).
int compare_choose(const char *current, const char *const *list, size_t n, const char *out[2],
                   char *err, size_t errlen);

#endif
