/* host_arena: the personal arena's side of the msgpack-RPC host (src/host.c's methods).
 *
 *   compare({start()'s params…, models = {M1, M2}?, blind?}) -> {pair, swapped, blind,
 *       a = {id, model}, b = {id, model}}: the same request to two models at once (compare.h);
 *       without models, compare.models of the config (the current model and the next).  Both
 *       answers then stream as any other (events by request id).
 *   vote(pair, result, language?) -> {token}; then {type = "voted", token, pair, result, ok,
 *       error}: result a, b, tie or bad.
 *   arena_report({command, language, since, min_votes}?) -> {token}; then {type =
 *       "arena_report", token, text, error}: the leaderboard, as `ami arena` prints it.
 */
#include "ami/arena_report.h"
#include "ami/compare.h"
#include "ami/ledger_votes.h"
#include "host_internal.h"

#include <stdlib.h>
#include <string.h>

void host_m_compare(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *p = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    host_start_params sp;
    int rc = host_start_params_parse(p, &sp);
    if (rc != 0) {
        host_start_params_free(&sp);
        rpc_reply_error(ch, msg->msgid,
                        rc == -1 ? "compare: expected start()'s {command, turns = {...}}"
                                 : "compare: out of memory");
        return;
    }
    const ami_config *cfg = engine_config(h->eng);
    const msgpack_object *models = rpc_map_get(p, "models");
    char *given[2] = {NULL, NULL};
    compare_params cp;
    memset(&cp, 0, sizeof cp);
    char err[512] = "";
    int ok = 1;
    if (models && models->type == MSGPACK_OBJECT_ARRAY && models->via.array.size == 2) {
        given[0] = rpc_obj_strdup(&models->via.array.ptr[0]);
        given[1] = rpc_obj_strdup(&models->via.array.ptr[1]);
        cp.models[0] = given[0];
        cp.models[1] = given[1];
        ok = given[0] && given[1];
        if (!ok)
            snprintf(err, sizeof err, "compare: models must be two model ids");
    } else if (compare_choose(sp.model ? sp.model : cfg->model,
                              (const char *const *)cfg->compare_models, cfg->n_compare_models,
                              cp.models, err, sizeof err) != 0) {
        ok = 0;
    }
    const msgpack_object *blind = rpc_map_get(p, "blind");
    cp.blind =
        blind && blind->type == MSGPACK_OBJECT_BOOLEAN ? blind->via.boolean : cfg->compare_blind;
    const msgpack_object *swap = rpc_map_get(p, "swap"); /* tests: the sides, not random */
    cp.swap = swap && swap->type == MSGPACK_OBJECT_BOOLEAN ? swap->via.boolean : -1;
    cp.base = sp.rp;
    compare_pair pair;
    if (ok && compare_start(h->eng, &cp, NULL, NULL, &pair, err, sizeof err) != 0)
        ok = 0;
    if (!ok) {
        rpc_reply_error(ch, msg->msgid, err);
    } else {
        msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
        if (pk) {
            msgpack_pack_map(pk, 5);
            host_kv_str(pk, "pair", pair.pair);
            host_kv_bool(pk, "swapped", pair.swapped);
            host_kv_bool(pk, "blind", cp.blind);
            for (int i = 0; i < 2; i++) {
                rpc_pack_cstr(pk, i ? "b" : "a");
                msgpack_pack_map(pk, 2);
                host_kv_int(pk, "id", request_id(pair.side[i]));
                host_kv_str(pk, "model", pair.model[i]);
            }
            rpc_reply_end(ch);
        }
    }
    free(given[0]);
    free(given[1]);
    host_start_params_free(&sp);
}

typedef struct vote_ctx {
    host *h;
    uint32_t token;
    char *pair, *result;
} vote_ctx;

static void on_voted(void *ud, int rc, const char *err) {
    vote_ctx *c = ud;
    if (!c->h->stopping) {
        host_ev_begin(c->h, "voted");
        host_ev_int(c->h, "token", c->token);
        host_ev_str(c->h, "pair", c->pair);
        host_ev_str(c->h, "result", c->result);
        host_ev_bool(c->h, "ok", rc == 0);
        host_ev_str(c->h, "error", rc == 0 ? NULL : err ? err : "the vote could not be recorded");
        host_ev_end(c->h);
    }
    free(c->pair);
    free(c->result);
    free(c);
}

