/* usage_report: the report's text charts and tables.  See include/ami/usage_report.h; the
 * HTML page is src/usage_html.c. */
#include "ami/usage_report.h"

#include "usage_report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text with spans ---------------------------------------------------------------------- */

void usage_text_free(usage_text *t) {
    if (!t)
        return;
    buf_free(&t->text);
    free(t->spans);
    memset(t, 0, sizeof *t);
}

static int add_span(usage_text *t, size_t line, size_t col, size_t len, size_t pos,
                    const char *group) {
    if (len == 0)
        return 0;
    if (t->n_spans == t->spans_cap) {
        size_t cap = t->spans_cap ? t->spans_cap * 2 : 64;
        chart_span *s = realloc(t->spans, cap * sizeof *s);
        if (!s)
            return CHART_ENOMEM;
        t->spans = s;
        t->spans_cap = cap;
    }
    chart_span *s = &t->spans[t->n_spans++];
    s->line = line;
    s->col = col;
    s->len = len;
    s->pos = pos;
    s->group = group;
    return 0;
}

/* Appends a whole chart, its spans moved to where it lands. */
static int add_chart(usage_text *t, const chart_text *c) {
    size_t base = t->text.len, first_line = t->lines;
    if (c->text.len && buf_append(&t->text, c->text.data, c->text.len))
        return CHART_ENOMEM;
    for (size_t i = 0; i < c->text.len; i++)
        t->lines += c->text.data[i] == '\n';
    for (size_t i = 0; i < c->n_spans; i++) {
        const chart_span *s = &c->spans[i];
        if (add_span(t, first_line + s->line, s->col, s->len, base + s->pos, s->group))
            return CHART_ENOMEM;
    }
    return 0;
}

/* Appends one line; group (may be NULL) covers all of it. */
static int add_line(usage_text *t, const char *s, const char *group) {
    size_t pos = t->text.len, len = strlen(s);
    if (buf_append(&t->text, s, len) || buf_append_byte(&t->text, '\n'))
        return CHART_ENOMEM;
    int rc = group ? add_span(t, t->lines, 0, len, pos, group) : 0;
    t->lines++;
    return rc;
}

/* ---- cells -------------------------------------------------------------------------------- */

int usage_report_count(chart_locale l, long long v, buf *out) {
    if (v < 0)
        return buf_append_str(out, "-") ? CHART_ENOMEM : 0;
    return chart_format_count(l, (double)v, out);
}

int usage_report_money(chart_locale l, const usage_cell *c, buf *out) {
    if (c->answers <= 0 && c->cost_usd == 0)
        return buf_append_str(out, "-") ? CHART_ENOMEM : 0;
    if (c->cost_unknown >= c->answers && c->cost_usd == 0)
        return buf_append_str(out, "?") ? CHART_ENOMEM : 0;
    if (c->estimated_usd > 0 && buf_append_str(out, "~"))
        return CHART_ENOMEM;
    int rc;
    if (c->cost_usd > 0 && c->cost_usd < 0.00005) /* it would round to $0.0000 */
        rc =
            buf_append_str(out, l == CHART_FR ? "<0,0001\xC2\xA0$" : "<$0.0001") ? CHART_ENOMEM : 0;
    else
        rc = chart_format_money(l, c->cost_usd, out);
    if (!rc && c->cost_unknown > 0 && buf_append_str(out, "+?"))
        rc = CHART_ENOMEM;
    return rc;
}

/* Tokens: the known sum, "+?" when some answers' tokens are unknown, "?" when none is known. */
static int tokens_cell(chart_locale l, long long v, const usage_cell *c, buf *out) {
    if (c->answers <= 0 && v == 0)
        return buf_append_str(out, "-") ? CHART_ENOMEM : 0;
    if (c->tokens_unknown >= c->answers && v == 0)
        return buf_append_str(out, "?") ? CHART_ENOMEM : 0;
    int rc = chart_format_count(l, (double)v, out);
    if (!rc && c->tokens_unknown > 0 && buf_append_str(out, "+?"))
        rc = CHART_ENOMEM;
    return rc;
}

