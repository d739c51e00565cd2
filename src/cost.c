/* cost: prices, token estimates, carbon, and their display.  See include/ami/cost.h. */
#include "ami/cost.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- money ------------------------------------------------------------------------------ */

cost_result cost_of(long long prompt_tokens, long long completion_tokens, double reported_usd,
                    int has_reported, cost_price price) {
    cost_result r = {NAN, COST_UNKNOWN};
    if (has_reported && isfinite(reported_usd) && reported_usd >= 0) {
        r.usd = reported_usd;
        r.source = COST_REPORTED;
        return r;
    }
    if (!price.known || prompt_tokens < 0 || completion_tokens < 0 || !isfinite(price.prompt) ||
        !isfinite(price.completion))
        return r;
    /* One division at the end: with whole token counts and prices such as 3 or 15 the
     * numerator is exact, so $3/M x 1000 tokens is the double nearest 0.003, as a person
     * would compute it. */
    r.usd =
        (price.prompt * (double)prompt_tokens + price.completion * (double)completion_tokens) / 1e6;
    r.source = COST_ESTIMATED;
    return r;
}

const char *cost_source_name(cost_source s) {
    switch (s) {
    case COST_REPORTED:
        return "reported";
    case COST_ESTIMATED:
        return "estimated";
    case COST_UNKNOWN:
        break;
    }
    return "unknown";
}

cost_source cost_source_parse(const char *name) {
    if (name && strcmp(name, "reported") == 0)
        return COST_REPORTED;
    if (name && strcmp(name, "estimated") == 0)
        return COST_ESTIMATED;
    return COST_UNKNOWN;
}

/* Ideographs, kana, hangul and full-width forms: scripts where a tokenizer spends about one
 * token per character or more. */
static int is_cjk(unsigned cp) {
    return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFF00 && cp <= 0xFFEF);
}

/* Length of the well-formed UTF-8 sequence at s (at most avail bytes) and its code point;
 * 0 when the bytes there are not a well-formed sequence. */
static size_t utf8_decode(const unsigned char *s, size_t avail, unsigned *cp) {
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (len > avail)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

long long cost_estimate_tokens(const char *text, size_t len) {
    /* Counted in quarters of a token so every weight is a whole number. */
    unsigned long long quarters = 0;
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            quarters += 4; /* tokenizers fall back to one token per stray byte */
            i++;
            continue;
        }
        if (n == 1)
            quarters += 1;
        else if (n == 2)
            quarters += 2;
        else if (n == 3)
            quarters += is_cjk(cp) ? 5 : 2;
        else
            quarters += 8;
        i += n;
    }
    /* tokens = ceil(quarters / 4 * 1.125): the 12.5% margin keeps a budget check on the safe
     * side for tokenizers less frugal than the 4-characters-per-token rule of thumb. */
    return (long long)((quarters * 9 + 31) / 32);
}

char *cost_format(double usd, cost_source source, char *buf, size_t n) {
    if (n == 0)
        return buf;
    if (source == COST_UNKNOWN || !isfinite(usd) || usd < 0) {
        snprintf(buf, n, "cost unknown");
        return buf;
    }
    const char *prefix = source == COST_ESTIMATED ? "~$" : "$";
    if (usd == 0) {
        snprintf(buf, n, "%s0", prefix);
    } else if (usd >= 1) {
        snprintf(buf, n, "%s%.2f", prefix, usd);
    } else if (usd < 0.000000005) {
        snprintf(buf, n, "<%s0.00000001", prefix);
    } else {
        /* Two significant digits: the decimals reach one place past the first non-zero
         * digit.  Comparing with powers of ten (rather than taking log10) keeps exact values
         * such as 0.001 on the right side of the boundary. */
        int decimals = 2;
        double p = 0.1;
        while (decimals < 8 && usd < p * 0.995) {
            decimals++;
            p /= 10;
        }
        snprintf(buf, n, "%s%.*f", prefix, decimals, usd);
    }
    return buf;
}

char *cost_format_tokens(long long tokens, char *buf, size_t n) {
    if (n == 0)
        return buf;
    if (tokens < 0)
        snprintf(buf, n, "? tok");
    else if (tokens < 1000)
        snprintf(buf, n, "%lld tok", tokens);
    else if (tokens < 999950) /* below this, %.1f of the thousands stays under "1000.0k" */
        snprintf(buf, n, "%.1fk tok", (double)tokens / 1e3);
    else
        snprintf(buf, n, "%.1fM tok", (double)tokens / 1e6);
    return buf;
}

/* ---- carbon ----------------------------------------------------------------------------- */

/* Interpolates (or extrapolates) t on the segment from point a to point b. */
static double carbon_segment(const double *a, const double *b, double t) {
    if (a[0] > 0 && b[0] > 0 && a[1] > 0 && b[1] > 0 && a[0] != b[0]) {
        double slope = (log(b[1]) - log(a[1])) / (log(b[0]) - log(a[0]));
        return exp(log(a[1]) + slope * (log(t) - log(a[0])));
    }
    /* A zero or negative coordinate has no logarithm: fall back to a straight line. */
    if (a[0] == b[0])
        return a[1];
    double g = a[1] + (b[1] - a[1]) * (t - a[0]) / (b[0] - a[0]);
    return g > 0 ? g : 0;
}

double cost_carbon_g(long long prompt_tokens, long long completion_tokens, double (*points)[2],
                     size_t n) {
    if (prompt_tokens < 0 || completion_tokens < 0 || !points || n == 0)
        return -1;
    double t = (double)prompt_tokens + (double)completion_tokens;
    if (t == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (points[i][0] == t)
            return points[i][1];
    if (n == 1)
        return points[0][0] > 0 ? points[0][1] * t / points[0][0] : points[0][1];
    size_t i = 0; /* the segment [i, i+1] that holds t, or the nearest end segment */
    while (i + 2 < n && t > points[i + 1][0])
        i++;
    return carbon_segment(points[i], points[i + 1], t);
}

char *cost_format_carbon(double grams, char *buf, size_t n) {
    if (n == 0)
        return buf;
    if (!isfinite(grams) || grams < 0)
        snprintf(buf, n, "CO₂e unknown");
    else if (grams == 0)
        snprintf(buf, n, "~0 gCO₂e");
    else if (grams >= 999.5)
        snprintf(buf, n, "~%.1f kgCO₂e", grams / 1000);
    else if (grams >= 9.95)
        snprintf(buf, n, "~%.0f gCO₂e", grams);
    else if (grams >= 0.095)
        snprintf(buf, n, "~%.1f gCO₂e", grams);
    else
        snprintf(buf, n, "~%.1g gCO₂e", grams); /* one significant digit: 0.05, 0.003 */
    return buf;
}
