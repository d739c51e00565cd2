/* budget: the decision, before anything is sent, whether a request may cost money.
 *
 * Two caps from the config (ami_config.budget_*; negative = no cap):
 *   - budget.monthly_usd: once this calendar month's recorded spending (local time, from the
 *     ledger, every client counted) has reached it, new requests are refused;
 *   - budget.per_request_usd: a request whose estimated cost (prompt tokens estimated from the
 *     text, completion tokens = max_tokens) is above it is refused.
 * When a cap cannot be checked (the ledger could not be read, the price is unknown) the
 * request goes on and the caller tells the user the budget is not enforced, and why: a broken
 * ledger must never block an answer, nor silently let spending through.
 *
 * Pure functions, no allocation, callable from any thread.
 */
#ifndef AMI_BUDGET_H
#define AMI_BUDGET_H

#include "ami/config.h"

#include <stddef.h>

typedef enum {
    BUDGET_OK = 0,         /* within every cap (or no cap set); msg is "" */
    BUDGET_REFUSED = 1,    /* do not send; msg says what was spent, the cap, how to change it */
    BUDGET_UNENFORCED = 2, /* send, but tell the user (msg) that a cap could not be checked */
} budget_verdict;

/* Everything the decision needs besides the config.  Token counts only make the refusal
 * message more precise; -1 leaves them out. */
typedef struct budget_request {
    double month_spent_usd;      /* this calendar month's spending so far, from the ledger */
    int ledger_ok;               /* 0 when the ledger could not be read */
    const char *ledger_error;    /* why, when !ledger_ok (may be NULL) */
    double estimate_usd;         /* the request's estimated cost */
    int estimate_known;          /* 0 when the model's price is unknown */
    long long prompt_tokens;     /* estimated prompt tokens, or -1 */
    long long max_output_tokens; /* the completion cap (max_tokens), or -1 */
} budget_request;

/// Decides whether a request may be sent.  The monthly cap is checked first (reached when
/// spent >= cap), then the per-request cap (refused when estimate > cap); a cap that cannot be
/// checked gives BUDGET_UNENFORCED, and a cap that refuses wins over one that cannot be
/// checked.  msg (n bytes, may be NULL when n is 0) receives one sentence starting with
/// "ami: " for REFUSED and UNENFORCED, "" for OK; it names the setting and how to change it.
/// Never fails.
budget_verdict budget_decide(const ami_config *cfg, const budget_request *req, char *msg, size_t n);

/// budget_decide without token counts or a ledger error text (kept for callers that have
/// only the amounts).
budget_verdict budget_check(const ami_config *cfg, double month_spent_usd, int ledger_ok,
                            double estimate_usd, int estimate_known, char *msg, size_t n);

#endif
