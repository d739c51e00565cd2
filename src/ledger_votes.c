/* ledger_votes: the votes table, through ledger_exec().  See include/ami/ledger_votes.h.
 * Each call copies its arguments into a job that the pool thread runs and the loop thread
 * finishes (callback, then free). */
#include "ami/ledger_votes.h"

#include "ami/log.h"

#include "ledger_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { J_ADD, J_SET, J_READ } job_kind;

enum { S_PAIR, S_RA, S_RB, S_MA, S_MB, S_RESULT, S_COMMAND, S_LANGUAGE, S_DOCUMENT, S_COUNT };

typedef struct job {
    job_kind kind;
    ledger_vote v;
    char *s[S_COUNT];
    ledger_vote_filter f;
    int found; /* J_SET: a row was changed */
    ledger_vote *rows;
    size_t n_rows;
    ledger_done_fn done;
    ledger_votes_fn read_cb;
    void *ud;
} job;

static void free_row(ledger_vote *v) {
    free((char *)v->pair);
    free((char *)v->request_a);
    free((char *)v->request_b);
    free((char *)v->model_a);
    free((char *)v->model_b);
    free((char *)v->result);
    free((char *)v->command);
    free((char *)v->language);
    free((char *)v->document);
    free((char *)v->answered_a);
    free((char *)v->answered_b);
}

static void job_free(job *j) {
    for (int i = 0; i < S_COUNT; i++)
        free(j->s[i]);
    for (size_t i = 0; i < j->n_rows; i++)
        free_row(&j->rows[i]);
    free(j->rows);
    free(j);
}

/* "fr" and "French" name the same language (the prompt names languages in English). */
static const char *const language_codes[][2] = {
    {"fr", "French"},  {"en", "English"}, {"de", "German"},
    {"es", "Spanish"}, {"it", "Italian"}, {"pt", "Portuguese"},
};

static const char *language_name(const char *s) {
    for (size_t i = 0; s && i < sizeof language_codes / sizeof language_codes[0]; i++)
        if (strcasecmp(s, language_codes[i][0]) == 0)
            return language_codes[i][1];
    return s;
}

static int valid_result(const char *r) {
    return r && (strcmp(r, "a") == 0 || strcmp(r, "b") == 0 || strcmp(r, "tie") == 0 ||
                 strcmp(r, "bad") == 0);
}

/* ---- pool thread -------------------------------------------------------------------------- */

static int bind_str(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int step(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int do_add(sqlite3 *db, job *j) {
    const ledger_vote *v = &j->v;
    char created[40];
    struct tm tm;
    if (!localtime_r(&v->created, &tm) ||
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
        snprintf(created, sizeof created, "%lld", (long long)v->created);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db,
        "INSERT INTO votes (pair, request_a, request_b, model_a, model_b, result, blind,"
        " swapped, command, language, document, created_at, created_unix, voted_unix)"
        " VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL)",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_str(st, 1, v->pair) | bind_str(st, 2, v->request_a) |
             bind_str(st, 3, v->request_b) | bind_str(st, 4, v->model_a) |
             bind_str(st, 5, v->model_b) | sqlite3_bind_int(st, 6, v->blind != 0) |
             sqlite3_bind_int(st, 7, v->swapped != 0) | bind_str(st, 8, v->command) |
             bind_str(st, 9, v->language) | bind_str(st, 10, v->document) |
             sqlite3_bind_text(st, 11, created, -1, SQLITE_TRANSIENT) |
             sqlite3_bind_int64(st, 12, (sqlite3_int64)v->created);
    if (rc == SQLITE_OK)
        rc = step(st);
    sqlite3_finalize(st);
    return rc;
}

static int do_set(sqlite3 *db, job *j) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "UPDATE votes SET result = ?2, voted_unix = strftime('%s', 'now'),"
                                " language = COALESCE(?3, language) WHERE pair = ?1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_str(st, 1, j->v.pair) | bind_str(st, 2, j->v.result) |
             bind_str(st, 3, j->v.language);
    if (rc == SQLITE_OK)
        rc = step(st);
    j->found = rc == SQLITE_OK && sqlite3_changes(db) > 0;
    sqlite3_finalize(st);
    return rc;
}

static int do_read(sqlite3 *db, job *j) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db,
        "SELECT v.pair, v.request_a, v.request_b, v.model_a, v.model_b, v.result, v.blind,"
        " v.swapped, v.command, v.language, v.document, v.created_unix, v.voted_unix,"
        " ra.model_answered, rb.model_answered,"
        " CASE WHEN ra.cost_source = 'unknown' THEN NULL ELSE ra.cost_usd END,"
        " CASE WHEN rb.cost_source = 'unknown' THEN NULL ELSE rb.cost_usd END,"
        " ra.duration_ms, rb.duration_ms"
        " FROM votes v LEFT JOIN requests ra ON ra.uid = v.request_a"
        " LEFT JOIN requests rb ON rb.uid = v.request_b"
        " WHERE v.result IS NOT NULL AND (?1 IS NULL OR v.command = ?1)"
        " AND (?2 IS NULL OR lower(v.language) = lower(?2)) AND v.created_unix >= ?3"
        " ORDER BY v.created_unix, v.id LIMIT ?4",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = bind_str(st, 1, j->f.command) | bind_str(st, 2, language_name(j->f.language)) |
             sqlite3_bind_int64(st, 3, (sqlite3_int64)j->f.since) |
             sqlite3_bind_int(st, 4, LEDGER_VOTES_MAX);
    size_t cap = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_vote *grown = ledger_grow(j->rows, &cap, j->n_rows, sizeof *grown);
        if (!grown) {
            rc = SQLITE_NOMEM;
            break;
        }
        j->rows = grown;
        ledger_vote *v = &j->rows[j->n_rows++];
        memset(v, 0, sizeof *v);
        v->pair = ledger_col_dup(st, 0);
        v->request_a = ledger_col_dup(st, 1);
        v->request_b = ledger_col_dup(st, 2);
        v->model_a = ledger_col_dup(st, 3);
        v->model_b = ledger_col_dup(st, 4);
        v->result = ledger_col_dup(st, 5);
        v->blind = sqlite3_column_int(st, 6);
        v->swapped = sqlite3_column_int(st, 7);
        v->command = ledger_col_dup(st, 8);
        v->language = ledger_col_dup(st, 9);
        v->document = ledger_col_dup(st, 10);
        v->created = (time_t)sqlite3_column_int64(st, 11);
        v->voted = (time_t)sqlite3_column_int64(st, 12);
        v->answered_a = ledger_col_dup(st, 13);
        v->answered_b = ledger_col_dup(st, 14);
        v->cost_a = ledger_col_real(st, 15);
        v->cost_b = ledger_col_real(st, 16);
        v->duration_a =
            sqlite3_column_type(st, 17) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 17);
        v->duration_b =
            sqlite3_column_type(st, 18) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 18);
        rc = v->pair && v->model_a && v->model_b && v->result ? SQLITE_OK : SQLITE_NOMEM;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc;
}

