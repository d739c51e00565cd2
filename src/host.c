/* host: the msgpack-RPC face of ami.  See include/ami/host.h. */
#include "ami/host.h"

#include "ami/config.h"
#include "ami/engine.h"
#include "ami/http.h"
#include "ami/keys.h"
#include "ami/ledger.h"
#include "ami/log.h"
#include "ami/request.h"
#include "ami/rpc.h"

#include "ami/cost.h"
#include "host_internal.h"

#include <cJSON.h>
#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static const char dispatch_lua[] = "return require('ami.host')._dispatch(...)";

/* ---- msgpack -> cJSON (settings arrive from Lua as a msgpack map) -------------------------- */

static cJSON *to_json(const msgpack_object *o, int depth) {
    if (depth > 64)
        return NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return cJSON_CreateNull();
    case MSGPACK_OBJECT_BOOLEAN:
        return cJSON_CreateBool(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return cJSON_CreateNumber(o->via.f64);
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: {
        char *s = rpc_obj_strdup(o);
        cJSON *j = s ? cJSON_CreateString(s) : NULL;
        free(s);
        return j;
    }
    case MSGPACK_OBJECT_ARRAY: {
        cJSON *a = cJSON_CreateArray();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            cJSON *item = to_json(&o->via.array.ptr[i], depth + 1);
            if (!item) {
                cJSON_Delete(a);
                return NULL;
            }
            cJSON_AddItemToArray(a, item);
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        cJSON *m = cJSON_CreateObject();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            char *key = rpc_obj_strdup(&o->via.map.ptr[i].key);
            cJSON *item = key ? to_json(&o->via.map.ptr[i].val, depth + 1) : NULL;
            if (!item) {
                free(key);
                cJSON_Delete(m);
                return NULL;
            }
            cJSON_AddItemToObject(m, key, item);
            free(key);
        }
        return m;
    }
    default:
        return NULL;
    }
}

/* Builds the settings from scratch: defaults, the JSON file, then the options from setup().
 * On error the host keeps what could be applied and returns the sentence to report. */
static char *host_configure(host *h, const msgpack_object *opts) {
    char err[512] = "";
    ami_config next;
    if (config_init(&next) != 0)
        return strdup("config: out of memory");
    char *path = config_default_path();
    int failed = 0;
    if (path && config_load_file(&next, path, 1, err, sizeof err) < 0)
        failed = 1;
    free(path);
    if (!failed && opts) {
        cJSON *j = to_json(opts, 0);
        if (!j) {
            snprintf(err, sizeof err, "config: the settings could not be read");
            failed = 1;
        } else if (config_apply_json(&next, j, err, sizeof err) != 0) {
            failed = 1;
        }
        cJSON_Delete(j);
    }
    engine_configure(h->eng, &next);
    return failed ? strdup(err) : NULL;
}

/* ---- events for Lua ----------------------------------------------------------------------------
 *
 * Every event is a map with a "type".  They accumulate in the outbox and leave as one
 * notification: nvim_exec_lua(dispatch_lua, {events}).  Text arrives in batches (one per frame
 * for all answers, see stream.h); other events are sent at once. */

static void outbox_flush(host *h) {
    if (h->n_events == 0)
        return;
    msgpack_packer *pk = rpc_notify_begin(h->ch, "nvim_exec_lua", 2);
    if (pk) {
        rpc_pack_cstr(pk, dispatch_lua);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, h->n_events);
        pk->callback(pk->data, h->outbox.data, h->outbox.size);
        rpc_notify_end(h->ch);
    }
    msgpack_sbuffer_clear(&h->outbox);
    h->n_events = 0;
}

/* An event is a map whose size is known only at its end: it gets a map32 header (valid
 * msgpack, if not the shortest) that host_ev_end() patches with the number of pairs written by
 * the ev_* helpers.  Nested values (totals, lists) are packed with explicit sizes. */
msgpack_packer *host_ev_begin(host *h, const char *type) {
    static const char map32[5] = {(char)0xdf, 0, 0, 0, 0};
    h->n_events++;
    h->ev_header = h->outbox.size;
    msgpack_sbuffer_write(&h->outbox, map32, sizeof map32);
    h->ev_pairs = 1;
    rpc_pack_cstr(&h->opk, "type");
    rpc_pack_cstr(&h->opk, type);
    return &h->opk;
}

void host_ev_end(host *h) {
    unsigned char *p = (unsigned char *)h->outbox.data + h->ev_header + 1;
    p[0] = (unsigned char)(h->ev_pairs >> 24);
    p[1] = (unsigned char)(h->ev_pairs >> 16);
    p[2] = (unsigned char)(h->ev_pairs >> 8);
    p[3] = (unsigned char)h->ev_pairs;
    if (!h->batching)
        outbox_flush(h);
}

