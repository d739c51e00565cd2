/* Unit tests for cost: money, token estimates, carbon, and how they are written. */
#include "ami/cost.h"
#include "check.h"

#include <math.h>

static const cost_price sonnet = {3, 15, 1}; /* USD per million tokens */
static const cost_price no_price = {0, 0, 0};

static void test_estimated_cost_is_exact(void) {
    cost_result r = cost_of(1000, 500, 0, 0, sonnet);
    CHECK_INT(r.source, COST_ESTIMATED);
    CHECK(r.usd == 0.0105); /* 1000 x $3/M + 500 x $15/M */
    r = cost_of(1234567, 89012, 0, 0, sonnet);
    CHECK(r.usd == (3.0 * 1234567 + 15.0 * 89012) / 1e6);
    r = cost_of(0, 0, 0, 0, sonnet);
    CHECK_INT(r.source, COST_ESTIMATED);
    CHECK(r.usd == 0);
    /* A free local model is free because its price says so, not because nothing is known. */
    cost_price free_model = {0, 0, 1};
    r = cost_of(5000, 800, 0, 0, free_model);
    CHECK_INT(r.source, COST_ESTIMATED);
    CHECK(r.usd == 0);
}

static void test_reported_cost_wins(void) {
    cost_result r = cost_of(1000, 500, 0.0123, 1, sonnet);
    CHECK_INT(r.source, COST_REPORTED);
    CHECK(r.usd == 0.0123);
    /* Even when the tokens are unknown and there is no price. */
    r = cost_of(-1, -1, 0.5, 1, no_price);
    CHECK_INT(r.source, COST_REPORTED);
    CHECK(r.usd == 0.5);
    /* A reported zero is a real zero (a free model on OpenRouter). */
    r = cost_of(10, 10, 0, 1, sonnet);
    CHECK_INT(r.source, COST_REPORTED);
    CHECK(r.usd == 0);
    /* has_reported = 0: the number is ignored. */
    r = cost_of(1000, 500, 99, 0, sonnet);
    CHECK_INT(r.source, COST_ESTIMATED);
    CHECK(r.usd == 0.0105);
    /* A nonsense report falls back to the estimate. */
    r = cost_of(1000, 500, -1, 1, sonnet);
    CHECK_INT(r.source, COST_ESTIMATED);
    r = cost_of(1000, 500, NAN, 1, sonnet);
    CHECK_INT(r.source, COST_ESTIMATED);
}

static void test_unknown_stays_unknown(void) {
    cost_result r = cost_of(1000, 500, 0, 0, no_price);
    CHECK_INT(r.source, COST_UNKNOWN);
    CHECK(isnan(r.usd)); /* never a zero that could be added or shown as free */
    r = cost_of(-1, 500, 0, 0, sonnet);
    CHECK_INT(r.source, COST_UNKNOWN);
    r = cost_of(1000, -1, 0, 0, sonnet);
    CHECK_INT(r.source, COST_UNKNOWN);
    char buf[32];
    CHECK_STR(cost_format(r.usd, r.source, buf, sizeof buf), "cost unknown");
    /* Even a zero amount with an unknown source is not "$0". */
    CHECK_STR(cost_format(0, COST_UNKNOWN, buf, sizeof buf), "cost unknown");
}

static void test_source_names(void) {
    CHECK_STR(cost_source_name(COST_REPORTED), "reported");
    CHECK_STR(cost_source_name(COST_ESTIMATED), "estimated");
    CHECK_STR(cost_source_name(COST_UNKNOWN), "unknown");
    CHECK_INT(cost_source_parse("reported"), COST_REPORTED);
    CHECK_INT(cost_source_parse("estimated"), COST_ESTIMATED);
    CHECK_INT(cost_source_parse("unknown"), COST_UNKNOWN);
    CHECK_INT(cost_source_parse("whatever"), COST_UNKNOWN);
    CHECK_INT(cost_source_parse(NULL), COST_UNKNOWN);
}

