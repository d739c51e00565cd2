/* The usage report's parts that its text and HTML faces share (src/usage_report.c,
 * src/usage_html.c).  Not for other modules. */
#ifndef AMI_USAGE_REPORT_INTERNAL_H
#define AMI_USAGE_REPORT_INTERNAL_H

#include "ami/usage_report.h"

#define USAGE_SERIES_MAX CHART_MAX_SERIES

/* One chart's data: labels are the months, names borrowed from the usage_data. */
typedef struct usage_series {
    const char *labels[USAGE_MONTHS];
    const char *names[USAGE_SERIES_MAX];
    double values[USAGE_SERIES_MAX][USAGE_MONTHS];
    chart_series series[USAGE_SERIES_MAX];
    size_t n;
} usage_series;

/// Spending per month: the most expensive models (max_series - 1 of them, and "other" for the
/// rest; all of them when they fit), every source together.
int usage_series_spending(const usage_data *d, size_t max_series, usage_series *out);
/// Threads per month: one series per source that has threads (ami always).
void usage_series_threads(const usage_data *d, usage_series *out);
/// Tokens per month: "in" and "out", every source together.
void usage_series_tokens(const usage_data *d, usage_series *out);

typedef enum usage_word {
    USAGE_W_SPENDING,
    USAGE_W_THREADS,
    USAGE_W_TOKENS,
    USAGE_W_BUDGET,
    USAGE_W_BY_MODEL,
    USAGE_W_BY_SOURCE,
    USAGE_W_EVERY_SOURCE,
    USAGE_N_WORDS
} usage_word;

/// The charts' titles in the locale's language.  Static strings.
const char *usage_words(chart_locale l, usage_word w);

#endif
