/* cost: what a request costs in US dollars and in grams of CO2e, and how to show it.
 *
 * Pure functions, no allocation, callable from any thread.
 *
 * Money has three honest states (cost_source): the provider REPORTED the price (OpenRouter's
 * `usage.cost`), ami ESTIMATED it from a price table (USD per million tokens), or it is
 * UNKNOWN (no price, or no token counts).  An unknown cost is never shown as $0: a free local
 * model is "$0" only when its price is configured as 0.
 *
 * Carbon is an order-of-magnitude estimate from token counts (see cost_carbon_g), always
 * displayed with a "~".
 */
#ifndef AMI_COST_H
#define AMI_COST_H

#include <stddef.h>

typedef enum {
    COST_UNKNOWN = 0, /* no price or no token counts: shown as "cost unknown" */
    COST_ESTIMATED,   /* computed from a price table: shown as "~$0.0045" */
    COST_REPORTED,    /* the provider said so: shown as "$0.0045" */
} cost_source;

/* A model's price, in USD per million tokens.  known == 0 means "no price": the fields are
 * then ignored. */
typedef struct cost_price {
    double prompt;
    double completion;
    int known;
} cost_price;

typedef struct cost_result {
    double usd; /* NAN when source is COST_UNKNOWN, so a careless sum shows it, never $0 */
    cost_source source;
} cost_result;

/* ---- money ------------------------------------------------------------------------------ */

/// The cost of one request.  A reported cost (has_reported, reported_usd finite and >= 0)
/// wins over any estimate, even when the token counts are unknown.  Otherwise the cost is
/// estimated from price when it is known and both token counts are known (>= 0); anything
/// else is COST_UNKNOWN.  Never fails.
cost_result cost_of(long long prompt_tokens, long long completion_tokens, double reported_usd,
                    int has_reported, cost_price price);

/// "reported", "estimated" or "unknown" (the ledger's cost_source column).  Static string.
const char *cost_source_name(cost_source s);

/// The inverse of cost_source_name; COST_UNKNOWN for NULL or anything else.
cost_source cost_source_parse(const char *name);

/// An estimate of the prompt tokens in len bytes of UTF-8 text, made before sending so the
/// budget can be checked.  Tokenizers differ, so this aims slightly high rather than low:
///   - ASCII: 1/4 token per byte (English averages about 4 characters per token);
///   - 2-byte sequences (accented Latin, Greek, Cyrillic…): 1/2 token per character;
///   - CJK ideographs, kana and hangul: 5/4 token per character (usually 1 to 1.2);
///   - other 3-byte sequences (typographic quotes, dashes…): 1/2 token;
///   - 4-byte sequences (emoji…): 2 tokens; an invalid byte: 1 token (byte fallback);
///   then 12.5% is added and the result rounded up.  0 for empty text; text may be NULL when
///   len is 0.  Never fails.
long long cost_estimate_tokens(const char *text, size_t len);

/// Writes a price for people into buf (n bytes, always NUL-terminated when n > 0):
///   "$0.0045" (reported), "~$0.0045" (estimated), "cost unknown" (unknown, or a NaN or
///   negative amount).  Two significant digits below $1 ("$0.000012", "$0.050"), cents from
///   $1 up ("$1.23", "$12.30"); "$0" for exactly zero; amounts below $0.00000001 show as
///   "<$0.00000001".  Returns buf.
char *cost_format(double usd, cost_source source, char *buf, size_t n);

/// Writes a token count: "850 tok", "1.3k tok", "2.1M tok"; "? tok" for a negative (unknown)
/// count.  Returns buf (always NUL-terminated when n > 0).
char *cost_format_tokens(long long tokens, char *buf, size_t n);

/* ---- carbon ----------------------------------------------------------------------------- */

/// Grams of CO2e for a request, from (total tokens, grams) points with strictly increasing
/// token counts (the config's carbon.points; read only, despite the non-const type, which
/// spares callers a cast that ISO C11 would require).  The total prompt + completion tokens
/// is interpolated linearly in log(tokens)-log(grams) space between the two surrounding
/// points; below the first or above the last point the first or last segment's slope is
/// extended.  A total equal to a point's gives that point's grams exactly; 0 tokens give 0 g.
/// With one point, grams grow in proportion to tokens.  Returns -1 (unknown) when a token count
/// is negative (unknown) or there are no points.
double cost_carbon_g(long long prompt_tokens, long long completion_tokens, double (*points)[2],
                     size_t n);

/// Writes an estimate of grams of CO2e, always marked as one: "~0.4 gCO₂e", "~0.05 gCO₂e",
/// "~12 gCO₂e", "~1.3 kgCO₂e"; "CO₂e unknown" for a negative value.  Returns buf.
char *cost_format_carbon(double grams, char *buf, size_t n);

#endif
