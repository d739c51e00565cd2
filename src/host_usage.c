/* host_usage: the pictures of `:AmiUsage` (src/host.c's methods).
 *
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
#include "ami/ledger.h"
#include "ami/usage_data.h"
#include "ami/usage_report.h"
#include "host_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