/* A key of the open event; the caller packs the value. */
msgpack_packer *host_ev_key(host *h, const char *k) {
    h->ev_pairs++;
    rpc_pack_cstr(&h->opk, k);
    return &h->opk;
}

/* An absent value is left out, so Lua sees nil rather than vim.NIL. */
void host_ev_str(host *h, const char *k, const char *v) {
    if (v)
        rpc_pack_cstr(host_ev_key(h, k), v);
}

void host_ev_int(host *h, const char *k, int64_t v) {
    msgpack_pack_int64(host_ev_key(h, k), v);
}

void host_ev_num(host *h, const char *k, double v) {
    msgpack_pack_double(host_ev_key(h, k), v);
}

void host_ev_bool(host *h, const char *k, int v) {
    if (v)
        msgpack_pack_true(host_ev_key(h, k));
    else
        msgpack_pack_false(host_ev_key(h, k));
}

/* Key-value helpers for nested maps (explicit sizes). */
void host_kv_str(msgpack_packer *pk, const char *k, const char *v) {
    rpc_pack_cstr(pk, k);
    rpc_pack_cstr(pk, v);
}

void host_kv_int(msgpack_packer *pk, const char *k, int64_t v) {
    rpc_pack_cstr(pk, k);
    msgpack_pack_int64(pk, v);
}

void host_kv_num(msgpack_packer *pk, const char *k, double v) {
    rpc_pack_cstr(pk, k);
    msgpack_pack_double(pk, v);
}

void host_kv_bool(msgpack_packer *pk, const char *k, int v) {
    rpc_pack_cstr(pk, k);
    if (v)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static void sink_batch_begin(void *ud) {
    host *h = ud;
    h->batching = 1;
}

static void sink_text(void *ud, void *answer, const char *text, size_t len) {
    host *h = ud;
    host_ev_begin(h, "delta");
    host_ev_int(h, "id", request_id(answer));
    rpc_pack_str(host_ev_key(h, "text"), text, len);
    host_ev_end(h);
}

static void sink_batch_end(void *ud) {
    host *h = ud;
    h->batching = 0;
    outbox_flush(h);
}

static void sink_event(void *ud, request *r, const request_event *ev) {
    host *h = ud;
    uint32_t id = r ? request_id(r) : 0;
    switch (ev->type) {
    case REQUEST_EV_START:
        host_ev_begin(h, "start");
        host_ev_int(h, "id", id);
        host_ev_str(h, "uid", r ? request_uid(r) : NULL);
        host_ev_str(h, "provider", ev->provider);
        host_ev_str(h, "model", ev->model);
        host_ev_str(h, "language", ev->language);
        host_ev_str(h, "note", ev->note);
        host_ev_int(h, "prompt_tokens", ev->prompt_tokens);
        break;
    case REQUEST_EV_RETRY:
        host_ev_begin(h, "retry");
        host_ev_int(h, "id", id);
        host_ev_int(h, "attempt", ev->attempt);
        host_ev_num(h, "wait_s", ev->wait_s);
        host_ev_str(h, "message", ev->message);
        break;
    case REQUEST_EV_MODEL:
        host_ev_begin(h, "model");
        host_ev_int(h, "id", id);
        host_ev_str(h, "model", ev->model);
        break;
    case REQUEST_EV_NOTICE:
        host_ev_begin(h, "notice");
        host_ev_int(h, "id", id);
        host_ev_str(h, "message", ev->message);
        break;
    case REQUEST_EV_NOTE:
        host_note_event(h, r, ev->margin_note);
        return;
    case REQUEST_EV_SENT:
        host_sent_keep(h, r, ev);
        return;
    case REQUEST_EV_SECRETS: {
        host_ev_begin(h, "secrets");
        host_ev_int(h, "id", id);
        host_ev_int(h, "elsewhere", (int64_t)ev->secrets_elsewhere);
        msgpack_packer *pk = host_ev_key(h, "found");
        msgpack_pack_array(pk, (uint32_t)ev->n_secrets);
        for (size_t i = 0; i < ev->n_secrets; i++) {
            const request_secret *s = &ev->secrets[i];
            msgpack_pack_map(pk, 3);
            host_kv_str(pk, "rule", s->rule);
            host_kv_str(pk, "placeholder", s->placeholder);
            rpc_pack_cstr(pk, "range");
            msgpack_pack_array(pk, 4);
            msgpack_pack_int64(pk, s->start_line);
            msgpack_pack_int64(pk, s->start_col);
            msgpack_pack_int64(pk, s->end_line);
            msgpack_pack_int64(pk, s->end_col);
        }
        break;
    }
    case REQUEST_EV_DONE: {
        const request_result *res = ev->result;
        host_ev_begin(h, "done");
        host_ev_int(h, "id", id);
        host_ev_str(h, "status", request_state_name(res->state));
        host_ev_str(h, "provider", res->provider);
        host_ev_str(h, "model", res->model);
        host_ev_str(h, "model_answered", res->model_answered);
        host_ev_str(h, "finish_reason", res->finish_reason);
        host_ev_int(h, "prompt_tokens", res->prompt_tokens);
        host_ev_int(h, "completion_tokens", res->completion_tokens);
        host_ev_bool(h, "tokens_estimated", res->tokens_estimated);
        host_ev_num(h, "cost_usd", res->cost_usd);
        host_ev_str(h, "cost_source", cost_source_name((cost_source)res->cost_source));
        host_ev_num(h, "co2e_g", res->co2e_g);
        host_ev_str(h, "error_kind", res->error_kind);
        host_ev_int(h, "http_status", res->http_status);
        host_ev_str(h, "message", res->message);
        host_ev_int(h, "ttft_ms", res->ttft_ms);
        host_ev_int(h, "duration_ms", res->duration_ms);
        break;
    }
    default:
        return;
    }
    host_ev_end(h);
}

/* ---- reading parameters ------------------------------------------------------------------- */

/* A string field of a map, NUL-terminated and owned by the caller, or NULL. */
static char *get_str(const msgpack_object *map, const char *key) {
    return rpc_obj_strdup(rpc_map_get(map, key));
}

static long get_int(const msgpack_object *map, const char *key, long dflt) {
    const msgpack_object *v = rpc_map_get(map, key);
    if (!v)
        return dflt;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return v->via.u64 > (uint64_t)LONG_MAX ? LONG_MAX : (long)v->via.u64;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return (long)v->via.i64;
    if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32)
        return (long)v->via.f64;
    return dflt;
}

