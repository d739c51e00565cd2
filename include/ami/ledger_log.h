/* ledger_log: the requests the ledger recorded, read back for `ami log` and for what left the
 * machine (`ami log show`, :AmiSent after a restart).
 *
 * Functions that read take the ledger's connection: call them from a ledger_work_fn (they
 * run on the thread pool, between the ledger's other operations), never on the loop thread.
 * What they fill is owned by the caller and freed with the matching _free function.
 */
#ifndef AMI_LEDGER_LOG_H
#define AMI_LEDGER_LOG_H

#include <stddef.h>
#include <time.h>

struct sqlite3;

/* One recorded request, as `ami log` lists it. */
typedef struct ledger_log_entry {
    long long id;
    char *uid; /* NULL for rows older than schema 3 */
    time_t started;
    char *command;
    char *model;  /* the model that answered, else the one asked */
    char *status; /* ok, error, interrupted, cancelled, refused */
    char *error;
    char *document;
    long long prompt_tokens, completion_tokens; /* -1 unknown */
    double cost_usd;   /* < 0 unknown; for a refused request, the estimate that was refused */
    char *cost_source; /* reported, estimated, unknown */
    int sent;          /* the row keeps what was sent (schema 6 on, a request that left) */
} ledger_log_entry;

/* Which requests to list: the newest `limit` (1..LEDGER_LOG_MAX), of one document (its path
 * as recorded) when document is not NULL. */
#define LEDGER_LOG_MAX 10000
typedef struct ledger_log_query {
    int limit;
    const char *document;
} ledger_log_query;

/// The requests q asks for, newest first, into *out (n of them; *out NULL when none).
/// Returns SQLITE_OK or SQLite's error code (nothing to free then).
int ledger_log_list(struct sqlite3 *db, const ledger_log_query *q, ledger_log_entry **out,
                    size_t *n);
void ledger_log_entries_free(ledger_log_entry *e, size_t n);

/* What one request sent.  url and headers are NULL when the row keeps nothing of it (recorded
 * before schema 6, or refused: nothing left); body is NULL as well when the ledger did not
 * store texts (ledger.store_text = false), since it holds the document. */
typedef struct ledger_sent {
    ledger_log_entry e;
    char *url;
    char *headers; /* "Name: value\n" lines, auth values <redacted> */
    char *body;    /* the JSON body exactly as sent, secrets already masked */
} ledger_sent;

/// The request whose id is id (id > 0), else whose uid is uid (not NULL), else the newest
/// request about document that sent something.  Returns SQLITE_OK with *out filled,
/// SQLITE_NOTFOUND when there is no such request, or SQLite's error code.
int ledger_log_sent(struct sqlite3 *db, long long id, const char *uid, const char *document,
                    ledger_sent *out);
void ledger_sent_free(ledger_sent *s);

/// Why s shows no body, as a sentence fragment for people ("it was refused before sending
/// …"), or NULL when it has one.  Static.
const char *ledger_sent_missing(const ledger_sent *s);

#endif
