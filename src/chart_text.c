/* chart: the text charts, lines of UTF-8 with a highlight span for every piece drawn: bars
 * (one series, several split into blocks, or stacked), the budget gauge and sparklines.
 *
 *   2026-10 ████████████████████████████▍ $12.34        bars: eighths of a cell
 *   2026-11 ▏ $0.01
 *   [████████▌           ] 42% of $5.00                 the gauge
 *   in  ▁▂▃▅▇█▆▅ 45.2k                                   a sparkline per series
 *
 * The labels, names and values come cleaned and measured from src/chart.c, with the
 * columns of the bar charts' layout; this file writes the lines (include/ami/chart.h says
 * what they look like, and which highlight groups the spans carry).
 */
#include "chart_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FULL_BLOCK "\xE2\x96\x88"

static const char *const bar_groups[CHART_MAX_SERIES] = {
    "AmiChartBar",  "AmiChartBar2", "AmiChartBar3", "AmiChartBar4",
    "AmiChartBar5", "AmiChartBar6", "AmiChartBar7", "AmiChartBar8",
};

/* Stacked text fills, one per series: readable without colour. */
static const char *const stack_fills[CHART_MAX_STACKED_TEXT] = {
    "\xE2\x96\x88", /* █ */
    "\xE2\x96\x93", /* ▓ */
    "\xE2\x96\x92", /* ▒ */
    "\xE2\x96\x91", /* ░ */
};

/* Left blocks by eighths: index 1 = ▏ (U+258F) … 7 = ▉ (U+2589); all three bytes long. */
static const char *const eighth_blocks[8] = {
    "",
    "\xE2\x96\x8F",
    "\xE2\x96\x8E",
    "\xE2\x96\x8D",
    "\xE2\x96\x8C",
    "\xE2\x96\x8B",
    "\xE2\x96\x8A",
    "\xE2\x96\x89",
};

void chart_text_free(chart_text *t) {
    if (!t)
        return;
    buf_free(&t->text);
    free(t->spans);
    memset(t, 0, sizeof *t);
}

/* ---- text writing with spans ------------------------------------------------------------ */

/* Spaces are held as `pending` and written only when something follows them on the line,
 * so no line ends with a space (a padded label before an empty bar and no value, say). */
typedef struct tw {
    chart_text *t;
    size_t line, line_start;
    size_t pending;
    int err;
} tw;

static void tw_raw(tw *w, const char *s, size_t n) {
    if (!w->err && n && buf_append(&w->t->text, s, n))
        w->err = CHART_ENOMEM;
}

static void tw_put(tw *w, const char *s, size_t n) {
    static const char sp[] = "                                ";
    if (n == 0)
        return;
    while (w->pending) {
        size_t k = w->pending < sizeof sp - 1 ? w->pending : sizeof sp - 1;
        tw_raw(w, sp, k);
        w->pending -= k;
    }
    tw_raw(w, s, n);
}

static void tw_str(tw *w, const char *s) {
    tw_put(w, s, strlen(s));
}

static void tw_spaces(tw *w, size_t n) {
    w->pending += n;
}

static void tw_nl(tw *w) {
    w->pending = 0;
    tw_raw(w, "\n", 1);
    w->line++;
    w->line_start = w->t->text.len;
}

/* Where the next visible byte will go (pending spaces included). */
static size_t tw_pos(const tw *w) {
    return w->t->text.len + w->pending;
}

/* Records a span from start to the current end of the text. */
static void tw_span(tw *w, size_t start, const char *group) {
    chart_text *t = w->t;
    if (w->err || t->text.len <= start)
        return;
    if (t->n_spans == t->spans_cap) {
        size_t cap = t->spans_cap ? 2 * t->spans_cap : 32;
        chart_span *p = realloc(t->spans, cap * sizeof *p);
        if (!p) {
            w->err = CHART_ENOMEM;
            return;
        }
        t->spans = p;
        t->spans_cap = cap;
    }
    chart_span *s = &t->spans[t->n_spans++];
    s->line = w->line;
    s->col = start - w->line_start;
    s->len = t->text.len - start;
    s->pos = start;
    s->group = group;
}

