/* Micro-benchmark of the usage report over a year of use: an in-memory ledger with 12 months of
 * ami's requests (300 a month, 8 models, 40 documents), 2,400 imported conversations of 20
 * messages (200 a month, half Open WebUI, half ChatGPT) and OpenRouter's activity (365 days
 * of 5 models).  Times, as medians of several runs: reading the report (usage_data_load, every
 * query in one transaction), drawing the text charts (what `ami usage` and :AmiUsage show),
 * and the HTML page (`ami usage --html`), with its size.  Exits 1 if a step fails.
 *
 *   make build/bench/bench_usage && build/bench/bench_usage
 */
#include "../src/ledger_internal.h"
#include "ami/usage_data.h"
#include "ami/usage_report.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 7

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fill(sqlite3 *db) {
    static const char *const models[8] = {"anthropic/claude-sonnet-4",  "openai/gpt-4o",
                                          "mistralai/mistral-medium-3", "google/gemini-2.5-pro",
                                          "meta/llama-3.3-70b",         "qwen/qwen-2.5-72b",
                                          "deepseek/deepseek-chat",     "anthropic/claude-haiku"};
    const long long start = 1735689600; /* 2025-01-01 */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    rc |= sqlite3_prepare_v2(
        db,
        "INSERT INTO requests (started_at, started_unix, client, command, provider,"
        " model_requested, model_answered, document, thread, prompt_tokens, completion_tokens,"
        " cost_usd, cost_source, co2e_g, status) VALUES ('x', ?1, 'nvim', 'critique',"
        " 'openrouter', ?2, ?2, ?3, ?4, ?5, ?6, ?7, 'reported', 0.8, 'ok')",
        -1, &st, NULL);
    for (int i = 0; rc == SQLITE_OK && i < 3600; i++) {
        char doc[64], thread[32];
        snprintf(doc, sizeof doc, "/home/writer/notes/note-%02d.md", i % 40);
        snprintf(thread, sizeof thread, "t-%d", i / 3);
        sqlite3_bind_int64(st, 1, start + (long long)i * 8760);
        sqlite3_bind_text(st, 2, models[i % 8], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, doc, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, thread, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 5, 2000 + i % 3000);
        sqlite3_bind_int(st, 6, 300 + i % 500);
        sqlite3_bind_double(st, 7, 0.001 * (1 + i % 17));
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_stmt *conv = NULL, *msg = NULL;
    rc |= sqlite3_prepare_v2(db,
                             "INSERT INTO imported_conversations (source, external_id,"
                             " user_messages, assistant_messages, other_messages, imported_unix)"
                             " VALUES (?1, ?2, 10, 10, 0, 0)",
                             -1, &conv, NULL);
    rc |= sqlite3_prepare_v2(db,
                             "INSERT INTO imported_messages (conversation, source, external_id,"
                             " role, model, at_unix, prompt_tokens, completion_tokens, cost_usd)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                             -1, &msg, NULL);
    for (int c = 0; rc == SQLITE_OK && c < 2400; c++) {
        const char *src = c % 2 ? "openwebui" : "chatgpt";
        char id[32];
        snprintf(id, sizeof id, "conv-%d", c);
        sqlite3_bind_text(conv, 1, src, -1, SQLITE_STATIC);
        sqlite3_bind_text(conv, 2, id, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(conv) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(conv);
        long long row = sqlite3_last_insert_rowid(db);
        for (int m = 0; rc == SQLITE_OK && m < 20; m++) {
            int assistant = m % 2;
            snprintf(id, sizeof id, "m-%d", m);
            sqlite3_bind_int64(msg, 1, row);
            sqlite3_bind_text(msg, 2, src, -1, SQLITE_STATIC);
            sqlite3_bind_text(msg, 3, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(msg, 4, assistant ? "assistant" : "user", -1, SQLITE_STATIC);
            if (assistant)
                sqlite3_bind_text(msg, 5, models[(c + m) % 8], -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(msg, 5);
            sqlite3_bind_int64(msg, 6, start + (long long)c * 13140 + m * 30);
            if (assistant && c % 2) {
                sqlite3_bind_int(msg, 7, 1500);
                sqlite3_bind_int(msg, 8, 400);
                sqlite3_bind_double(msg, 9, 0.004);
            } else {
                sqlite3_bind_null(msg, 7);
                sqlite3_bind_null(msg, 8);
                sqlite3_bind_null(msg, 9);
            }
            rc = sqlite3_step(msg) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            sqlite3_reset(msg);
        }
    }
    sqlite3_finalize(conv);
    sqlite3_finalize(msg);
    rc |= sqlite3_prepare_v2(db,
                             "INSERT INTO imported_activity (source, day, day_unix, model,"
                             " model_permaslug, endpoint_id, provider, usd, requests,"
                             " prompt_tokens, completion_tokens, imported_unix) VALUES"
                             " ('openrouter', date(?1, 'unixepoch'), ?1, ?2, ?2, 'e', 'P', ?3,"
                             " ?4, ?5, ?6, 0)",
                             -1, &st, NULL);
    for (int d = 0; rc == SQLITE_OK && d < 365; d++)
        for (int k = 0; rc == SQLITE_OK && k < 5; k++) {
            sqlite3_bind_int64(st, 1, start + (long long)d * 86400);
            sqlite3_bind_text(st, 2, models[k], -1, SQLITE_STATIC);
            sqlite3_bind_double(st, 3, 0.02 * (1 + (d + k) % 9));
            sqlite3_bind_int(st, 4, 3 + (d * k) % 11);
            sqlite3_bind_int(st, 5, 9000 + d % 700);
            sqlite3_bind_int(st, 6, 1500 + d % 300);
            rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            sqlite3_reset(st);
        }
    sqlite3_finalize(st);
    rc |= sqlite3_exec(db,
                       "INSERT INTO imports (source, started_unix, first_day, last_day, items,"
                       " added, updated, unchanged, messages, warnings) VALUES ('openrouter',"
                       " 0, '2025-01-01', '2025-12-31', 1825, 1825, 0, 0, 0, 0); COMMIT",
                       NULL, NULL, NULL);
    return rc;
}

static void report(const char *name, double *ms, const char *extra) {
    qsort(ms, RUNS, sizeof *ms, cmp);
    printf("usage %-26s median %7.2f ms (min %.2f, max %.2f; %d runs%s)\n", name, ms[RUNS / 2],
           ms[0], ms[RUNS - 1], RUNS, extra);
}

int main(void) {
    setenv("TZ", "UTC0", 1);
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return 1;
    for (int v = 0; v < LEDGER_SCHEMA_VERSION; v++)
        if (sqlite3_exec(db, ledger_migrations[v], NULL, NULL, NULL) != SQLITE_OK)
            return 1;
    if (fill(db) != SQLITE_OK) {
        fprintf(stderr, "bench_usage: cannot fill the ledger: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    double load[RUNS], text[RUNS], page[RUNS];
    usage_query q = {"2025-12", NULL, 0};
    usage_report_opts o = {CHART_EN, 80, 20, NULL, 0};
    size_t page_bytes = 0, text_bytes = 0;
    for (int r = 0; r < RUNS; r++) {
        usage_data d;
        double t0 = now_ms();
        if (usage_data_load(db, &q, &d) != SQLITE_OK)
            return 1;
        double t1 = now_ms();
        usage_text t = {0};
        if (usage_report_charts(&d, &o, &t) != 0 ||
            usage_report_sources(&d, USAGE_MONTHS - 1, &o, &t) != 0)
            return 1;
        double t2 = now_ms();
        buf b = {0};
        if (usage_report_html(&d, &o, &b) != 0)
            return 1;
        double t3 = now_ms();
        load[r] = t1 - t0;
        text[r] = t2 - t1;
        page[r] = t3 - t2;
        page_bytes = b.len;
        text_bytes = t.text.len;
        buf_free(&b);
        usage_text_free(&t);
        usage_data_free(&d);
    }
    char extra[64];
    report("read a year of the ledger", load, "");
    snprintf(extra, sizeof extra, "; %zu bytes", text_bytes);
    report("text charts + sources", text, extra);
    snprintf(extra, sizeof extra, "; %zu bytes", page_bytes);
    report("HTML page", page, extra);
    sqlite3_close(db);
    return 0;
}
