/* usage_report: the usage report's pictures and tables, drawn from a usage_data (ami/
 * usage_data.h) with ami/chart.h.  The same code draws `ami usage`, `:AmiUsage` (text with
 * highlight spans) and `ami usage --html` (one self-contained page).  Pure: no I/O.
 *
 * The charts, for the USAGE_MONTHS months of the data:
 *   Spending per month   stacked bars: the most expensive models, the rest as "other" (text:
 *                        3 + other; SVG: 7 + other), every source together, counted once.
 *   Threads per month    stacked by source (ami, Open WebUI, ChatGPT, Claude: those with any).
 *   Tokens per month     text: two sparklines, in and out; SVG: bars split in and out.
 *   Budget               this month's ami spending against budget.monthly_usd, as a gauge,
 *                        when a budget is set (ami's budget counts ami's requests only).
 * Each text chart is headed by a title line (span AmiChartTitle); charts are separated by an
 * empty line.  Numbers follow the locale (chart.h: $1,234.56 or 1 234,56 $).
 *
 * Money cells everywhere: the known sum, "~" before it when part was estimated, "+?" after it
 * when some answers' cost is unknown (a lower bound never passes for the whole), "?" when
 * nothing is known, "-" for no answers at all.  Counts: "?" unknown, "-" not counted by the
 * source (OpenRouter has no threads).
 */
#ifndef AMI_USAGE_REPORT_H
#define AMI_USAGE_REPORT_H

#include "ami/buf.h"
#include "ami/chart.h"
#include "ami/usage_data.h"

/* Text with highlight spans, made of several charts and tables (spans as in chart.h, their
 * lines and positions counted in the whole text). */
typedef struct usage_text {
    buf text; /* UTF-8, each line ending with "\n" */
    chart_span *spans;
    size_t n_spans, spans_cap;
    size_t lines;
} usage_text;

typedef struct usage_report_opts {
    chart_locale locale;
    int width;         /* text: cells per line (0: 80) */
    double budget_usd; /* budget.monthly_usd, or < 0: none */
    const char *title; /* HTML: the page's heading (NULL: a default) */
    long long now;     /* HTML: when the page was made (Unix seconds; 0: not said) */
} usage_report_opts;

/// Releases t's memory (t is then empty and valid).  NULL is allowed.
void usage_text_free(usage_text *t);

/// Appends the charts (see the top) to out.  Returns 0, or a negative CHART_* code.
int usage_report_charts(const usage_data *d, const usage_report_opts *o, usage_text *out);

/// Appends the table of one month (index into d->months; USAGE_MONTHS for the whole period)
/// by source: threads, answers, tokens in and out, cost, one line per source that has data,
/// then the total; and the days where ami recorded more than OpenRouter reports.  Returns 0
/// or CHART_ENOMEM.
int usage_report_sources(const usage_data *d, int month, const usage_report_opts *o,
                         usage_text *out);

/// Appends a money cell (see the top) to out.
int usage_report_money(chart_locale l, const usage_cell *c, buf *out);
/// Appends a count: "-" for a negative value (not counted by that source), else the number.
int usage_report_count(chart_locale l, long long v, buf *out);

/// The whole HTML page (see doc/ami.txt, ami-usage-html): heading, summary, the charts as
/// inline SVG, the tables by month and source, by model, by document (file names only), the
/// carbon estimate, the notes on how things are counted.  No script, no external resource
/// (a Content-Security-Policy that forbids them).  Numeric cells carry their raw value in
/// data-value.  Replaces out's content.  Returns 0 or a negative CHART_* code.
int usage_report_html(const usage_data *d, const usage_report_opts *o, buf *out);

#endif
