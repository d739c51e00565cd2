/* usage: `ami usage`.  See include/ami/usage.h; the imports are src/usage_import_cli.c, the
 * pictures src/usage_report.c and src/usage_html.c, the figures src/usage_data.c. */
#include "ami/usage.h"

#include "ami/buf.h"
#include "ami/config.h"
#include "ami/cost.h"
#include "ami/ledger.h"
#include "ami/usage_data.h"
#include "ami/usage_report.h"
#include "usage_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_MONTHS  12  /* rows of the by-month table */
#define SCAN_MONTHS 240 /* months fetched, so an old --month still finds its predecessors */

/* ---- the settings and the ledger ---------------------------------------------------------- */

int usage_env_load(usage_env *u, const char *who) {
    memset(u, 0, sizeof *u);
    char err[512];
    if (config_init(&u->cfg) != 0) {
        fprintf(stderr, "%s: out of memory\n", who);
        return USAGE_EXIT_LEDGER;
    }
    char *cfg_path = config_default_path();
    if (!cfg_path || config_load_file(&u->cfg, cfg_path, 1, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", who, cfg_path ? err : "out of memory");
        free(cfg_path);
        config_free(&u->cfg);
        return USAGE_EXIT_USAGE;
    }
    free(cfg_path);
    u->locale = u->cfg.usage_locale && strcmp(u->cfg.usage_locale, "fr") == 0 ? CHART_FR : CHART_EN;
    u->path = config_ledger_path(&u->cfg);
    if (!u->path) {
        fprintf(stderr, "%s: out of memory\n", who);
        config_free(&u->cfg);
        return USAGE_EXIT_LEDGER;
    }
    /* A missing file means nothing was recorded yet; opening it would create it, and a
     * report should leave no trace. */
    struct stat st;
    u->missing = stat(u->path, &st) != 0 && errno == ENOENT;
    return 0;
}

void usage_env_free(usage_env *u) {
    free(u->path);
    u->path = NULL;
    config_free(&u->cfg);
}

/* ledger_exec hands the same ud to the work and to done: this carries both. */
typedef struct work_run {
    ledger_work_fn work;
    void *ud;
    int rc;
    char err[512];
} work_run;

static int work_trampoline(sqlite3 *db, int store_text, void *ud) {
    work_run *w = ud;
    return w->work(db, store_text, w->ud);
}

static void work_done(void *ud, int rc, const char *err) {
    work_run *w = ud;
    if (rc < 0 && w->rc == 0) {
        w->rc = rc;
        snprintf(w->err, sizeof w->err, "%s", err ? err : "the ledger could not be read");
    }
}

int usage_run_work(const char *path, const char *what, ledger_work_fn work, void *ud, char *err,
                   size_t errlen) {
    uv_loop_t loop;
    work_run w = {work, ud, 0, ""};
    if (uv_loop_init(&loop) != 0) {
        snprintf(err, errlen, "cannot start an event loop");
        return -1;
    }
    ledger *l = ledger_new(&loop, path, 0);
    if (!l) {
        w.rc = LEDGER_ENOMEM;
        snprintf(w.err, sizeof w.err, "out of memory");
    } else {
        int rc = ledger_exec(l, what, work_trampoline, work_done, &w);
        if (rc < 0)
            work_done(&w, rc, ledger_error(l));
        ledger_close(l, NULL, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (w.rc < 0) {
        snprintf(err, errlen, "%s", w.err);
        return -1;
    }
    return 0;
}

/* ---- reading the ledger ------------------------------------------------------------------- */

/* What the ledger answered, copied out of its callbacks. */
typedef struct report {
    int rc;
    char err[512];
    ledger_totals month; /* by_model points into models */
    ledger_model_totals *models;
    size_t n_models;
    ledger_totals *months;
    size_t n_months;
    usage_query q;
    usage_data data; /* the charts' and the sources' figures */
} report;

static void report_free(report *r) {
    for (size_t i = 0; i < r->n_models; i++)
        free((char *)r->models[i].model);
    free(r->models);
    free(r->months);
    usage_data_free(&r->data);
}

static void fail(report *r, int rc, const char *err) {
    if (r->rc == 0) {
        r->rc = rc;
        snprintf(r->err, sizeof r->err, "%s", err ? err : "the ledger could not be read");
    }
}

static void on_month(void *ud, int rc, const ledger_totals *t, const char *err) {
    report *r = ud;
    if (rc < 0) {
        fail(r, rc, err);
        return;
    }
    r->month = *t;
    r->models = calloc(t->n_by_model ? t->n_by_model : 1, sizeof *r->models);
    if (!r->models) {
        fail(r, LEDGER_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < t->n_by_model; i++) {
        r->models[i] = t->by_model[i];
        r->models[i].model = strdup(t->by_model[i].model);
        if (!r->models[i].model) {
            fail(r, LEDGER_ENOMEM, "out of memory");
            return;
        }
        r->n_models++;
    }
    r->month.by_model = r->models;
    r->month.n_by_model = r->n_models;
}

static void on_months(void *ud, int rc, const ledger_totals *m, size_t n, const char *err) {
    report *r = ud;
    if (rc < 0) {
        fail(r, rc, err);
        return;
    }
    r->months = calloc(n ? n : 1, sizeof *r->months);
    if (!r->months) {
        fail(r, LEDGER_ENOMEM, "out of memory");
        return;
    }
    memcpy(r->months, m, n * sizeof *m);
    r->n_months = n;
}

static int load_data(sqlite3 *db, int store_text, void *ud) {
    (void)store_text;
    report *r = ud;
    return usage_data_load(db, &r->q, &r->data);
}

static void on_data(void *ud, int rc, const char *err) {
    if (rc < 0)
        fail(ud, rc, err);
}

/* Reads the chosen month, the monthly totals and the report's figures; 0, or the ledger's
 * error code with r->err. */
static int read_ledger(const char *path, const char *month, report *r) {
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        fail(r, LEDGER_ENOMEM, "cannot start an event loop");
        return r->rc;
    }
    ledger *l = ledger_new(&loop, path, 0);
    if (!l) {
        fail(r, LEDGER_ENOMEM, "out of memory");
    } else {
        int rc = ledger_month(l, month, on_month, r);
        if (rc == 0)
            rc = ledger_months(l, SCAN_MONTHS, on_months, r);
        if (rc == 0)
            rc = ledger_exec(l, "cannot read the usage report", load_data, on_data, r);
        if (rc < 0)
            fail(r, rc, ledger_error(l));
        ledger_close(l, NULL, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return r->rc;
}

/* ---- text ------------------------------------------------------------------------------- */

/* 1234567 -> "1,234,567" (French: "1 234 567", narrow no-break spaces). */
static void fmt_int(chart_locale l, long long v, char *out, size_t n) {
    if (l == CHART_FR) {
        buf b = {0};
        chart_format_count(l, (double)v, &b);
        snprintf(out, n, "%s", b.data ? b.data : "?");
        buf_free(&b);
        return;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
    size_t len = strlen(digits), o = 0;
    if (v < 0 && o + 1 < n)
        out[o++] = '-';
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && o + 1 < n)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* Columns on screen, as chart.c counts them ("CO₂e" is 4 wide). */
static size_t width(const char *s) {
    return chart_display_width(s, strlen(s));
}

#define NCOLS 9
#define CELL  64

typedef struct table {
    int ncols;
    char (*cells)[NCOLS][CELL]; /* row 0 is the header */
    size_t rows, cap;
} table;

static char (*table_row(table *t))[CELL] {
    if (t->rows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        void *p = realloc(t->cells, ncap * sizeof *t->cells);
        if (!p)
            return NULL;
        t->cells = p;
        t->cap = ncap;
    }
    memset(t->cells[t->rows], 0, sizeof t->cells[t->rows]);
    return t->cells[t->rows++];
}

/* Prints the table, two spaces of indent, the first column left-aligned, the rest right. */
static void table_print(const table *t) {
    size_t w[NCOLS] = {0};
    for (size_t r = 0; r < t->rows; r++)
        for (int c = 0; c < t->ncols; c++)
            if (width(t->cells[r][c]) > w[c])
                w[c] = width(t->cells[r][c]);
    for (size_t r = 0; r < t->rows; r++) {
        buf line = {0};
        buf_append_str(&line, " ");
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r][c];
            size_t pad = w[c] - width(s);
            buf_append_str(&line, c == 0 ? " " : "  ");
            if (c > 0)
                for (size_t i = 0; i < pad; i++)
                    buf_append_byte(&line, ' ');
            buf_append_str(&line, s);
            if (c == 0)
                for (size_t i = 0; i < pad; i++)
                    buf_append_byte(&line, ' ');
        }
        while (line.len > 0 && line.data[line.len - 1] == ' ')
            line.data[--line.len] = '\0';
        printf("%s\n", line.data ? line.data : "");
        buf_free(&line);
    }
}

/* A money amount: English as cost_format writes it, French as chart.c. */
static void fmt_money(chart_locale l, double usd, cost_source src, char *out, size_t n) {
    if (l != CHART_FR) {
        cost_format(usd, src, out, n);
        return;
    }
    buf b = {0};
    if (src == COST_ESTIMATED)
        buf_append_str(&b, "~");
    chart_format_money(l, usd, &b);
    snprintf(out, n, "%s", b.data ? b.data : "?");
    buf_free(&b);
}

/* Carbon, as cost_format writes it; French with a decimal comma ("~0,9 gCO₂e"). */
static void fmt_carbon(chart_locale l, double grams, char *out, size_t n) {
    cost_format_carbon(grams, out, n);
    for (char *p = out; l == CHART_FR && *p; p++)
        if (*p == '.' && p > out && p[-1] >= '0' && p[-1] <= '9' && p[1] >= '0' && p[1] <= '9')
            *p = ',';
}

/* The money cells: the total ("~" when part of it is an estimate, "+?" when some requests'
 * cost is unknown, so a lower bound never passes for the whole; "unknown" when nothing is
 * known), the estimated part, and the number of requests of unknown cost ("-" for none). */
static void money_cells(chart_locale l, double cost, double estimated, long long requests,
                        long long unknown, char *c_cost, char *c_est, char *c_unknown) {
    if (unknown > 0 && unknown >= requests) {
        snprintf(c_cost, CELL, "unknown");
    } else {
        fmt_money(l, cost, estimated > 0 ? COST_ESTIMATED : COST_REPORTED, c_cost, CELL);
        if (unknown > 0 && strlen(c_cost) + 3 <= CELL)
            strcat(c_cost, "+?");
    }
    if (estimated > 0)
        fmt_money(l, estimated, COST_ESTIMATED, c_est, CELL);
    else
        snprintf(c_est, CELL, "-");
    if (unknown > 0)
        fmt_int(l, unknown, c_unknown, CELL);
    else
        snprintf(c_unknown, CELL, "-");
}

static const char *const month_header[NCOLS] = {"month",     "requests",   "threads",
                                                "tokens in", "tokens out", "cost",
                                                "estimated", "unknown",    "carbon (est.)"};
static const char *const model_header[NCOLS] = {"model",      "requests",      "tokens in",
                                                "tokens out", "cost",          "estimated",
                                                "unknown",    "carbon (est.)", ""};

static int month_row(chart_locale l, table *t, const ledger_totals *m) {
    char(*row)[CELL] = table_row(t);
    if (!row)
        return -1;
    snprintf(row[0], CELL, "%s", m->month);
    fmt_int(l, m->requests, row[1], CELL);
    fmt_int(l, m->threads, row[2], CELL);
    fmt_int(l, m->prompt_tokens, row[3], CELL);
    fmt_int(l, m->completion_tokens, row[4], CELL);
    money_cells(l, m->cost_usd, m->estimated_cost_usd, m->requests, m->unknown_cost_requests,
                row[5], row[6], row[7]);
    fmt_carbon(l, m->co2e_g, row[8], CELL);
    return 0;
}

static void print_usage_text(const usage_text *t) {
    if (t->text.len)
        fwrite(t->text.data, 1, t->text.len, stdout);
}

/* What was imported so far, one line per source. */
static void print_imports(const usage_data *d) {
    if (!d->has_imports)
        return;
    printf("\nImported\n");
    for (int s = USAGE_OPENROUTER; s < USAGE_N_SOURCES; s++) {
        const usage_import *im = &d->imports[s];
        if (im->items <= 0)
            continue;
        char when[32] = "";
        time_t t = (time_t)im->last_unix;
        struct tm tm;
        if (im->last_unix > 0 && localtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        if (s == USAGE_OPENROUTER)
            printf("  OpenRouter activity: %lld rows, UTC days %s – %s (last import %s)\n",
                   im->items, *im->first_day ? im->first_day : "?",
                   *im->last_day ? im->last_day : "?", *when ? when : "?");
        else
            printf("  %s: %lld conversation%s (last import %s)\n",
                   usage_source_label((usage_source)s), im->items, im->items == 1 ? "" : "s",
                   *when ? when : "?");
    }
}

static int print_text(const usage_env *u, const char *month, const report *r, int width_cells) {
    chart_locale l = u->locale;
    int rc = -1;
    table months = {NCOLS, NULL, 0, 0}, models = {8, NULL, 0, 0};
    char(*row)[CELL];
    usage_text charts = {0};

    printf("ami usage for %s — ledger %s\n", month, u->path);
    if (u->missing)
        printf("\nNo requests recorded yet: there is no ledger file.\n");
    if (!u->cfg.ledger_enabled)
        printf("\nRecording is off (ledger.enabled = false): new requests are not counted.\n");
    if (u->missing)
        return 0;

    /* The pictures: the twelve months ending with the chosen one. */
    usage_report_opts ro = {l, width_cells, u->cfg.budget_monthly_usd, NULL, 0};
    if (usage_report_charts(&r->data, &ro, &charts) != 0)
        goto out;
    printf("\n");
    print_usage_text(&charts);

    /* Each source, when something was imported. */
    if (r->data.has_imports || r->data.all_mismatches) {
        usage_text_free(&charts);
        if (usage_report_sources(&r->data, USAGE_MONTHS - 1, &ro, &charts) != 0)
            goto out;
        printf("\nBy source, %s\n", month);
        print_usage_text(&charts);
    }

    /* By month: the chosen month (even when empty), then the earlier months with rows. */
    if (!(row = table_row(&months)))
        goto out;
    for (int c = 0; c < NCOLS; c++)
        snprintf(row[c], CELL, "%s", month_header[c]);
    if (month_row(l, &months, &r->month) != 0)
        goto out;
    for (size_t i = 0; i < r->n_months && months.rows < MAX_MONTHS + 1; i++)
        if (strcmp(r->months[i].month, month) < 0 && month_row(l, &months, &r->months[i]) != 0)
            goto out;
    printf("\nBy month%s\n", r->data.has_imports ? " (ami)" : "");
    table_print(&months);

    printf("\nBy model, %s%s\n", month, r->data.has_imports ? " (ami)" : "");
    if (r->n_models == 0) {
        printf("  no requests this month\n");
    } else {
        if (!(row = table_row(&models)))
            goto out;
        for (int c = 0; c < NCOLS; c++)
            snprintf(row[c], CELL, "%s", model_header[c]);
        for (size_t i = 0; i < r->n_models; i++) {
            const ledger_model_totals *m = &r->models[i];
            if (!(row = table_row(&models)))
                goto out;
            snprintf(row[0], CELL, "%s", m->model);
            fmt_int(l, m->requests, row[1], CELL);
            fmt_int(l, m->prompt_tokens, row[2], CELL);
            fmt_int(l, m->completion_tokens, row[3], CELL);
            money_cells(l, m->cost_usd, m->estimated_cost_usd, m->requests,
                        m->unknown_cost_requests, row[4], row[5], row[6]);
            fmt_carbon(l, m->co2e_g, row[7], CELL);
        }
        table_print(&models);
    }
    print_imports(&r->data);

    if (r->month.refused > 0)
        printf("\n%lld request%s refused by the budget in %s (never sent, not counted above).\n",
               r->month.refused, r->month.refused == 1 ? " was" : "s were", month);
    printf("\ncost: as the provider reported it; ~ marks amounts ami estimated from prices.\n"
           "unknown: requests whose cost could not be known; +? marks a total without them.\n"
           "carbon: an order-of-magnitude estimate from token counts.\n");
    if (r->data.has_imports)
        printf("sources: OpenRouter (outside ami) is its activity minus ami's own requests of "
               "the\nsame UTC day and model; see :help ami-usage-sources.\n");
    rc = 0;
out:
    usage_text_free(&charts);
    free(months.cells);
    free(models.cells);
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------- */

/* Sums of doubles carry binary noise (0.1 + 0.2); a nanodollar is far below any price.
 * Dividing the rounded integer (rather than multiplying by 1e-9) gives the double nearest the
 * decimal value, which prints as that decimal. */
static double round_to(double v, double per_unit) {
    return round(v * per_unit) / per_unit;
}

static int add_totals(cJSON *o, long long requests, long long prompt, long long completion,
                      double cost, double estimated, long long unknown, double co2) {
    return cJSON_AddNumberToObject(o, "requests", (double)requests) &&
           cJSON_AddNumberToObject(o, "prompt_tokens", (double)prompt) &&
           cJSON_AddNumberToObject(o, "completion_tokens", (double)completion) &&
           cJSON_AddNumberToObject(o, "cost_usd", round_to(cost, 1e9)) &&
           cJSON_AddNumberToObject(o, "estimated_cost_usd", round_to(estimated, 1e9)) &&
           cJSON_AddNumberToObject(o, "unknown_cost_requests", (double)unknown) &&
           cJSON_AddNumberToObject(o, "co2e_g", round_to(co2, 1e6));
}

static int add_count(cJSON *o, const char *k, long long v) {
    return v < 0 ? cJSON_AddNullToObject(o, k) != NULL
                 : cJSON_AddNumberToObject(o, k, (double)v) != NULL;
}

static cJSON *cell_json(const usage_cell *c) {
    cJSON *o = cJSON_CreateObject();
    if (o && add_count(o, "threads", c->threads) && add_count(o, "answers", c->answers) &&
        add_count(o, "user_messages", c->user_messages) &&
        cJSON_AddNumberToObject(o, "tokens_in", (double)c->tokens_in) &&
        cJSON_AddNumberToObject(o, "tokens_out", (double)c->tokens_out) &&
        cJSON_AddNumberToObject(o, "tokens_unknown", (double)c->tokens_unknown) &&
        cJSON_AddNumberToObject(o, "cost_usd", round_to(c->cost_usd, 1e9)) &&
        cJSON_AddNumberToObject(o, "estimated_cost_usd", round_to(c->estimated_usd, 1e9)) &&
        cJSON_AddNumberToObject(o, "cost_unknown", (double)c->cost_unknown) &&
        cJSON_AddNumberToObject(o, "co2e_g", round_to(c->co2e_g, 1e6)))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static int add_sources(cJSON *o, const usage_cell *cells, const usage_cell *total) {
    cJSON *s = cJSON_AddObjectToObject(o, "sources");
    if (!s)
        return 0;
    for (int i = 0; i < USAGE_N_SOURCES; i++) {
        cJSON *c = cell_json(&cells[i]);
        if (!c || !cJSON_AddItemToObject(s, usage_source_name((usage_source)i), c)) {
            cJSON_Delete(c);
            return 0;
        }
    }
    cJSON *t = cell_json(total);
    if (!t || !cJSON_AddItemToObject(o, "total", t)) {
        cJSON_Delete(t);
        return 0;
    }
    return 1;
}

static int add_report(cJSON *o, const usage_data *d) {
    const usage_month *last = &d->months[USAGE_MONTHS - 1];
    if (!add_sources(o, last->src, &last->total))
        return 0;
    cJSON *months = cJSON_AddArrayToObject(o, "months");
    for (int i = 0; months && i < USAGE_MONTHS; i++) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(months, m) ||
            !cJSON_AddStringToObject(m, "month", d->months[i].month) ||
            !add_sources(m, d->months[i].src, &d->months[i].total))
            return 0;
    }
    cJSON *miss = months ? cJSON_AddArrayToObject(o, "mismatches") : NULL;
    for (size_t i = 0; miss && i < d->n_mismatches; i++) {
        const usage_mismatch *x = &d->mismatches[i];
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(miss, m) || !cJSON_AddStringToObject(m, "day", x->day) ||
            !cJSON_AddStringToObject(m, "model", x->model) ||
            !cJSON_AddNumberToObject(m, "ami_requests", (double)x->ami_requests) ||
            !cJSON_AddNumberToObject(m, "openrouter_requests", (double)x->openrouter_requests) ||
            !cJSON_AddNumberToObject(m, "ami_usd", round_to(x->ami_usd, 1e9)) ||
            !cJSON_AddNumberToObject(m, "openrouter_usd", round_to(x->openrouter_usd, 1e9)))
            return 0;
    }
    cJSON *imp = miss ? cJSON_AddObjectToObject(o, "imports") : NULL;
    for (int s = USAGE_OPENROUTER; imp && s < USAGE_N_SOURCES; s++) {
        const usage_import *im = &d->imports[s];
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToObject(imp, usage_source_name((usage_source)s), m) ||
            !cJSON_AddNumberToObject(m, "runs", (double)im->runs) ||
            !cJSON_AddNumberToObject(m, "items", (double)im->items) ||
            !add_count(m, "last_unix", im->runs ? im->last_unix : -1))
            return 0;
        if (s == USAGE_OPENROUTER &&
            (!(*im->first_day ? cJSON_AddStringToObject(m, "first_day", im->first_day)
                              : cJSON_AddNullToObject(m, "first_day")) ||
             !(*im->last_day ? cJSON_AddStringToObject(m, "last_day", im->last_day)
                             : cJSON_AddNullToObject(m, "last_day"))))
            return 0;
    }
    return imp != NULL;
}

static int print_json(const char *month, const report *r) {
    const ledger_totals *t = &r->month;
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "month", month) &&
             add_totals(o, t->requests, t->prompt_tokens, t->completion_tokens, t->cost_usd,
                        t->estimated_cost_usd, t->unknown_cost_requests, t->co2e_g) &&
             cJSON_AddNumberToObject(o, "threads", (double)t->threads) &&
             cJSON_AddNumberToObject(o, "refused", (double)t->refused);
    cJSON *models = ok ? cJSON_AddArrayToObject(o, "by_model") : NULL;
    ok = models != NULL;
    for (size_t i = 0; ok && i < r->n_models; i++) {
        const ledger_model_totals *m = &r->models[i];
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(models, e) &&
             cJSON_AddStringToObject(e, "model", m->model) &&
             add_totals(e, m->requests, m->prompt_tokens, m->completion_tokens, m->cost_usd,
                        m->estimated_cost_usd, m->unknown_cost_requests, m->co2e_g);
    }
    ok = ok && add_report(o, &r->data);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

/* ---- CSV -------------------------------------------------------------------------------- */

/* The requests table's documented columns, without the texts (prompt_text, answer_text, turn:
 * the writer's words have no place in a spreadsheet made to count). */
static const char csv_sql[] =
    "SELECT id, started_at, started_unix, ended_at, ended_unix, client, command, provider,"
    " model_requested, model_answered, document, thread, prompt_tokens, completion_tokens,"
    " cost_usd, cost_source, co2e_g, status, error, finish_reason, ttft_ms, duration_ms, uid"
    " FROM requests%s ORDER BY id";

typedef struct csv_job {
    FILE *out;
    long long from, to; /* from < to: only that period */
    long long rows;
    int write_error;
} csv_job;

/* RFC 4180: a field with a comma, a quote, CR or LF is quoted, its quotes doubled. */
static void csv_field(FILE *out, const char *s, size_t n) {
    if (strcspn(s, ",\"\r\n") >= n) {
        fwrite(s, 1, n, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

/* A REAL written so that reading it back gives the same double: the shortest of %.15g,
 * %.16g and %.17g that does. */
static void csv_real(FILE *out, double v) {
    char b[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(b, sizeof b, "%.*g", digits, v);
        if (strtod(b, NULL) == v)
            break;
    }
    fputs(b, out);
}

static int csv_rows(sqlite3 *db, int store_text, void *ud) {
    (void)store_text;
    csv_job *j = ud;
    char sql[sizeof csv_sql + 64];
    snprintf(sql, sizeof sql, csv_sql,
             j->from < j->to ? " WHERE started_unix >= ?1 AND started_unix < ?2" : "");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && j->from < j->to) {
        rc = sqlite3_bind_int64(st, 1, j->from);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(st, 2, j->to);
    }
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return rc;
    }
    int n = sqlite3_column_count(st);
    for (int c = 0; c < n; c++) {
        const char *name = sqlite3_column_name(st, c);
        if (c)
            fputc(',', j->out);
        csv_field(j->out, name, strlen(name));
    }
    fputs("\r\n", j->out);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < n; c++) {
            if (c)
                fputc(',', j->out);
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL:
                break;
            case SQLITE_INTEGER:
                fprintf(j->out, "%lld", (long long)sqlite3_column_int64(st, c));
                break;
            case SQLITE_FLOAT:
                csv_real(j->out, sqlite3_column_double(st, c));
                break;
            default: {
                const char *s = (const char *)sqlite3_column_text(st, c);
                csv_field(j->out, s ? s : "", (size_t)sqlite3_column_bytes(st, c));
            }
            }
        }
        fputs("\r\n", j->out);
        j->rows++;
    }
    sqlite3_finalize(st);
    if (ferror(j->out))
        j->write_error = 1;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- HTML ------------------------------------------------------------------------------- */

/* Writes the page to path through a temporary file renamed over it, so a reader never sees
 * half a page.  0, or -1 after saying why. */
static int write_file(const char *path, const buf *b) {
    buf tmp = {0};
    if (buf_printf(&tmp, "%s.tmp-%ld", path, (long)getpid()) != 0) {
        fprintf(stderr, "ami usage: out of memory\n");
        return -1;
    }
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    size_t done = 0;
    while (ok && done < b->len) {
        ssize_t n = write(fd, b->data + done, b->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        done += ok ? (size_t)n : 0;
    }
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp.data, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        fprintf(stderr, "ami usage: cannot write %s: %s\n", path, strerror(e));
        unlink(tmp.data);
    }
    buf_free(&tmp);
    return ok ? 0 : -1;
}

/* ---- main ------------------------------------------------------------------------------- */

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: ami usage [--month YYYY-MM] [--json | --csv | --html FILE] [--width N]\n"
            "       ami usage import openwebui|chatgpt|claude FILE [--json]\n"
            "       ami usage import openrouter [FILE] [--json]\n"
            "  --month YYYY-MM   the month to report (default: this month, local time); the\n"
            "                    charts show the twelve months ending with it\n"
            "  --json            one JSON object for that month instead of tables\n"
            "  --csv             every request as CSV (RFC 4180), or that month's with --month\n"
            "  --html FILE       one self-contained page with the charts and tables\n"
            "  --width N         the text charts' width in columns (default 80)\n"
            "  import            add what was done elsewhere (see `ami usage import --help`)\n");
}