static prompt_kind kind_of(const msgpack_object *v) {
    if (rpc_obj_streq(v, "critique"))
        return PROMPT_CRITIQUE;
    if (rpc_obj_streq(v, "explain"))
        return PROMPT_EXPLAIN;
    if (rpc_obj_streq(v, "explore"))
        return PROMPT_EXPLORE;
    return PROMPT_ASK;
}

/* Strings of a turn that m_start copies: path, question, name, answer, note_quote,
 * note_comment, note_kind. */
#define TURN_STRINGS 7

/* start({command, turns = {{kind, document, path, line_start, line_end, question, name,
 * answer, note_quote, note_comment, note_kind}, ...}, provider, model, max_tokens, system,
 * document, thread, notes}) -> {id = N}
 * The answer arrives as events: start, model, retry, notice, delta..., note, note_comment,
 * done.  notes (a critique): cut the answer into margin notes, found in the last turn's
 * document. */
int host_start_params_parse(const msgpack_object *p, host_start_params *sp) {
    memset(sp, 0, sizeof *sp);
    const msgpack_object *turns = rpc_map_get(p, "turns");
    if (!p || p->type != MSGPACK_OBJECT_MAP || !turns || turns->type != MSGPACK_OBJECT_ARRAY ||
        turns->via.array.size == 0 || turns->via.array.size > 1000)
        return -1;
    size_t n = turns->via.array.size;
    sp->n = n;
    sp->turns = calloc(n, sizeof *sp->turns);
    sp->owned = calloc(n * TURN_STRINGS, sizeof *sp->owned);
    if (!sp->turns || !sp->owned)
        return -2;
    prompt_turn *t = sp->turns;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *o = &turns->via.array.ptr[i];
        const msgpack_object *doc = rpc_map_get(o, "document");
        t[i].kind = kind_of(rpc_map_get(o, "kind"));
        if (doc && doc->type == MSGPACK_OBJECT_STR) {
            t[i].document = doc->via.str.ptr; /* borrowed: request_start copies */
            t[i].document_len = doc->via.str.size;
        } else if (doc && doc->type == MSGPACK_OBJECT_BIN) {
            t[i].document = doc->via.bin.ptr;
            t[i].document_len = doc->via.bin.size;
        }
        char **own = &sp->owned[i * TURN_STRINGS];
        t[i].path = own[0] = get_str(o, "path");
        t[i].question = own[1] = get_str(o, "question");
        t[i].name = own[2] = get_str(o, "name");
        t[i].answer = own[3] = get_str(o, "answer");
        t[i].note_quote = own[4] = get_str(o, "note_quote");
        t[i].note_comment = own[5] = get_str(o, "note_comment");
        t[i].note_kind = own[6] = get_str(o, "note_kind");
        t[i].line_start = get_int(o, "line_start", 0);
        t[i].line_end = get_int(o, "line_end", t[i].line_start);
    }
    request_params *rp = &sp->rp;
    rp->command = sp->command = get_str(p, "command");
    rp->provider = sp->provider = get_str(p, "provider");
    rp->model = sp->model = get_str(p, "model");
    rp->system = sp->system = get_str(p, "system");
    rp->document = sp->document = get_str(p, "document");
    rp->thread = sp->thread = get_str(p, "thread");
    rp->turns = t;
    rp->n_turns = n;
    rp->max_tokens = get_int(p, "max_tokens", 0);
    const msgpack_object *notes = rpc_map_get(p, "notes");
    rp->notes = notes && notes->type == MSGPACK_OBJECT_BOOLEAN && notes->via.boolean;
    return 0;
}

