/* host_history: what the ledger remembers, for the Lua side (src/host.c's methods).
 *
 *   thread_history(document) -> {token}; then {type = "thread_history", token, document,
 *       thread, turns = {{uid, started, command, turn, answer, model, status, error,
 *       prompt_tokens, completion_tokens, cost_usd, cost_source, co2e_g, duration_ms}, ...},
 *       error}: the newest thread asked about the document, oldest turn first.  turn is the
 *       ledger's JSON of what was asked; turn and answer are absent when no text was kept.
 *   models_used() -> {token}; then {type = "models_used", token, models = {{model, requests,
 *       last_used}, ...}, error}: most recently used first.
 */
#include "ami/ledger_history.h"
#include "host_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct history_ctx {
    host *h;
    uint32_t token;
    char *document;
} history_ctx;

static void on_thread(void *ud, int rc, const char *thread, const ledger_turn *turns, size_t n,
                      const char *err) {
    history_ctx *c = ud;
    host *h = c->h;
    if (!h->stopping) {
        host_ev_begin(h, "thread_history");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "document", c->document);
        host_ev_str(h, "thread", thread);
        host_ev_str(h, "error", rc == 0 ? NULL : err);
        msgpack_packer *pk = host_ev_key(h, "turns");
        msgpack_pack_array(pk, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            const ledger_turn *t = &turns[i];
            uint32_t fields = 10 + (t->turn != NULL) + (t->answer != NULL) + (t->error != NULL) +
                              (t->model != NULL);
            msgpack_pack_map(pk, fields);
            host_kv_str(pk, "uid", t->uid ? t->uid : "");
            host_kv_int(pk, "started", (int64_t)t->started);
            host_kv_str(pk, "command", t->command);
            if (t->turn)
                host_kv_str(pk, "turn", t->turn);
            if (t->answer)
                host_kv_str(pk, "answer", t->answer);
            if (t->model)
                host_kv_str(pk, "model", t->model);
            host_kv_str(pk, "status", t->status);
            if (t->error)
                host_kv_str(pk, "error", t->error);
            host_kv_int(pk, "prompt_tokens", t->prompt_tokens);
            host_kv_int(pk, "completion_tokens", t->completion_tokens);
            host_kv_num(pk, "cost_usd", t->cost_usd);
            host_kv_str(pk, "cost_source", t->cost_source ? t->cost_source : "unknown");
            host_kv_num(pk, "co2e_g", t->co2e_g);
            host_kv_int(pk, "duration_ms", t->duration_ms);
        }
        host_ev_end(h);
    }
    free(c->document);
    free(c);
}

void host_m_thread_history(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    char *document =
        msg->params->via.array.size ? rpc_obj_strdup(&msg->params->via.array.ptr[0]) : NULL;
    history_ctx *c = document ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        free(document);
        rpc_reply_error(ch, msg->msgid, "thread_history: expected a document path");
        return;
    }
    c->h = h;
    c->document = document;
    c->token = host_reply_token(ch, msg, ++h->next_token);
    ledger *l = engine_ledger(h->eng);
    int rc = l ? ledger_thread(l, document, on_thread, c) : LEDGER_EUNUSABLE;
    if (rc != 0)
        on_thread(c, rc, NULL, NULL, 0,
                  l && ledger_error(l) ? ledger_error(l) : "the ledger is turned off");
}

static void on_models_used(void *ud, int rc, const ledger_model_use *m, size_t n, const char *err) {
    history_ctx *c = ud;
    host *h = c->h;
    if (!h->stopping) {
        host_ev_begin(h, "models_used");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "error", rc == 0 ? NULL : err);
        msgpack_packer *pk = host_ev_key(h, "models");
        msgpack_pack_array(pk, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            msgpack_pack_map(pk, 3);
            host_kv_str(pk, "model", m[i].model);
            host_kv_int(pk, "requests", m[i].requests);
            host_kv_int(pk, "last_used", (int64_t)m[i].last_used);
        }
        host_ev_end(h);
    }
    free(c);
}

void host_m_models_used(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    history_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        rpc_reply_error(ch, msg->msgid, "models_used: out of memory");
        return;
    }
    c->h = h;
    c->token = host_reply_token(ch, msg, ++h->next_token);
    ledger *l = engine_ledger(h->eng);
    int rc = l ? ledger_models_used(l, on_models_used, c) : LEDGER_EUNUSABLE;
    if (rc != 0)
        on_models_used(c, rc, NULL, 0,
                       l && ledger_error(l) ? ledger_error(l) : "the ledger is turned off");
}
