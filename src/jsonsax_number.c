/* jsonsax_number: a number token's text as a value.  The reader hands numbers out as text
 * (include/ami/jsonsax.h); these read that text, or any other, as a double or a long long,
 * after checking it against the JSON grammar again.  No reader state: src/jsonsax.c's byte
 * loop never calls them.
 */
#include "ami/jsonsax.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

/* The end of the run of digits of s[0..n) that starts at i. */
static size_t skip_digits(const char *s, size_t i, size_t n) {
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* 1 when s[0..n) follows the JSON number grammar. */
static int is_json_number(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        i = skip_digits(s, i, n);
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        size_t d = i + 1;
        if ((i = skip_digits(s, d, n)) == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        if ((i = skip_digits(s, d, n)) == d)
            return 0;
    }
    return i == n;
}

int jsonsax_number_double(const char *s, size_t len, double *out) {
    char tmp[JSONSAX_MAX_NUMBER + 1];
    if (len == 0 || len > JSONSAX_MAX_NUMBER || !is_json_number(s, len))
        return -1;
    /* strtod reads the locale's decimal point: put that one in place of '.'. */
    const char *dp = localeconv()->decimal_point;
    char point = dp && dp[0] && !dp[1] ? dp[0] : '.';
    for (size_t i = 0; i < len; i++)
        tmp[i] = s[i] == '.' ? point : s[i];
    tmp[len] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (end != tmp + len || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int jsonsax_number_int(const char *s, size_t len, long long *out) {
    if (len == 0 || len > JSONSAX_MAX_NUMBER || !is_json_number(s, len))
        return -1;
    size_t i = s[0] == '-';
    int neg = (int)i;
    unsigned long long v = 0;
    int plain_int = 1;
    for (size_t k = i; k < len; k++) {
        if (s[k] < '0' || s[k] > '9') {
            plain_int = 0;
            break;
        }
        unsigned d = (unsigned)(s[k] - '0');
        if (v > ((unsigned long long)LLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (plain_int) {
        *out = neg ? -(long long)v : (long long)v;
        return 0;
    }
    double x;
    /* 2^63 is exact in a double; every integral double strictly inside (-2^63, 2^63) fits. */
    if (jsonsax_number_double(s, len, &x) != 0 || x != floor(x) || !(x > -9223372036854775808.0) ||
        !(x < 9223372036854775808.0))
        return -1;
    *out = (long long)x;
    return 0;
}