void host_start_params_free(host_start_params *sp) {
    for (size_t i = 0; sp->owned && i < sp->n * TURN_STRINGS; i++)
        free(sp->owned[i]);
    free(sp->owned);
    free(sp->turns);
    free(sp->command);
    free(sp->provider);
    free(sp->model);
    free(sp->system);
    free(sp->document);
    free(sp->thread);
    memset(sp, 0, sizeof *sp);
}

static void m_start(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *p = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    host_start_params sp;
    int rc = host_start_params_parse(p, &sp);
    if (rc == -1) {
        host_start_params_free(&sp);
        rpc_reply_error(ch, msg->msgid,
                        "start: expected {command, turns = {...}} with at least one turn");
        return;
    }
    request *r = rc == 0 ? request_start(h->eng, &sp.rp, NULL) : NULL;
    if (r) {
        msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
        if (pk) {
            msgpack_pack_map(pk, 1);
            host_kv_int(pk, "id", request_id(r));
            rpc_reply_end(ch);
        }
    } else {
        rpc_reply_error(ch, msg->msgid, "start: out of memory, or ami is shutting down");
    }
    host_start_params_free(&sp);
}

/* cancel(ids) -> number of answers stopped.  ids: a list of request ids. */
static void m_cancel(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    int64_t count = 0;
    const msgpack_object *ids = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    if (ids && ids->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < ids->via.array.size; i++) {
            const msgpack_object *o = &ids->via.array.ptr[i];
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
                continue;
            request *r = request_find(h->eng, (uint32_t)o->via.u64);
            if (r) {
                request_cancel(r, "stopped by the user");
                count++;
            }
        }
    }
    if (msg->kind != RPC_REQUEST)
        return;
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_int64(pk, count);
        rpc_reply_end(ch);
    }
}

typedef struct models_ctx {
    host *h;
    uint32_t token;
    char *provider;
} models_ctx;

static void on_models(void *ud, const provider_model *models, size_t n, const char *err) {
    models_ctx *c = ud;
    host *h = c->h;
    if (!h->stopping) {
        host_ev_begin(h, "models");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "provider", c->provider);
        host_ev_str(h, "error", err);
        msgpack_packer *pk = host_ev_key(h, "models");
        msgpack_pack_array(pk, err ? 0 : (uint32_t)n);
        for (size_t i = 0; !err && i < n; i++) {
            msgpack_pack_map(pk, 5);
            host_kv_str(pk, "id", models[i].id);
            host_kv_str(pk, "name", models[i].name);
            host_kv_int(pk, "context_length", models[i].context_length);
            host_kv_num(pk, "prompt_usd_per_mtok", models[i].prompt_usd_per_mtok);
            host_kv_num(pk, "completion_usd_per_mtok", models[i].completion_usd_per_mtok);
        }
        host_ev_end(h);
    }
    free(c->provider);
    free(c);
}

/* models(provider?, refresh?) -> {token = T}; then the event {type = "models", token,
 * provider, models = {...}, error}. */
static void m_models(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *a = msg->params->via.array.ptr;
    uint32_t na = msg->params->via.array.size;
    char *provider = na > 0 ? rpc_obj_strdup(&a[0]) : NULL;
    int refresh = na > 1 && a[1].type == MSGPACK_OBJECT_BOOLEAN && a[1].via.boolean;
    models_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        free(provider);
        rpc_reply_error(ch, msg->msgid, "models: out of memory");
        return;
    }
    c->h = h;
    c->token = ++h->next_token;
    c->provider = provider ? provider : strdup(engine_config(h->eng)->provider);
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_map(pk, 1);
        host_kv_int(pk, "token", c->token);
        rpc_reply_end(ch);
    }
    /* After the reply: the list may be in memory already, and its event must come second. */
    engine_models(h->eng, c->provider, refresh, on_models, c);
}

