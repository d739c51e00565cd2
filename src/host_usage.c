/* host_usage: what the ledger says about usage, for Lua (src/host.c's methods).
 *
 *   document_usage(path) -> {token}; then {type = "document_usage", token, path, totals}
 *   usage_report(months?) -> {token}; then {type = "usage_report", token, month, months, key,
 *       ledger, error}: the totals as figures (the ledger's and OpenRouter's /key)
 *   usage_overview({width, month}) -> {token}; then {type = "usage_overview", token, month,
 *       charts = {lines = {...}, spans = {{line, col, end_col, group}, ...}},
 *       sources = {lines, spans} | nil (only when something was imported, or ami and
 *       OpenRouter disagree), has_imports, mismatches, error}
 *
 * The same text `ami usage` prints (src/usage_report.c), drawn here so that Lua only places
 * lines and highlights: spans are 0-based lines of their block and byte columns, end
 * exclusive, for nvim_buf_add_highlight.  width: the window's columns (default 80); month:
 * "YYYY-MM" (default: this month).  The ledger is read on the thread pool, the text drawn
 * on the loop when it answers; nothing waits.
 */
#include "ami/config.h"
#include "ami/engine.h"
#include "ami/ledger.h"
#include "ami/provider.h"
#include "ami/usage_data.h"
#include "ami/usage_report.h"
#include "host_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- totals (document_usage, usage_report) --------------------------------------------- */

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
void host_m_document_usage(rpc_channel *ch, const rpc_message *msg, void *ud) {
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
void host_m_usage_report(rpc_channel *ch, const rpc_message *msg, void *ud) {
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

/* ---- the pictures (usage_overview) ---------------------------------------------------- */

typedef struct overview_ctx {
    host *h;
    uint32_t token;
    int width;
    usage_query q;
    usage_data data;
    double (*points)[2]; /* a copy: the settings may change while the ledger works */
} overview_ctx;

static void pack_text(msgpack_packer *pk, const usage_text *t) {
    msgpack_pack_map(pk, 2);
    rpc_pack_cstr(pk, "lines");
    msgpack_pack_array(pk, (uint32_t)t->lines);
    const char *s = t->text.data ? t->text.data : "";
    for (size_t i = 0; i < t->lines; i++) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        rpc_pack_str(pk, s, len);
        s += len + (nl != NULL);
    }
    rpc_pack_cstr(pk, "spans");
    msgpack_pack_array(pk, (uint32_t)t->n_spans);
    for (size_t i = 0; i < t->n_spans; i++) {
        const chart_span *sp = &t->spans[i];
        msgpack_pack_array(pk, 4);
        msgpack_pack_uint64(pk, sp->line);
        msgpack_pack_uint64(pk, sp->col);
        msgpack_pack_uint64(pk, sp->col + sp->len);
        rpc_pack_cstr(pk, sp->group);
    }
}

static void overview_send(overview_ctx *c, const char *err) {
    host *h = c->h;
    if (!h->stopping) {
        const ami_config *cfg = engine_config(h->eng);
        usage_report_opts o = {CHART_EN, c->width, cfg ? cfg->budget_monthly_usd : -1, NULL, 0};
        if (cfg && cfg->usage_locale && strcmp(cfg->usage_locale, "fr") == 0)
            o.locale = CHART_FR;
        usage_text charts = {0}, sources = {0};
        int with_sources = !err && (c->data.has_imports || c->data.all_mismatches);
        if (!err &&
            (usage_report_charts(&c->data, &o, &charts) != 0 ||
             (with_sources && usage_report_sources(&c->data, USAGE_MONTHS - 1, &o, &sources) != 0)))
            err = "out of memory";
        host_ev_begin(h, "usage_overview");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "month", c->q.last);
        host_ev_str(h, "error", err);
        if (!err) {
            pack_text(host_ev_key(h, "charts"), &charts);
            if (with_sources)
                pack_text(host_ev_key(h, "sources"), &sources);
            host_ev_bool(h, "has_imports", c->data.has_imports);
            host_ev_int(h, "mismatches", (int64_t)c->data.all_mismatches);
        }
        host_ev_end(h);
        usage_text_free(&charts);
        usage_text_free(&sources);
    }
    usage_data_free(&c->data);
    free(c->points);
    free(c);
}

static int overview_work(struct sqlite3 *db, int store_text, void *ud) {
    (void)store_text;
    overview_ctx *c = ud;
    return usage_data_load(db, &c->q, &c->data);
}

static void overview_done(void *ud, int rc, const char *err) {
    overview_send(ud, rc == 0 ? NULL : err ? err : "the ledger cannot be read");
}

void host_m_usage_overview(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    overview_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        rpc_reply_error(ch, msg->msgid, "usage_overview: out of memory");
        return;
    }
    c->h = h;
    c->width = CHART_DEFAULT_WIDTH;
    const msgpack_object *opts =
        msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    const msgpack_object *w = opts ? rpc_map_get(opts, "width") : NULL;
    if (w && w->type == MSGPACK_OBJECT_POSITIVE_INTEGER && w->via.u64 >= CHART_MIN_WIDTH &&
        w->via.u64 <= CHART_MAX_WIDTH)
        c->width = (int)w->via.u64;
    char *month = opts ? rpc_obj_strdup(rpc_map_get(opts, "month")) : NULL;
    if (month && ledger_month_valid(month))
        memcpy(c->q.last, month, 8);
    else if (ledger_month_of(time(NULL), c->q.last) != 0)
        memcpy(c->q.last, "1970-01", 8);
    free(month);
    const ami_config *cfg = engine_config(h->eng);
    if (cfg && cfg->carbon_enabled && cfg->n_carbon_points) {
        c->points = malloc(cfg->n_carbon_points * sizeof *c->points);
        if (c->points) {
            memcpy(c->points, cfg->carbon_points, cfg->n_carbon_points * sizeof *c->points);
            c->q.carbon_points = c->points;
            c->q.n_carbon_points = cfg->n_carbon_points;
        }
    }
    c->token = host_reply_token(ch, msg, ++h->next_token);
    ledger *l = engine_ledger(h->eng);
    int rc = l ? ledger_exec(l, "cannot read the usage report", overview_work, overview_done, c)
               : LEDGER_EUNUSABLE;
    if (rc != 0)
        overview_send(c, l && ledger_error(l)
                             ? ledger_error(l)
                             : "the ledger is turned off (ledger.enabled = false)");
}
