/* ledger_requests: the SQL of the requests table, run on the pool thread by src/ledger.c's
 * ops: a row written (and the notes it streamed linked to it) in one BEGIN IMMEDIATE
 * transaction, a month's or a document's totals and their split by model read in one read
 * transaction, the monthly totals.  The table itself is made by src/ledger_schema.c.
 */
#include "ami/ledger.h"

#include "ledger_internal.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char ledger_insert_sql[] =
    "INSERT INTO requests (started_at, started_unix, ended_at, ended_unix, client, command,"
    " provider, model_requested, model_answered, document, thread, prompt_tokens,"
    " completion_tokens, cost_usd, cost_source, co2e_g, status, error, finish_reason, ttft_ms,"
    " duration_ms, prompt_text, answer_text, uid, turn, sent_url, sent_headers, sent_body)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    " ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";

/* The notes written while the request streamed now point at its row. */
static const char link_notes_sql[] =
    "UPDATE notes SET request_id = ?1 WHERE request_uid = ?2 AND request_id IS NULL";

/* ---- writing a row ------------------------------------------------------------------------ */

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

int ledger_do_record(ledger *l, ledger_op *o) {
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
        ledger_db_error(l, "cannot record the request", SQLITE_NOMEM, o->err);
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
        ledger_db_error(l, "cannot record the request", rc, o->err);
        o->fatal = ledger_is_fatal(rc);
        if (!sqlite3_get_autocommit(l->db))
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_OK ? 0 : LEDGER_EDB;
}

/* ---- reading totals ----------------------------------------------------------------------- */

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
static int bind_where(ledger_op *o, sqlite3_stmt *st) {
    if (o->kind == LEDGER_OP_DOCUMENT)
        return sqlite3_bind_text(st, 1, o->document, -1, SQLITE_STATIC);
    int rc = sqlite3_bind_int64(st, 1, o->from);
    return rc == SQLITE_OK ? sqlite3_bind_int64(st, 2, o->to) : rc;
}

int ledger_do_totals(ledger *l, ledger_op *o) {
    const char *where = o->kind == LEDGER_OP_DOCUMENT
                            ? " FROM requests WHERE document = ?1"
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
    ledger_db_error(l, "cannot read the totals", rc, o->err);
    o->fatal = ledger_is_fatal(rc);
    if (!sqlite3_get_autocommit(l->db))
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return LEDGER_EDB;
}

int ledger_do_months(ledger *l, ledger_op *o) {
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
        ledger_db_error(l, "cannot read the monthly totals", rc, o->err);
        o->fatal = ledger_is_fatal(rc);
        return LEDGER_EDB;
    }
    return 0;
}
