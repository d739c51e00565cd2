/* The ledger's parts that its own files share (src/ledger*.c); not for other modules.
 *
 * The queue and its ops are src/ledger.c's (the loop thread's side, and the hand-over to
 * the pool, described at its top); the pool thread's work on an op is there too, or in
 * src/ledger_open.c (opening the file) and src/ledger_requests.c (the requests table).
 */
#ifndef AMI_LEDGER_INTERNAL_H
#define AMI_LEDGER_INTERNAL_H

#include "ami/ledger.h"

#include <stddef.h>
#include <uv.h>

struct sqlite3;
struct sqlite3_stmt;

#define LEDGER_ERRLEN 512

typedef enum {
    LEDGER_OP_OPEN,
    LEDGER_OP_RECORD,
    LEDGER_OP_MONTH,
    LEDGER_OP_MONTHS,
    LEDGER_OP_DOCUMENT,
    LEDGER_OP_FLUSH,
    LEDGER_OP_EXEC,
    LEDGER_OP_CLOSE
} ledger_op_kind;

/* The strings of a row, copied by ledger_record. */
enum {
    LEDGER_S_CLIENT,
    LEDGER_S_COMMAND,
    LEDGER_S_PROVIDER,
    LEDGER_S_MODEL_REQUESTED,
    LEDGER_S_MODEL_ANSWERED,
    LEDGER_S_DOCUMENT,
    LEDGER_S_THREAD,
    LEDGER_S_ERROR,
    LEDGER_S_FINISH_REASON,
    LEDGER_S_PROMPT_TEXT,
    LEDGER_S_ANSWER_TEXT,
    LEDGER_S_UID,
    LEDGER_S_TURN,
    LEDGER_S_SENT_URL,
    LEDGER_S_SENT_HEADERS,
    LEDGER_S_SENT_BODY,
    LEDGER_S_COUNT
};

typedef struct ledger_op {
    uv_work_t work;
    struct ledger_op *next;
    ledger *l;
    ledger_op_kind kind;

    /* LEDGER_OP_RECORD: the row, its string fields pointing into s[] */
    ledger_row row;
    char *s[LEDGER_S_COUNT];
    /* LEDGER_OP_MONTH: [from, to) in unix seconds; LEDGER_OP_MONTHS: how_many; LEDGER_OP_DOCUMENT:
     * document */
    long long from, to;
    char month[8];
    int how_many;
    char *document;

    /* results, written by the pool thread, read in after_work */
    int rc;
    int fatal; /* the file turned out unusable (corrupt): refuse later ops at once */
    char err[LEDGER_ERRLEN];
    ledger_totals totals;
    ledger_model_totals *models;
    size_t n_models;
    ledger_totals *months;
    size_t n_months;

    /* LEDGER_OP_EXEC: the work, what it is doing (for the error message) */
    ledger_work_fn exec;
    const char *what;

    ledger_done_fn done;
    ledger_totals_fn totals_cb;
    ledger_months_fn months_cb;
    void (*close_cb)(void *ud);
    void *ud;
} ledger_op;

struct ledger {
    uv_loop_t *loop;
    char *path;
    int store_text;

    /* loop thread */
    ledger_op *head, *tail; /* head is running when running != 0 */
    int running;
    int closing;
    char *error;
    struct ledger_op *close_op; /* allocated by ledger_new, queued by ledger_close */

    /* pool thread (one at a time, see the top of src/ledger.c) */
    struct sqlite3 *db;
    struct sqlite3_stmt *insert;
    char open_err[LEDGER_ERRLEN];
};

/* ---- the pool thread's work (one op at a time) ---- */

/* Opening (src/ledger_open.c). */
/// Opens l->path (creating it 0600, and its directories 0700), in WAL mode, brings its
/// schema to LEDGER_SCHEMA_VERSION and prepares l->insert.  0, or LEDGER_E* with the
/// sentence in err (LEDGER_ERRLEN bytes); l->db is then NULL.
int ledger_do_open(ledger *l, char *err);
/// The message for a SQLite failure rc while doing what, into err (LEDGER_ERRLEN bytes), with
/// advice for the failures a person can fix.
void ledger_db_error(ledger *l, const char *what, int rc, char *err);
/// True when rc says the file is not a database or is damaged: later ops must fail at once.
int ledger_is_fatal(int rc);

/* The requests table (src/ledger_requests.c).  Each returns 0, or LEDGER_EDB with o->err
 * set (and o->fatal when the file proved unusable). */
/// The statement ledger_do_record() runs, prepared once by ledger_do_open().
extern const char ledger_insert_sql[];
/// Writes o->row, and links the notes it streamed to it, in one write transaction.
int ledger_do_record(ledger *l, ledger_op *o);
/// LEDGER_OP_MONTH or LEDGER_OP_DOCUMENT: o->totals and o->models, in one read transaction.
int ledger_do_totals(ledger *l, ledger_op *o);
/// LEDGER_OP_MONTHS: o->months (o->how_many at most, the newest first).
int ledger_do_months(ledger *l, ledger_op *o);

/* ledger_migrations[v] takes a file from user_version v to v + 1.  Never edit a released
 * step: add one (src/ledger_schema.c). */
extern const char *const ledger_migrations[LEDGER_SCHEMA_VERSION];

/// Room for item n of an array of cap items of size bytes: items itself while n < *cap, else
/// items reallocated to twice *cap (16 at first), *cap updated.  NULL when out of memory
/// (items is then unchanged and still the caller's).
void *ledger_grow(void *items, size_t *cap, size_t n, size_t size);

/* Column readers for the ledger's SELECTs (in src/ledger_schema.c). */
/// The column's text, malloc'd (the caller frees it); NULL for NULL, or out of memory.
char *ledger_col_dup(struct sqlite3_stmt *st, int c);
/// The column's integer; -1 for NULL (a count or a duration that is unknown).
long long ledger_col_count(struct sqlite3_stmt *st, int c);
/// The column's number; -1 for NULL (an amount that is unknown).
double ledger_col_real(struct sqlite3_stmt *st, int c);

#endif