static void pack_key_status(host *h, msgpack_packer *pk, const ami_config *cfg) {
    engine_provider prov;
    char err[512];
    if (engine_provider_resolve(h->eng, cfg->provider, &prov, err, sizeof err) != 0) {
        msgpack_pack_map(pk, 3);
        host_kv_bool(pk, "present", 0);
        host_kv_bool(pk, "required", 1);
        host_kv_str(pk, "hint", err);
        return;
    }
    keys_spec spec = engine_provider_keys(&prov, -1);
    const char *source = NULL;
    int via_cmd = 0;
    int present = keys_probe(&spec, &source, &via_cmd);
    char hint[512] = "", warning[512] = "";
    if (!present && !via_cmd) {
        if (prov.api_key_env)
            snprintf(hint, sizeof hint,
                     "set %s in the environment Neovim starts from, or providers.%s.api_key_cmd",
                     prov.api_key_env, cfg->provider);
        else
            snprintf(hint, sizeof hint, "set providers.%s.api_key_env or providers.%s.api_key_cmd",
                     cfg->provider, cfg->provider);
    }
    if (cfg->file_has_key && cfg->file_too_open)
        snprintf(warning, sizeof warning,
                 "%s holds an API key and is readable by other users: chmod 600 %s", cfg->file,
                 cfg->file);
    msgpack_pack_map(pk, 5);
    host_kv_bool(pk, "present", present || via_cmd);
    host_kv_bool(pk, "required", prov.def.key_required);
    host_kv_str(pk, "source", source);
    host_kv_str(pk, "hint", *hint ? hint : NULL);
    host_kv_str(pk, "warning", *warning ? warning : NULL);
    engine_provider_clear(&prov);
}

/* ---- usage (the ledger) ----------------------------------------------------------------- */

typedef struct usage_ctx {
    host *h;
    uint32_t token;
    char *path;
    ledger_totals month; /* usage_report: this month's totals, kept until the months arrive */
    ledger_model_totals *by_model;
    int have_month;
    char *error;
    long months;
    int want_key;
    char *key_body; /* the answer of /key, or NULL */
    char *key_error;
    int waiting; /* callbacks still to come */
    ledger_totals *month_list;
    size_t n_months;
} usage_ctx;

static void pack_totals(msgpack_packer *pk, const ledger_totals *t, int with_models) {
    msgpack_pack_map(pk, with_models ? 11 : 10);
    host_kv_str(pk, "month", t->month);
    host_kv_int(pk, "requests", t->requests);
    host_kv_int(pk, "refused", t->refused);
    host_kv_int(pk, "threads", t->threads);
    host_kv_int(pk, "prompt_tokens", t->prompt_tokens);
    host_kv_int(pk, "completion_tokens", t->completion_tokens);
    host_kv_num(pk, "cost_usd", t->cost_usd);
    host_kv_num(pk, "estimated_cost_usd", t->estimated_cost_usd);
    host_kv_int(pk, "unknown_cost_requests", t->unknown_cost_requests);
    host_kv_num(pk, "co2e_g", t->co2e_g);
    if (!with_models)
        return;
    rpc_pack_cstr(pk, "by_model");
    msgpack_pack_array(pk, (uint32_t)t->n_by_model);
    for (size_t i = 0; i < t->n_by_model; i++) {
        const ledger_model_totals *m = &t->by_model[i];
        msgpack_pack_map(pk, 8);
        host_kv_str(pk, "model", m->model);
        host_kv_int(pk, "requests", m->requests);
        host_kv_int(pk, "prompt_tokens", m->prompt_tokens);
        host_kv_int(pk, "completion_tokens", m->completion_tokens);
        host_kv_num(pk, "cost_usd", m->cost_usd);
        host_kv_num(pk, "estimated_cost_usd", m->estimated_cost_usd);
        host_kv_int(pk, "unknown_cost_requests", m->unknown_cost_requests);
        host_kv_num(pk, "co2e_g", m->co2e_g);
    }
}

uint32_t host_reply_token(rpc_channel *ch, const rpc_message *msg, uint32_t token) {
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_map(pk, 1);
        host_kv_int(pk, "token", token);
        rpc_reply_end(ch);
    }
    return token;
}

static void on_document_totals(void *ud, int rc, const ledger_totals *t, const char *err) {
    usage_ctx *c = ud;
    host *h = c->h;
    if (!h->stopping) {
        host_ev_begin(h, "document_usage");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "path", c->path);
        host_ev_str(h, "error", rc == 0 ? NULL : err);
        if (rc == 0 && t)
            pack_totals(host_ev_key(h, "totals"), t, 0);
        host_ev_bool(h, "ok", rc == 0);
        host_ev_end(h);
    }
    free(c->path);
    free(c);
}

/* document_usage(path) -> {token}; then {type = "document_usage", token, path, totals}: what the
 * ledger recorded for that file (a reopened file shows what it already cost). */