static int cell_empty(const usage_cell *c) {
    return c->answers <= 0 && c->threads <= 0 && c->user_messages <= 0 && c->cost_usd == 0 &&
           c->tokens_in == 0 && c->tokens_out == 0;
}

/* ---- the series --------------------------------------------------------------------------- */

int usage_series_spending(const usage_data *d, size_t max_series, usage_series *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < USAGE_MONTHS; i++)
        out->labels[i] = d->months[i].month;
    if (max_series > USAGE_SERIES_MAX)
        max_series = USAGE_SERIES_MAX;
    /* Models with some spending, most expensive first (d->models is in that order). */
    size_t spending = 0;
    for (size_t k = 0; k < d->n_models; k++)
        if (d->models[k].c.cost_usd > 0)
            spending++;
    size_t named = spending <= max_series ? spending : max_series - 1;
    size_t k = 0;
    for (size_t j = 0; j < d->n_models && out->n < named; j++) {
        const usage_model *m = &d->models[j];
        if (m->c.cost_usd <= 0)
            continue;
        out->names[out->n] = m->model;
        for (int i = 0; i < USAGE_MONTHS; i++)
            out->values[out->n][i] = m->cost[i];
        out->n++;
        k = j + 1;
    }
    if (spending > named) {
        out->names[out->n] = USAGE_MODEL_OTHER;
        for (size_t j = k; j < d->n_models; j++)
            for (int i = 0; i < USAGE_MONTHS; i++)
                out->values[out->n][i] += d->models[j].cost[i];
        out->n++;
    }
    if (out->n == 0) { /* nothing spent: one empty series, so the months still show */
        out->names[0] = "all";
        out->n = 1;
    }
    for (size_t s = 0; s < out->n; s++) {
        out->series[s].name = out->names[s];
        out->series[s].values = out->values[s];
    }
    return 0;
}

void usage_series_threads(const usage_data *d, usage_series *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < USAGE_MONTHS; i++)
        out->labels[i] = d->months[i].month;
    static const usage_source order[] = {USAGE_AMI, USAGE_OPENWEBUI, USAGE_CHATGPT, USAGE_CLAUDE};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        usage_source s = order[k];
        if (s != USAGE_AMI && d->period[s].threads <= 0)
            continue;
        out->names[out->n] = usage_source_label(s);
        for (int i = 0; i < USAGE_MONTHS; i++)
            out->values[out->n][i] =
                (double)(d->months[i].src[s].threads > 0 ? d->months[i].src[s].threads : 0);
        out->n++;
    }
    for (size_t s = 0; s < out->n; s++) {
        out->series[s].name = out->names[s];
        out->series[s].values = out->values[s];
    }
}

void usage_series_tokens(const usage_data *d, usage_series *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < USAGE_MONTHS; i++) {
        out->labels[i] = d->months[i].month;
        out->values[0][i] = (double)d->months[i].total.tokens_in;
        out->values[1][i] = (double)d->months[i].total.tokens_out;
    }
    out->names[0] = "in";
    out->names[1] = "out";
    out->n = 2;
    for (size_t s = 0; s < out->n; s++) {
        out->series[s].name = out->names[s];
        out->series[s].values = out->values[s];
    }
}

const char *usage_words(chart_locale l, usage_word w) {
    static const char *const en[USAGE_N_WORDS] = {
        "Spending per month", "Threads per month", "Tokens per month", "Budget this month",
        "by model",           "by source",         "every source",
    };
    static const char *const fr[USAGE_N_WORDS] = {
        "Dépenses par mois", "Fils de discussion par mois",
        "Jetons par mois",   "Budget de ce mois",
        "par modèle",        "par source",
        "toutes sources",
    };
    return (l == CHART_FR ? fr : en)[w];
}

/* ---- charts ------------------------------------------------------------------------------- */

static int chart_block(usage_text *out, const char *title, const chart_text *c) {
    if ((out->lines > 0 && add_line(out, "", NULL)) || add_line(out, title, "AmiChartTitle"))
        return CHART_ENOMEM;
    return add_chart(out, c);
}