/* Writes s into at most cells cells (cut with "…" when too wide); returns the width used. */
static size_t tw_fit(tw *w, const char *s, size_t len, size_t swidth, size_t cells) {
    if (swidth <= cells) {
        tw_put(w, s, len);
        return swidth;
    }
    if (cells == 0)
        return 0;
    size_t used;
    size_t n = chart_prefix_cells(s, len, cells - 1, &used);
    tw_put(w, s, n);
    tw_str(w, CHART_ELLIPSIS);
    return used + 1;
}

static int text_begin(chart_text *out) {
    buf_clear(&out->text);
    out->n_spans = 0;
    return buf_append(&out->text, "", 0) ? CHART_ENOMEM : 0;
}

static int text_fail(chart_text *out, int rc) {
    buf_clear(&out->text);
    out->n_spans = 0;
    return rc;
}

/* What a chart of data does first: out emptied, d checked.  CHART_OK, or a negative code
 * (out then empty). */
static int text_start(const chart_data *d, chart_text *out) {
    if (!out)
        return CHART_EINVAL;
    int rc = text_begin(out);
    if (rc)
        return rc;
    if ((rc = chart_check_data(d)))
        return text_fail(out, rc);
    return CHART_OK;
}

/* ---- bars ------------------------------------------------------------------------------- */

/* Eighths of a cell for v on a scale where max fills cells cells: rounded to the nearest,
 * at least one for any v > 0. */
static size_t eighths(double v, double max, size_t cells) {
    if (!(v > 0) || !(max > 0))
        return 0;
    size_t full = cells * 8;
    double x = v / max * (double)full;
    if (isnan(x))
        return 0;
    size_t e = x >= (double)full ? full : (size_t)floor(x + 0.5);
    if (e == 0)
        e = 1;
    return e > full ? full : e;
}

static void tw_blocks(tw *w, size_t e) {
    for (size_t i = 0; i < e / 8; i++)
        tw_str(w, FULL_BLOCK);
    tw_str(w, eighth_blocks[e % 8]);
}

static void put_label(tw *w, const chart_ctx *c, const chart_layout *L, size_t i) {
    if (L->lw == 0)
        return;
    size_t at = tw_pos(w);
    size_t used =
        tw_fit(w, chart_str_at(c, &L->labels[i]), L->labels[i].len, L->labels[i].w, L->lw);
    tw_span(w, at, "AmiChartLabel");
    tw_spaces(w, L->lw - used + 1);
}

/* " value", cut to vw cells; nothing for an empty value (no trailing space). */
static void put_value(tw *w, const chart_ctx *c, size_t vw, const chart_str *v) {
    if (v->len == 0)
        return;
    tw_put(w, " ", 1);
    size_t at = tw_pos(w);
    tw_fit(w, chart_str_at(c, v), v->len, v->w, vw);
    tw_span(w, at, "AmiChartValue");
}

/* Whole cells per stacked segment: cumulative rounding (no drift), at least one cell for any
 * segment > 0, never more than barw in all.  cells[] gets ns entries. */
static void stack_cells(const chart_data *d, size_t i, double max, size_t barw, size_t *cells) {
    size_t ns = d->n_series, total = 0, prev = 0;
    double cum = 0;
    for (size_t s = 0; s < ns; s++) {
        double v = d->series[s].values[i];
        v = chart_known(v) ? chart_clamp0(v) : 0;
        cum = chart_add_sat(cum, v);
        size_t edge = 0;
        if (max > 0) {
            double x = cum / max * (double)barw;
            edge = isnan(x) ? 0 : x >= (double)barw ? barw : (size_t)floor(x + 0.5);
        }
        if (edge < prev)
            edge = prev;
        cells[s] = edge - prev;
        prev = edge;
        if (v > 0 && cells[s] == 0)
            cells[s] = 1;
        total += cells[s];
    }
    while (total > barw) {
        size_t big = 0;
        for (size_t s = 1; s < ns; s++)
            if (cells[s] > cells[big])
                big = s;
        if (cells[big] <= 1)
            break; /* cannot happen: ns <= CHART_MAX_STACKED_TEXT < barw */
        cells[big]--;
        total--;
    }
}