static void m_document_usage(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    char *path =
        msg->params->via.array.size ? rpc_obj_strdup(&msg->params->via.array.ptr[0]) : NULL;
    usage_ctx *c = calloc(1, sizeof *c);
    if (!path || !c) {
        free(path);
        free(c);
        rpc_reply_error(ch, msg->msgid, "document_usage: expected a path");
        return;
    }
    c->h = h;
    c->path = path;
    c->token = host_reply_token(ch, msg, ++h->next_token);
    ledger *l = engine_ledger(h->eng);
    int rc = l ? ledger_document(l, path, on_document_totals, c) : LEDGER_EUNUSABLE;
    if (rc != 0)
        on_document_totals(c, rc, NULL,
                           l && ledger_error(l) ? ledger_error(l) : "the ledger is turned off");
}

static void usage_report_send(usage_ctx *c) {
    host *h = c->h;
    if (--c->waiting > 0)
        return;
    if (!h->stopping) {
        host_ev_begin(h, "usage_report");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "error", c->error);
        host_ev_str(h, "ledger", engine_ledger(h->eng) ? ledger_path(engine_ledger(h->eng)) : NULL);
        msgpack_packer *pk = &h->opk;
        if (c->have_month) {
            c->month.by_model = c->by_model;
            pack_totals(host_ev_key(h, "month"), &c->month, 1);
        }
        host_ev_key(h, "months");
        msgpack_pack_array(pk, (uint32_t)c->n_months);
        for (size_t i = 0; i < c->n_months; i++)
            pack_totals(pk, &c->month_list[i], 0);
        provider_key_info k;
        if (c->key_body && provider_parse_key_info(c->key_body, strlen(c->key_body), &k) == 0) {
            msgpack_pack_map(host_ev_key(h, "key"), 5);
            host_kv_num(pk, "limit", k.limit);
            host_kv_num(pk, "limit_remaining", k.limit_remaining);
            host_kv_num(pk, "usage", k.usage);
            host_kv_num(pk, "usage_monthly", k.usage_monthly);
            host_kv_bool(pk, "is_free_tier", k.is_free_tier);
            provider_key_info_free(&k);
        }
        host_ev_str(h, "key_error", c->key_error);
        host_ev_end(h);
    }
    for (size_t i = 0; c->by_model && i < c->month.n_by_model; i++)
        free((char *)c->by_model[i].model);
    free(c->by_model);
    free(c->month_list);
    free(c->error);
    free(c->key_body);
    free(c->key_error);
    free(c);
}

static void on_report_month(void *ud, int rc, const ledger_totals *t, const char *err) {
    usage_ctx *c = ud;
    if (rc == 0 && t) {
        c->month = *t;
        c->by_model = calloc(t->n_by_model ? t->n_by_model : 1, sizeof *c->by_model);
        for (size_t i = 0; c->by_model && i < t->n_by_model; i++) {
            c->by_model[i] = t->by_model[i];
            c->by_model[i].model = strdup(t->by_model[i].model ? t->by_model[i].model : "?");
        }
        c->month.n_by_model = c->by_model ? t->n_by_model : 0;
        c->have_month = 1;
    } else if (!c->error) {
        c->error = strdup(err ? err : "the ledger cannot be read");
    }
    usage_report_send(c);
}

static void on_report_months(void *ud, int rc, const ledger_totals *months, size_t n,
                             const char *err) {
    usage_ctx *c = ud;
    if (rc == 0) {
        c->month_list = calloc(n ? n : 1, sizeof *c->month_list);
        if (c->month_list) {
            memcpy(c->month_list, months, n * sizeof *months);
            c->n_months = n;
        }
    } else if (!c->error) {
        c->error = strdup(err ? err : "the ledger cannot be read");
    }
    usage_report_send(c);
}

static void on_report_key(void *ud, long status, const char *body, size_t len, const char *err) {
    (void)status;
    (void)len;
    usage_ctx *c = ud;
    if (err)
        c->key_error = strdup(err);
    else
        c->key_body = strdup(body);
    usage_report_send(c);
}

/* usage_report(months?) -> {token}; then {type = "usage_report", token, month = {this month,
 * by_model}, months = {...}, key = {limit, limit_remaining, ...} | nil, ledger, error}. */
static void m_usage_report(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    usage_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        rpc_reply_error(ch, msg->msgid, "usage_report: out of memory");
        return;
    }
    c->h = h;
    c->token = host_reply_token(ch, msg, ++h->next_token);
    const ami_config *cfg = engine_config(h->eng);
    ledger *l = engine_ledger(h->eng);
    int openrouter = strcmp(cfg->provider, "openrouter") == 0;
    c->waiting = 1 + 2 + openrouter; /* this function, month, months, key */
    if (!l) {
        c->error = strdup("the ledger is turned off (ledger.enabled = false)");
        c->waiting -= 2;
    } else {
        if (ledger_month(l, NULL, on_report_month, c) != 0)
            on_report_month(c, -1, NULL, ledger_error(l));
        if (ledger_months(l, 12, on_report_months, c) != 0)
            on_report_months(c, -1, NULL, 0, ledger_error(l));
    }
    if (openrouter)
        engine_get(h->eng, cfg->provider, "key", on_report_key, c);
    usage_report_send(c);
}

