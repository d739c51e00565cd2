/* ledger_notes: the notes table, through ledger_exec().  See include/ami/ledger_notes.h.
 *
 * Each public call copies its arguments into a job, which the pool thread runs (SQL, then the
 * index file when something changed) and the loop thread finishes (the caller's callback, then
 * the job is freed).  The job is the only memory both threads see, one after the other.
 */
#include "ami/ledger_notes.h"

#include "ami/buf.h"
#include "ami/log.h"

#include "ledger_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { J_ADD, J_COMMENT, J_STATE, J_DISMISS_ALL, J_READ } job_kind;

/* The note's strings, in the order of ledger_note's string fields. */
enum {
    N_UID,
    N_REQUEST_UID,
    N_DOCUMENT,
    N_THREAD,
    N_KIND,
    N_QUOTE,
    N_COMMENT,
    N_MODEL,
    N_ANCHOR,
    N_STATE,
    N_COUNT
};

typedef struct job {
    job_kind kind;
    char *index; /* the index file to rewrite after a change */
    ledger_note note;
    char *s[N_COUNT];
    char **uids;
    size_t n_uids;
    long *ranges;
    int dismissed_only;
    /* results (J_READ) */
    ledger_note *notes;
    size_t n_notes;
    ledger_done_fn done;
    ledger_notes_fn read_cb;
    void *ud;
} job;

static void job_free(job *j) {
    for (int i = 0; i < N_COUNT; i++)
        free(j->s[i]);
    for (size_t i = 0; i < j->n_uids; i++)
        free(j->uids[i]);
    free(j->uids);
    free(j->ranges);
    for (size_t i = 0; i < j->n_notes; i++) {
        ledger_note *n = &j->notes[i];
        free((char *)n->uid);
        free((char *)n->request_uid);
        free((char *)n->document);
        free((char *)n->thread);
        free((char *)n->kind);
        free((char *)n->quote);
        free((char *)n->comment);
        free((char *)n->model);
        free((char *)n->anchor);
        free((char *)n->state);
    }
    free(j->notes);
    free(j->index);
    free(j);
}

char *ledger_notes_index_path(const char *ledger_path) {
    if (!ledger_path)
        return NULL;
    buf b = {0};
    buf_printf(&b, "%s.notes", ledger_path);
    return buf_steal(&b);
}

/* ---- pool thread -------------------------------------------------------------------------- */

static int bind_str(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_pos(sqlite3_stmt *st, int i, long v) {
    return v >= 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

static void iso_now(time_t t, char out[40]) {
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(out, 40, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
        snprintf(out, 40, "%lld", (long long)t);
}

/* Rewrites the index: the documents that have notes not dismissed, sorted.  A failure here
 * is not the operation's: the index is a hint (Neovim then asks for a file's notes later, on
 * the first ami command), so it is logged and the rows stay written. */
static void write_index(sqlite3 *db, const char *path) {
    sqlite3_stmt *st = NULL;
    buf b = {0};
    int rc = sqlite3_prepare_v2(db,
                                "SELECT DISTINCT document FROM notes WHERE state <> 'dismissed'"
                                " ORDER BY document",
                                -1, &st, NULL);
    while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 0);
        if (d && !strchr(d, '\n'))
            buf_printf(&b, "%s\n", d);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        buf_free(&b);
        return;
    }
    buf tmp = {0};
    buf_printf(&tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = tmp.data ? open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    int ok = fd >= 0;
    if (ok && b.len)
        ok = write(fd, b.data, b.len) == (ssize_t)b.len;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp.data, path) != 0)
        ok = 0;
    if (!ok) {
        log_warn("ledger: cannot write the notes index %s: %s", path, strerror(errno));
        if (tmp.data)
            unlink(tmp.data);
    }
    buf_free(&tmp);
    buf_free(&b);
}

