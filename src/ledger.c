/* ledger: the SQLite usage record, off the loop thread.  See include/ami/ledger.h and
 * doc/LEDGER.md.
 *
 * Threads.  The loop thread owns the queue of operations (ops), the closing flag and
 * l->error; a pool thread runs one op at a time and is the only one to touch SQLite (l->db,
 * l->insert, l->open_err).  Ops run strictly one after the other: the next op is handed to
 * uv_queue_work only from the previous op's after-work callback, on the loop thread.  libuv's
 * work queue takes a mutex on both sides of each hand-over, which orders every access to the
 * connection even when consecutive ops land on different pool threads.  That is why the
 * connection is opened with SQLITE_OPEN_NOMUTEX: it is never shared at the same moment.
 *
 * Several processes.  WAL lets readers and one writer work at once; busy_timeout makes a
 * writer wait (up to 10 s) for another process's transaction instead of failing; each row is
 * written by BEGIN IMMEDIATE … COMMIT, which takes the write lock up front, so two writers
 * never deadlock upgrading a read transaction.  Schema migrations run inside the same kind of
 * transaction and re-read user_version there, so two processes opening a new file at once
 * migrate it once.
 */
#include "ami/ledger.h"

#include "ami/log.h"
#include "ledger_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000
#define ERRLEN          512

/* ---- schema: src/ledger_schema.c ---------------------------------------------------------- */

/* The totals' columns, in ledger_totals order; the same definitions as the months view. */
#define TOTALS_COLUMNS                                                                             \
    " COALESCE(SUM(status <> 'refused'), 0),"                                                      \
    " COALESCE(SUM(status = 'refused'), 0),"                                                       \
    " COUNT(DISTINCT CASE WHEN status <> 'refused' THEN thread END),"                              \
    " COALESCE(SUM(CASE WHEN status <> 'refused' THEN prompt_tokens END), 0),"                     \
    " COALESCE(SUM(CASE WHEN status <> 'refused' THEN completion_tokens END), 0),"                 \
    " TOTAL(CASE WHEN status <> 'refused' AND cost_source <> 'unknown' THEN cost_usd END),"        \
    " TOTAL(CASE WHEN status <> 'refused' AND cost_source = 'estimated' THEN cost_usd END),"       \
    " COALESCE(SUM(status <> 'refused' AND (cost_source = 'unknown' OR cost_usd IS NULL)), 0),"    \
    " TOTAL(CASE WHEN status <> 'refused' THEN co2e_g END)"

#define MODEL_EXPR "COALESCE(model_answered, model_requested, '(unknown)')"

static const char insert_sql[] =
    "INSERT INTO requests (started_at, started_unix, ended_at, ended_unix, client, command,"
    " provider, model_requested, model_answered, document, thread, prompt_tokens,"
    " completion_tokens, cost_usd, cost_source, co2e_g, status, error, finish_reason, ttft_ms,"
    " duration_ms, prompt_text, answer_text, uid, turn, sent_url, sent_headers, sent_body)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    " ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";

/* The notes written while the request streamed now point at its row. */
static const char link_notes_sql[] =
    "UPDATE notes SET request_id = ?1 WHERE request_uid = ?2 AND request_id IS NULL";

/* ---- types ------------------------------------------------------------------------------ */

typedef enum {
    OP_OPEN,
    OP_RECORD,
    OP_MONTH,
    OP_MONTHS,
    OP_DOCUMENT,
    OP_FLUSH,
    OP_EXEC,
    OP_CLOSE
} op_kind;

/* The strings of a row, copied by ledger_record. */
enum {
    S_CLIENT,
    S_COMMAND,
    S_PROVIDER,
    S_MODEL_REQUESTED,
    S_MODEL_ANSWERED,
    S_DOCUMENT,
    S_THREAD,
    S_ERROR,
    S_FINISH_REASON,
    S_PROMPT_TEXT,
    S_ANSWER_TEXT,
    S_UID,
    S_TURN,
    S_SENT_URL,
    S_SENT_HEADERS,
    S_SENT_BODY,
    S_COUNT
};

