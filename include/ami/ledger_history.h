/* ledger_history: what the ledger remembers of the writer's conversations and models.
 *
 * A document's thread survives restarting Neovim: ledger_thread() reads back the turns of the
 * newest thread asked about a document (what was asked, from the `turn` column, and the answer
 * as it arrived), so the sidebar shows them again and a follow-up carries them to the model.
 * ledger_models_used() lists the models the writer has used, most recent first, for the model
 * picker.  Both run on the ledger's connection (ledger_exec()); callbacks follow ledger.h's
 * contract, and what they are given is valid during the call only.
 */
#ifndef AMI_LEDGER_HISTORY_H
#define AMI_LEDGER_HISTORY_H

#include "ami/ledger.h"

#include <stddef.h>
#include <time.h>

/* One earlier turn. */
typedef struct ledger_turn {
    long long id;
    const char *uid;
    time_t started;
    const char *command; /* critique, explain, explore, ask, followup */
    const char *turn;    /* the `turn` JSON; NULL when the ledger kept no text */
    const char *answer;  /* NULL when the ledger kept no text (store_text = false) */
    const char *model;   /* the model that answered, else the one asked */
    const char *status;  /* ok, error, interrupted, cancelled */
    const char *error;
    long long prompt_tokens, completion_tokens; /* -1 unknown */
    double cost_usd;                            /* < 0 unknown */
    const char *cost_source;
    double co2e_g; /* < 0 unknown */
    long long duration_ms;
} ledger_turn;

/// thread: the thread's id (NULL when the document has none); turns oldest first.
typedef void (*ledger_thread_fn)(void *ud, int rc, const char *thread, const ledger_turn *turns,
                                 size_t n, const char *err);

/// The newest thread asked about document (its absolute path), at most LEDGER_THREAD_MAX turns
/// (the newest ones).  Refused requests are not turns.
#define LEDGER_THREAD_MAX 200
int ledger_thread(ledger *l, const char *document, ledger_thread_fn cb, void *ud);

typedef struct ledger_model_use {
    const char *model; /* as asked for (model_requested) */
    long long requests;
    time_t last_used;
} ledger_model_use;

typedef void (*ledger_models_used_fn)(void *ud, int rc, const ledger_model_use *models, size_t n,
                                      const char *err);

/// The models the writer asked for, most recently used first (at most 500).
int ledger_models_used(ledger *l, ledger_models_used_fn cb, void *ud);

#endif