/* ---- methods ------------------------------------------------------------------------------ */

/* ping() -> {version = "X.Y.Z", pid = N} */
static void m_ping(rpc_channel *ch, const rpc_message *msg, void *ud) {
    (void)ud;
    if (msg->kind != RPC_REQUEST)
        return;
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (!pk)
        return;
    msgpack_pack_map(pk, 2);
    rpc_pack_cstr(pk, "version");
    rpc_pack_cstr(pk, AMI_VERSION);
    rpc_pack_cstr(pk, "pid");
    msgpack_pack_int64(pk, (int64_t)getpid());
    rpc_reply_end(ch);
}

/* configure(opts) -> true, or an error naming the bad field.  opts: the table given to
 * require('ami').setup(), in the schema of doc/ami.txt (ami-config). */
static void m_configure(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    const msgpack_object *opts =
        msg->params->via.array.size > 0 ? &msg->params->via.array.ptr[0] : NULL;
    if (opts && opts->type == MSGPACK_OBJECT_NIL)
        opts = NULL;
    free(h->config_error);
    h->config_error = host_configure(h, opts);
    if (msg->kind != RPC_REQUEST)
        return;
    if (h->config_error) {
        rpc_reply_error(ch, msg->msgid, h->config_error);
        return;
    }
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_true(pk);
        rpc_reply_end(ch);
    }
}

/* Whether the ledger's file can be written: it exists and is writable, or the nearest
 * existing parent directory is. */
static int path_writable(const char *path) {
    if (access(path, W_OK) == 0)
        return 1;
    if (errno != ENOENT)
        return 0;
    char *p = strdup(path);
    int ok = 0;
    while (p) {
        char *slash = strrchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        const char *dir = *p ? p : "/";
        if (access(dir, F_OK) == 0) {
            ok = access(dir, W_OK | X_OK) == 0;
            break;
        }
    }
    free(p);
    return ok;
}

/* status() -> {version, pid, provider, model, config_file, config_error, ledger = {path,
 * enabled, writable}} */
static void m_status(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (!pk)
        return;
    const ami_config *cfg = engine_config(h->eng);
    char *ledger_file = config_ledger_path(cfg);
    msgpack_pack_map(pk, 8);
    rpc_pack_cstr(pk, "version");
    rpc_pack_cstr(pk, AMI_VERSION);
    rpc_pack_cstr(pk, "pid");
    msgpack_pack_int64(pk, (int64_t)getpid());
    rpc_pack_cstr(pk, "provider");
    rpc_pack_cstr(pk, cfg->provider);
    rpc_pack_cstr(pk, "model");
    rpc_pack_cstr(pk, cfg->model);
    rpc_pack_cstr(pk, "config_file");
    rpc_pack_cstr(pk, cfg->file);
    rpc_pack_cstr(pk, "key");
    pack_key_status(h, pk, cfg);
    rpc_pack_cstr(pk, "config_error");
    rpc_pack_cstr(pk, h->config_error);
    rpc_pack_cstr(pk, "ledger");
    msgpack_pack_map(pk, 3);
    rpc_pack_cstr(pk, "path");
    rpc_pack_cstr(pk, ledger_file);
    rpc_pack_cstr(pk, "enabled");
    if (cfg->ledger_enabled)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    rpc_pack_cstr(pk, "writable");
    if (ledger_file && path_writable(ledger_file))
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    free(ledger_file);
    rpc_reply_end(ch);
}

/* Neovim reports a failed notification (e.g. an nvim_exec_lua that raised) this way. */
static void m_nvim_error_event(rpc_channel *ch, const rpc_message *msg, void *ud) {
    (void)ch;
    (void)ud;
    const msgpack_object *p = msg->params;
    if (p->via.array.size >= 2 && p->via.array.ptr[1].type == MSGPACK_OBJECT_STR)
        log_warn("Neovim reported an error: %.*s", (int)p->via.array.ptr[1].via.str.size,
                 p->via.array.ptr[1].via.str.ptr);
}