typedef struct op {
    uv_work_t work;
    struct op *next;
    ledger *l;
    op_kind kind;

    /* OP_RECORD: the row, its string fields pointing into s[] */
    ledger_row row;
    char *s[S_COUNT];
    /* OP_MONTH: [from, to) in unix seconds; OP_MONTHS: how_many; OP_DOCUMENT: document */
    long long from, to;
    char month[8];
    int how_many;
    char *document;

    /* results, written by the pool thread, read in after_work */
    int rc;
    int fatal; /* the file turned out unusable (corrupt): refuse later ops at once */
    char err[ERRLEN];
    ledger_totals totals;
    ledger_model_totals *models;
    size_t n_models;
    ledger_totals *months;
    size_t n_months;

    /* OP_EXEC: the work, what it is doing (for the error message) */
    ledger_work_fn exec;
    const char *what;

    ledger_done_fn done;
    ledger_totals_fn totals_cb;
    ledger_months_fn months_cb;
    void (*close_cb)(void *ud);
    void *ud;
} op;

struct ledger {
    uv_loop_t *loop;
    char *path;
    int store_text;

    /* loop thread */
    op *head, *tail; /* head is running when running != 0 */
    int running;
    int closing;
    char *error;
    struct op *close_op; /* allocated by ledger_new, queued by ledger_close */

    /* pool thread (one at a time, see the top of the file) */
    sqlite3 *db;
    sqlite3_stmt *insert;
    char open_err[ERRLEN];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    return s ? strdup(s) : NULL;
}

static void errno_text(int e, char *buf, size_t n) {
    if (strerror_r(e, buf, n) != 0)
        snprintf(buf, n, "error %d", e);
}

const char *ledger_status_name(ledger_status s) {
    switch (s) {
    case LEDGER_STATUS_OK:
        return "ok";
    case LEDGER_STATUS_ERROR:
        return "error";
    case LEDGER_STATUS_INTERRUPTED:
        return "interrupted";
    case LEDGER_STATUS_CANCELLED:
        return "cancelled";
    case LEDGER_STATUS_REFUSED:
        return "refused";
    }
    return "error";
}

