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

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    return s ? strdup(s) : NULL;
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

/* ---- pool thread: one op at a time --------------------------------------------------------
 *
 * Opening is src/ledger_open.c's, the requests table src/ledger_requests.c's; a module's own
 * table is its ledger_exec() work. */

static void work_cb(uv_work_t *w) {
    ledger_op *o = w->data;
    ledger *l = o->l;
    if (o->kind == LEDGER_OP_OPEN) {
        o->rc = ledger_do_open(l, o->err);
        if (o->rc < 0)
            memcpy(l->open_err, o->err, LEDGER_ERRLEN);
        return;
    }
    if (o->kind == LEDGER_OP_CLOSE) {
        sqlite3_finalize(l->insert);
        l->insert = NULL;
        sqlite3_close(l->db); /* the last connection's close checkpoints the WAL */
        l->db = NULL;
        return;
    }
    if (!l->db) { /* the open failed: fail fast with its reason */
        o->rc = LEDGER_EUNUSABLE;
        memcpy(o->err, l->open_err, LEDGER_ERRLEN);
        return;
    }
    switch (o->kind) {
    case LEDGER_OP_RECORD:
        o->rc = ledger_do_record(l, o);
        break;
    case LEDGER_OP_MONTH:
    case LEDGER_OP_DOCUMENT:
        o->rc = ledger_do_totals(l, o);
        break;
    case LEDGER_OP_MONTHS:
        o->rc = ledger_do_months(l, o);
        break;
    case LEDGER_OP_EXEC: {
        int rc = o->exec(l->db, l->store_text, o->ud);
        o->rc = 0;
        if (rc != SQLITE_OK && rc != SQLITE_DONE) {
            ledger_db_error(l, o->what, rc, o->err);
            o->fatal = ledger_is_fatal(rc);
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
        memcpy(l->open_err, o->err, LEDGER_ERRLEN);
        sqlite3_finalize(l->insert);
        l->insert = NULL;
        sqlite3_close(l->db);
        l->db = NULL;
    }
}

/* ---- loop thread: the queue ------------------------------------------------------------- */

static void op_free(ledger_op *o) {
    for (int i = 0; i < LEDGER_S_COUNT; i++)
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
    ledger_op *o = w->data;
    ledger *l = o->l;
    l->head = o->next;
    if (!l->head)
        l->tail = NULL;
    l->running = 0;

    if ((o->kind == LEDGER_OP_OPEN && o->rc < 0) || o->fatal) {
        free(l->error);
        l->error = strdup(o->err);
    }
    const char *err = o->rc < 0 ? o->err : NULL;
    switch (o->kind) {
    case LEDGER_OP_RECORD:
    case LEDGER_OP_FLUSH:
    case LEDGER_OP_EXEC:
        if (o->done)
            o->done(o->ud, o->rc, err);
        break;
    case LEDGER_OP_MONTH:
    case LEDGER_OP_DOCUMENT:
        o->totals_cb(o->ud, o->rc, o->rc < 0 ? NULL : &o->totals, err);
        break;
    case LEDGER_OP_MONTHS:
        o->months_cb(o->ud, o->rc, o->rc < 0 ? NULL : o->months, o->rc < 0 ? 0 : o->n_months, err);
        break;
    case LEDGER_OP_CLOSE: {
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
    case LEDGER_OP_OPEN:
        break;
    }
    op_free(o);
    kick(l);
}

/* A new op of kind, or NULL when out of memory. */
static ledger_op *op_new(ledger *l, ledger_op_kind kind) {
    ledger_op *o = calloc(1, sizeof *o);
    if (o) {
        o->l = l;
        o->kind = kind;
    }
    return o;
}

static void enqueue(ledger *l, ledger_op *o) {
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
    ledger_op *o = l ? op_new(l, LEDGER_OP_OPEN) : NULL;
    if (!o)
        goto err;
    l->loop = loop;
    l->store_text = store_text;
    l->path = strdup(path);
    /* The close op is made now so that ledger_close cannot fail for want of memory. */
    l->close_op = op_new(l, LEDGER_OP_CLOSE);
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
    ledger_op *o = l->close_op;
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
    ledger_op *o = op_new(l, LEDGER_OP_RECORD);
    if (!o)
        return LEDGER_ENOMEM;
    o->row = *row;
    time_t now = time(NULL);
    if (!o->row.started_at)
        o->row.started_at = now;
    if (!o->row.ended_at)
        o->row.ended_at = now;
    const char *src[LEDGER_S_COUNT] = {row->client,
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
    for (int i = 0; i < LEDGER_S_COUNT; i++) {
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
    o->row.client = o->s[LEDGER_S_CLIENT];
    o->row.command = o->s[LEDGER_S_COMMAND];
    o->row.provider = o->s[LEDGER_S_PROVIDER];
    o->row.model_requested = o->s[LEDGER_S_MODEL_REQUESTED];
    o->row.model_answered = o->s[LEDGER_S_MODEL_ANSWERED];
    o->row.document = o->s[LEDGER_S_DOCUMENT];
    o->row.thread = o->s[LEDGER_S_THREAD];
    o->row.error = o->s[LEDGER_S_ERROR];
    o->row.finish_reason = o->s[LEDGER_S_FINISH_REASON];
    o->row.prompt_text = o->s[LEDGER_S_PROMPT_TEXT];
    o->row.answer_text = o->s[LEDGER_S_ANSWER_TEXT];
    o->row.uid = o->s[LEDGER_S_UID];
    o->row.turn = o->s[LEDGER_S_TURN];
    o->row.sent_url = o->s[LEDGER_S_SENT_URL];
    o->row.sent_headers = o->s[LEDGER_S_SENT_HEADERS];
    o->row.sent_body = o->s[LEDGER_S_SENT_BODY];
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
    ledger_op *o = op_new(l, LEDGER_OP_MONTH);
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
    ledger_op *o = op_new(l, LEDGER_OP_MONTHS);
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
    ledger_op *o = op_new(l, LEDGER_OP_DOCUMENT);
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
    ledger_op *o = op_new(l, LEDGER_OP_FLUSH);
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
    ledger_op *o = op_new(l, LEDGER_OP_EXEC);
    if (!o)
        return LEDGER_ENOMEM;
    o->exec = work;
    o->what = what;
    o->done = done;
    o->ud = ud;
    enqueue(l, o);
    return 0;
}
