/* chart: the SVG charts: bars (one series, several split into blocks, or stacked with a
 * legend) and the budget gauge, each one <svg> element, and the CSS for their classes:
 *
 *   <svg xmlns="http://www.w3.org/2000/svg" class="ami-chart" viewBox="0 0 640 …" …>
 *   <title>Usage chart</title>
 *   <text class="ami-label" x="…" y="…" text-anchor="end">2026-10</text>
 *   <rect class="ami-bar ami-s1" x="…" y="…" width="…" height="14" fill="#4e79a7">
 *   <title>2026-10: $12.34</title></rect>
 *   <text class="ami-value" x="…" y="…">$12.34</text>
 *   </svg>
 *
 * The labels, names and values come cleaned and measured from src/chart.c, with the bar
 * charts' layout; this file places them in tenths of a pixel and escapes the text.
 */
#include "chart_internal.h"

#include <math.h>
#include <string.h>

/* Default fills (Tableau 10), overridden by any CSS rule on .ami-s1 … .ami-s8. */
static const char *const svg_fills[CHART_MAX_SERIES] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f",
};

static const char css[] =
    ".ami-chart{font-family:ui-monospace,Menlo,Consolas,\"DejaVu Sans Mono\",monospace;"
    "font-size:12px}\n"
    ".ami-label,.ami-value,.ami-legend{fill:#333}\n"
    ".ami-heading{fill:#111;font-weight:bold}\n"
    ".ami-s1{fill:#4e79a7}.ami-s2{fill:#f28e2b}.ami-s3{fill:#e15759}.ami-s4{fill:#76b7b2}\n"
    ".ami-s5{fill:#59a14f}.ami-s6{fill:#edc948}.ami-s7{fill:#b07aa1}.ami-s8{fill:#9c755f}\n"
    ".ami-track{fill:#e6e6e6}.ami-gauge{fill:#59a14f}.ami-gauge.ami-over{fill:#e15759}\n"
    "@media (prefers-color-scheme:dark){.ami-label,.ami-value,.ami-legend{fill:#ccc}"
    ".ami-heading{fill:#eee}.ami-track{fill:#444}}\n";

const char *chart_svg_css(void) {
    return css;
}

/* ---- SVG -------------------------------------------------------------------------------- */

/* Geometry in tenths of a pixel. */
#define T_CELL        72 /* one cell of 12 px monospace: 0.6 em */
#define T_PAD         80
#define T_GAP         60
#define T_ROW         220
#define T_BAR         140
#define T_BAR_Y       40  /* top of a bar below the top of its row */
#define T_TEXT_Y      150 /* text baseline below the top of a row (or a legend line) */
#define T_LEGEND      200 /* a legend line or a heading */
#define SVG_CELLS_MAX 24  /* label and value columns, in cells */

typedef struct sw {
    buf *b;
    int err;
} sw;

static void sw_str(sw *s, const char *t) {
    if (!s->err && buf_append_str(s->b, t))
        s->err = CHART_ENOMEM;
}

/* A length in tenths: "12" or "12.5". */
static void sw_num(sw *s, long t) {
    if (s->err)
        return;
    if (t < 0) {
        sw_str(s, "-");
        t = -t;
    }
    if (buf_printf(s->b, "%ld", t / 10) || (t % 10 && buf_printf(s->b, ".%ld", t % 10)))
        s->err = CHART_ENOMEM;
}

/* Escaped text (the input was cleaned: no control character can reach here). */
static void sw_text(sw *s, const char *t, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n && !s->err; i++) {
        const char *e = NULL;
        switch (t[i]) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&apos;";
            break;
        default:
            continue;
        }
        if (buf_append(s->b, t + run, i - run))
            s->err = CHART_ENOMEM;
        sw_str(s, e);
        run = i + 1;
    }
    if (!s->err && buf_append(s->b, t + run, n - run))
        s->err = CHART_ENOMEM;
}

