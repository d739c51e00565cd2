/* usage_import: an export into the ledger.  See include/ami/usage_import.h. */
#include "ami/usage_import.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

typedef struct importer {
    sqlite3 *db;
    usage_import_job *job;
    const char *source;
    sqlite3_stmt *find, *upsert, *del, *insert, *find_act, *upsert_act;
    int rc; /* the first SQLite failure, or SQLITE_OK */
} importer;

static const char find_sql[] =
    "SELECT id, updated_unix, user_messages, assistant_messages, other_messages"
    " FROM imported_conversations WHERE source = ?1 AND external_id = ?2";

static const char find_act_sql[] =
    "SELECT usd IS ?7, byok_usd IS ?8, requests IS ?9, prompt_tokens IS ?10,"
    " completion_tokens IS ?11, reasoning_tokens IS ?12, model IS ?13"
    " FROM imported_activity WHERE source = ?1 AND day = ?2 AND endpoint_id = ?3"
    " AND model_permaslug = ?4 AND provider = ?5 AND workspace_id = ?6";

static int bind_int_or_null(sqlite3_stmt *st, int i, long long v) {
    return v >= 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

static int bind_usd(sqlite3_stmt *st, int i, double v) {
    return v >= 0 ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}

static int bind_str(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no row, then resets it. */
static int run(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    else if (rc != SQLITE_ROW)
        rc = sqlite3_reset(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static void span(usage_import_job *j, long long t) {
    if (t < 0)
        return;
    if (j->first < 0 || t < j->first)
        j->first = t;
    if (j->last < 0 || t > j->last)
        j->last = t;
}

static int store_messages(importer *im, sqlite3_int64 id, const import_conversation *c) {
    int rc = sqlite3_bind_int64(im->del, 1, id);
    if (rc == SQLITE_OK)
        rc = run(im->del);
    for (size_t i = 0; rc == SQLITE_OK && i < c->n_messages; i++) {
        const import_message *m = &c->messages[i];
        sqlite3_stmt *st = im->insert;
        rc = sqlite3_bind_int64(st, 1, id);
        rc |= bind_str(st, 2, im->source);
        rc |= bind_str(st, 3, m->id);
        rc |= bind_str(st, 4, import_role_name(m->role));
        rc |= bind_str(st, 5, m->model);
        rc |= bind_int_or_null(st, 6, m->time);
        rc |= sqlite3_bind_int(st, 7, m->time_estimated);
        rc |= bind_int_or_null(st, 8, m->tokens_in);
        rc |= bind_int_or_null(st, 9, m->tokens_out);
        rc |= bind_usd(st, 10, m->cost_usd);
        if (rc != SQLITE_OK) {
            sqlite3_clear_bindings(st);
            return SQLITE_NOMEM;
        }
        rc = run(st);
        im->job->messages++;
    }
    return rc;
}

static int on_conversation(void *ud, const import_conversation *c) {
    importer *im = ud;
    usage_import_job *j = im->job;
    j->items++;
    span(j, c->first_message);
    span(j, c->last_message);
    /* What is stored already. */
    sqlite3_stmt *st = im->find;
    int rc = bind_str(st, 1, im->source) | bind_str(st, 2, c->id);
    int found = 0;
    long long stored_updated = -1, u = 0, a = 0, o = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        found = 1;
        stored_updated =
            sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
        u = sqlite3_column_int64(st, 2);
        a = sqlite3_column_int64(st, 3);
        o = sqlite3_column_int64(st, 4);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_OK)
        goto fail;
    if (found && stored_updated >= 0 && c->updated >= 0 && stored_updated > c->updated) {
        j->older++;
        return 0;
    }
    if (found && stored_updated == c->updated && u == c->user_messages &&
        a == c->assistant_messages && o == c->other_messages) {
        j->unchanged++;
        return 0;
    }

    st = im->upsert;
    rc = bind_str(st, 1, im->source);
    rc |= bind_str(st, 2, c->id);
    rc |= bind_str(st, 3, c->title);
    rc |= bind_int_or_null(st, 4, c->created);
    rc |= bind_int_or_null(st, 5, c->updated);
    rc |= bind_int_or_null(st, 6, c->first_message);
    rc |= bind_int_or_null(st, 7, c->last_message);
    rc |= sqlite3_bind_int64(st, 8, c->user_messages);
    rc |= sqlite3_bind_int64(st, 9, c->assistant_messages);
    rc |= sqlite3_bind_int64(st, 10, c->other_messages);
    rc |= bind_int_or_null(st, 11, c->tokens_in);
    rc |= bind_int_or_null(st, 12, c->tokens_out);
    rc |= bind_usd(st, 13, c->cost_usd);
    rc |= sqlite3_bind_int64(st, 14, j->now);
    if (rc != SQLITE_OK) {
        rc = SQLITE_NOMEM;
        goto fail;
    }
    sqlite3_int64 id = -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK; /* the stored copy is newer (checked above; kept for safety) */
    } else {
        rc = sqlite3_reset(st);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_OK)
        goto fail;
    if (id < 0) {
        j->older++;
        return 0;
    }
    if (found)
        j->updated++;
    else
        j->added++;
    rc = store_messages(im, id, c);
    if (rc != SQLITE_OK)
        goto fail;
    return 0;
fail:
    im->rc = rc;
    return 1; /* stops the reader */
}

static int on_activity(void *ud, const import_activity *a) {
    importer *im = ud;
    usage_import_job *j = im->job;
    j->items++;
    const char *ws = a->workspace_id ? a->workspace_id : "";
    sqlite3_stmt *st = im->find_act;
    int rc = bind_str(st, 1, "openrouter") | bind_str(st, 2, a->date) |
             bind_str(st, 3, a->endpoint_id) | bind_str(st, 4, a->permaslug) |
             bind_str(st, 5, a->provider) | bind_str(st, 6, ws) | bind_usd(st, 7, a->usd) |
             bind_usd(st, 8, a->byok_usd) | bind_int_or_null(st, 9, a->requests) |
             bind_int_or_null(st, 10, a->prompt_tokens) |
             bind_int_or_null(st, 11, a->completion_tokens) |
             bind_int_or_null(st, 12, a->reasoning_tokens) | bind_str(st, 13, a->model);
    int found = 0, same = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        found = 1;
        same = 1;
        for (int i = 0; i < 7; i++)
            same &= sqlite3_column_int(st, i) == 1;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_OK)
        goto fail;
    span(j, a->day);
    if (same) {
        j->unchanged++;
        return 0;
    }
    st = im->upsert_act;
    rc = bind_str(st, 1, "openrouter");
    rc |= bind_str(st, 2, a->date);
    rc |= sqlite3_bind_int64(st, 3, a->day);
    rc |= bind_str(st, 4, a->model);
    rc |= bind_str(st, 5, a->permaslug);
    rc |= bind_str(st, 6, a->endpoint_id);
    rc |= bind_str(st, 7, a->provider);
    rc |= bind_str(st, 8, ws);
    rc |= bind_usd(st, 9, a->usd);
    rc |= bind_usd(st, 10, a->byok_usd);
    rc |= bind_int_or_null(st, 11, a->requests);
    rc |= bind_int_or_null(st, 12, a->prompt_tokens);
    rc |= bind_int_or_null(st, 13, a->completion_tokens);
    rc |= bind_int_or_null(st, 14, a->reasoning_tokens);
    rc |= sqlite3_bind_int64(st, 15, j->now);
    if (rc != SQLITE_OK) {
        rc = SQLITE_NOMEM;
        goto fail;
    }
    rc = run(st);
    if (rc != SQLITE_OK)
        goto fail;
    if (found)
        j->updated++;
    else
        j->added++;
    return 0;
fail:
    im->rc = rc;
    return 1;
}

static void on_warning(void *ud, const import_warning *w) {
    importer *im = ud;
    usage_import_job *j = im->job;
    j->warnings++;
    if (j->n_warning < USAGE_IMPORT_KEEP_WARNINGS)
        snprintf(j->warning[j->n_warning++], sizeof j->warning[0], "%s", w->message);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
    return sqlite3_prepare_v2(db, sql, -1, st, NULL);
}

static void day_of(long long t, char out[11]) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
        out[0] = '\0';
}

