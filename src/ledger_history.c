/* ledger_history: a document's thread and the models used, read back from the ledger.  See
 * include/ami/ledger_history.h.  Each call copies its argument into a job that the pool
 * thread fills and the loop thread hands to the callback, then frees. */
#include "ami/ledger_history.h"

#include "ledger_internal.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    char *document;
    char *thread;
    ledger_turn *turns;
    size_t n_turns;
    ledger_model_use *models;
    size_t n_models;
    ledger_thread_fn thread_cb;
    ledger_models_used_fn models_cb;
    void *ud;
} job;

static void job_free(job *j) {
    for (size_t i = 0; i < j->n_turns; i++) {
        ledger_turn *t = &j->turns[i];
        free((char *)t->uid);
        free((char *)t->command);
        free((char *)t->turn);
        free((char *)t->answer);
        free((char *)t->model);
        free((char *)t->status);
        free((char *)t->error);
        free((char *)t->cost_source);
    }
    free(j->turns);
    for (size_t i = 0; i < j->n_models; i++)
        free((char *)j->models[i].model);
    free(j->models);
    free(j->document);
    free(j->thread);
    free(j);
}

static int read_thread(sqlite3 *db, int store_text, void *ud) {
    (void)store_text; /* texts not kept are NULL in their columns already */
    job *j = ud;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_prepare_v2(db,
                            "SELECT thread FROM requests WHERE document = ?1 AND thread IS NOT NULL"
                            " AND status <> 'refused' ORDER BY id DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, j->document, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            j->thread = ledger_col_dup(st, 0);
            rc = j->thread ? SQLITE_OK : SQLITE_NOMEM;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_OK || !j->thread) {
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        return rc;
    }
    rc = sqlite3_prepare_v2(
        db,
        "SELECT * FROM (SELECT id, uid, started_unix, command, turn, answer_text,"
        " COALESCE(model_answered, model_requested), status, error, prompt_tokens,"
        " completion_tokens, CASE WHEN cost_source = 'unknown' THEN NULL ELSE cost_usd END,"
        " cost_source, co2e_g, duration_ms FROM requests WHERE thread = ?1 AND status <>"
        " 'refused' ORDER BY id DESC LIMIT ?2) ORDER BY id",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, j->thread, -1, SQLITE_STATIC) |
             sqlite3_bind_int(st, 2, LEDGER_THREAD_MAX);
    size_t cap = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_turn *grown = ledger_grow(j->turns, &cap, j->n_turns, sizeof *grown);
        if (!grown) {
            rc = SQLITE_NOMEM;
            break;
        }
        j->turns = grown;
        ledger_turn *t = &j->turns[j->n_turns++];
        memset(t, 0, sizeof *t);
        t->id = sqlite3_column_int64(st, 0);
        t->uid = ledger_col_dup(st, 1);
        t->started = (time_t)sqlite3_column_int64(st, 2);
        t->command = ledger_col_dup(st, 3);
        t->turn = ledger_col_dup(st, 4);
        t->answer = ledger_col_dup(st, 5);
        t->model = ledger_col_dup(st, 6);
        t->status = ledger_col_dup(st, 7);
        t->error = ledger_col_dup(st, 8);
        t->prompt_tokens = ledger_col_count(st, 9);
        t->completion_tokens = ledger_col_count(st, 10);
        t->cost_usd = ledger_col_real(st, 11);
        t->cost_source = ledger_col_dup(st, 12);
        t->co2e_g = ledger_col_real(st, 13);
        t->duration_ms = ledger_col_count(st, 14);
        rc = t->command && t->status ? SQLITE_OK : SQLITE_NOMEM;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

static int read_models(sqlite3 *db, int store_text, void *ud) {
    (void)store_text;
    job *j = ud;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT model_requested, count(*), max(started_unix) FROM requests"
                                " WHERE model_requested IS NOT NULL AND status <> 'refused'"
                                " GROUP BY model_requested ORDER BY 3 DESC LIMIT 500",
                                -1, &st, NULL);
    size_t cap = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_model_use *grown = ledger_grow(j->models, &cap, j->n_models, sizeof *grown);
        if (!grown) {
            rc = SQLITE_NOMEM;
            break;
        }
        j->models = grown;
        ledger_model_use *m = &j->models[j->n_models++];
        m->model = ledger_col_dup(st, 0);
        m->requests = sqlite3_column_int64(st, 1);
        m->last_used = (time_t)sqlite3_column_int64(st, 2);
        rc = m->model ? SQLITE_OK : SQLITE_NOMEM;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc;
}

static void on_done(void *ud, int rc, const char *err) {
    job *j = ud;
    if (j->thread_cb)
        j->thread_cb(j->ud, rc, rc < 0 ? NULL : j->thread, rc < 0 ? NULL : j->turns,
                     rc < 0 ? 0 : j->n_turns, err);
    else
        j->models_cb(j->ud, rc, rc < 0 ? NULL : j->models, rc < 0 ? 0 : j->n_models, err);
    job_free(j);
}

int ledger_thread(ledger *l, const char *document, ledger_thread_fn cb, void *ud) {
    if (!l || !document || !cb)
        return LEDGER_EINVAL;
    job *j = calloc(1, sizeof *j);
    if (!j || !(j->document = strdup(document))) {
        free(j);
        return LEDGER_ENOMEM;
    }
    j->thread_cb = cb;
    j->ud = ud;
    int rc = ledger_exec(l, "cannot read the thread", read_thread, on_done, j);
    if (rc < 0)
        job_free(j);
    return rc;
}

int ledger_models_used(ledger *l, ledger_models_used_fn cb, void *ud) {
    if (!l || !cb)
        return LEDGER_EINVAL;
    job *j = calloc(1, sizeof *j);
    if (!j)
        return LEDGER_ENOMEM;
    j->models_cb = cb;
    j->ud = ud;
    int rc = ledger_exec(l, "cannot read the models used", read_models, on_done, j);
    if (rc < 0)
        job_free(j);
    return rc;
}