int usage_report_charts(const usage_data *d, const usage_report_opts *o, usage_text *out) {
    chart_opts co;
    chart_opts_default(&co);
    co.width = o->width > 0 ? o->width : CHART_DEFAULT_WIDTH;
    co.locale = o->locale;
    chart_text t = {0};
    char title[160];
    usage_series s;
    int rc;

    /* Spending per month, by model (every source, counted once). */
    usage_series_spending(d, CHART_MAX_STACKED_TEXT, &s);
    chart_data cd = {s.labels, USAGE_MONTHS, s.series, s.n};
    co.unit = CHART_MONEY;
    co.mode = CHART_STACKED;
    snprintf(title, sizeof title, "%s, %s%s%s", usage_words(o->locale, USAGE_W_SPENDING),
             usage_words(o->locale, USAGE_W_BY_MODEL), d->has_imports ? ", " : "",
             d->has_imports ? usage_words(o->locale, USAGE_W_EVERY_SOURCE) : "");
    if ((rc = chart_bars(&cd, &co, &t)) || (rc = chart_block(out, title, &t)))
        goto out;

    /* Threads per month, by source. */
    usage_series_threads(d, &s);
    cd.series = s.series;
    cd.n_series = s.n;
    co.unit = CHART_COUNT;
    co.mode = CHART_STACKED;
    snprintf(title, sizeof title, "%s%s%s", usage_words(o->locale, USAGE_W_THREADS),
             s.n > 1 ? ", " : "", s.n > 1 ? usage_words(o->locale, USAGE_W_BY_SOURCE) : "");
    if ((rc = chart_bars(&cd, &co, &t)) || (rc = chart_block(out, title, &t)))
        goto out;

    /* Tokens in and out. */
    usage_series_tokens(d, &s);
    cd.series = s.series;
    cd.n_series = s.n;
    co.unit = CHART_TOKENS;
    snprintf(title, sizeof title, "%s (%s – %s)", usage_words(o->locale, USAGE_W_TOKENS),
             d->months[0].month, d->months[USAGE_MONTHS - 1].month);
    if ((rc = chart_spark(&cd, &co, &t)) || (rc = chart_block(out, title, &t)))
        goto out;

    /* The budget: ami's spending this month against the cap. */
    if (o->budget_usd > 0 && isfinite(o->budget_usd)) {
        co.unit = CHART_MONEY;
        const usage_cell *ami = &d->months[USAGE_MONTHS - 1].src[USAGE_AMI];
        snprintf(title, sizeof title, "%s (%s, ami)", usage_words(o->locale, USAGE_W_BUDGET),
                 d->months[USAGE_MONTHS - 1].month);
        if ((rc = chart_gauge(ami->cost_usd, o->budget_usd, &co, &t)) ||
            (rc = chart_block(out, title, &t)))
            goto out;
    }
out:
    chart_text_free(&t);
    return rc;
}

/* ---- the table by source ------------------------------------------------------------------ */

#define SRC_COLS 6

static size_t cells_width(const char *s) {
    return chart_display_width(s, strlen(s));
}

static int source_row(chart_locale l, const char *name, const usage_cell *c, buf row[SRC_COLS]) {
    int rc = buf_append_str(&row[0], name) ? CHART_ENOMEM : 0;
    if (!rc)
        rc = usage_report_count(l, c->threads, &row[1]);
    if (!rc)
        rc = usage_report_count(l, c->answers, &row[2]);
    if (!rc)
        rc = tokens_cell(l, c->tokens_in, c, &row[3]);
    if (!rc)
        rc = tokens_cell(l, c->tokens_out, c, &row[4]);
    if (!rc)
        rc = usage_report_money(l, c, &row[5]);
    return rc;
}