static void test_format_usd(void) {
    char b[32];
    CHECK_STR(cost_format(0.0045, COST_REPORTED, b, sizeof b), "$0.0045");
    CHECK_STR(cost_format(0.0045, COST_ESTIMATED, b, sizeof b), "~$0.0045");
    CHECK_STR(cost_format(0.000012, COST_REPORTED, b, sizeof b), "$0.000012");
    CHECK_STR(cost_format(1.23, COST_REPORTED, b, sizeof b), "$1.23");
    CHECK_STR(cost_format(12.3, COST_REPORTED, b, sizeof b), "$12.30");
    CHECK_STR(cost_format(1234.5, COST_REPORTED, b, sizeof b), "$1234.50");
    CHECK_STR(cost_format(0, COST_REPORTED, b, sizeof b), "$0");
    CHECK_STR(cost_format(0, COST_ESTIMATED, b, sizeof b), "~$0");
    CHECK_STR(cost_format(0.5, COST_REPORTED, b, sizeof b), "$0.50");
    CHECK_STR(cost_format(0.05, COST_REPORTED, b, sizeof b), "$0.050");
    CHECK_STR(cost_format(0.001, COST_REPORTED, b, sizeof b), "$0.0010");
    CHECK_STR(cost_format(0.0105, COST_REPORTED, b, sizeof b), "$0.011");
    /* Rounding that reaches the next power of ten does not add a digit. */
    CHECK_STR(cost_format(0.0999, COST_REPORTED, b, sizeof b), "$0.10");
    CHECK_STR(cost_format(0.00999, COST_REPORTED, b, sizeof b), "$0.010");
    CHECK_STR(cost_format(0.999, COST_REPORTED, b, sizeof b), "$1.00");
    CHECK_STR(cost_format(0.000000001, COST_REPORTED, b, sizeof b), "<$0.00000001");
    CHECK_STR(cost_format(-0.5, COST_REPORTED, b, sizeof b), "cost unknown");
    CHECK_STR(cost_format(INFINITY, COST_REPORTED, b, sizeof b), "cost unknown");
    /* Truncation keeps a terminated string. */
    char small[4];
    CHECK_STR(cost_format(0.0045, COST_REPORTED, small, sizeof small), "$0.");
}

static void test_format_tokens(void) {
    char b[32];
    CHECK_STR(cost_format_tokens(850, b, sizeof b), "850 tok");
    CHECK_STR(cost_format_tokens(0, b, sizeof b), "0 tok");
    CHECK_STR(cost_format_tokens(999, b, sizeof b), "999 tok");
    CHECK_STR(cost_format_tokens(1000, b, sizeof b), "1.0k tok");
    CHECK_STR(cost_format_tokens(1300, b, sizeof b), "1.3k tok");
    CHECK_STR(cost_format_tokens(12400, b, sizeof b), "12.4k tok");
    CHECK_STR(cost_format_tokens(999949, b, sizeof b), "999.9k tok");
    CHECK_STR(cost_format_tokens(999950, b, sizeof b), "1.0M tok");
    CHECK_STR(cost_format_tokens(2100000, b, sizeof b), "2.1M tok");
    CHECK_STR(cost_format_tokens(-1, b, sizeof b), "? tok");
}

static void test_estimate_tokens(void) {
    CHECK_INT(cost_estimate_tokens("", 0), 0);
    CHECK_INT(cost_estimate_tokens(NULL, 0), 0);

    const char *en = "The quick brown fox jumps over the lazy dog.";
    long long n = cost_estimate_tokens(en, strlen(en));
    CHECK_INT(n, 13); /* 44 characters: 11 by the /4 rule, plus the margin */
    CHECK(n >= 44 / 4);

    const char *fr = "Le cœur a ses raisons que la raison ne connaît point.";
    long long nf = cost_estimate_tokens(fr, strlen(fr));
    CHECK_INT(nf, 16); /* 53 characters, two of them accented */
    CHECK(nf > 53 / 4);

    const char *fr2 = "Où êtes-vous allé, « mon ami » ? À l’été.";
    CHECK_INT(cost_estimate_tokens(fr2, strlen(fr2)), 15);

    /* CJK: more tokens than characters. */
    const char *ja = "吾輩は猫である。名前はまだ無い。";
    long long nj = cost_estimate_tokens(ja, strlen(ja));
    CHECK_INT(nj, 23);
    CHECK(nj > 16);
    const char *ko = "한국어 문장입니다";
    CHECK_INT(cost_estimate_tokens(ko, strlen(ko)), 12);

    /* Emoji and stray bytes are expensive too. */
    CHECK_INT(cost_estimate_tokens("\xF0\x9F\x98\x80", 4), 3);
    CHECK_INT(cost_estimate_tokens("\xff\xfe", 2), 3);
    /* A truncated sequence counts its bytes one by one, never reads past len. */
    CHECK_INT(cost_estimate_tokens("\xE5\x90", 2), 3);

    /* Long English text: close to, and not below, one token per 4 characters. */
    char big[4001];
    for (int i = 0; i < 4000; i++)
        big[i] = "lorem ipsum "[i % 12];
    big[4000] = 0;
    long long nb = cost_estimate_tokens(big, 4000);
    CHECK_INT(nb, 1125);
}

static double pts[][2] = {{200, 0.4}, {2000, 1.0}, {20000, 2.0}};