static int step_done(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int do_add(sqlite3 *db, job *j) {
    const ledger_note *n = &j->note;
    char created[40];
    iso_now(n->created, created);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db,
        "INSERT INTO notes (uid, request_uid, document, thread, seq, kind, quote, comment, model,"
        " created_at, created_unix, anchor, state, line_start, col_start, line_end, col_end,"
        " passage_start, passage_end, updated_unix)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
        " ?18, ?19, ?11)"
        " ON CONFLICT(uid) DO UPDATE SET quote = excluded.quote, state = excluded.state,"
        " anchor = excluded.anchor, updated_unix = excluded.updated_unix",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc |= bind_str(st, 1, n->uid);
    rc |= bind_str(st, 2, n->request_uid);
    rc |= bind_str(st, 3, n->document);
    rc |= bind_str(st, 4, n->thread);
    rc |= sqlite3_bind_int64(st, 5, n->seq);
    rc |= bind_str(st, 6, n->kind);
    rc |= bind_str(st, 7, n->quote);
    rc |= bind_str(st, 8, n->comment ? n->comment : "");
    rc |= bind_str(st, 9, n->model);
    rc |= sqlite3_bind_text(st, 10, created, -1, SQLITE_TRANSIENT);
    rc |= sqlite3_bind_int64(st, 11, (sqlite3_int64)n->created);
    rc |= bind_str(st, 12, n->anchor);
    rc |= bind_str(st, 13, n->state);
    rc |= bind_pos(st, 14, n->line_start);
    rc |= bind_pos(st, 15, n->col_start);
    rc |= bind_pos(st, 16, n->line_end);
    rc |= bind_pos(st, 17, n->col_end);
    rc |= n->passage_start > 0 ? sqlite3_bind_int64(st, 18, n->passage_start)
                               : sqlite3_bind_null(st, 18);
    rc |=
        n->passage_end > 0 ? sqlite3_bind_int64(st, 19, n->passage_end) : sqlite3_bind_null(st, 19);
    if (rc == SQLITE_OK)
        rc = step_done(st);
    sqlite3_finalize(st);
    return rc;
}

static int do_comment(sqlite3 *db, job *j) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db, "UPDATE notes SET comment = ?2, updated_unix = strftime('%s', 'now') WHERE uid = ?1",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_str(st, 1, j->note.uid) | bind_str(st, 2, j->note.comment);
    if (rc == SQLITE_OK)
        rc = step_done(st);
    sqlite3_finalize(st);
    return rc;
}

