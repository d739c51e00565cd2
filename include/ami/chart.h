/* chart: usage pictures drawn with text (UTF-8 block characters) and as SVG.
 *
 * `ami usage`, `:AmiUsage` and `ami usage --html` draw the same charts from the same code:
 * bars per month (one series, or several split or stacked), a budget gauge and a sparkline
 * line for tokens in/out.  Pure: arrays of labels and values in, text (plus highlight spans)
 * or an SVG string out; no I/O, no colours, no global state.  Numbers are formatted without
 * the C locale (printf's decimal point follows setlocale; ours never does).
 *
 * Text charts
 *   Bars, one line per label, the value printed after the bar (no trailing spaces):
 *       2026-10 ████████████████████████████▍ $12.34
 *       2026-11 ▏ $0.01
 *   The bar of the largest value fills the bar column; the others are in proportion, in
 *   eighths of a cell (█▉▊▋▌▍▎▏), rounded to the nearest eighth, and any value > 0 gets at
 *   least ▏.  Several series:
 *     CHART_SPLIT    one block of lines per series, headed by its name, blocks separated by
 *                    an empty line, all on one scale (so blocks compare).  Any number of
 *                    series up to CHART_MAX_SERIES; precise to the eighth.
 *     CHART_STACKED  one line per label, a segment per series filled █ ▓ ▒ ░ (readable
 *                    without colours), whole cells only, the value is the row total; a
 *                    legend line first ("█ gpt-4o  ▓ claude  ▒ other"), wrapped to the
 *                    width.  At most CHART_MAX_STACKED_TEXT series (fold the rest into an
 *                    "other" series); each segment > 0 gets at least one cell.
 *   Gauge:  [████████▌           ] 42% of $5.00     (French: 42 % de 5,00 $).  Over budget,
 *   the bar is full and its span is AmiChartGaugeOver.
 *   Sparkline ("a line"): one line per series, one cell per label (▁▂▃▄▅▆▇█, each series on
 *   its own scale, 0 and unknown as a space), then the last label's value:
 *       in  ▁▂▃▅▇█▆▅ 45.2k
 *       out ▁▁▂▂▃▅▇█ 3.1k
 *   When there are more labels than cells, the most recent ones (the last) are drawn.
 *
 *   Width: opts.width display cells per line (0 means CHART_DEFAULT_WIDTH); below
 *   CHART_MIN_WIDTH it is raised to it, above CHART_MAX_WIDTH lowered.  Every line then fits:
 *   labels longer than their column (at most half of what the value column leaves) and
 *   values longer than a third of the width are cut with "…".  Display width counts code
 *   points, East Asian wide and fullwidth characters as 2 cells, combining marks and
 *   zero-width characters as 0, and everything else (the blocks and "…" included, which are
 *   East Asian "ambiguous") as 1, as Neovim does with its default 'ambiwidth' single.
 *
 *   Spans: for every label, bar (or segment) and value drawn, one chart_span with its line,
 *   its byte range in that line (for nvim_buf_add_highlight) and in the whole text, and a
 *   highlight group name: AmiChartLabel, AmiChartValue, AmiChartTitle (split headings),
 *   AmiChartLegend (legend names), AmiChartBar for series 1, AmiChartBar2 … AmiChartBar8
 *   for the others (a legend swatch has its series' group), AmiChartGauge,
 *   AmiChartGaugeOver.  Spans never cut a code point and never have length 0.
 *
 * SVG charts: one <svg> element (no XML declaration, no script, no external reference),
 * with xmlns, viewBox, width and height in px, role="img" and a <title> (opts.title, or a
 * default per locale) as first child; a <title> on each bar for hover.  Classes for the
 * caller's <style>: ami-chart (root), ami-label, ami-value, ami-legend, ami-heading,
 * ami-bar with ami-s1 … ami-s8 (series), ami-track, ami-gauge, ami-over.  Fills and the
 * font (monospace, 12 px) are also given as presentation attributes, which any CSS rule
 * overrides, so the picture is readable with no style at all.  The layout assumes the font
 * at 12 px (7.2 px per cell).  Text is escaped (& < > " ' as entities) after the label clean-
 * up below, so the output is well-formed XML 1.0.
 *
 * Values: NaN and ±infinity are unknown: no bar, "?" as the value, left out of the scale and
 * of stacked totals (a row with only unknown values shows "?"; totals past DBL_MAX stay at
 * DBL_MAX).  Negative values are treated
 * as 0 (usage totals cannot be negative; a negative one is a bug upstream, not a picture).
 * All zeros: empty bars, values shown.  No labels (or no series): an empty text (no line at
 * all), or an SVG with its title and nothing drawn.
 *
 * Labels and names: at most CHART_MAX_LABEL_BYTES bytes are read (cut at a code point);
 * invalid UTF-8 becomes U+FFFD (ami/utf8.h), and so do control characters (C0, DEL, C1, so
 * a label cannot break a line), U+2028/U+2029, the bidi embedding/override/isolate controls
 * (U+202A–U+202E, U+2066–U+2069) and U+FFFE/U+FFFF (not XML characters); leading and
 * trailing spaces are dropped.  NULL is "".  The caller's formatter output gets the same
 * clean-up.
 *
 * Numbers (chart_format_*): English $1,234.56; French 1 234,56 $ with U+202F (narrow
 * no-break space) between thousands, a comma for decimals and U+00A0 (no-break space)
 * before the $ sign (CLDR's fr pattern).  Under a cent, 4 decimals ($0.0045).  Tokens: 950,
 * 1.2k, 12.3k, 123k, 1.2M, then G and T (French 1,2 k with U+00A0).  Counts: 1,234 /
 * 1 234.  Percent: 42% / 42 % (U+202F).  From 1e15 up: scientific, $1.23e15.  Negative
 * numbers get a leading "-".  NaN and infinities: "?".
 *
 * Ownership: chart_text and buf outputs belong to the caller; a zero-initialised chart_text
 * is valid, each call replaces its content (keeping its memory), chart_text_free() releases
 * it.  Span group names are static strings.  No input pointer is kept.  On failure the
 * output is emptied (text "" and no spans, or an empty buf) and a negative code returned.
 */