void host_m_vote(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *a = msg->params->via.array.ptr;
    uint32_t na = msg->params->via.array.size;
    char *pair = na > 0 ? rpc_obj_strdup(&a[0]) : NULL;
    char *result = na > 1 ? rpc_obj_strdup(&a[1]) : NULL;
    char *language = na > 2 ? rpc_obj_strdup(&a[2]) : NULL;
    vote_ctx *c = pair && result ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        free(pair);
        free(result);
        free(language);
        rpc_reply_error(ch, msg->msgid, "vote: expected (pair, a|b|tie|bad, language?)");
        return;
    }
    ledger *l = engine_ledger(h->eng);
    c->h = h;
    c->pair = pair;
    c->result = result;
    int rc = l ? ledger_votes_set(l, pair, result, language, on_voted, c) : LEDGER_EUNUSABLE;
    free(language);
    if (rc == LEDGER_EINVAL) {
        rpc_reply_error(ch, msg->msgid, "vote: the vote is a, b, tie or bad");
        free(c->pair);
        free(c->result);
        free(c);
        return;
    }
    c->token = host_reply_token(ch, msg, ++h->next_token);
    if (rc != 0)
        on_voted(c, rc,
                 !l                ? "the ledger is turned off (ledger.enabled = false): votes "
                                     "live there"
                 : ledger_error(l) ? ledger_error(l)
                                   : "the ledger cannot be written");
}

typedef struct report_ctx {
    host *h;
    uint32_t token;
    arena_report_options ro;
    char filters[256];
    char *command, *language;
} report_ctx;

static void on_votes(void *ud, int rc, const ledger_vote *votes, size_t n, const char *err) {
    report_ctx *c = ud;
    if (!c->h->stopping) {
        buf text = {0};
        if (rc == 0)
            arena_report_text(votes, n, &c->ro, &text);
        host_ev_begin(c->h, "arena_report");
        host_ev_int(c->h, "token", c->token);
        host_ev_str(c->h, "text", rc == 0 ? (text.data ? text.data : "") : NULL);
        host_ev_str(c->h, "error", rc == 0 ? NULL : err ? err : "the votes cannot be read");
        host_ev_end(c->h);
        buf_free(&text);
    }
    free(c->command);
    free(c->language);
    free(c);
}

void host_m_arena_report(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *p = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    report_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        rpc_reply_error(ch, msg->msgid, "arena_report: out of memory");
        return;
    }
    c->h = h;
    ledger_vote_filter f;
    memset(&f, 0, sizeof f);
    if (p && p->type == MSGPACK_OBJECT_MAP) {
        f.command = c->command = rpc_obj_strdup(rpc_map_get(p, "command"));
        f.language = c->language = rpc_obj_strdup(rpc_map_get(p, "language"));
        const msgpack_object *since = rpc_map_get(p, "since");
        if (since && since->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            f.since = (time_t)since->via.u64;
        const msgpack_object *mv = rpc_map_get(p, "min_votes");
        if (mv && mv->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            c->ro.min_votes = (unsigned)mv->via.u64;
    }
    if (!c->ro.min_votes)
        c->ro.min_votes = (unsigned)engine_config(h->eng)->compare_min_votes;
    if (f.command || f.language) {
        snprintf(c->filters, sizeof c->filters, "%s%s%s", f.command ? f.command : "",
                 f.command && f.language ? ", " : "", f.language ? f.language : "");
        c->ro.filters = c->filters;
    }
    c->token = host_reply_token(ch, msg, ++h->next_token);
    ledger *l = engine_ledger(h->eng);
    int rc = l ? ledger_votes_read(l, &f, on_votes, c) : LEDGER_EUNUSABLE;
    if (rc != 0)
        on_votes(c, rc, NULL, 0,
                 l && ledger_error(l) ? ledger_error(l) : "the ledger is turned off");
}