static void legend_text(tw *w, const chart_ctx *c, const chart_layout *L) {
    size_t W = c->width, x = 0;
    for (size_t s = 0; s < L->ns; s++) {
        const chart_str *nm = &L->names[s];
        size_t item = 2 + (nm->w < W - 2 ? nm->w : W - 2);
        if (x && x + 2 + item > W) {
            tw_nl(w);
            x = 0;
        }
        if (x) {
            tw_spaces(w, 2);
            x += 2;
        }
        size_t at = tw_pos(w);
        tw_str(w, stack_fills[s]);
        tw_span(w, at, bar_groups[s]);
        x += 1;
        if (nm->len) {
            tw_put(w, " ", 1);
            at = tw_pos(w);
            x += 1 + tw_fit(w, chart_str_at(c, nm), nm->len, nm->w, W - 2);
            tw_span(w, at, "AmiChartLegend");
        }
    }
    tw_nl(w);
}

int chart_bars(const chart_data *d, const chart_opts *o, chart_text *out) {
    int rc = text_start(d, out);
    if (rc)
        return rc;
    if (o && o->mode == CHART_STACKED && d->n_series > CHART_MAX_STACKED_TEXT)
        return text_fail(out, CHART_EINVAL); /* refused even with no labels to draw */
    if (d->n_labels == 0 || d->n_series == 0)
        return CHART_OK;
    chart_ctx c;
    chart_ctx_init(&c, o);
    chart_layout L;
    rc = chart_layout_prepare(&c, d, &L);
    tw w = {out, 0, 0, 0, rc};
    if (!rc && L.stacked) {
        size_t cells[CHART_MAX_STACKED_TEXT];
        legend_text(&w, &c, &L);
        for (size_t i = 0; i < L.n; i++) {
            put_label(&w, &c, &L, i);
            stack_cells(d, i, L.max, L.barw, cells);
            for (size_t s = 0; s < L.ns; s++) {
                size_t at = tw_pos(&w);
                for (size_t k = 0; k < cells[s]; k++)
                    tw_str(&w, stack_fills[s]);
                tw_span(&w, at, bar_groups[s]);
            }
            put_value(&w, &c, L.vw, &L.values[i]);
            tw_nl(&w);
        }
    } else if (!rc) {
        for (size_t s = 0; s < L.ns; s++) {
            if (L.ns > 1) {
                if (s > 0)
                    tw_nl(&w);
                size_t at = tw_pos(&w);
                tw_fit(&w, chart_str_at(&c, &L.names[s]), L.names[s].len, L.names[s].w, c.width);
                tw_span(&w, at, "AmiChartTitle");
                tw_nl(&w);
            }
            for (size_t i = 0; i < L.n; i++) {
                put_label(&w, &c, &L, i);
                double v = d->series[s].values[i];
                size_t at = tw_pos(&w);
                tw_blocks(&w, chart_known(v) ? eighths(chart_clamp0(v), L.max, L.barw) : 0);
                tw_span(&w, at, bar_groups[s]);
                put_value(&w, &c, L.vw, &L.values[s * L.n + i]);
                tw_nl(&w);
            }
        }
    }
    rc = w.err;
    chart_layout_free(&L);
    chart_ctx_free(&c);
    return rc ? text_fail(out, rc) : CHART_OK;
}

/* ---- gauge ------------------------------------------------------------------------------ */

#define GAUGE_MIN_BAR 4

