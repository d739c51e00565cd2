/* ledger_log: recorded requests read back.  See include/ami/ledger_log.h. */
#include "ami/ledger_log.h"

#include "ledger_internal.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* The columns of a ledger_log_entry, read by read_entry() in this order. */
#define ENTRY_COLUMNS                                                                              \
    "id, uid, started_unix, command,"                                                              \
    " COALESCE(model_answered, model_requested, '(unknown)'), status, error, document,"            \
    " prompt_tokens, completion_tokens, cost_usd, cost_source, sent_url IS NOT NULL"
#define ENTRY_NCOLS 13

static void entry_clear(ledger_log_entry *e) {
    free(e->uid);
    free(e->command);
    free(e->model);
    free(e->status);
    free(e->error);
    free(e->document);
    free(e->cost_source);
    memset(e, 0, sizeof *e);
}

/* Reads ENTRY_COLUMNS; SQLITE_NOMEM when a copy failed (e is cleared then). */
static int read_entry(sqlite3_stmt *st, ledger_log_entry *e) {
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    e->uid = ledger_col_dup(st, 1);
    e->started = (time_t)sqlite3_column_int64(st, 2);
    e->command = ledger_col_dup(st, 3);
    e->model = ledger_col_dup(st, 4);
    e->status = ledger_col_dup(st, 5);
    e->error = ledger_col_dup(st, 6);
    e->document = ledger_col_dup(st, 7);
    e->prompt_tokens = ledger_col_count(st, 8);
    e->completion_tokens = ledger_col_count(st, 9);
    e->cost_usd = sqlite3_column_type(st, 10) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 10);
    e->cost_source = ledger_col_dup(st, 11);
    e->sent = sqlite3_column_int(st, 12);
    int lost = (!e->uid && sqlite3_column_type(st, 1) != SQLITE_NULL) ||
               (!e->error && sqlite3_column_type(st, 6) != SQLITE_NULL) ||
               (!e->document && sqlite3_column_type(st, 7) != SQLITE_NULL) || !e->command ||
               !e->model || !e->status || !e->cost_source;
    if (lost) {
        entry_clear(e);
        return SQLITE_NOMEM;
    }
    return SQLITE_OK;
}

void ledger_log_entries_free(ledger_log_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++)
        entry_clear(&e[i]);
    free(e);
}

int ledger_log_list(sqlite3 *db, const ledger_log_query *q, ledger_log_entry **out, size_t *n) {
    *out = NULL;
    *n = 0;
    int limit = q && q->limit > 0 ? q->limit : 20;
    if (limit > LEDGER_LOG_MAX)
        limit = LEDGER_LOG_MAX;
    const char *document = q ? q->document : NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT " ENTRY_COLUMNS " FROM requests"
                                " WHERE ?1 IS NULL OR document = ?1 ORDER BY id DESC LIMIT ?2",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = document ? sqlite3_bind_text(st, 1, document, -1, SQLITE_STATIC)
                      : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 2, limit);
    ledger_log_entry *v = NULL;
    size_t len = 0, cap = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ledger_log_entry *grown = ledger_grow(v, &cap, len, sizeof *grown);
        if (!grown) {
            rc = SQLITE_NOMEM;
            break;
        }
        v = grown;
        rc = read_entry(st, &v[len]);
        if (rc == SQLITE_OK)
            len++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        ledger_log_entries_free(v, len);
        return rc == SQLITE_OK ? SQLITE_ERROR : rc;
    }
    *out = v;
    *n = len;
    return SQLITE_OK;
}

void ledger_sent_free(ledger_sent *s) {
    entry_clear(&s->e);
    free(s->url);
    free(s->headers);
    free(s->body);
    memset(s, 0, sizeof *s);
}

int ledger_log_sent(sqlite3 *db, long long id, const char *uid, const char *document,
                    ledger_sent *out) {
    memset(out, 0, sizeof *out);
    const char *sql;
    if (id > 0)
        sql = "SELECT " ENTRY_COLUMNS ", sent_url, sent_headers, sent_body FROM requests"
              " WHERE id = ?1";
    else if (uid)
        sql = "SELECT " ENTRY_COLUMNS ", sent_url, sent_headers, sent_body FROM requests"
              " WHERE uid = ?2";
    else if (document)
        sql = "SELECT " ENTRY_COLUMNS ", sent_url, sent_headers, sent_body FROM requests"
              " WHERE document = ?3 AND sent_url IS NOT NULL ORDER BY id DESC LIMIT 1";
    else
        return SQLITE_NOTFOUND;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && id > 0)
        rc = sqlite3_bind_int64(st, 1, id);
    else if (rc == SQLITE_OK && uid)
        rc = sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
    else if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, document, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            rc = read_entry(st, &out->e);
            if (rc == SQLITE_OK) {
                out->url = ledger_col_dup(st, ENTRY_NCOLS);
                out->headers = ledger_col_dup(st, ENTRY_NCOLS + 1);
                out->body = ledger_col_dup(st, ENTRY_NCOLS + 2);
                if ((!out->url && sqlite3_column_type(st, ENTRY_NCOLS) != SQLITE_NULL) ||
                    (!out->headers && sqlite3_column_type(st, ENTRY_NCOLS + 1) != SQLITE_NULL) ||
                    (!out->body && sqlite3_column_type(st, ENTRY_NCOLS + 2) != SQLITE_NULL))
                    rc = SQLITE_NOMEM;
            }
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_NOTFOUND;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        ledger_sent_free(out);
    return rc;
}

const char *ledger_sent_missing(const ledger_sent *s) {
    if (s->body)
        return NULL;
    if (s->e.status && strcmp(s->e.status, "refused") == 0)
        return "it was refused before sending (the budget): nothing left the machine";
    if (!s->url)
        return "it was recorded before ami kept what it sent (ledger schema 6), or it failed "
               "before anything was sent";
    return "the body is not kept: ledger.store_text is false (it holds the document)";
}