/* Escaped text cut to cells cells with "…". */
static void sw_fit(sw *s, const char *t, size_t n, size_t w, size_t cells) {
    if (w <= cells) {
        sw_text(s, t, n);
        return;
    }
    size_t used;
    size_t k = chart_prefix_cells(t, n, cells ? cells - 1 : 0, &used);
    sw_text(s, t, k);
    sw_str(s, CHART_ELLIPSIS);
}

static void svg_open(sw *s, const chart_ctx *c, long height, const char *default_title) {
    sw_str(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ami-chart\" viewBox=\"0 0 ");
    sw_num(s, CHART_SVG_WIDTH * 10);
    sw_str(s, " ");
    sw_num(s, height);
    sw_str(s, "\" width=\"");
    sw_num(s, CHART_SVG_WIDTH * 10);
    sw_str(s, "\" height=\"");
    sw_num(s, height);
    sw_str(s, "\" role=\"img\" font-family=\"monospace\" font-size=\"12\"><title>");
    const char *t = c->o->title ? c->o->title : default_title;
    buf tmp = {0}, scratch = {0};
    if (chart_clean_append(&scratch, t, strlen(t), &tmp))
        s->err = CHART_ENOMEM;
    else
        sw_text(s, tmp.data ? tmp.data : "", tmp.len);
    buf_free(&tmp);
    buf_free(&scratch);
    sw_str(s, "</title>\n");
}

/* <text class=… x=… y=… [text-anchor=end]>escaped, cut to cells</text> */
static void svg_label(sw *s, const char *cls, long x, long y, int end, const chart_ctx *c,
                      const chart_str *t, size_t cells) {
    sw_str(s, "<text class=\"");
    sw_str(s, cls);
    sw_str(s, "\" x=\"");
    sw_num(s, x);
    sw_str(s, "\" y=\"");
    sw_num(s, y);
    if (strcmp(cls, "ami-heading") == 0)
        sw_str(s, "\" font-weight=\"bold");
    sw_str(s, end ? "\" text-anchor=\"end\">" : "\">");
    sw_fit(s, chart_str_at(c, t), t->len, t->w, cells);
    sw_str(s, "</text>\n");
}

/* <rect class="<cls>K" x=… y=… width=… height=… fill="<series K's fill>, K = series + 1, the
 * tag left open after the fill's value. */
static void svg_rect(sw *s, const char *cls, size_t series, long x, long y, long w, long h) {
    sw_str(s, "<rect class=\"");
    sw_str(s, cls);
    if (!s->err && buf_printf(s->b, "%zu", series + 1))
        s->err = CHART_ENOMEM;
    sw_str(s, "\" x=\"");
    sw_num(s, x);
    sw_str(s, "\" y=\"");
    sw_num(s, y);
    sw_str(s, "\" width=\"");
    sw_num(s, w);
    sw_str(s, "\" height=\"");
    sw_num(s, h);
    sw_str(s, "\" fill=\"");
    sw_str(s, svg_fills[series]);
}

/* <rect class="ami-bar ami-sK" …><title>label[, name]: value</title></rect> */
static void svg_bar(sw *s, size_t series, long x, long y, long w, long h, const chart_ctx *c,
                    const chart_str *label, const chart_str *name, const chart_str *value) {
    svg_rect(s, "ami-bar ami-s", series, x, y, w, h);
    sw_str(s, "\"><title>");
    sw_text(s, chart_str_at(c, label), label->len);
    if (name && name->len) {
        sw_str(s, ", ");
        sw_text(s, chart_str_at(c, name), name->len);
    }
    sw_str(s, ": ");
    sw_text(s, chart_str_at(c, value), value->len);
    sw_str(s, "</title></rect>\n");
}

