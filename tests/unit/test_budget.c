/* Unit tests for budget: the decisions and the sentences that explain them. */
#include "ami/budget.h"
#include "check.h"

#include <stdlib.h>

static ami_config caps(double monthly, double per_request) {
    ami_config c;
    config_init(&c);
    c.budget_monthly_usd = monthly;
    c.budget_per_request_usd = per_request;
    return c;
}

static budget_request req(double spent, double estimate) {
    budget_request r = {spent, 1, NULL, estimate, 1, -1, -1};
    return r;
}

static void test_no_caps_always_ok(void) {
    ami_config c = caps(-1, -1);
    char msg[512] = "junk";
    budget_request r = req(1e6, 1e3);
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_OK);
    CHECK_STR(msg, "");
    /* Without caps, neither a broken ledger nor an unknown price matter. */
    r.ledger_ok = 0;
    r.estimate_known = 0;
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_OK);
    CHECK_STR(msg, "");
    config_free(&c);
}

static void test_monthly_reached(void) {
    ami_config c = caps(5, -1);
    char msg[512];
    budget_request r = req(5.02, 0.01);
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_REFUSED);
    CHECK_STR(msg, "ami: refused: this month's spending $5.02 has reached budget.monthly_usd = "
                   "$5.00; raise it with setup({ budget = { monthly_usd = … } }) or in "
                   "~/.config/ami/config.json");
    /* Reaching the cap exactly is enough. */
    r = req(5, 0.01);
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_REFUSED);
    /* Just under it, the request goes (the cap is on what was spent, not on what will be). */
    r = req(4.99, 0.5);
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_OK);
    CHECK_STR(msg, "");
    config_free(&c);
}

static void test_monthly_names_the_config_file(void) {
    ami_config c = caps(1, -1);
    c.file = strdup("/home/me/.config/ami/config.json");
    char msg[512];
    budget_request r = req(2, 0);
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_REFUSED);
    CHECK(strstr(msg, "or in /home/me/.config/ami/config.json") != NULL);
    config_free(&c);
}

static void test_per_request_exceeded(void) {
    ami_config c = caps(-1, 0.25);
    char msg[512];
    budget_request r = req(0, 0.31);
    r.prompt_tokens = 12400;
    r.max_output_tokens = 2048;
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_REFUSED);
    CHECK_STR(msg, "ami: refused: this request would cost about ~$0.31 (12.4k tokens in, up to "
                   "2048 out), over budget.per_request_usd = $0.25; shorten the context or "
                   "max_tokens, or raise the cap with setup({ budget = { per_request_usd = … } "
                   "}) or in ~/.config/ami/config.json");
    /* Equal to the cap is allowed. */
    r = req(0, 0.25);
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_OK);
    /* The short form leaves the token detail out. */
    CHECK_INT(budget_check(&c, 0, 1, 0.5, 1, msg, sizeof msg), BUDGET_REFUSED);
    CHECK(strstr(msg, "about ~$0.50, over budget.per_request_usd = $0.25") != NULL);
    config_free(&c);
}

static void test_unknown_price(void) {
    ami_config c = caps(-1, 0.25);
    char msg[512];
    budget_request r = req(0, 0);
    r.estimate_known = 0;
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_UNENFORCED);
    CHECK_STR(msg, "ami: budget.per_request_usd = $0.25 cannot be checked: this model's price is "
                   "unknown (add it under prices in ~/.config/ami/config.json); this request "
                   "goes ahead");
    /* No per-request cap: an unknown price is nothing to report. */
    ami_config m = caps(5, -1);
    CHECK_INT(budget_decide(&m, &r, msg, sizeof msg), BUDGET_OK);
    config_free(&m);
    config_free(&c);
}

static void test_ledger_unavailable(void) {
    ami_config c = caps(5, -1);
    char msg[512];
    budget_request r = req(0, 0.01);
    r.ledger_ok = 0;
    r.ledger_error = "ledger /x/ledger.sqlite3: file is not a database; move it aside";
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_UNENFORCED);
    CHECK_STR(msg, "ami: budget.monthly_usd = $5.00 cannot be enforced: the usage ledger could "
                   "not be read (ledger /x/ledger.sqlite3: file is not a database; move it "
                   "aside); this request goes ahead");
    /* Whatever month_spent_usd holds, it is not trusted when the ledger failed. */
    r.month_spent_usd = 100;
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_UNENFORCED);
    /* The short form has no reason to give. */
    CHECK_INT(budget_check(&c, 0, 0, 0.01, 1, msg, sizeof msg), BUDGET_UNENFORCED);
    CHECK(strstr(msg, "(reason unknown)") != NULL);
    config_free(&c);
}

static void test_both_unenforced(void) {
    ami_config c = caps(5, 0.25);
    char msg[1024];
    budget_request r = req(0, 0);
    r.ledger_ok = 0;
    r.ledger_error = "disk I/O error";
    r.estimate_known = 0;
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_UNENFORCED);
    CHECK(strstr(msg, "ami: budget.monthly_usd = $5.00 cannot be enforced") == msg);
    CHECK(strstr(msg, "; budget.per_request_usd = $0.25 cannot be checked") != NULL);
    config_free(&c);
}

static void test_refusal_wins_over_unenforced(void) {
    /* Ledger down, but the request alone is over the per-request cap: refused. */
    ami_config c = caps(5, 0.25);
    char msg[512];
    budget_request r = req(0, 1.0);
    r.ledger_ok = 0;
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_REFUSED);
    CHECK(strstr(msg, "budget.per_request_usd") != NULL);
    /* Monthly reached, price unknown: refused by the monthly cap. */
    r = req(6, 0);
    r.estimate_known = 0;
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_REFUSED);
    CHECK(strstr(msg, "budget.monthly_usd = $5.00") != NULL);
    config_free(&c);
}

static void test_zero_caps(void) {
    /* A cap of 0 means "spend nothing": any spending reaches it, and a free model passes. */
    ami_config c = caps(0, 0);
    char msg[512];
    budget_request r = req(0, 0);
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_REFUSED); /* 0 >= 0 */
    ami_config p = caps(-1, 0);
    CHECK_INT(budget_decide(&p, &r, msg, sizeof msg), BUDGET_OK);
    r.estimate_usd = 0.0001;
    CHECK_INT(budget_decide(&p, &r, msg, sizeof msg), BUDGET_REFUSED);
    config_free(&p);
    config_free(&c);
}

static void test_small_buffer(void) {
    ami_config c = caps(5, -1);
    char msg[16];
    budget_request r = req(10, 0);
    CHECK_INT(budget_decide(&c, &r, msg, sizeof msg), BUDGET_REFUSED);
    CHECK_STR(msg, "ami: refused: t");
    CHECK_INT(budget_decide(&c, &r, NULL, 0), BUDGET_REFUSED);
    config_free(&c);
}

int main(void) {
    RUN(test_no_caps_always_ok);
    RUN(test_monthly_reached);
    RUN(test_monthly_names_the_config_file);
    RUN(test_per_request_exceeded);
    RUN(test_unknown_price);
    RUN(test_ledger_unavailable);
    RUN(test_both_unenforced);
    RUN(test_refusal_wins_over_unenforced);
    RUN(test_zero_caps);
    RUN(test_small_buffer);
    return check_report("budget");
}