static int run_job(sqlite3 *db, int store_text, void *ud) {
    (void)store_text; /* a vote holds no text of the writer's */
    job *j = ud;
    switch (j->kind) {
    case J_ADD:
        return do_add(db, j);
    case J_SET:
        return do_set(db, j);
    case J_READ:
        return do_read(db, j);
    }
    return SQLITE_MISUSE;
}

/* ---- loop thread -------------------------------------------------------------------------- */

static void on_job_done(void *ud, int rc, const char *err) {
    job *j = ud;
    if (j->kind == J_READ) {
        j->read_cb(j->ud, rc, rc < 0 ? NULL : j->rows, rc < 0 ? 0 : j->n_rows, err);
    } else if (j->done) {
        if (rc == 0 && j->kind == J_SET && !j->found)
            j->done(j->ud, LEDGER_EINVAL, "there is no such pair to vote on");
        else
            j->done(j->ud, rc, err);
    }
    job_free(j);
}

static int keep(job *j, int i, const char *s, const char **field) {
    *field = NULL;
    if (!s)
        return 0;
    if (!(j->s[i] = strdup(s)))
        return -1;
    *field = j->s[i];
    return 0;
}

static int submit(ledger *l, job *j, const char *what) {
    int rc = ledger_exec(l, what, run_job, on_job_done, j);
    if (rc < 0)
        job_free(j);
    return rc;
}

int ledger_votes_add(ledger *l, const ledger_vote *v, ledger_done_fn done, void *ud) {
    if (!l || !v || !v->pair || !v->request_a || !v->request_b || !v->model_a || !v->model_b ||
        !v->command)
        return LEDGER_EINVAL;
    job *j = calloc(1, sizeof *j);
    if (!j)
        return LEDGER_ENOMEM;
    j->kind = J_ADD;
    j->v = *v;
    if (!j->v.created)
        j->v.created = time(NULL);
    ledger_vote *c = &j->v;
    if (keep(j, S_PAIR, v->pair, &c->pair) || keep(j, S_RA, v->request_a, &c->request_a) ||
        keep(j, S_RB, v->request_b, &c->request_b) || keep(j, S_MA, v->model_a, &c->model_a) ||
        keep(j, S_MB, v->model_b, &c->model_b) || keep(j, S_COMMAND, v->command, &c->command) ||
        keep(j, S_LANGUAGE, v->language, &c->language) ||
        keep(j, S_DOCUMENT, v->document, &c->document)) {
        job_free(j);
        return LEDGER_ENOMEM;
    }
    c->result = NULL;
    j->done = done;
    j->ud = ud;
    return submit(l, j, "cannot record the pair");
}

int ledger_votes_set(ledger *l, const char *pair, const char *result, const char *language,
                     ledger_done_fn done, void *ud) {
    if (!l || !pair || !valid_result(result))
        return LEDGER_EINVAL;
    job *j = calloc(1, sizeof *j);
    if (!j)
        return LEDGER_ENOMEM;
    j->kind = J_SET;
    if (keep(j, S_PAIR, pair, &j->v.pair) || keep(j, S_RESULT, result, &j->v.result) ||
        keep(j, S_LANGUAGE, language, &j->v.language)) {
        job_free(j);
        return LEDGER_ENOMEM;
    }
    j->done = done;
    j->ud = ud;
    return submit(l, j, "cannot record the vote");
}

int ledger_votes_read(ledger *l, const ledger_vote_filter *f, ledger_votes_fn cb, void *ud) {
    if (!l || !cb)
        return LEDGER_EINVAL;
    job *j = calloc(1, sizeof *j);
    if (!j)
        return LEDGER_ENOMEM;
    j->kind = J_READ;
    if (f) {
        if (keep(j, S_COMMAND, f->command, &j->f.command) ||
            keep(j, S_LANGUAGE, f->language, &j->f.language)) {
            job_free(j);
            return LEDGER_ENOMEM;
        }
        j->f.since = f->since;
    }
    j->read_cb = cb;
    j->ud = ud;
    return submit(l, j, "cannot read the votes");
}
