/* ledger: the usage record, a SQLite file with one row per request (doc/LEDGER.md has the
 * schema, its units and example queries).
 *
 * Every operation runs on the libuv thread pool and reports on the loop thread: the loop
 * thread never touches SQLite, so a slow disk or a lock held by another process never
 * freezes the editor.  The operations of one ledger run one at a time, in the order they
 * were asked for (a queue), so its single connection is never used by two threads at once.
 * Several processes (two Neovims and a CLI) may write the same file: WAL mode, a busy
 * timeout and one short transaction per row let them all in without losing a row.
 *
 * Lifecycle:
 *
 *   ledger_new ──► opening ──► usable ─────────────┐
 *                     │                            ├─► ledger_close: queued work finishes,
 *                     └──► unusable (ledger_error) ┘   the file is closed, l is freed
 *
 * Opening happens in the background; operations asked for meanwhile wait in the queue.  A
 * ledger that cannot be opened (a read-only directory, a full disk, a corrupt file, a path
 * that is a directory) never blocks an answer: the queued operations fail with the reason,
 * and once the reason is known (ledger_error() != NULL) new ones are refused at once.  A file
 * that is not a database is reported and never overwritten.
 *
 * Callbacks contract, for every function that takes one: when the function returns 0 the
 * callback is called exactly once, later, on the loop thread (never from inside the call);
 * when it returns a negative code the callback is never called.  Callbacks may call any
 * ledger function, including ledger_close.  Strings and totals passed to a callback belong
 * to the ledger and are valid only during the callback.
 *
 * All functions are for the loop thread only.
 */
#ifndef AMI_LEDGER_H
#define AMI_LEDGER_H

#include "ami/cost.h"

#include <stddef.h>
#include <time.h>
#include <uv.h>

/* The schema version this ami writes (PRAGMA user_version); older files are migrated when
 * opened, newer ones are left alone and reported. */
#define LEDGER_SCHEMA_VERSION 6

/* Error codes (negative, as everywhere in ami). */
#define LEDGER_EUNUSABLE (-1) /* the file could not be opened; ledger_error() says why */
#define LEDGER_ENOMEM    (-2)
#define LEDGER_ECLOSED   (-3) /* ledger_close was called */
#define LEDGER_EDB       (-4) /* this operation failed (disk full, lock timeout…); err says why */
#define LEDGER_EINVAL    (-5) /* a bad argument (NULL, a month that is not YYYY-MM) */

typedef struct ledger ledger;

typedef enum {
    LEDGER_STATUS_OK = 0,      /* the answer arrived in full */
    LEDGER_STATUS_ERROR,       /* the provider or the network failed */
    LEDGER_STATUS_INTERRUPTED, /* the stream was cut off (connection lost, engine stopped) */
    LEDGER_STATUS_CANCELLED,   /* the user stopped it */
    LEDGER_STATUS_REFUSED,     /* the budget refused it: nothing was sent */
} ledger_status;

/* One request, as given to ledger_record.  Strings may be NULL (stored as NULL); the ledger
 * copies what it keeps, and masks every secret registered with secret_add() (log.h) in its
 * copies.  Never put an API key in any field: there is no column for one. */
typedef struct ledger_row {
    time_t started_at;   /* wall clock; 0 = the time of the ledger_record call */
    time_t ended_at;     /* 0 = the time of the ledger_record call */
    const char *client;  /* "nvim" or "cli" (NULL is stored as "unknown") */
    const char *command; /* "critique", "explain", "ask", "followup"… (NULL: "unknown") */
    const char *provider;
    const char *model_requested;
    const char *model_answered;  /* as the provider named it in the answer */
    const char *document;        /* the document's path */
    const char *thread;          /* the conversation's id */
    long long prompt_tokens;     /* -1 = unknown (stored as NULL) */
    long long completion_tokens; /* -1 = unknown */
    double cost_usd;             /* ignored (NULL) when cost_source is COST_UNKNOWN */
    cost_source cost_source;
    double co2e_g; /* < 0 or NaN = unknown (NULL) */
    ledger_status status;
    const char *error; /* what went wrong, for people (already free of secrets) */
    const char *finish_reason;
    long long ttft_ms;       /* time to first token; -1 = none */
    long long duration_ms;   /* -1 = unknown */
    const char *prompt_text; /* kept only when the ledger stores texts */
    const char *answer_text;
    const char *uid;          /* the request's stable name (notes point at it), or NULL */
    const char *turn;         /* what was asked, as JSON without the document; kept only when the
                                 ledger stores texts (it holds the question) */
    const char *sent_url;     /* where the request went (NULL: nothing was sent) */
    const char *sent_headers; /* its header lines, auth values already <redacted> */
    const char *sent_body;    /* the JSON body as sent; kept only when the ledger stores texts */
} ledger_row;

/* Totals for one model within a period. */
typedef struct ledger_model_totals {
    const char *model; /* model_answered, else model_requested, else "(unknown)" */
    long long requests;
    long long prompt_tokens;
    long long completion_tokens;
    double cost_usd;           /* reported + estimated */
    double estimated_cost_usd; /* the part of cost_usd that was estimated */
    long long unknown_cost_requests;
    double co2e_g;
} ledger_model_totals;

/* Totals for a period (a month) or a document.  Refused requests were never sent: they count
 * in `refused` only, not in requests nor anywhere else. */