static const rpc_method host_methods[] = {
    {"ping", m_ping},
    {"configure", m_configure},
    {"status", m_status},
    {"start", m_start},
    {"cancel", m_cancel},
    {"models", m_models},
    {"document_usage", m_document_usage},
    {"usage_report", m_usage_report},
    {"thread_history", host_m_thread_history},
    {"models_used", host_m_models_used},
    {"sent", host_m_sent},
    {"compare", host_m_compare},
    {"vote", host_m_vote},
    {"arena_report", host_m_arena_report},
    {"notes_load", host_m_notes_load},
    {"notes_state", host_m_notes_state},
    {"notes_dismiss_all", host_m_notes_dismiss_all},
    {"usage_overview", host_m_usage_overview},
    {"nvim_error_event", m_nvim_error_event},
    {NULL, NULL},
};

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h) {
    (void)h;
}

static void on_engine_closed(void *ud) {
    host *h = ud;
    h->eng = NULL;
    host_sent_free(h);
    log_debug("engine closed");
    uv_signal_stop(&h->sigterm);
    uv_close((uv_handle_t *)&h->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&h->in, on_handle_closed);
    uv_close((uv_handle_t *)&h->out, on_handle_closed);
}

/* Neovim quit (or the input failed): answers in progress are cancelled (their ledger rows say
 * so), then the handles close and the loop ends.  The SIGTERM watcher stays until the engine
 * has closed: Neovim closes our stdin and then sends SIGTERM, and that signal must not kill
 * the process while the ledger is still being written (Neovim waits 2 s before SIGKILL). */
static void host_stop(host *h) {
    if (h->stopping)
        return;
    h->stopping = 1;
    engine_close(h->eng, on_engine_closed, h);
}

static void on_channel_closed(rpc_channel *ch, int reason, const char *message, void *ud) {
    (void)ch;
    host *h = ud;
    if (reason == RPC_OK) {
        log_debug("input ended; stopping");
    } else if (reason == RPC_EMALFORMED || reason == RPC_EINVALID) {
        log_error("%s; stopping", message);
        h->exit_code = 1;
    } else {
        log_error("cannot read from Neovim: %s; stopping", message);
        h->exit_code = 1;
    }
    host_stop(h);
}

static void on_sigterm(uv_signal_t *s, int signum) {
    (void)signum;
    host *h = s->data;
    log_debug("SIGTERM; stopping");
    host_stop(h);
}

static int open_stdio(host *h) {
    if (uv_guess_handle(0) != UV_NAMED_PIPE || uv_guess_handle(1) != UV_NAMED_PIPE) {
        log_error("`ami rpc` speaks msgpack-RPC on stdin/stdout, which must be pipes; Neovim "
                  "starts it with jobstart({'ami', 'rpc'}, {rpc = true})");
        return -1;
    }
    int rc;
    if ((rc = uv_pipe_init(h->loop, &h->in, 0)) || (rc = uv_pipe_open(&h->in, 0)) ||
        (rc = uv_pipe_init(h->loop, &h->out, 0)) || (rc = uv_pipe_open(&h->out, 1))) {
        log_error("cannot open stdin/stdout: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

int host_main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    host h;
    memset(&h, 0, sizeof h);
    h.loop = uv_default_loop();
    signal(SIGPIPE, SIG_IGN);
    if (open_stdio(&h) != 0)
        return 2;
    if (http_global_init() != 0) {
        log_error("cannot initialise libcurl");
        return 1;
    }
    msgpack_sbuffer_init(&h.outbox);
    msgpack_packer_init(&h.opk, &h.outbox, msgpack_sbuffer_write);
    ami_config cfg;
    if (config_init(&cfg) != 0) {
        log_error("out of memory");
        return 1;
    }
    static const engine_sink sink = {
        {sink_batch_begin, sink_text, sink_batch_end},
        sink_event,
    };
    h.eng = engine_new(h.loop, "nvim", &cfg, &sink, &h);
    if (!h.eng) {
        config_free(&cfg);
        log_error("out of memory");
        return 1;
    }
    free(host_configure(&h, NULL)); /* reported again by the configure call from Lua */
    uv_signal_init(h.loop, &h.sigterm);
    h.sigterm.data = &h;
    uv_signal_start(&h.sigterm, on_sigterm, SIGTERM);
    h.ch = rpc_channel_new((uv_stream_t *)&h.in, (uv_stream_t *)&h.out, host_methods,
                           on_channel_closed, &h);
    if (!h.ch) {
        log_error("out of memory");
        return 1;
    }
    uv_run(h.loop, UV_RUN_DEFAULT);
    rpc_channel_free(h.ch);
    uv_run(h.loop, UV_RUN_DEFAULT);
    log_debug("exiting with status %d", h.exit_code);
    uv_loop_close(h.loop);
    msgpack_sbuffer_destroy(&h.outbox);
    free(h.config_error);
    http_global_cleanup();
    secret_clear();
    return h.exit_code;
}