#ifndef AMI_CHART_H
#define AMI_CHART_H

#include "ami/buf.h"

#include <stddef.h>

/* Return codes.  CHART_EINVAL: NULL where data is needed, too many series for stacked text,
 * a budget that is not > 0 and finite. */
#define CHART_OK      0
#define CHART_EINVAL  (-1)
#define CHART_ENOMEM  (-2)
#define CHART_ETOOBIG (-3) /* more labels or series than the limits below */
#define CHART_EFORMAT (-4) /* the caller's formatter returned non-zero */

/* Limits. */
#define CHART_DEFAULT_WIDTH    80
#define CHART_MIN_WIDTH        20
#define CHART_MAX_WIDTH        1000
#define CHART_MAX_LABELS       1000
#define CHART_MAX_SERIES       8
#define CHART_MAX_STACKED_TEXT 4
#define CHART_MAX_LABEL_BYTES  256

/* The SVG canvas: px, for the CSS and the caller's page. */
#define CHART_SVG_WIDTH 640

typedef enum chart_locale { CHART_EN, CHART_FR } chart_locale;
typedef enum chart_unit { CHART_MONEY, CHART_TOKENS, CHART_COUNT } chart_unit;
typedef enum chart_mode { CHART_SPLIT, CHART_STACKED } chart_mode;

/// A caller's number formatter: appends the text for value (finite, >= 0) to out and returns
/// 0, or non-zero to fail the chart (CHART_EFORMAT).  Must not keep out.
typedef int (*chart_format_fn)(void *ud, double value, buf *out);

typedef struct chart_opts {
    int width;              /* text charts: display cells per line; 0 = default */
    chart_locale locale;    /* built-in formatting and default words */
    chart_unit unit;        /* what the values are (built-in formatter) */
    chart_mode mode;        /* several series: split or stacked */
    chart_format_fn format; /* NULL: the built-in formatter for locale and unit */
    void *format_ud;
    const char *title; /* SVG <title>; NULL: a default per locale */
} chart_opts;

/* One series: values[i] belongs to labels[i]. */
typedef struct chart_series {
    const char *name; /* NULL is "" */
    const double *values;
} chart_series;

typedef struct chart_data {
    const char *const *labels; /* n_labels of them (NULL entries are ""), e.g. "2026-11" */
    size_t n_labels;
    const chart_series *series; /* n_series, each with n_labels values */
    size_t n_series;
} chart_data;

typedef struct chart_span {
    size_t line;       /* 0-based line of the text */
    size_t col, len;   /* byte range in that line: [col, col + len) */
    size_t pos;        /* byte offset of the start in the whole text */
    const char *group; /* highlight group name (static) */
} chart_span;

typedef struct chart_text {
    buf text; /* UTF-8; each line ends with "\n" */
    chart_span *spans;
    size_t n_spans;
    size_t spans_cap; /* private */
} chart_text;

/// Fills o with the defaults: width 80, English, money, split, built-in formatter, no title.
void chart_opts_default(chart_opts *o);

/// Releases t's memory; t is then empty and valid.  NULL is allowed.
void chart_text_free(chart_text *t);

/// Bar chart as text: one series, or several in o->mode.  See above.  Returns CHART_OK or a
/// negative code.
int chart_bars(const chart_data *d, const chart_opts *o, chart_text *out);

/// The budget gauge as one line of text.  budget must be > 0 and finite; spent NaN or
/// infinite is unknown (empty bar, "?%"), negative is 0.
int chart_gauge(double spent, double budget, const chart_opts *o, chart_text *out);

/// Sparklines as text: one line per series (named by the series), see above.
int chart_spark(const chart_data *d, const chart_opts *o, chart_text *out);

/// The bar chart as an SVG string (o->width is not used: the canvas is CHART_SVG_WIDTH px
/// wide); several series split into blocks or stacked with a legend, as o->mode says.
/// Replaces out's content.
int chart_bars_svg(const chart_data *d, const chart_opts *o, buf *out);

/// The budget gauge as an SVG string.  Same arguments as chart_gauge().
int chart_gauge_svg(double spent, double budget, const chart_opts *o, buf *out);

/// A suggested <style> body for the SVG classes (static string, no external resources).
const char *chart_svg_css(void);

/// Appends value formatted as the charts do: by o->format if set (then cleaned up), else the
/// built-in formatter for o->locale and o->unit; NaN and infinities give "?" without calling
/// the caller's formatter.  o may be NULL (defaults).  Returns 0, CHART_ENOMEM or CHART_EFORMAT.
int chart_format(const chart_opts *o, double value, buf *out);

/// The built-in formatters (see above).  Each appends to out; returns 0 or CHART_ENOMEM.
int chart_format_money(chart_locale l, double value, buf *out);
int chart_format_tokens(chart_locale l, double value, buf *out);
int chart_format_count(chart_locale l, double value, buf *out);
/// ratio 0.42 gives "42%" / "42 %"; a ratio > 0 that rounds to 0 gives "<1%" / "<1 %".
int chart_format_percent(chart_locale l, double ratio, buf *out);

/// Display width of s[0 .. len) in terminal cells, by the rules above (an invalid byte is 1).
size_t chart_display_width(const char *s, size_t len);

#endif