static void test_carbon_points_exact(void) {
    CHECK(cost_carbon_g(100, 100, pts, 3) == 0.4);
    CHECK(cost_carbon_g(1000, 1000, pts, 3) == 1.0);
    CHECK(cost_carbon_g(10000, 10000, pts, 3) == 2.0);
    CHECK(cost_carbon_g(0, 0, pts, 3) == 0);
}

static void test_carbon_interpolates_log_log(void) {
    /* Between 200 and 2000 tokens, grams go as 0.4 * (t/200)^log10(2.5). */
    double g = cost_carbon_g(500, 132, pts, 3);
    CHECK(fabs(g - 0.4 * pow(632.0 / 200, log10(2.5))) < 1e-12);
    /* The geometric middle of a segment gives the geometric middle of its grams. */
    g = cost_carbon_g(6324, 0, pts, 3);
    CHECK(fabs(g - sqrt(2.0) * pow(6324 / sqrt(2000.0 * 20000), log10(2.0))) < 1e-12);
    CHECK(g > 1.0 && g < 2.0);
    /* Not a straight line in tokens: 1100 tokens is well above the linear 0.7. */
    g = cost_carbon_g(550, 550, pts, 3);
    CHECK(g > 0.75 && g < 0.8);
    /* Monotonic across the points. */
    double prev = 0;
    for (long long t = 1; t < 100000; t = t * 3 / 2 + 1) {
        double x = cost_carbon_g(t, 0, pts, 3);
        CHECK(x > prev);
        prev = x;
    }
}

static void test_carbon_extrapolates_end_slopes(void) {
    /* Above the last point, the last segment's slope: x2 per decade. */
    CHECK(fabs(cost_carbon_g(100000, 100000, pts, 3) - 4.0) < 1e-12);
    /* Below the first point, the first segment's slope: x2.5 per decade. */
    CHECK(fabs(cost_carbon_g(10, 10, pts, 3) - 0.16) < 1e-12);
    CHECK(cost_carbon_g(1, 0, pts, 3) > 0);
}

static void test_carbon_unknown_and_odd_points(void) {
    CHECK(cost_carbon_g(-1, 100, pts, 3) < 0);
    CHECK(cost_carbon_g(100, -1, pts, 3) < 0);
    CHECK(cost_carbon_g(100, 100, NULL, 0) < 0);
    CHECK(cost_carbon_g(100, 100, pts, 0) < 0);
    /* One point: proportional. */
    double one[][2] = {{1000, 2.0}};
    CHECK(cost_carbon_g(1000, 1000, one, 1) == 4.0);
    /* A zero in a point cannot be logged: a straight line instead, never negative. */
    double zero[][2] = {{0, 0}, {1000, 1.0}};
    CHECK(fabs(cost_carbon_g(250, 250, zero, 2) - 0.5) < 1e-12);
    /* Two points only: one segment serves on both sides. */
    CHECK(fabs(cost_carbon_g(10000, 10000, pts, 2) - 0.4 * pow(100, log10(2.5))) < 1e-12);
}

static void test_format_carbon(void) {
    char b[32];
    CHECK_STR(cost_format_carbon(0.4, b, sizeof b), "~0.4 gCO₂e");
    CHECK_STR(cost_format_carbon(1.0, b, sizeof b), "~1.0 gCO₂e");
    CHECK_STR(cost_format_carbon(0.94, b, sizeof b), "~0.9 gCO₂e");
    CHECK_STR(cost_format_carbon(12.4, b, sizeof b), "~12 gCO₂e");
    CHECK_STR(cost_format_carbon(0.0486, b, sizeof b), "~0.05 gCO₂e");
    CHECK_STR(cost_format_carbon(1340, b, sizeof b), "~1.3 kgCO₂e");
    CHECK_STR(cost_format_carbon(0, b, sizeof b), "~0 gCO₂e");
    CHECK_STR(cost_format_carbon(-1, b, sizeof b), "CO₂e unknown");
    /* Every known value is marked as an estimate. */
    double vals[] = {0.001, 0.1, 3, 99, 999, 5000};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        CHECK(cost_format_carbon(vals[i], b, sizeof b)[0] == '~');
}

int main(void) {
    RUN(test_estimated_cost_is_exact);
    RUN(test_reported_cost_wins);
    RUN(test_unknown_stays_unknown);
    RUN(test_source_names);
    RUN(test_format_usd);
    RUN(test_format_tokens);
    RUN(test_estimate_tokens);
    RUN(test_carbon_points_exact);
    RUN(test_carbon_interpolates_log_log);
    RUN(test_carbon_extrapolates_end_slopes);
    RUN(test_carbon_unknown_and_odd_points);
    RUN(test_format_carbon);
    return check_report("cost");
}
