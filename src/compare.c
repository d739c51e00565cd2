/* compare: two models, one question.  See include/ami/compare.h. */
#include "ami/compare.h"

#include "ami/engine.h"
#include "ami/ledger_votes.h"
#include "ami/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

int compare_choose(const char *current, const char *const *list, size_t n, const char *out[2],
                   char *err, size_t errlen) {
    if (n < 2) {
        snprintf(err, errlen,
                 "comparing needs two models: set compare.models to a list of at least two "
                 "(e.g. { 'anthropic/claude-sonnet-4', 'google/gemini-2.5-flash' })");
        return -1;
    }
    for (size_t i = 0; current && i < n; i++)
        if (strcmp(list[i], current) == 0) {
            out[0] = list[i];
            out[1] = list[(i + 1) % n];
            return 0;
        }
    out[0] = list[0];
    out[1] = list[1];
    return 0;
}

/* One random bit, from the kernel's generator (uv_random without a loop is synchronous);
 * the clock if that fails. */
static int coin(void) {
    unsigned char b = 0;
    if (uv_random(NULL, NULL, &b, 1, 0, NULL) != 0)
        b = (unsigned char)(uv_hrtime() >> 7);
    return b & 1;
}

int compare_start(engine *e, const compare_params *p, void *ud_a, void *ud_b, compare_pair *out,
                  char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!p->models[0] || !p->models[1] || !*p->models[0] || !*p->models[1]) {
        snprintf(err, errlen, "comparing needs two models");
        return -1;
    }
    if (strcmp(p->models[0], p->models[1]) == 0) {
        snprintf(err, errlen, "comparing %s with itself says nothing: choose two different models",
                 p->models[0]);
        return -1;
    }
    out->swapped = p->swap < 0 ? coin() : p->swap != 0;
    out->model[0] = p->models[out->swapped ? 1 : 0];
    out->model[1] = p->models[out->swapped ? 0 : 1];
    request_params a = p->base, b = p->base;
    a.model = out->model[0];
    b.model = out->model[1];
    a.pair_with = NULL;
    out->side[0] = request_start(e, &a, ud_a);
    if (!out->side[0]) {
        snprintf(err, errlen, "out of memory, or ami is shutting down");
        return -1;
    }
    b.pair_with = out->side[0];
    out->side[1] = request_start(e, &b, ud_b);
    if (!out->side[1]) {
        request_cancel(out->side[0], "the comparison could not start");
        snprintf(err, errlen, "out of memory, or ami is shutting down");
        return -1;
    }
    snprintf(out->pair, sizeof out->pair, "p-%llx-%lx-%x", (unsigned long long)time(NULL),
             (unsigned long)getpid(), (unsigned)request_id(out->side[0]));
    ledger *l = p->base.no_ledger ? NULL : engine_ledger(e);
    if (l) {
        ledger_vote v;
        memset(&v, 0, sizeof v);
        v.pair = out->pair;
        v.request_a = request_uid(out->side[0]);
        v.request_b = request_uid(out->side[1]);
        v.model_a = out->model[0];
        v.model_b = out->model[1];
        v.blind = p->blind;
        v.swapped = out->swapped;
        v.command = p->base.command ? p->base.command : "critique";
        v.document = p->base.document;
        if (ledger_votes_add(l, &v, NULL, NULL) != 0)
            log_warn("compare: the pair %s could not be recorded: %s", out->pair,
                     ledger_error(l) ? ledger_error(l) : "the ledger is closed");
    }
    return 0;
}