int chart_gauge(double spent, double budget, const chart_opts *o, chart_text *out) {
    if (!out)
        return CHART_EINVAL;
    int rc = text_begin(out);
    if (rc)
        return rc;
    if (!(budget > 0) || !isfinite(budget))
        return text_fail(out, CHART_EINVAL);
    chart_ctx c;
    chart_ctx_init(&c, o);
    chart_str cap;
    rc = chart_gauge_caption(&c, spent, budget, &cap);
    tw w = {out, 0, 0, 0, rc};
    if (!rc) {
        size_t W = c.width;
        size_t barw = W - 3 > cap.w + GAUGE_MIN_BAR ? W - 3 - cap.w : GAUGE_MIN_BAR;
        double ratio = chart_known(spent) ? chart_clamp0(spent) / budget : 0;
        int over = ratio > 1;
        size_t e = eighths(ratio > 1 ? 1 : ratio, 1, barw);
        tw_put(&w, "[", 1);
        size_t at = tw_pos(&w);
        tw_blocks(&w, e);
        tw_span(&w, at, over ? "AmiChartGaugeOver" : "AmiChartGauge");
        tw_spaces(&w, barw - (e + 7) / 8);
        tw_put(&w, "] ", 2);
        at = tw_pos(&w);
        tw_fit(&w, chart_str_at(&c, &cap), cap.len, cap.w, W - 3 - barw);
        tw_span(&w, at, "AmiChartValue");
        tw_nl(&w);
    }
    rc = w.err;
    chart_ctx_free(&c);
    return rc ? text_fail(out, rc) : CHART_OK;
}

/* ---- sparklines ------------------------------------------------------------------------- */

int chart_spark(const chart_data *d, const chart_opts *o, chart_text *out) {
    int rc = text_start(d, out);
    if (rc)
        return rc;
    if (d->n_labels == 0 || d->n_series == 0)
        return CHART_OK;
    chart_ctx c;
    chart_ctx_init(&c, o);
    size_t n = d->n_labels, ns = d->n_series, W = c.width;
    chart_str names[CHART_MAX_SERIES], last[CHART_MAX_SERIES];
    size_t nw = 0, vw = 0;
    for (size_t s = 0; s < ns && !rc; s++) {
        rc = chart_pool_add(&c, d->series[s].name, &names[s]);
        if (!rc)
            rc = chart_pool_value(&c, d->series[s].values[n - 1], &last[s]);
        if (!rc && names[s].w > nw)
            nw = names[s].w;
        if (!rc && last[s].w > vw)
            vw = last[s].w;
    }
    tw w = {out, 0, 0, 0, rc};
    if (!rc) {
        nw = nw < W / 4 ? nw : W / 4;
        vw = vw < W / 3 ? vw : W / 3;
        size_t avail = W - vw - 1 - (nw ? nw + 1 : 0);
        size_t npts = n < avail ? n : avail, first = n - npts;
        for (size_t s = 0; s < ns; s++) {
            const double *v = d->series[s].values;
            if (nw) {
                size_t at = tw_pos(&w);
                size_t used = tw_fit(&w, chart_str_at(&c, &names[s]), names[s].len, names[s].w, nw);
                tw_span(&w, at, "AmiChartLabel");
                tw_spaces(&w, nw - used + 1);
            }
            double max = 0;
            for (size_t i = first; i < n; i++)
                if (chart_known(v[i]) && chart_clamp0(v[i]) > max)
                    max = chart_clamp0(v[i]);
            size_t at = tw_pos(&w);
            for (size_t i = first; i < n; i++) {
                double x = chart_known(v[i]) ? chart_clamp0(v[i]) : 0;
                if (!(x > 0) || !(max > 0)) {
                    tw_put(&w, " ", 1);
                    continue;
                }
                double f = x / max * 8;
                size_t level = f >= 8 ? 8 : (size_t)floor(f + 0.5);
                if (level < 1)
                    level = 1;
                char g[3] = {'\xE2', '\x96', (char)(0x80 + level)}; /* U+2581 + level - 1 */
                tw_put(&w, g, 3);
            }
            tw_span(&w, at, bar_groups[s]);
            put_value(&w, &c, vw, &last[s]);
            tw_nl(&w);
        }
    }
    rc = w.err;
    chart_ctx_free(&c);
    return rc ? text_fail(out, rc) : CHART_OK;
}
