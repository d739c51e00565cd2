/* budget: monthly and per-request caps.  See include/ami/budget.h. */
#include "ami/budget.h"

#include "ami/cost.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Where the user changes a setting: the file actually read, else the usual place. */
static const char *config_place(const ami_config *cfg) {
    return cfg->file ? cfg->file : "~/.config/ami/config.json";
}

static void set_msg(char *msg, size_t n, const char *s) {
    if (msg && n > 0)
        snprintf(msg, n, "%s", s);
}

/* "12.4k" / "850": a token count without the " tok" suffix. */
static void tokens_short(long long t, char *buf, size_t n) {
    cost_format_tokens(t, buf, n);
    char *sp = strstr(buf, " tok");
    if (sp)
        *sp = '\0';
}

budget_verdict budget_decide(const ami_config *cfg, const budget_request *req, char *msg,
                             size_t n) {
    char spent[32], cap[32], est[32], a[32], b[32], text[1024];
    set_msg(msg, n, "");
    int monthly = cfg->budget_monthly_usd >= 0;
    int per_request = cfg->budget_per_request_usd >= 0;

    if (monthly && req->ledger_ok && req->month_spent_usd >= cfg->budget_monthly_usd) {
        snprintf(text, sizeof text,
                 "ami: refused: this month's spending %s has reached budget.monthly_usd = %s; "
                 "raise it with setup({ budget = { monthly_usd = … } }) or in %s",
                 cost_format(req->month_spent_usd, COST_REPORTED, spent, sizeof spent),
                 cost_format(cfg->budget_monthly_usd, COST_REPORTED, cap, sizeof cap),
                 config_place(cfg));
        set_msg(msg, n, text);
        return BUDGET_REFUSED;
    }
    if (per_request && req->estimate_known && isfinite(req->estimate_usd) &&
        req->estimate_usd > cfg->budget_per_request_usd) {
        char detail[96] = "";
        if (req->prompt_tokens >= 0 && req->max_output_tokens >= 0) {
            tokens_short(req->prompt_tokens, a, sizeof a);
            snprintf(b, sizeof b, "%lld", req->max_output_tokens);
            snprintf(detail, sizeof detail, " (%s tokens in, up to %s out)", a, b);
        }
        snprintf(text, sizeof text,
                 "ami: refused: this request would cost about %s%s, over "
                 "budget.per_request_usd = %s; shorten the context or max_tokens, or raise the "
                 "cap with setup({ budget = { per_request_usd = … } }) or in %s",
                 cost_format(req->estimate_usd, COST_ESTIMATED, est, sizeof est), detail,
                 cost_format(cfg->budget_per_request_usd, COST_REPORTED, cap, sizeof cap),
                 config_place(cfg));
        set_msg(msg, n, text);
        return BUDGET_REFUSED;
    }

    /* Nothing refuses: now say which caps could not be checked, both if need be. */
    int no_ledger = monthly && !req->ledger_ok;
    int no_price = per_request && !req->estimate_known;
    if (!no_ledger && !no_price)
        return BUDGET_OK;
    size_t len = 0;
    text[0] = '\0';
    if (no_ledger)
        len += (size_t)snprintf(
            text, sizeof text,
            "ami: budget.monthly_usd = %s cannot be enforced: the usage ledger could not be "
            "read (%s); this request goes ahead",
            cost_format(cfg->budget_monthly_usd, COST_REPORTED, cap, sizeof cap),
            req->ledger_error && *req->ledger_error ? req->ledger_error : "reason unknown");
    if (no_price && len < sizeof text)
        snprintf(text + len, sizeof text - len,
                 "%sbudget.per_request_usd = %s cannot be checked: this model's price is "
                 "unknown (add it under prices in %s); this request goes ahead",
                 no_ledger ? "; " : "ami: ",
                 cost_format(cfg->budget_per_request_usd, COST_REPORTED, cap, sizeof cap),
                 config_place(cfg));
    set_msg(msg, n, text);
    return BUDGET_UNENFORCED;
}

budget_verdict budget_check(const ami_config *cfg, double month_spent_usd, int ledger_ok,
                            double estimate_usd, int estimate_known, char *msg, size_t n) {
    budget_request req = {month_spent_usd, ledger_ok, NULL, estimate_usd, estimate_known, -1, -1};
    return budget_decide(cfg, &req, msg, n);
}
