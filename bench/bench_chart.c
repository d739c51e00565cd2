/* Micro-benchmark of the charts (src/chart*.c): 12 months × 8 series, as `ami usage` draws
 * them: text split into blocks, text stacked (4 series: 3 models + other), the SVG stacked
 * with 8 series and a legend, the sparklines and the gauge.  Prints the median time per call
 * over several runs; exits 1 if a chart fails.
 *
 *   make build/bench/bench_chart && build/bench/bench_chart
 */
#include "ami/buf.h"
#include "ami/chart.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RUNS  9
#define CALLS 200

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { TEXT_SPLIT, TEXT_STACKED, SVG_STACKED, SVG_SPLIT, SPARK, GAUGE };

static int once(int what, const chart_data *d, chart_opts *o, chart_text *t, buf *b) {
    switch (what) {
    case TEXT_SPLIT:
        o->mode = CHART_SPLIT;
        return chart_bars(d, o, t);
    case TEXT_STACKED: {
        chart_data four = *d;
        four.n_series = 4;
        o->mode = CHART_STACKED;
        return chart_bars(&four, o, t);
    }
    case SVG_STACKED:
        o->mode = CHART_STACKED;
        return chart_bars_svg(d, o, b);
    case SVG_SPLIT:
        o->mode = CHART_SPLIT;
        return chart_bars_svg(d, o, b);
    case SPARK: {
        chart_data two = *d;
        two.n_series = 2;
        return chart_spark(&two, o, t);
    }
    default:
        return chart_gauge(2.1, 5, o, t);
    }
}

static int bench(const char *name, int what, const chart_data *d, chart_locale l) {
    chart_opts o;
    chart_opts_default(&o);
    o.locale = l;
    chart_text t = {0};
    buf b = {0};
    double per_call[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_us();
        for (int k = 0; k < CALLS; k++) {
            if (once(what, d, &o, &t, &b) != CHART_OK) {
                fprintf(stderr, "bench_chart: %s failed\n", name);
                return 1;
            }
        }
        per_call[r] = (now_us() - t0) / CALLS;
    }
    qsort(per_call, RUNS, sizeof *per_call, cmp);
    size_t bytes = what == SVG_STACKED || what == SVG_SPLIT ? b.len : t.text.len;
    printf("chart %-26s median %7.1f µs per call (min %.1f, max %.1f; %zu bytes out, %d runs "
           "× %d calls)\n",
           name, per_call[RUNS / 2], per_call[0], per_call[RUNS - 1], bytes, RUNS, CALLS);
    chart_text_free(&t);
    buf_free(&b);
    return 0;
}

int main(void) {
    static const char *months[12] = {"2026-01", "2026-02", "2026-03", "2026-04",
                                     "2026-05", "2026-06", "2026-07", "2026-08",
                                     "2026-09", "2026-10", "2026-11", "2026-12"};
    static const char *names[8] = {"gpt-4o",   "claude-sonnet-4", "mistral-large",
                                   "other",    "gemini-2.5-pro",  "llama-3.3-70b",
                                   "qwen-2.5", "deepseek"};
    static double values[8][12];
    chart_series s[8];
    for (int k = 0; k < 8; k++) {
        for (int i = 0; i < 12; i++)
            values[k][i] = (double)((k * 7 + i * 13) % 29) * 0.37 + (k == 0 ? 3 : 0);
        s[k].name = names[k];
        s[k].values = values[k];
    }
    chart_data d = {months, 12, s, 8};
    int rc = 0;
    rc |= bench("text split 12x8", TEXT_SPLIT, &d, CHART_EN);
    rc |= bench("text split 12x8 (fr)", TEXT_SPLIT, &d, CHART_FR);
    rc |= bench("text stacked 12x4", TEXT_STACKED, &d, CHART_EN);
    rc |= bench("svg stacked 12x8", SVG_STACKED, &d, CHART_EN);
    rc |= bench("svg split 12x8", SVG_SPLIT, &d, CHART_EN);
    rc |= bench("text spark 12x2", SPARK, &d, CHART_EN);
    rc |= bench("text gauge", GAUGE, &d, CHART_EN);
    return rc;
}
