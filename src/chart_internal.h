/* The charts' parts that their own files share (src/chart*.c); not for other modules.  The
 * public interface is include/ami/chart.h.
 *
 *   chart.c       what every chart needs before it is drawn: display widths, the pool of
 *                 cleaned strings, number formatting, the bar charts' layout, the gauge's
 *                 caption
 *   chart_text.c  the text charts (bars, gauge, sparklines) with their highlight spans
 *   chart_svg.c   the SVG charts (bars, gauge) and their CSS
 */
#ifndef AMI_CHART_INTERNAL_H
#define AMI_CHART_INTERNAL_H

#include "ami/chart.h"

#include "ami/buf.h"

#include <stddef.h>

#define CHART_ELLIPSIS "\xE2\x80\xA6"

/* ---- code points and widths ------------------------------------------------------------- */

/// Length of the longest prefix of s[0 .. len) that is at most cells wide; *w gets its width.
size_t chart_prefix_cells(const char *s, size_t len, size_t cells, size_t *w);

/* ---- the pool of cleaned strings -------------------------------------------------------- */

typedef struct chart_str {
    size_t off, len; /* in chart_ctx.pool */
    size_t w;        /* display width */
} chart_str;

typedef struct chart_ctx {
    const chart_opts *o;
    chart_opts defaults;
    size_t width;
    buf pool;
    buf scratch;
    buf fmt;
} chart_ctx;

/// c for one chart drawn with o (NULL: the defaults), its width clamped to the limits.  Free
/// with chart_ctx_free().
void chart_ctx_init(chart_ctx *c, const chart_opts *o);
void chart_ctx_free(chart_ctx *c);
/// The pooled string's first byte (not NUL-terminated: s->len bytes).
const char *chart_str_at(const chart_ctx *c, const chart_str *s);
/// Appends s[0 .. len) to out, cleaned (see chart.h), at most CHART_MAX_LABEL_BYTES read.
int chart_clean_append(buf *scratch, const char *s, size_t len, buf *out);
/// Cleans s (NUL-terminated, NULL is "") into the pool.
int chart_pool_add(chart_ctx *c, const char *s, chart_str *out);
/// Formats v into the pool.
int chart_pool_value(chart_ctx *c, double v, chart_str *out);

/// A value is unknown when not finite; a negative one counts as 0.
int chart_known(double v);
double chart_clamp0(double v);
/// a + b for a, b >= 0, saturated at DBL_MAX.
double chart_add_sat(double a, double b);

/* ---- the bar charts' layout ------------------------------------------------------------- */

/// CHART_OK, or why d cannot be drawn (NULL arrays, past the limits).
int chart_check_data(const chart_data *d);

/* What a bar chart lays out: cleaned labels and names, formatted values, the columns. */
typedef struct chart_layout {
    size_t n, ns;
    int stacked;
    chart_str *labels; /* n */
    chart_str *names;  /* ns */
    chart_str *values; /* ns × n (split), or n row totals (stacked) */
    double max;        /* the scale: largest value, or largest row total */
    size_t lw;         /* label column (0: no labels at all) */
    size_t vw;         /* value column */
    size_t barw;       /* bar column */
} chart_layout;

/// Cleans and formats everything, and finds the scale and the widest label and value.  Free
/// L with chart_layout_free(), whatever it returns.
int chart_layout_prepare(chart_ctx *c, const chart_data *d, chart_layout *L);
void chart_layout_free(chart_layout *L);

/// The gauge's caption "42% of $5.00" into the pool.
int chart_gauge_caption(chart_ctx *c, double spent, double budget, chart_str *out);

#endif