typedef struct ledger_totals {
    char month[8];      /* "YYYY-MM"; "" for a document's totals */
    long long requests; /* sent requests, whatever their status */
    long long refused;
    long long threads; /* distinct non-NULL thread ids */
    long long prompt_tokens;
    long long completion_tokens;
    double cost_usd;                 /* reported + estimated, in USD */
    double estimated_cost_usd;       /* the part of cost_usd that was estimated */
    long long unknown_cost_requests; /* requests whose cost is unknown, not in cost_usd */
    double co2e_g;
    const ledger_model_totals *by_model; /* most expensive first; NULL for ledger_months */
    size_t n_by_model;
} ledger_totals;

typedef void (*ledger_done_fn)(void *ud, int rc, const char *err);
/* t is NULL when rc < 0. */
typedef void (*ledger_totals_fn)(void *ud, int rc, const ledger_totals *t, const char *err);
/* months[0..n) newest first; NULL when rc < 0. */
typedef void (*ledger_months_fn)(void *ud, int rc, const ledger_totals *months, size_t n,
                                 const char *err);

/* ---- lifecycle -------------------------------------------------------------------------- */

/// Creates a ledger on path and starts opening it in the background: missing directories are
/// created 0700, the file 0600 (an existing file more open than that is narrowed to 0600 when
/// ami owns it), WAL mode, and older schemas migrated.  store_text: keep the prompt and answer
/// texts (else those columns stay NULL).  Returns NULL only when out of memory or given a NULL
/// loop or path; opening failures are reported later, through the operations' callbacks and
/// ledger_error().  Copies path.  Free with ledger_close().
ledger *ledger_new(uv_loop_t *loop, const char *path, int store_text);

/// Finishes the queued operations (their callbacks are called), closes the file in the
/// background, frees l, then calls done(ud) if done is not NULL.  The loop must run until
/// then.  After the call, new operations on l return LEDGER_ECLOSED, and l must not be used
/// once done has been called.  NULL l, or a second call: nothing happens (done is not
/// called).
void ledger_close(ledger *l, void (*done)(void *ud), void *ud);

/// NULL while the ledger is usable (or still opening), else why it is not, as one sentence
/// naming the file ("ledger /path: file is not a database; move it aside…").  Owned by l.
/// Callers tell the user once.
const char *ledger_error(const ledger *l);

/// The file's path (owned by l).
const char *ledger_path(const ledger *l);

/* ---- operations ------------------------------------------------------------------------- */

/// Appends one row, in its own transaction.  Copies everything it needs from row before
/// returning (the caller may free it at once).  done (may be NULL) gets rc 0, or a negative
/// code and the reason.  Returns 0 (queued), LEDGER_EUNUSABLE (see ledger_error),
/// LEDGER_ECLOSED, LEDGER_ENOMEM or LEDGER_EINVAL.
int ledger_record(ledger *l, const ledger_row *row, ledger_done_fn done, void *ud);

/// Totals for one calendar month in local time, month "YYYY-MM" (NULL: the current month),
/// with by_model.  A month without rows gives zero totals.  Returns as ledger_record;
/// LEDGER_EINVAL for a malformed month or a NULL cb.
int ledger_month(ledger *l, const char *month, ledger_totals_fn cb, void *ud);

/// Totals (without by_model) of the how_many most recent months that have rows, newest first
/// (local time).  Returns as ledger_record; LEDGER_EINVAL when how_many < 1 or cb is NULL.
int ledger_months(ledger *l, int how_many, ledger_months_fn cb, void *ud);

/// Totals, with by_model, of every request made about one document (its path, as recorded),
/// so a file reopened later shows what it already cost.  Returns as ledger_month.
int ledger_document(ledger *l, const char *path, ledger_totals_fn cb, void *ud);

struct sqlite3;
/// Work on the ledger's connection, run on the thread pool between the other operations:
/// db is usable (the schema is current), store_text says whether texts may be kept.  Returns
/// SQLITE_OK (or SQLITE_DONE), or the SQLite result code of what failed: the ledger turns it
/// into one sentence ("ledger PATH: <what>: <SQLite's message>") and rolls back a transaction
/// the work left open.  The work must not touch the loop or anything the loop thread uses:
/// it reads and writes only its own ud, which the loop thread must leave alone until done.
typedef int (*ledger_work_fn)(struct sqlite3 *db, int store_text, void *ud);

/// Queues work (see ledger_work_fn); what names it for an error message and must stay valid
/// until done ("cannot store the notes").  done (may be NULL) gets rc 0 or a negative code
/// and the reason, on the loop thread.  How the other modules keep their own tables (notes,
/// votes, imported usage) in the same file without a connection of their own.  Returns as
/// ledger_record.
int ledger_exec(ledger *l, const char *what, ledger_work_fn work, ledger_done_fn done, void *ud);

/// Calls done once every operation queued before it has finished: rc 0 when the ledger is
/// usable, LEDGER_EUNUSABLE (with the reason) when it could not be opened.  A way to learn
/// whether the file is usable (health checks, tests).  Returns as ledger_record.
int ledger_flush(ledger *l, ledger_done_fn done, void *ud);

/* ---- helpers ---------------------------------------------------------------------------- */

/// "ok", "error", "interrupted", "cancelled" or "refused" (the status column).  Static.
const char *ledger_status_name(ledger_status s);

/// Writes the local calendar month of t as "YYYY-MM" into out (8 bytes).  Returns 0, or -1
/// when the time cannot be converted.
int ledger_month_of(time_t t, char out[8]);

/// True when s is a well-formed "YYYY-MM" (year 1970-9999, month 01-12).
int ledger_month_valid(const char *s);

#endif