int ledger_month_of(time_t t, char out[8]) {
    struct tm tm;
    if (!localtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return -1;
    return strftime(out, 8, "%Y-%m", &tm) == 7 ? 0 : -1;
}

int ledger_month_valid(const char *s) {
    if (!s || strlen(s) != 7 || s[4] != '-')
        return 0;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int year = atoi(s);
    int month = atoi(s + 5);
    return year >= 1970 && month >= 1 && month <= 12;
}

/* The local-time bounds [from, to) of month "YYYY-MM". */
static int month_bounds(const char *month, long long *from, long long *to) {
    struct tm a = {0}, b = {0};
    a.tm_year = atoi(month) - 1900;
    a.tm_mon = atoi(month + 5) - 1;
    a.tm_mday = 1;
    a.tm_isdst = -1; /* let mktime decide whether the 1st is in summer time */
    b = a;
    b.tm_mon += 1; /* mktime normalises December + 1 into January of the next year */
    time_t ta = mktime(&a), tb = mktime(&b);
    if (ta == (time_t)-1 || tb == (time_t)-1)
        return -1;
    *from = (long long)ta;
    *to = (long long)tb;
    return 0;
}

/* ISO-8601 local time with its UTC offset, "2025-03-14T09:12:33+01:00". */
static void iso_time(time_t t, char out[40]) {
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(out, 40, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0) {
        snprintf(out, 40, "%lld", (long long)t);
        return;
    }
    size_t n = strlen(out); /* strftime's %z is "+0100": ISO's extended form wants "+01:00" */
    if (n >= 5 && (out[n - 5] == '+' || out[n - 5] == '-')) {
        out[n + 1] = '\0';
        out[n] = out[n - 1];
        out[n - 1] = out[n - 2];
        out[n - 2] = ':';
    }
}

/* ---- pool thread: opening ---------------------------------------------------------------- */

/* The message for a SQLite failure, with advice for the failures a person can fix. */
static void db_error(ledger *l, const char *what, int rc, char *err) {
    int primary = rc & 0xff;
    if (primary == SQLITE_NOTADB)
        snprintf(err, ERRLEN,
                 "ledger %s: file is not a database; move it aside (ami then starts a new "
                 "ledger) or point ledger.path elsewhere",
                 l->path);
    else if (primary == SQLITE_CORRUPT)
        snprintf(err, ERRLEN,
                 "ledger %s: the database is damaged (%s); move it aside (ami then starts a new "
                 "ledger) or point ledger.path elsewhere",
                 l->path, l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
    else if (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM)
        snprintf(err, ERRLEN, "ledger %s: %s: %s (are the file and its directory writable?)",
                 l->path, what, l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
    else if (primary == SQLITE_FULL || primary == SQLITE_IOERR)
        snprintf(err, ERRLEN, "ledger %s: %s: %s (is the disk full?)", l->path, what,
                 l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
    else
        snprintf(err, ERRLEN, "ledger %s: %s: %s", l->path, what,
                 l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
}

static int is_fatal(int rc) {
    return (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT;
}

/* Creates the missing directories above path, each 0700: the ledger may hold the user's
 * texts, so nobody else should even list it. */
static int make_parents(ledger *l, char *err) {
    char *p = strdup(l->path);
    if (!p) {
        snprintf(err, ERRLEN, "ledger %s: out of memory", l->path);
        return LEDGER_ENOMEM;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            char why[128];
            errno_text(errno, why, sizeof why);
            snprintf(err, ERRLEN, "ledger %s: cannot create the directory %s: %s", l->path, p, why);
            free(p);
            return LEDGER_EUNUSABLE;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

/* Makes sure path is a regular file, creating it 0600 if it is missing.  Creating it here
 * rather than letting SQLite do it is what gives it mode 0600 (SQLite would use 0644 less
 * the umask); SQLite then gives the -wal and -shm files the same mode as the database. */
static int prepare_file(ledger *l, char *err) {
    char why[128];
    struct stat st;
    if (stat(l->path, &st) != 0) {
        if (errno != ENOENT) {
            errno_text(errno, why, sizeof why);
            snprintf(err, ERRLEN, "ledger %s: %s", l->path, why);
            return LEDGER_EUNUSABLE;
        }
        int rc = make_parents(l, err);
        if (rc < 0)
            return rc;
        int fd = open(l->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) { /* EEXIST: another process just made it */
            errno_text(errno, why, sizeof why);
            snprintf(err, ERRLEN, "ledger %s: cannot create the file: %s", l->path, why);
            return LEDGER_EUNUSABLE;
        }
        if (fd >= 0) {
            if (fchmod(fd, 0600) != 0) { /* a umask such as 0277 must not leave it unwritable */
                errno_text(errno, why, sizeof why);
                close(fd);
                snprintf(err, ERRLEN, "ledger %s: cannot set its mode: %s", l->path, why);
                return LEDGER_EUNUSABLE;
            }
            close(fd);
        }
        if (stat(l->path, &st) != 0) {
            errno_text(errno, why, sizeof why);
            snprintf(err, ERRLEN, "ledger %s: %s", l->path, why);
            return LEDGER_EUNUSABLE;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, ERRLEN, "ledger %s: is a directory, not a file; set ledger.path to a file",
                 l->path);
        return LEDGER_EUNUSABLE;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, ERRLEN, "ledger %s: is not a regular file", l->path);
        return LEDGER_EUNUSABLE;
    }
    /* A file that others can read may leak prompts: narrow it, if it is ours to change. */
    if ((st.st_mode & 077) && st.st_uid == geteuid())
        (void)chmod(l->path, st.st_mode & 0700);
    return 0;
}

/* Runs a statement that returns one integer (PRAGMA user_version, a count). */
static int query_int(ledger *l, const char *sql, long long *out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Brings the schema to LEDGER_SCHEMA_VERSION, in one write transaction. */
static int migrate(ledger *l, char *err) {
    char *msg = NULL;
    int rc = sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_error(l, "cannot update the schema", rc, err);
        return LEDGER_EUNUSABLE;
    }
    long long version = 0, objects = 0;
    rc = query_int(l, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK && version == 0)
        rc = query_int(l, "SELECT count(*) FROM sqlite_master", &objects);
    if (rc != SQLITE_OK) {
        db_error(l, "cannot read the schema", rc, err);
        goto fail;
    }
    if (version == 0 && objects > 0) {
        /* Somebody else's database: creating our table in it would mix two programs' data. */
        snprintf(err, ERRLEN,
                 "ledger %s: is a SQLite database of some other program (it has tables but no "
                 "ami schema); point ledger.path elsewhere",
                 l->path);
        goto fail;
    }
    for (long long v = version; v < LEDGER_SCHEMA_VERSION; v++) {
        rc = sqlite3_exec(l->db, ledger_migrations[v], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            snprintf(err, ERRLEN, "ledger %s: cannot update the schema from version %lld: %s",
                     l->path, v, msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            goto fail;
        }
    }
    if (version < LEDGER_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", LEDGER_SCHEMA_VERSION);
        rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            db_error(l, "cannot update the schema", rc, err);
            goto fail;
        }
    }
    rc = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_error(l, "cannot update the schema", rc, err);
        goto fail;
    }
    return 0;
fail:
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return LEDGER_EUNUSABLE;
}

static int do_open(ledger *l, char *err) {
    if (!sqlite3_threadsafe()) {
        snprintf(err, ERRLEN, "ledger %s: this SQLite library was built without thread support",
                 l->path);
        return LEDGER_EUNUSABLE;
    }
    if (!*l->path) {
        snprintf(err, ERRLEN, "ledger path is empty; set ledger.path to a file");
        return LEDGER_EUNUSABLE;
    }
    int rc = prepare_file(l, err);
    if (rc < 0)
        return rc;
    /* No SQLITE_OPEN_CREATE: prepare_file made the file, and a file that vanished since
     * should be an error, not a fresh ledger with the wrong mode. */
    rc = sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        db_error(l, "cannot open", rc, err);
        goto fail;
    }
    sqlite3_extended_result_codes(l->db, 1);
    sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
    if (sqlite3_db_readonly(l->db, "main") == 1) {
        snprintf(err, ERRLEN, "ledger %s: the file is read-only; ami cannot record requests",
                 l->path);
        goto fail;
    }

    /* Reading the version is the first access to the file: a file that is not a database
     * fails here, before anything could be written to it. */
    long long version = 0;
    rc = query_int(l, "PRAGMA user_version", &version);
    if (rc != SQLITE_OK) {
        db_error(l, "cannot read", rc, err);
        goto fail;
    }
    if (version > LEDGER_SCHEMA_VERSION) {
        snprintf(err, ERRLEN,
                 "ledger %s: was written by a newer ami (schema version %lld; this one knows up "
                 "to %d); upgrade ami, or point ledger.path elsewhere",
                 l->path, version, LEDGER_SCHEMA_VERSION);
        goto fail;
    }
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(l->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        db_error(l, "cannot switch to WAL mode", rc, err);
        goto fail;
    }
    if (version < LEDGER_SCHEMA_VERSION && migrate(l, err) < 0)
        goto fail;
    rc = sqlite3_prepare_v3(l->db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &l->insert, NULL);
    if (rc != SQLITE_OK) {
        db_error(l, "unexpected schema", rc, err);
        goto fail;
    }
    return 0;
fail:
    sqlite3_finalize(l->insert);
    l->insert = NULL;
    sqlite3_close(l->db);
    l->db = NULL;
    return LEDGER_EUNUSABLE;
}

/* ---- pool thread: operations ------------------------------------------------------------ */

static int bind_text(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_count(sqlite3_stmt *st, int i, long long v) {
    return v >= 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

static int link_notes(sqlite3 *db, sqlite3_int64 id, const char *uid) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, link_notes_sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 1, id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc;
}

static int do_record(ledger *l, op *o) {
    const ledger_row *r = &o->row;
    sqlite3_stmt *st = l->insert;
    char started[40], ended[40];
    iso_time(r->started_at, started);
    iso_time(r->ended_at, ended);
    int known_cost = r->cost_source != COST_UNKNOWN && isfinite(r->cost_usd) && r->cost_usd >= 0;
    int rc = SQLITE_OK;
    /* Binding only fails on a programming error (index, memory); check them all at once. */
    rc |= sqlite3_bind_text(st, 1, started, -1, SQLITE_TRANSIENT);
    rc |= sqlite3_bind_int64(st, 2, (sqlite3_int64)r->started_at);
    rc |= sqlite3_bind_text(st, 3, ended, -1, SQLITE_TRANSIENT);
    rc |= sqlite3_bind_int64(st, 4, (sqlite3_int64)r->ended_at);
    rc |= bind_text(st, 5, r->client ? r->client : "unknown");
    rc |= bind_text(st, 6, r->command ? r->command : "unknown");
    rc |= bind_text(st, 7, r->provider);
    rc |= bind_text(st, 8, r->model_requested);
    rc |= bind_text(st, 9, r->model_answered);
    rc |= bind_text(st, 10, r->document);
    rc |= bind_text(st, 11, r->thread);
    rc |= bind_count(st, 12, r->prompt_tokens);
    rc |= bind_count(st, 13, r->completion_tokens);
    rc |= known_cost ? sqlite3_bind_double(st, 14, r->cost_usd) : sqlite3_bind_null(st, 14);
    rc |= bind_text(st, 15, cost_source_name(known_cost ? r->cost_source : COST_UNKNOWN));
    rc |= isfinite(r->co2e_g) && r->co2e_g >= 0 ? sqlite3_bind_double(st, 16, r->co2e_g)
                                                : sqlite3_bind_null(st, 16);
    rc |= bind_text(st, 17, ledger_status_name(r->status));
    rc |= bind_text(st, 18, r->error);
    rc |= bind_text(st, 19, r->finish_reason);
    rc |= bind_count(st, 20, r->ttft_ms);
    rc |= bind_count(st, 21, r->duration_ms);
    rc |= bind_text(st, 22, l->store_text ? r->prompt_text : NULL);
    rc |= bind_text(st, 23, l->store_text ? r->answer_text : NULL);
    rc |= bind_text(st, 24, r->uid);
    rc |= bind_text(st, 25, l->store_text ? r->turn : NULL);
    rc |= bind_text(st, 26, r->sent_url);
    rc |= bind_text(st, 27, r->sent_headers);
    rc |= bind_text(st, 28, l->store_text ? r->sent_body : NULL);
    if (rc != SQLITE_OK) {
        sqlite3_clear_bindings(st);
        db_error(l, "cannot record the request", SQLITE_NOMEM, o->err);
        return LEDGER_EDB;
    }

    rc = sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE && r->uid)
            rc = link_notes(l->db, sqlite3_last_insert_rowid(l->db), r->uid);
        else if (rc != SQLITE_DONE)
            rc = sqlite3_reset(st); /* the step's real error code */
        if (rc == SQLITE_DONE || rc == SQLITE_OK)
            rc = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        db_error(l, "cannot record the request", rc, o->err);
        o->fatal = is_fatal(rc);
        if (!sqlite3_get_autocommit(l->db))
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_OK ? 0 : LEDGER_EDB;
}

/* Reads TOTALS_COLUMNS starting at column c. */
static void read_totals(sqlite3_stmt *st, int c, ledger_totals *t) {
    t->requests = sqlite3_column_int64(st, c);
    t->refused = sqlite3_column_int64(st, c + 1);
    t->threads = sqlite3_column_int64(st, c + 2);
    t->prompt_tokens = sqlite3_column_int64(st, c + 3);
    t->completion_tokens = sqlite3_column_int64(st, c + 4);
    t->cost_usd = sqlite3_column_double(st, c + 5);
    t->estimated_cost_usd = sqlite3_column_double(st, c + 6);
    t->unknown_cost_requests = sqlite3_column_int64(st, c + 7);
    t->co2e_g = sqlite3_column_double(st, c + 8);
}

/* Binds the WHERE parameters of a month (?1, ?2) or a document (?1) query. */
static int bind_where(op *o, sqlite3_stmt *st) {
    if (o->kind == OP_DOCUMENT)
        return sqlite3_bind_text(st, 1, o->document, -1, SQLITE_STATIC);
    int rc = sqlite3_bind_int64(st, 1, o->from);
    return rc == SQLITE_OK ? sqlite3_bind_int64(st, 2, o->to) : rc;
}

static int do_totals(ledger *l, op *o) {
    const char *where = o->kind == OP_DOCUMENT ? " FROM requests WHERE document = ?1"
                                               : " FROM requests WHERE started_unix >= ?1 AND "
                                                 "started_unix < ?2";
    char sql[2048];
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    /* Both reads in one transaction, so by_model adds up to the totals even while another
     * process is writing. */
    rc = sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    snprintf(sql, sizeof sql, "SELECT" TOTALS_COLUMNS "%s", where);
    rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_where(o, st);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_totals(st, 0, &o->totals);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_OK)
        goto fail;

    snprintf(sql, sizeof sql,
             "SELECT " MODEL_EXPR " AS model," TOTALS_COLUMNS
             "%s AND status <> 'refused' GROUP BY model ORDER BY 7 DESC, 2 DESC, model",
             where);
    rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_where(o, st);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_model_totals *grown = ledger_grow(o->models, &cap, o->n_models, sizeof *grown);
        if (!grown) {
            rc = SQLITE_NOMEM;
            break;
        }
        o->models = grown;
        ledger_totals t = {0};
        read_totals(st, 1, &t);
        ledger_model_totals *m = &o->models[o->n_models];
        const char *name = (const char *)sqlite3_column_text(st, 0);
        m->model = strdup(name ? name : "(unknown)");
        if (!m->model) {
            rc = SQLITE_NOMEM;
            break;
        }
        m->requests = t.requests;
        m->prompt_tokens = t.prompt_tokens;
        m->completion_tokens = t.completion_tokens;
        m->cost_usd = t.cost_usd;
        m->estimated_cost_usd = t.estimated_cost_usd;
        m->unknown_cost_requests = t.unknown_cost_requests;
        m->co2e_g = t.co2e_g;
        o->n_models++;
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
    snprintf(o->totals.month, sizeof o->totals.month, "%s", o->month);
    o->totals.by_model = o->models;
    o->totals.n_by_model = o->n_models;
    return 0;
fail:
    db_error(l, "cannot read the totals", rc, o->err);
    o->fatal = is_fatal(rc);
    if (!sqlite3_get_autocommit(l->db))
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return LEDGER_EDB;
}

static int do_months(ledger *l, op *o) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(l->db,
                                "SELECT strftime('%Y-%m', started_unix, 'unixepoch', 'localtime')"
                                " AS month," TOTALS_COLUMNS
                                " FROM requests GROUP BY month ORDER BY month DESC LIMIT ?1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 1, o->how_many);
    if (rc == SQLITE_OK) {
        o->months = calloc((size_t)o->how_many, sizeof *o->months);
        if (!o->months)
            rc = SQLITE_NOMEM;
    }
    while (rc == SQLITE_OK && o->n_months < (size_t)o->how_many &&
           (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_totals *t = &o->months[o->n_months++];
        const char *m = (const char *)sqlite3_column_text(st, 0);
        snprintf(t->month, sizeof t->month, "%s", m ? m : "");
        read_totals(st, 1, t);
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        db_error(l, "cannot read the monthly totals", rc, o->err);
        o->fatal = is_fatal(rc);
        return LEDGER_EDB;
    }
    return 0;
}

static void work_cb(uv_work_t *w) {
    op *o = w->data;
    ledger *l = o->l;
    if (o->kind == OP_OPEN) {
        o->rc = do_open(l, o->err);
        if (o->rc < 0)
            memcpy(l->open_err, o->err, ERRLEN);
        return;
    }
    if (o->kind == OP_CLOSE) {
        sqlite3_finalize(l->insert);
        l->insert = NULL;
        sqlite3_close(l->db); /* the last connection's close checkpoints the WAL */
        l->db = NULL;
        return;
    }
    if (!l->db) { /* the open failed: fail fast with its reason */
        o->rc = LEDGER_EUNUSABLE;
        memcpy(o->err, l->open_err, ERRLEN);
        return;
    }
    switch (o->kind) {
    case OP_RECORD:
        o->rc = do_record(l, o);
        break;
    case OP_MONTH:
    case OP_DOCUMENT:
        o->rc = do_totals(l, o);
        break;
    case OP_MONTHS:
        o->rc = do_months(l, o);
        break;
    case OP_EXEC: {
        int rc = o->exec(l->db, l->store_text, o->ud);
        o->rc = 0;
        if (rc != SQLITE_OK && rc != SQLITE_DONE) {
            db_error(l, o->what, rc, o->err);
            o->fatal = is_fatal(rc);
            o->rc = LEDGER_EDB;
        }
        if (!sqlite3_get_autocommit(l->db)) /* a transaction the work left open */
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        break;
    }
    default:
        o->rc = 0;
        break;
    }
    if (o->fatal) { /* found corrupt while in use: close, so later ops fail fast */
        memcpy(l->open_err, o->err, ERRLEN);
        sqlite3_finalize(l->insert);
        l->insert = NULL;
        sqlite3_close(l->db);
        l->db = NULL;
    }
}

/* ---- loop thread: the queue ------------------------------------------------------------- */

static void op_free(op *o) {
    for (int i = 0; i < S_COUNT; i++)
        free(o->s[i]);
    free(o->document);
    for (size_t i = 0; i < o->n_models; i++)
        free((char *)o->models[i].model);
    free(o->models);
    free(o->months);
    free(o);
}

static void after_work_cb(uv_work_t *w, int status);

/* Starts the op at the head of the queue unless one is running. */
static void kick(ledger *l) {
    if (l->running || !l->head)
        return;
    l->running = 1;
    l->head->work.data = l->head;
    /* uv_queue_work fails only on a NULL callback; there is no error to handle. */
    (void)uv_queue_work(l->loop, &l->head->work, work_cb, after_work_cb);
}

static void after_work_cb(uv_work_t *w, int status) {
    (void)status; /* ops are never cancelled */
    op *o = w->data;
    ledger *l = o->l;
    l->head = o->next;
    if (!l->head)
        l->tail = NULL;
    l->running = 0;

    if ((o->kind == OP_OPEN && o->rc < 0) || o->fatal) {
        free(l->error);
        l->error = strdup(o->err);
    }
    const char *err = o->rc < 0 ? o->err : NULL;
    switch (o->kind) {
    case OP_RECORD:
    case OP_FLUSH:
    case OP_EXEC:
        if (o->done)
            o->done(o->ud, o->rc, err);
        break;
    case OP_MONTH:
    case OP_DOCUMENT:
        o->totals_cb(o->ud, o->rc, o->rc < 0 ? NULL : &o->totals, err);
        break;
    case OP_MONTHS:
        o->months_cb(o->ud, o->rc, o->rc < 0 ? NULL : o->months, o->rc < 0 ? 0 : o->n_months, err);
        break;
    case OP_CLOSE: {
        void (*done)(void *) = o->close_cb;
        void *ud = o->ud;
        free(l->path);
        free(l->error);
        free(l);
        op_free(o);
        if (done)
            done(ud);
        return;
    }
    case OP_OPEN:
        break;
    }
    op_free(o);
    kick(l);
}

/* A new op of kind, or NULL when out of memory. */
static op *op_new(ledger *l, op_kind kind) {
    op *o = calloc(1, sizeof *o);
    if (o) {
        o->l = l;
        o->kind = kind;
    }
    return o;
}

static void enqueue(ledger *l, op *o) {
    if (l->tail)
        l->tail->next = o;
    else
        l->head = o;
    l->tail = o;
    kick(l);
}

/* Why a new op cannot be queued, or 0. */
static int refuse(const ledger *l) {
    if (!l)
        return LEDGER_EINVAL;
    if (l->closing)
        return LEDGER_ECLOSED;
    if (l->error)
        return LEDGER_EUNUSABLE;
    return 0;
}

/* ---- public API ------------------------------------------------------------------------- */

ledger *ledger_new(uv_loop_t *loop, const char *path, int store_text) {
    if (!loop || !path)
        return NULL;
    ledger *l = calloc(1, sizeof *l);
    op *o = l ? op_new(l, OP_OPEN) : NULL;
    if (!o)
        goto err;
    l->loop = loop;
    l->store_text = store_text;
    l->path = strdup(path);
    /* The close op is made now so that ledger_close cannot fail for want of memory. */
    l->close_op = op_new(l, OP_CLOSE);
    if (!l->path || !l->close_op)
        goto err;
    enqueue(l, o);
    return l;
err:
    free(o);
    if (l) {
        free(l->close_op);
        free(l->path);
    }
    free(l);
    return NULL;
}

void ledger_close(ledger *l, void (*done)(void *ud), void *ud) {
    if (!l || l->closing)
        return;
    op *o = l->close_op;
    l->close_op = NULL;
    l->closing = 1;
    o->close_cb = done;
    o->ud = ud;
    enqueue(l, o);
}

const char *ledger_error(const ledger *l) {
    return l ? l->error : NULL;
}

const char *ledger_path(const ledger *l) {
    return l ? l->path : NULL;
}

int ledger_record(ledger *l, const ledger_row *row, ledger_done_fn done, void *ud) {
    int rc = refuse(l);
    if (rc < 0)
        return rc;
    if (!row)
        return LEDGER_EINVAL;
    op *o = op_new(l, OP_RECORD);
    if (!o)
        return LEDGER_ENOMEM;
    o->row = *row;
    time_t now = time(NULL);
    if (!o->row.started_at)
        o->row.started_at = now;
    if (!o->row.ended_at)
        o->row.ended_at = now;
    const char *src[S_COUNT] = {row->client,
                                row->command,
                                row->provider,
                                row->model_requested,
                                row->model_answered,
                                row->document,
                                row->thread,
                                row->error,
                                row->finish_reason,
                                l->store_text ? row->prompt_text : NULL,
                                l->store_text ? row->answer_text : NULL,
                                row->uid,
                                l->store_text ? row->turn : NULL,
                                row->sent_url,
                                row->sent_headers,
                                l->store_text ? row->sent_body : NULL};
    for (int i = 0; i < S_COUNT; i++) {
        o->s[i] = xstrdup(src[i]);
        if (src[i] && !o->s[i]) {
            op_free(o);
            return LEDGER_ENOMEM;
        }
        /* Callers pass texts already masked; this is the last gate before the disk, where a
         * key echoed back in an error or pasted in a document would stay for good. */
        if (o->s[i])
            secret_redact(o->s[i]);
    }
    o->row.client = o->s[S_CLIENT];
    o->row.command = o->s[S_COMMAND];
    o->row.provider = o->s[S_PROVIDER];
    o->row.model_requested = o->s[S_MODEL_REQUESTED];
    o->row.model_answered = o->s[S_MODEL_ANSWERED];
    o->row.document = o->s[S_DOCUMENT];
    o->row.thread = o->s[S_THREAD];
    o->row.error = o->s[S_ERROR];
    o->row.finish_reason = o->s[S_FINISH_REASON];
    o->row.prompt_text = o->s[S_PROMPT_TEXT];
    o->row.answer_text = o->s[S_ANSWER_TEXT];
    o->row.uid = o->s[S_UID];
    o->row.turn = o->s[S_TURN];
    o->row.sent_url = o->s[S_SENT_URL];
    o->row.sent_headers = o->s[S_SENT_HEADERS];
    o->row.sent_body = o->s[S_SENT_BODY];
    o->done = done;
    o->ud = ud;
    enqueue(l, o);
    return 0;
}

int ledger_month(ledger *l, const char *month, ledger_totals_fn cb, void *ud) {
    int rc = refuse(l);
    if (rc < 0)
        return rc;
    char now[8];
    if (!month) {
        if (ledger_month_of(time(NULL), now) != 0)
            return LEDGER_EINVAL;
        month = now;
    }
    if (!cb || !ledger_month_valid(month))
        return LEDGER_EINVAL;
    op *o = op_new(l, OP_MONTH);
    if (!o)
        return LEDGER_ENOMEM;
    if (month_bounds(month, &o->from, &o->to) != 0) {
        op_free(o);
        return LEDGER_EINVAL;
    }
    memcpy(o->month, month, 8);
    o->totals_cb = cb;
    o->ud = ud;
    enqueue(l, o);
    return 0;
}

int ledger_months(ledger *l, int how_many, ledger_months_fn cb, void *ud) {
    int rc = refuse(l);
    if (rc < 0)
        return rc;
    if (!cb || how_many < 1)
        return LEDGER_EINVAL;
    op *o = op_new(l, OP_MONTHS);
    if (!o)
        return LEDGER_ENOMEM;
    o->how_many = how_many;
    o->months_cb = cb;
    o->ud = ud;
    enqueue(l, o);
    return 0;
}

int ledger_document(ledger *l, const char *path, ledger_totals_fn cb, void *ud) {
    int rc = refuse(l);
    if (rc < 0)
        return rc;
    if (!cb || !path)
        return LEDGER_EINVAL;
    op *o = op_new(l, OP_DOCUMENT);
    if (!o || !(o->document = strdup(path))) {
        free(o);
        return LEDGER_ENOMEM;
    }
    o->totals_cb = cb;
    o->ud = ud;
    enqueue(l, o);
    return 0;
}

int ledger_flush(ledger *l, ledger_done_fn done, void *ud) {
    int rc = refuse(l);
    if (rc < 0)
        return rc;
    if (!done)
        return LEDGER_EINVAL;
    op *o = op_new(l, OP_FLUSH);
    if (!o)
        return LEDGER_ENOMEM;
    o->done = done;
    o->ud = ud;
    enqueue(l, o);
    return 0;
}

int ledger_exec(ledger *l, const char *what, ledger_work_fn work, ledger_done_fn done, void *ud) {
    int rc = refuse(l);
    if (rc < 0)
        return rc;
    if (!work || !what)
        return LEDGER_EINVAL;
    op *o = op_new(l, OP_EXEC);
    if (!o)
        return LEDGER_ENOMEM;
    o->exec = work;
    o->what = what;
    o->done = done;
    o->ud = ud;
    enqueue(l, o);
    return 0;
}