/* Feeds the export to the reader: the file in pieces, or the body.  Returns 0, or -1 with
 * job->error set (a reader's error or the file's). */
static int feed_all(importer *im, import_reader *r) {
    usage_import_job *j = im->job;
    const char *name = j->path                          ? j->path
                       : j->format == IMPORT_OPENROUTER ? "OpenRouter's answer"
                                                        : "the export";
    int rc = IMPORT_OK;
    if (!j->path) {
        rc = import_reader_feed(r, j->body, j->body_len);
    } else {
        int fd = open(j->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            snprintf(j->error, sizeof j->error, "cannot read %s: %s", j->path, strerror(errno));
            return -1;
        }
        char *chunk = malloc(CHUNK);
        if (!chunk) {
            close(fd);
            snprintf(j->error, sizeof j->error, "%s: out of memory", j->path);
            return -1;
        }
        ssize_t n;
        while (rc == IMPORT_OK && (n = read(fd, chunk, CHUNK)) != 0) {
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                snprintf(j->error, sizeof j->error, "cannot read %s: %s", j->path, strerror(errno));
                free(chunk);
                close(fd);
                return -1;
            }
            rc = import_reader_feed(r, chunk, (size_t)n);
        }
        free(chunk);
        close(fd);
    }
    if (rc == IMPORT_OK)
        rc = import_reader_finish(r);
    if (rc == IMPORT_OK)
        return 0;
    if (rc == IMPORT_STOPPED && im->rc != SQLITE_OK)
        return -1; /* a database failure: the caller reports it */
    snprintf(j->error, sizeof j->error, "%s: %s", name, import_reader_error(r));
    return -1;
}