/* Legend rows for a stacked SVG from y; returns the height used. */
static long svg_legend(sw *s, const chart_ctx *c, const chart_layout *L, long y, int draw) {
    long x = T_PAD, right = CHART_SVG_WIDTH * 10 - T_PAD, h = T_LEGEND;
    for (size_t k = 0; k < L->ns; k++) {
        size_t cells = L->names[k].w < 30 ? L->names[k].w : 30;
        long item = 140 + (long)cells * T_CELL;
        if (x > T_PAD && x + item > right) {
            x = T_PAD;
            y += T_LEGEND;
            h += T_LEGEND;
        }
        if (draw) {
            svg_rect(s, "ami-s", k, x, y + 60, 100, 100); /* a 10 px swatch */
            sw_str(s, "\"/>\n");
            svg_label(s, "ami-legend", x + 140, y + T_TEXT_Y, 0, c, &L->names[k], 30);
        }
        x += item + 160;
    }
    return h;
}

/* Bar lengths in tenths: v of max over full, at least 1 px when v > 0. */
static long bar_len(double v, double max, long full) {
    if (!(v > 0) || !(max > 0))
        return 0;
    double x = v / max * (double)full;
    if (isnan(x))
        return 0;
    long t = x >= (double)full ? full : (long)floor(x + 0.5);
    return t < 10 ? 10 : t;
}

int chart_bars_svg(const chart_data *d, const chart_opts *o, buf *out) {
    if (!out)
        return CHART_EINVAL;
    buf_clear(out);
    int rc = chart_check_data(d);
    if (rc)
        return rc;
    chart_ctx c;
    chart_ctx_init(&c, o);
    const char *def = c.o->locale == CHART_FR ? "Graphique de consommation" : "Usage chart";
    chart_layout L;
    memset(&L, 0, sizeof L);
    if (d->n_labels && d->n_series)
        rc = chart_layout_prepare(&c, d, &L);
    sw s = {out, rc};
    if (!rc) {
        /* Columns: labels right-aligned before the bars, values after them. */
        size_t lc = 0, vc = 0;
        for (size_t i = 0; i < L.n; i++)
            lc = L.labels[i].w > lc ? L.labels[i].w : lc;
        size_t nv = L.stacked ? L.n : L.n * L.ns;
        for (size_t k = 0; k < nv; k++)
            vc = L.values[k].w > vc ? L.values[k].w : vc;
        lc = lc < SVG_CELLS_MAX ? lc : SVG_CELLS_MAX;
        vc = vc < SVG_CELLS_MAX ? vc : SVG_CELLS_MAX;
        long label_end = T_PAD + (long)lc * T_CELL;
        long x0 = lc ? label_end + T_GAP : T_PAD;
        long full = CHART_SVG_WIDTH * 10 - T_PAD - x0 - (long)vc * T_CELL - T_GAP;

        long height = 2 * T_PAD;
        if (L.n && L.stacked)
            height += svg_legend(&s, &c, &L, 0, 0) + (long)L.n * T_ROW;
        else if (L.n)
            height += (long)L.ns * (long)L.n * T_ROW + (L.ns > 1 ? (long)L.ns * T_LEGEND : 0);
        svg_open(&s, &c, height, def);

        long y = T_PAD;
        if (L.n && L.stacked) {
            y += svg_legend(&s, &c, &L, y, 1);
            for (size_t i = 0; i < L.n; i++, y += T_ROW) {
                svg_label(&s, "ami-label", label_end, y + T_TEXT_Y, 1, &c, &L.labels[i],
                          SVG_CELLS_MAX);
                long x = x0;
                double cum = 0;
                for (size_t k = 0; k < L.ns && !s.err; k++) {
                    double v = d->series[k].values[i];
                    if (!chart_known(v) || !(chart_clamp0(v) > 0))
                        continue;
                    cum = chart_add_sat(cum, chart_clamp0(v));
                    long edge = x0 + bar_len(cum, L.max, full);
                    if (edge < x + 10)
                        edge = x + 10;
                    chart_str val;
                    if ((s.err = chart_pool_value(&c, v, &val)))
                        break;
                    svg_bar(&s, k, x, y + T_BAR_Y, edge - x, T_BAR, &c, &L.labels[i], &L.names[k],
                            &val);
                    x = edge;
                }
                svg_label(&s, "ami-value", x + 40, y + T_TEXT_Y, 0, &c, &L.values[i],
                          SVG_CELLS_MAX);
            }
        } else if (L.n) {
            for (size_t k = 0; k < L.ns; k++) {
                if (L.ns > 1) {
                    svg_label(&s, "ami-heading", T_PAD, y + T_TEXT_Y, 0, &c, &L.names[k], 80);
                    y += T_LEGEND;
                }
                for (size_t i = 0; i < L.n; i++, y += T_ROW) {
                    const chart_str *val = &L.values[k * L.n + i];
                    double v = d->series[k].values[i];
                    long len = chart_known(v) ? bar_len(chart_clamp0(v), L.max, full) : 0;
                    svg_label(&s, "ami-label", label_end, y + T_TEXT_Y, 1, &c, &L.labels[i],
                              SVG_CELLS_MAX);
                    if (len)
                        svg_bar(&s, k, x0, y + T_BAR_Y, len, T_BAR, &c, &L.labels[i],
                                L.ns > 1 ? &L.names[k] : NULL, val);
                    svg_label(&s, "ami-value", x0 + len + 40, y + T_TEXT_Y, 0, &c, val,
                              SVG_CELLS_MAX);
                }
            }
        }
        sw_str(&s, "</svg>\n");
    }
    rc = s.err;
    chart_layout_free(&L);
    chart_ctx_free(&c);
    if (rc)
        buf_clear(out);
    return rc;
}