static int do_state(sqlite3 *db, job *j) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_prepare_v2(
        db,
        j->ranges ? "UPDATE notes SET state = ?2, line_start = ?3, col_start = ?4, line_end = ?5,"
                    " col_end = ?6, updated_unix = strftime('%s', 'now') WHERE uid = ?1"
                  : "UPDATE notes SET state = ?2, updated_unix = strftime('%s', 'now')"
                    " WHERE uid = ?1",
        -1, &st, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < j->n_uids; i++) {
        rc = bind_str(st, 1, j->uids[i]) | bind_str(st, 2, j->note.state);
        if (j->ranges)
            for (int k = 0; k < 4; k++)
                rc |= bind_pos(st, 3 + k, j->ranges[i * 4 + (size_t)k]);
        if (rc == SQLITE_OK)
            rc = step_done(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

static int do_dismiss_all(sqlite3 *db, job *j) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "UPDATE notes SET state = 'dismissed', updated_unix ="
                                " strftime('%s', 'now') WHERE document = ?1 AND state <> "
                                "'dismissed'",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_str(st, 1, j->note.document);
    if (rc == SQLITE_OK)
        rc = step_done(st);
    sqlite3_finalize(st);
    return rc;
}

static long col_pos(sqlite3_stmt *st, int c) {
    return sqlite3_column_type(st, c) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(st, c);
}

static int do_read(sqlite3 *db, job *j) {
    sqlite3_stmt *st = NULL;
    /* The newest LEDGER_NOTES_MAX, then oldest first. */
    int rc = sqlite3_prepare_v2(
        db,
        "SELECT * FROM (SELECT uid, request_uid, document, thread, seq, kind, quote, comment,"
        " model, created_unix, anchor, state, line_start, col_start, line_end, col_end,"
        " passage_start, passage_end FROM notes WHERE document = ?1 AND (?2 = 0 OR state ="
        " 'dismissed') ORDER BY created_unix DESC, seq DESC LIMIT ?3)"
        " ORDER BY created_unix, seq",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_str(st, 1, j->note.document) | sqlite3_bind_int(st, 2, j->dismissed_only) |
             sqlite3_bind_int(st, 3, LEDGER_NOTES_MAX);
    size_t cap = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_note *grown = ledger_grow(j->notes, &cap, j->n_notes, sizeof *grown);
        if (!grown) {
            rc = SQLITE_NOMEM;
            break;
        }
        j->notes = grown;
        ledger_note *n = &j->notes[j->n_notes++];
        memset(n, 0, sizeof *n);
        n->uid = ledger_col_dup(st, 0);
        n->request_uid = ledger_col_dup(st, 1);
        n->document = ledger_col_dup(st, 2);
        n->thread = ledger_col_dup(st, 3);
        n->seq = (long)sqlite3_column_int64(st, 4);
        n->kind = ledger_col_dup(st, 5);
        n->quote = ledger_col_dup(st, 6);
        n->comment = ledger_col_dup(st, 7);
        n->model = ledger_col_dup(st, 8);
        n->created = (time_t)sqlite3_column_int64(st, 9);
        n->anchor = ledger_col_dup(st, 10);
        n->state = ledger_col_dup(st, 11);
        n->line_start = col_pos(st, 12);
        n->col_start = col_pos(st, 13);
        n->line_end = col_pos(st, 14);
        n->col_end = col_pos(st, 15);
        n->passage_start = col_pos(st, 16) > 0 ? col_pos(st, 16) : 0;
        n->passage_end = col_pos(st, 17) > 0 ? col_pos(st, 17) : 0;
        if (!n->uid || !n->quote || !n->state) {
            rc = SQLITE_NOMEM;
            break;
        }
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc;
}

static int run_job(sqlite3 *db, int store_text, void *ud) {
    job *j = ud;
    if (!store_text) /* the notes' texts are the writer's and the model's: not kept */
        return SQLITE_OK;
    int rc;
    switch (j->kind) {
    case J_ADD:
        rc = do_add(db, j);
        break;
    case J_COMMENT:
        rc = do_comment(db, j);
        break;
    case J_STATE:
        rc = do_state(db, j);
        break;
    case J_DISMISS_ALL:
        rc = do_dismiss_all(db, j);
        break;
    case J_READ:
        return do_read(db, j);
    default:
        return SQLITE_MISUSE;
    }
    if (rc == SQLITE_OK && j->index && j->kind != J_COMMENT)
        write_index(db, j->index);
    return rc;
}

/* ---- loop thread -------------------------------------------------------------------------- */

static void on_job_done(void *ud, int rc, const char *err) {
    job *j = ud;
    if (j->kind == J_READ)
        j->read_cb(j->ud, rc, rc < 0 ? NULL : j->notes, rc < 0 ? 0 : j->n_notes, err);
    else if (j->done)
        j->done(j->ud, rc, err);
    job_free(j);
}

static job *job_new(ledger *l, job_kind kind, ledger_done_fn done, void *ud) {
    job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = kind;
    j->done = done;
    j->ud = ud;
    j->index = ledger_notes_index_path(ledger_path(l));
    if (!j->index) {
        free(j);
        return NULL;
    }
    return j;
}

/* Copies s into the job's slot i (masking registered secrets); 0, or -1 when out of memory. */
static int keep(job *j, int i, const char *s, const char **field) {
    if (!s) {
        *field = NULL;
        return 0;
    }
    j->s[i] = strdup(s);
    if (!j->s[i])
        return -1;
    secret_redact(j->s[i]);
    *field = j->s[i];
    return 0;
}

static int submit(ledger *l, job *j, const char *what) {
    int rc = ledger_exec(l, what, run_job, on_job_done, j);
    if (rc < 0)
        job_free(j);
    return rc;
}

int ledger_notes_add(ledger *l, const ledger_note *n, ledger_done_fn done, void *ud) {
    if (!l || !n || !n->uid || !n->request_uid || !n->document || !n->quote || !n->state ||
        !n->anchor)
        return LEDGER_EINVAL;
    job *j = job_new(l, J_ADD, done, ud);
    if (!j)
        return LEDGER_ENOMEM;
    j->note = *n;
    if (!j->note.created)
        j->note.created = time(NULL);
    ledger_note *c = &j->note;
    if (keep(j, N_UID, n->uid, &c->uid) ||
        keep(j, N_REQUEST_UID, n->request_uid, &c->request_uid) ||
        keep(j, N_DOCUMENT, n->document, &c->document) ||
        keep(j, N_THREAD, n->thread, &c->thread) || keep(j, N_KIND, n->kind, &c->kind) ||
        keep(j, N_QUOTE, n->quote, &c->quote) || keep(j, N_COMMENT, n->comment, &c->comment) ||
        keep(j, N_MODEL, n->model, &c->model) || keep(j, N_ANCHOR, n->anchor, &c->anchor) ||
        keep(j, N_STATE, n->state, &c->state)) {
        job_free(j);
        return LEDGER_ENOMEM;
    }
    return submit(l, j, "cannot store a note");
}

int ledger_notes_set_comment(ledger *l, const char *uid, const char *comment, ledger_done_fn done,
                             void *ud) {
    if (!l || !uid || !comment)
        return LEDGER_EINVAL;
    job *j = job_new(l, J_COMMENT, done, ud);
    if (!j)
        return LEDGER_ENOMEM;
    if (keep(j, N_UID, uid, &j->note.uid) || keep(j, N_COMMENT, comment, &j->note.comment)) {
        job_free(j);
        return LEDGER_ENOMEM;
    }
    return submit(l, j, "cannot store a note's comment");
}

static int valid_state(const char *s) {
    return s && (strcmp(s, LEDGER_NOTE_ANCHORED) == 0 || strcmp(s, LEDGER_NOTE_APPROXIMATE) == 0 ||
                 strcmp(s, LEDGER_NOTE_STALE) == 0 || strcmp(s, LEDGER_NOTE_UNANCHORED) == 0 ||
                 strcmp(s, LEDGER_NOTE_DISMISSED) == 0);
}

int ledger_notes_set_state(ledger *l, const char *const *uids, size_t n, const char *state,
                           const long *ranges, ledger_done_fn done, void *ud) {
    if (!l || (!uids && n) || !valid_state(state) || n > LEDGER_NOTES_MAX)
        return LEDGER_EINVAL;
    job *j = job_new(l, J_STATE, done, ud);
    if (!j)
        return LEDGER_ENOMEM;
    j->uids = calloc(n ? n : 1, sizeof *j->uids);
    j->ranges = ranges ? malloc((n ? n : 1) * 4 * sizeof *j->ranges) : NULL;
    if (!j->uids || (ranges && !j->ranges) || keep(j, N_STATE, state, &j->note.state)) {
        job_free(j);
        return LEDGER_ENOMEM;
    }
    if (ranges && n)
        memcpy(j->ranges, ranges, n * 4 * sizeof *ranges);
    for (size_t i = 0; i < n; i++) {
        if (!uids[i] || !(j->uids[i] = strdup(uids[i]))) {
            j->n_uids = i;
            job_free(j);
            return uids[i] ? LEDGER_ENOMEM : LEDGER_EINVAL;
        }
        j->n_uids = i + 1;
    }
    return submit(l, j, "cannot change the notes' state");
}

int ledger_notes_dismiss_all(ledger *l, const char *document, ledger_done_fn done, void *ud) {
    if (!l || !document)
        return LEDGER_EINVAL;
    job *j = job_new(l, J_DISMISS_ALL, done, ud);
    if (!j)
        return LEDGER_ENOMEM;
    if (keep(j, N_DOCUMENT, document, &j->note.document)) {
        job_free(j);
        return LEDGER_ENOMEM;
    }
    return submit(l, j, "cannot dismiss the notes");
}

int ledger_notes_for(ledger *l, const char *document, int dismissed_only, ledger_notes_fn cb,
                     void *ud) {
    if (!l || !document || !cb)
        return LEDGER_EINVAL;
    job *j = job_new(l, J_READ, NULL, ud);
    if (!j)
        return LEDGER_ENOMEM;
    j->read_cb = cb;
    j->dismissed_only = dismissed_only;
    if (keep(j, N_DOCUMENT, document, &j->note.document)) {
        job_free(j);
        return LEDGER_ENOMEM;
    }
    return submit(l, j, "cannot read the notes");
}
