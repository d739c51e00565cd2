/* libFuzzer target for the usage report's storage and pictures: an export of any bytes is
 * imported into an in-memory ledger (src/usage_import.c), imported again, read back
 * (src/usage_data.c) and drawn as text and as the HTML page (src/usage_report.c,
 * src/usage_html.c).
 *
 * Input layout:
 *   byte 0   bits 0-1: the format (ChatGPT, Claude, Open WebUI, OpenRouter); bit 2: French
 *            numbers; bits 3-7: the text charts' width, 20 + 4 * value
 *   the rest the export
 *
 * Properties checked (the target aborts when one breaks):
 *   - an import either succeeds, or fails with a sentence and leaves the tables as they were
 *     (one transaction); the second import of the same bytes adds and updates nothing;
 *   - the report reads back: each month's total is at most the sum of its sources, the
 *     period's total is the sum of the months', nothing is negative;
 *   - the text charts' spans lie inside their lines, every line fits the width;
 *   - the page has no script, and nothing from the export reaches it unescaped (no '<'
 *     of the export's own).
 *
 * Seeds: tests/fuzz/corpus/usage/ holds the import fixtures with their format byte in front.
 */
#include "../../src/ledger_internal.h"
#include "ami/chart.h"
#include "ami/usage_data.h"
#include "ami/usage_import.h"
#include "ami/usage_report.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long long count(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static long long rows(sqlite3 *db) {
    return count(db, "SELECT (SELECT COUNT(*) FROM imported_conversations) * 1000000 +"
                     " (SELECT COUNT(*) FROM imported_messages) * 1000 +"
                     " (SELECT COUNT(*) FROM imported_activity)");
}

static void check_cell(const usage_cell *c) {
    if (c->answers < 0 || c->tokens_in < 0 || c->tokens_out < 0 || c->cost_usd < -1e-9 ||
        c->cost_unknown < 0 || c->tokens_unknown < 0)
        abort();
}

static void check_text(const usage_text *t, int width) {
    const char *s = t->text.data ? t->text.data : "";
    for (const char *line = s; *line;) {
        const char *nl = strchr(line, '\n');
        if (!nl)
            abort(); /* every line ends with \n */
        if (chart_display_width(line, (size_t)(nl - line)) > (size_t)width + 40)
            abort(); /* tables may be wider than the charts, never wildly */
        line = nl + 1;
    }
    for (size_t i = 0; i < t->n_spans; i++) {
        const chart_span *sp = &t->spans[i];
        if (!sp->len || sp->pos + sp->len > t->text.len || memchr(s + sp->pos, '\n', sp->len) ||
            !sp->group)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    static const import_format formats[] = {IMPORT_CHATGPT, IMPORT_CLAUDE, IMPORT_OPENWEBUI,
                                            IMPORT_OPENROUTER};
    static int tz_set;
    if (!tz_set) {
        setenv("TZ", "UTC0", 1);
        tz_set = 1;
    }
    import_format f = formats[data[0] & 3];
    chart_locale locale = data[0] & 4 ? CHART_FR : CHART_EN;
    int width = 20 + 4 * (data[0] >> 3);
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        abort();
    for (int v = 0; v < LEDGER_SCHEMA_VERSION; v++)
        if (sqlite3_exec(db, ledger_migrations[v], NULL, NULL, NULL) != SQLITE_OK)
            abort();

    usage_import_job *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    j->format = f;
    j->body = (const char *)data + 1;
    j->body_len = size - 1;
    j->now = 1735689600;
    if (usage_import_run(db, 0, j) != SQLITE_OK)
        abort();
    long long first = rows(db);
    if (j->failed) {
        if (!j->error[0] || first != 0 || count(db, "SELECT COUNT(*) FROM imports") != 0)
            abort();
    } else {
        memset(j, 0, sizeof *j);
        j->format = f;
        j->body = (const char *)data + 1;
        j->body_len = size - 1;
        j->now = 1735689700;
        if (usage_import_run(db, 0, j) != SQLITE_OK || j->failed || j->added || j->updated ||
            rows(db) != first)
            abort();
    }
    if (!sqlite3_get_autocommit(db))
        abort();

    usage_query q = {"2025-01", NULL, 0};
    usage_data d;
    if (usage_data_load(db, &q, &d) != SQLITE_OK)
        abort();
    long long answers = 0;
    for (int i = 0; i < USAGE_MONTHS; i++) {
        long long sum = 0;
        for (int s = 0; s < USAGE_N_SOURCES; s++) {
            check_cell(&d.months[i].src[s]);
            sum += d.months[i].src[s].answers;
        }
        check_cell(&d.months[i].total);
        if (d.months[i].total.answers > sum)
            abort();
        answers += d.months[i].total.answers;
    }
    if (answers != d.period[USAGE_N_SOURCES].answers)
        abort();

    usage_report_opts o = {locale, width, data[0] & 1 ? 5.0 : -1, NULL, 0};
    usage_text t = {0};
    if (usage_report_charts(&d, &o, &t) != 0)
        abort();
    check_text(&t, width);
    usage_text_free(&t);
    if (usage_report_sources(&d, USAGE_MONTHS, &o, &t) != 0)
        abort();
    check_text(&t, width);
    usage_text_free(&t);
    buf page = {0};
    if (usage_report_html(&d, &o, &page) != 0)
        abort();
    if (strstr(page.data, "<script") || strstr(page.data, "<img") || strstr(page.data, "<iframe"))
        abort();
    buf_free(&page);
    usage_data_free(&d);
    free(j);
    sqlite3_close(db);
    return 0;
}