/* One of the gauge's two rects, the track or the bar on it: len tenths of a pixel long. */
static void gauge_rect(sw *s, const char *cls, long len, const char *fill) {
    sw_str(s, "<rect class=\"");
    sw_str(s, cls);
    sw_str(s, "\" x=\"");
    sw_num(s, T_PAD);
    sw_str(s, "\" y=\"");
    sw_num(s, T_PAD);
    sw_str(s, "\" width=\"");
    sw_num(s, len);
    sw_str(s, "\" height=\"16\" rx=\"3\" fill=\"");
    sw_str(s, fill);
    sw_str(s, "\"/>\n");
}

int chart_gauge_svg(double spent, double budget, const chart_opts *o, buf *out) {
    if (!out)
        return CHART_EINVAL;
    buf_clear(out);
    if (!(budget > 0) || !isfinite(budget))
        return CHART_EINVAL;
    chart_ctx c;
    chart_ctx_init(&c, o);
    chart_str cap;
    int rc = chart_gauge_caption(&c, spent, budget, &cap);
    sw s = {out, rc};
    if (!rc) {
        size_t cc = cap.w < 40 ? cap.w : 40;
        long track = CHART_SVG_WIDTH * 10 - 2 * T_PAD - T_GAP - (long)cc * T_CELL;
        double ratio = chart_known(spent) ? chart_clamp0(spent) / budget : 0;
        int over = ratio > 1;
        long len = bar_len(ratio > 1 ? 1 : ratio, 1, track);
        svg_open(&s, &c, 2 * T_PAD + 160, c.o->locale == CHART_FR ? "Budget" : "Budget gauge");
        gauge_rect(&s, "ami-track", track, "#e6e6e6");
        if (len)
            gauge_rect(&s, over ? "ami-gauge ami-over" : "ami-gauge", len,
                       over ? "#e15759" : "#59a14f");
        svg_label(&s, "ami-value", T_PAD + track + T_GAP, T_PAD + 120, 0, &c, &cap, 40);
        sw_str(&s, "</svg>\n");
    }
    rc = s.err;
    chart_ctx_free(&c);
    if (rc)
        buf_clear(out);
    return rc;
}