int usage_main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "import") == 0)
        return usage_import_main(argc - 1, argv + 1);
    const char *month_arg = NULL, *html = NULL;
    int json = 0, csv = 0;
    long width_cells = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--csv") == 0) {
            csv = 1;
        } else if (strcmp(a, "--html") == 0 || strncmp(a, "--html=", 7) == 0) {
            if (a[6] == '=') {
                html = a + 7;
            } else if (i + 1 < argc) {
                html = argv[++i];
            } else {
                fprintf(stderr, "ami usage: --html needs a file to write (e.g. usage.html)\n");
                return USAGE_EXIT_USAGE;
            }
            if (!*html) {
                fprintf(stderr, "ami usage: --html needs a file to write (e.g. usage.html)\n");
                return USAGE_EXIT_USAGE;
            }
        } else if (strcmp(a, "--width") == 0 || strncmp(a, "--width=", 8) == 0) {
            const char *v = a[7] == '=' ? a + 8 : i + 1 < argc ? argv[++i] : "";
            char *end = NULL;
            width_cells = strtol(v, &end, 10);
            if (!*v || *end || width_cells < CHART_MIN_WIDTH || width_cells > CHART_MAX_WIDTH) {
                fprintf(stderr, "ami usage: --width wants columns between %d and %d, not '%s'\n",
                        CHART_MIN_WIDTH, CHART_MAX_WIDTH, v);
                return USAGE_EXIT_USAGE;
            }
        } else if (strcmp(a, "--month") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ami usage: --month needs a month, as YYYY-MM (e.g. 2025-03)\n");
                return USAGE_EXIT_USAGE;
            }
            month_arg = argv[++i];
        } else if (strncmp(a, "--month=", 8) == 0) {
            month_arg = a + 8;
        } else {
            fprintf(stderr, "ami usage: unknown argument '%s'\n", a);
            print_usage(stderr);
            return USAGE_EXIT_USAGE;
        }
    }
    if (json + csv + (html != NULL) > 1) {
        fprintf(stderr,
                "ami usage: --json, --csv and --html are each a whole output: choose one\n");
        return USAGE_EXIT_USAGE;
    }
    char month[8];
    if (month_arg) {
        if (!ledger_month_valid(month_arg)) {
            fprintf(stderr,
                    "ami usage: --month wants a month as YYYY-MM (e.g. 2025-03), not '%s'\n",
                    month_arg);
            return USAGE_EXIT_USAGE;
        }
        memcpy(month, month_arg, 8);
    } else if (ledger_month_of(time(NULL), month) != 0) {
        fprintf(stderr, "ami usage: cannot tell the current month\n");
        return USAGE_EXIT_LEDGER;
    }

    usage_env u;
    int exit_code = usage_env_load(&u, "ami usage");
    if (exit_code != 0)
        return exit_code;
    exit_code = USAGE_EXIT_LEDGER;
    report r;
    memset(&r, 0, sizeof r);
    char err[512];

    if (csv) {
        csv_job j = {stdout, 0, 0, 0, 0};
        if (month_arg) {
            char next[8];
            struct tm a = {0}, b = {0};
            usage_month_add(month, 1, next);
            a.tm_year = atoi(month) - 1900;
            a.tm_mon = atoi(month + 5) - 1;
            a.tm_mday = 1;
            a.tm_isdst = -1;
            b.tm_year = atoi(next) - 1900;
            b.tm_mon = atoi(next + 5) - 1;
            b.tm_mday = 1;
            b.tm_isdst = -1;
            j.from = (long long)mktime(&a);
            j.to = (long long)mktime(&b);
        }
        if (u.missing) {
            /* Nothing recorded: the header alone, and no file created. */
            fputs("id,started_at,started_unix,ended_at,ended_unix,client,command,provider,"
                  "model_requested,model_answered,document,thread,prompt_tokens,"
                  "completion_tokens,cost_usd,cost_source,co2e_g,status,error,finish_reason,"
                  "ttft_ms,duration_ms,uid\r\n",
                  stdout);
        } else if (usage_run_work(u.path, "cannot read the requests", csv_rows, &j, err,
                                  sizeof err) != 0) {
            fprintf(stderr, "ami usage: %s\n", err);
            goto out;
        }
        exit_code = fflush(stdout) == 0 && !j.write_error ? 0 : USAGE_EXIT_LEDGER;
        goto out;
    }

    snprintf(r.month.month, sizeof r.month.month, "%s", month);
    memcpy(r.q.last, month, 8);
    r.q.carbon_points = u.cfg.carbon_enabled ? u.cfg.carbon_points : NULL;
    r.q.n_carbon_points = u.cfg.carbon_enabled ? u.cfg.n_carbon_points : 0;
    if (u.missing) {
        usage_data_init(month, &r.data);
    } else if (read_ledger(u.path, month, &r) < 0) {
        fprintf(stderr, "ami usage: %s\n", r.err);
        goto out;
    }
    if (html) {
        buf page = {0};
        usage_report_opts ro = {u.locale, 0, u.cfg.budget_monthly_usd, NULL, (long long)time(NULL)};
        if (usage_report_html(&r.data, &ro, &page) != 0) {
            fprintf(stderr, "ami usage: out of memory\n");
            buf_free(&page);
            goto out;
        }
        int wrote = write_file(html, &page);
        if (wrote == 0)
            printf("ami usage: wrote %s (%zu bytes): the twelve months to %s\n", html, page.len,
                   month);
        buf_free(&page);
        exit_code = wrote == 0 ? 0 : USAGE_EXIT_LEDGER;
        goto out;
    }
    if ((json ? print_json(month, &r) : print_text(&u, month, &r, (int)width_cells)) != 0) {
        fprintf(stderr, "ami usage: out of memory\n");
        goto out;
    }
    exit_code = fflush(stdout) == 0 ? 0 : USAGE_EXIT_LEDGER;
out:
    report_free(&r);
    usage_env_free(&u);
    return exit_code;
}