int usage_import_run(sqlite3 *db, int store_text, void *ud) {
    (void)store_text; /* no text is ever imported */
    usage_import_job *j = ud;
    j->first = j->last = -1;
    importer im;
    memset(&im, 0, sizeof im);
    im.db = db;
    im.job = j;
    im.source = import_format_name(j->format);
    im.rc = SQLITE_OK;
    int openrouter = j->format == IMPORT_OPENROUTER;

    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK && openrouter)
        rc = prepare(db, find_act_sql, &im.find_act) ||
                     prepare(db, import_sql_upsert_activity, &im.upsert_act)
                 ? sqlite3_errcode(db)
                 : SQLITE_OK;
    else if (rc == SQLITE_OK)
        rc = prepare(db, find_sql, &im.find) ||
                     prepare(db, import_sql_upsert_conversation, &im.upsert) ||
                     prepare(db, import_sql_delete_messages, &im.del) ||
                     prepare(db, import_sql_insert_message, &im.insert)
                 ? sqlite3_errcode(db)
                 : SQLITE_OK;
    import_reader *r = NULL;
    if (rc == SQLITE_OK) {
        import_callbacks cb = {on_conversation, on_activity, on_warning};
        r = import_reader_new(j->format, &cb, &im);
        if (!r)
            rc = SQLITE_NOMEM;
    }
    if (rc == SQLITE_OK && feed_all(&im, r) != 0) {
        if (im.rc != SQLITE_OK)
            rc = im.rc;
        else
            j->failed = 1;
    }
    if (rc == SQLITE_OK && !j->failed) {
        /* The run itself, with the days an OpenRouter answer covers: the ones asked for,
         * widened to the days it holds. */
        char first[11] = "", last[11] = "";
        if (openrouter) {
            char a[11] = "", b[11] = "";
            if (j->first >= 0) {
                day_of(j->first, a);
                day_of(j->last, b);
            }
            snprintf(first, sizeof first, "%s", *j->first_day ? j->first_day : a);
            snprintf(last, sizeof last, "%s", *j->last_day ? j->last_day : b);
            if (*a && (!*first || strcmp(a, first) < 0))
                memcpy(first, a, 11);
            if (*b && (!*last || strcmp(b, last) > 0))
                memcpy(last, b, 11);
        }
        sqlite3_stmt *st = NULL;
        rc = prepare(db,
                     "INSERT INTO imports (source, file, started_unix, first_day, last_day,"
                     " items, added, updated, unchanged, messages, warnings)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                     &st);
        if (rc == SQLITE_OK) {
            rc = bind_str(st, 1, im.source);
            rc |= bind_str(st, 2, j->path);
            rc |= sqlite3_bind_int64(st, 3, j->now);
            rc |= bind_str(st, 4, *first ? first : NULL);
            rc |= bind_str(st, 5, *last ? last : NULL);
            rc |= sqlite3_bind_int64(st, 6, (sqlite3_int64)j->items);
            rc |= sqlite3_bind_int64(st, 7, (sqlite3_int64)j->added);
            rc |= sqlite3_bind_int64(st, 8, (sqlite3_int64)j->updated);
            rc |= sqlite3_bind_int64(st, 9, (sqlite3_int64)(j->unchanged + j->older));
            rc |= sqlite3_bind_int64(st, 10, (sqlite3_int64)j->messages);
            rc |= sqlite3_bind_int64(st, 11, (sqlite3_int64)j->warnings);
            if (rc == SQLITE_OK)
                rc = run(st);
        }
        sqlite3_finalize(st);
        if (openrouter) {
            memcpy(j->first_day, first, 11);
            memcpy(j->last_day, last, 11);
        }
    }
    import_reader_free(r);
    sqlite3_finalize(im.find);
    sqlite3_finalize(im.upsert);
    sqlite3_finalize(im.del);
    sqlite3_finalize(im.insert);
    sqlite3_finalize(im.find_act);
    sqlite3_finalize(im.upsert_act);
    if (rc == SQLITE_OK && !j->failed)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK || j->failed) {
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        j->added = j->updated = j->messages = 0;
    }
    return rc;
}