int usage_report_sources(const usage_data *d, int month, const usage_report_opts *o,
                         usage_text *out) {
    static const char *const header[SRC_COLS] = {"source",    "threads",    "answers",
                                                 "tokens in", "tokens out", "cost"};
    const usage_cell *cells = month >= 0 && month < USAGE_MONTHS ? d->months[month].src : d->period;
    const usage_cell *total =
        month >= 0 && month < USAGE_MONTHS ? &d->months[month].total : &d->period[USAGE_N_SOURCES];
    buf rows[USAGE_N_SOURCES + 2][SRC_COLS];
    memset(rows, 0, sizeof rows);
    size_t n = 0;
    int rc = 0;
    for (int c = 0; c < SRC_COLS && !rc; c++)
        rc = buf_append_str(&rows[0][c], header[c]) ? CHART_ENOMEM : 0;
    n = 1;
    for (int s = 0; s < USAGE_N_SOURCES && !rc; s++) {
        if (s != USAGE_AMI && cell_empty(&cells[s]))
            continue;
        rc = source_row(o->locale, usage_source_label((usage_source)s), &cells[s], rows[n++]);
    }
    if (!rc)
        rc = source_row(o->locale, "total", total, rows[n++]);

    size_t w[SRC_COLS] = {0};
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < SRC_COLS; c++)
            if (rows[r][c].data && cells_width(rows[r][c].data) > w[c])
                w[c] = cells_width(rows[r][c].data);
    buf line = {0};
    for (size_t r = 0; r < n && !rc; r++) {
        buf_clear(&line);
        size_t starts[SRC_COLS], lens[SRC_COLS];
        rc = buf_append_str(&line, "  ") ? CHART_ENOMEM : 0;
        for (int c = 0; c < SRC_COLS && !rc; c++) {
            const char *cell = rows[r][c].data ? rows[r][c].data : "";
            size_t pad = w[c] - cells_width(cell);
            if (c > 0)
                for (size_t i = 0; i < pad + 2; i++)
                    rc |= buf_append_byte(&line, ' ');
            starts[c] = line.len;
            lens[c] = strlen(cell);
            rc |= buf_append_str(&line, cell);
            if (c == 0)
                for (size_t i = 0; i < pad; i++)
                    rc |= buf_append_byte(&line, ' ');
        }
        if (rc) {
            rc = CHART_ENOMEM;
            break;
        }
        size_t pos = out->text.len;
        if (buf_append(&out->text, line.data, line.len) || buf_append_byte(&out->text, '\n')) {
            rc = CHART_ENOMEM;
            break;
        }
        for (int c = 0; c < SRC_COLS && !rc; c++) {
            const char *group = r == 0   ? "AmiChartTitle"
                                : c == 0 ? "AmiChartLabel"
                                         : "AmiChartValue";
            if (lens[c] && strcmp(rows[r][c].data, "-") != 0)
                rc = add_span(out, out->lines, starts[c], lens[c], pos + starts[c], group);
        }
        out->lines++;
    }
    buf_free(&line);
    for (size_t r = 0; r < USAGE_N_SOURCES + 2; r++)
        for (int c = 0; c < SRC_COLS; c++)
            buf_free(&rows[r][c]);
    if (rc)
        return rc;

    /* The days where ami recorded more than OpenRouter reports. */
    for (size_t i = 0; i < d->n_mismatches; i++) {
        const usage_mismatch *m = &d->mismatches[i];
        if (month >= 0 && month < USAGE_MONTHS && strncmp(m->day, d->months[month].month, 7))
            continue;
        buf b = {0}, a = {0}, r = {0};
        rc = chart_format_money(o->locale, m->ami_usd, &a) ||
                     chart_format_money(o->locale, m->openrouter_usd, &r)
                 ? CHART_ENOMEM
                 : 0;
        if (!rc &&
            buf_printf(&b,
                       "  ! %s %s: ami recorded %lld request%s (%s), OpenRouter reports %lld (%s)",
                       m->day, m->model, m->ami_requests, m->ami_requests == 1 ? "" : "s", a.data,
                       m->openrouter_requests, r.data))
            rc = CHART_ENOMEM;
        if (!rc)
            rc = add_line(out, b.data, "AmiChartGaugeOver");
        buf_free(&a);
        buf_free(&r);
        buf_free(&b);
        if (rc)
            return rc;
    }
    return 0;
}
