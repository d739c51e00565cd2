/* Unit tests for the usage report: the figures read from a ledger (src/usage_data.c: each
 * source, OpenRouter net of ami's own requests, counted once), the text charts at fixed data
 * (src/usage_report.c), the HTML page (src/usage_html.c), the imports' storage
 * (src/usage_import.c), and the schema step that holds import.h's tables.
 *
 * The ledger is an in-memory SQLite database built by the ledger's own migrations, in UTC.
 */
#include "../../src/ledger_internal.h"
#include "ami/import.h"
#include "ami/usage_data.h"
#include "ami/usage_import.h"
#include "ami/usage_report.h"
#include "check.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sqlite3 *ledger_db(void) {
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return NULL;
    for (int v = 0; v < LEDGER_SCHEMA_VERSION; v++)
        if (sqlite3_exec(db, ledger_migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "  migration %d: %s\n", v, sqlite3_errmsg(db));
            sqlite3_close(db);
            return NULL;
        }
    return db;
}

static int exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "  sql: %s\n", err ? err : "?");
    sqlite3_free(err);
    return rc;
}

static long long count(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int near(double a, double b) {
    return fabs(a - b) < 1e-9;
}

/* ---- the schema ----------------------------------------------------------------------------- */

static void test_schema_step_holds_import_tables(void) {
    /* Step 4 -> 5 was released with import_schema_sql as it is now: if import.h's tables
     * change, they need a new step, not an edit of this one. */
    const char *step = ledger_migrations[4];
    CHECK(strncmp(step, import_schema_sql, strlen(import_schema_sql)) == 0);
    CHECK(strstr(step, "CREATE TABLE imports (") != NULL);
    sqlite3 *db = ledger_db();
    CHECK(db != NULL);
    CHECK_INT(count(db, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('imported_"
                        "conversations', 'imported_messages', 'imported_activity', 'imports')"),
              4);
    sqlite3_close(db);
}

/* ---- the figures ---------------------------------------------------------------------------- */

/* March 2025: ami through OpenRouter on the 10th (two requests OpenRouter reports among five),
 * the 11th (a model OpenRouter reports nothing of), Open WebUI through OpenRouter (gpt-4o,
 * which OpenRouter lists that month) and not (a local model); February: ami through another
 * provider; January: a Claude conversation. */
static const char fixture_sql[] =
    "INSERT INTO requests (started_at, started_unix, client, command, provider,"
    " model_requested, model_answered, thread, prompt_tokens, completion_tokens, cost_usd,"
    " cost_source, co2e_g, status) VALUES"
    " ('x', 1741608000, 'nvim', 'critique', 'openrouter', 'anthropic/claude-sonnet-4',"
    "  'anthropic/claude-4-sonnet-20250522', 't1', 1000, 100, 0.02, 'reported', 1.0, 'ok'),"
    " ('x', 1741611600, 'nvim', 'ask', 'openrouter', 'anthropic/claude-sonnet-4',"
    "  'anthropic/claude-4-sonnet-20250522', 't1', 1000, 100, 0.02, 'reported', 1.0, 'ok'),"
    " ('x', 1741694400, 'cli', 'ask', 'openrouter', 'x/y', 'x/y', NULL, 10, 1, 0.01,"
    "  'reported', 0.1, 'ok'),"
    " ('x', 1741700000, 'cli', 'ask', 'openrouter', 'x/y', NULL, NULL, NULL, NULL, NULL,"
    "  'unknown', NULL, 'error'),"
    " ('x', 1741700100, 'cli', 'ask', 'openrouter', 'x/y', NULL, NULL, NULL, NULL, 9.0,"
    "  'estimated', NULL, 'refused'),"
    " ('x', 1738756800, 'nvim', 'critique', 'anthropic', 'claude-direct', 'claude-direct',"
    "  't0', 2000, 200, 1.0, 'reported', 2.0, 'ok');"
    "INSERT INTO imported_activity (source, day, day_unix, model, model_permaslug, endpoint_id,"
    " provider, usd, requests, prompt_tokens, completion_tokens, imported_unix) VALUES"
    " ('openrouter', '2025-03-10', 1741564800, 'anthropic/claude-sonnet-4',"
    "  'anthropic/claude-4-sonnet-20250522', 'e1', 'Anthropic', 0.06, 3, 3000, 300, 0),"
    " ('openrouter', '2025-03-10', 1741564800, 'anthropic/claude-sonnet-4',"
    "  'anthropic/claude-4-sonnet-20250522', 'e2', 'Google', 0.04, 2, 2000, 200, 0),"
    " ('openrouter', '2025-03-12', 1741737600, 'openai/gpt-4o', 'openai/gpt-4o-2024-08-06',"
    "  'e3', 'OpenAI', 0.05, 2, 400, 40, 0);"
    "INSERT INTO imports (source, file, started_unix, first_day, last_day, items, added,"
    " updated, unchanged, messages, warnings) VALUES"
    " ('openrouter', NULL, 0, '2025-03-01', '2025-03-31', 3, 3, 0, 0, 0, 0);"
    "INSERT INTO imported_conversations (id, source, external_id, user_messages,"
    " assistant_messages, other_messages, imported_unix) VALUES"
    " (1, 'openwebui', 'ow1', 1, 2, 0, 0), (2, 'claude', 'c1', 1, 1, 0, 0);"
    "INSERT INTO imported_messages (conversation, source, external_id, role, model, at_unix,"
    " prompt_tokens, completion_tokens, cost_usd) VALUES"
    " (1, 'openwebui', 'u1', 'user', NULL, 1741780000, NULL, NULL, NULL),"
    " (1, 'openwebui', 'a1', 'assistant', 'openai/gpt-4o', 1741780010, 100, 10, 0.01),"
    " (1, 'openwebui', 'a2', 'assistant', 'llama3:8b', 1741780020, 50, 5, NULL),"
    " (2, 'claude', 'h', 'user', NULL, 1736942400, NULL, NULL, NULL),"
    " (2, 'claude', 'b', 'assistant', NULL, 1736942460, NULL, NULL, NULL);";

static sqlite3 *fixture_db(void) {
    sqlite3 *db = ledger_db();
    if (db && exec(db, fixture_sql) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static const usage_model *model(const usage_data *d, const char *name) {
    for (size_t i = 0; i < d->n_models; i++)
        if (strcmp(d->models[i].model, name) == 0)
            return &d->models[i];
    return NULL;
}

static void test_figures_count_everything_once(void) {
    sqlite3 *db = fixture_db();
    CHECK(db != NULL);
    if (!db)
        return;
    usage_query q = {"2025-03", NULL, 0};
    usage_data d;
    CHECK_INT(usage_data_load(db, &q, &d), SQLITE_OK);
    CHECK_STR(d.months[0].month, "2024-04");
    CHECK_STR(d.months[USAGE_MONTHS - 1].month, "2025-03");
    const usage_month *mar = &d.months[11], *feb = &d.months[10], *jan = &d.months[9];

    /* ami: the three requests sent (the refused one never was), one thread. */
    const usage_cell *ami = &mar->src[USAGE_AMI];
    CHECK_INT(ami->answers, 4);
    CHECK_INT(ami->threads, 1);
    CHECK(near(ami->cost_usd, 0.05));
    CHECK_INT(ami->cost_unknown, 1);
    CHECK_INT(mar->ami_refused, 1);

    /* OpenRouter outside ami: 5 - 2 requests of claude-sonnet-4 ($0.10 - $0.04), and gpt-4o. */
    const usage_cell *orr = &mar->src[USAGE_OPENROUTER];
    CHECK_INT(orr->answers, 5);
    CHECK(near(orr->cost_usd, 0.11));
    CHECK_INT(orr->tokens_in, 5000 - 2000 + 400);
    CHECK_INT(orr->threads, -1);

    /* ami's request of x/y on the 11th: a day OpenRouter covers, with nothing of x/y. */
    CHECK_INT(d.all_mismatches, 1);
    CHECK_STR(d.mismatches[0].day, "2025-03-11");
    CHECK_STR(d.mismatches[0].model, "x/y");
    CHECK_INT(d.mismatches[0].ami_requests, 1);
    CHECK_INT(d.mismatches[0].openrouter_requests, 0);

    /* Open WebUI: its own figures; gpt-4o's answer is inside OpenRouter's, counted once. */
    const usage_cell *ow = &mar->src[USAGE_OPENWEBUI];
    CHECK_INT(ow->threads, 1);
    CHECK_INT(ow->answers, 2);
    CHECK_INT(ow->user_messages, 1);
    CHECK_INT(ow->tokens_in, 150);
    CHECK(near(ow->cost_usd, 0.01));
    CHECK_INT(ow->cost_unknown, 1);
    CHECK_INT(mar->total.answers, 4 + 5 + 1);
    CHECK(near(mar->total.cost_usd, 0.05 + 0.11));
    CHECK_INT(mar->total.threads, 2);
    CHECK_INT(mar->total.tokens_in, 2010 + 3400 + 50);

    CHECK_INT(feb->src[USAGE_AMI].answers, 1);
    CHECK(near(feb->total.cost_usd, 1.0));
    /* Claude: a thread and an answer of unknown tokens and cost, never 0. */
    CHECK_INT(jan->src[USAGE_CLAUDE].threads, 1);
    CHECK_INT(jan->src[USAGE_CLAUDE].answers, 1);
    CHECK_INT(jan->src[USAGE_CLAUDE].cost_unknown, 1);
    CHECK_INT(jan->src[USAGE_CLAUDE].tokens_unknown, 1);
    CHECK_INT(jan->total.cost_unknown, 1);

    /* The period: the sum of its months. */
    CHECK_INT(d.period[USAGE_N_SOURCES].answers, 10 + 1 + 1);
    CHECK(near(d.period[USAGE_N_SOURCES].cost_usd, 1.16));

    /* Models: ami's answered name is OpenRouter's model once they matched; most expensive
     * first; gpt-4o is OpenRouter's (Open WebUI's answer inside it), marked with both. */
    CHECK_STR(d.models[0].model, "claude-direct");
    CHECK_STR(d.models[1].model, "anthropic/claude-sonnet-4");
    const usage_model *cs = model(&d, "anthropic/claude-sonnet-4");
    CHECK(cs && cs->c.answers == 5 && near(cs->c.cost_usd, 0.10));
    CHECK(cs && cs->sources == ((1u << USAGE_AMI) | (1u << USAGE_OPENROUTER)));
    CHECK(model(&d, "anthropic/claude-4-sonnet-20250522") == NULL);
    const usage_model *g = model(&d, "openai/gpt-4o");
    CHECK(g && g->c.answers == 2 && near(g->c.cost_usd, 0.05));
    CHECK(g && (g->sources & (1u << USAGE_OPENWEBUI)) && (g->sources & (1u << USAGE_OPENROUTER)));
    CHECK(model(&d, "llama3:8b") != NULL);
    CHECK(model(&d, "(unknown)") != NULL); /* Claude's answer */

    CHECK_INT(d.imports[USAGE_OPENROUTER].runs, 1);
    CHECK_STR(d.imports[USAGE_OPENROUTER].first_day, "2025-03-01");
    CHECK(d.has_imports);
    usage_data_free(&d);
    sqlite3_close(db);
}

/* ---- the text charts at fixed data ---------------------------------------------------------- */

static int spans_ok(const usage_text *t) {
    for (size_t i = 0; i < t->n_spans; i++) {
        const chart_span *s = &t->spans[i];
        if (s->len == 0 || s->pos + s->len > t->text.len)
            return 0;
        /* pos is col bytes into line s->line */
        size_t line = 0, start = 0;
        for (size_t k = 0; k < s->pos; k++)
            if (t->text.data[k] == '\n') {
                line++;
                start = k + 1;
            }
        if (line != s->line || s->pos - start != s->col ||
            memchr(t->text.data + s->pos, '\n', s->len))
            return 0;
    }
    return 1;
}

static void test_charts_exact(void) {
    sqlite3 *db = fixture_db();
    if (!db) {
        CHECK(0);
        return;
    }
    usage_query q = {"2025-03", NULL, 0};
    usage_data d;
    CHECK_INT(usage_data_load(db, &q, &d), SQLITE_OK);
    usage_report_opts o = {CHART_EN, 80, 2.0, NULL, 0};
    usage_text t = {0};
    CHECK_INT(usage_report_charts(&d, &o, &t), 0);
    const char *text = t.text.data;
    /* Spending, stacked: $1.00 fills 66 cells; March's $0.16 is 0.10 + 0.05 + 0.01, edges
     * at 6.6, 9.9 and 10.6 cells, rounded: 7, 10, 11. */
    CHECK(strstr(text, "Spending per month, by model, every source\n"
                       "█ claude-direct  ▓ anthropic/claude-sonnet-4  ▒ openai/gpt-4o  ░ x/y\n"
                       "2024-04  $0.00\n") == text);
    CHECK(strstr(text, "\n2025-02 ██████████████████████████████████████████████████████████████"
                       "████ $1.00\n2025-03 ▓▓▓▓▓▓▓▒▒▒░ $0.16\n") != NULL);
    /* Threads by source: January's Claude thread, March's ami and Open WebUI threads. */
    CHECK(strstr(text, "\nThreads per month, by source\n█ ami  ▓ Open WebUI  ▒ Claude\n") != NULL);
    CHECK(strstr(text, "\nTokens per month (2024-04 – 2025-03)\nin ") != NULL);
    CHECK(strstr(text, "\nBudget this month (2025-03, ami)\n[") != NULL);
    CHECK(strstr(text, "] 3% of $2.00\n") != NULL);
    CHECK(spans_ok(&t));
    CHECK(t.n_spans > 20);
    CHECK_STR(t.spans[0].group, "AmiChartTitle");

    /* The table by source, March. */
    usage_text s = {0};
    CHECK_INT(usage_report_sources(&d, USAGE_MONTHS - 1, &o, &s), 0);
    CHECK_STR(s.text.data,
              "  source                    threads  answers  tokens in  tokens out     cost\n"
              "  ami                             1        4    2,010+?       201+?  $0.05+?\n"
              "  OpenRouter (outside ami)        -        5      3,400         340    $0.11\n"
              "  Open WebUI                      1        2        150          15  $0.01+?\n"
              "  total                           2       10    5,460+?       546+?  $0.16+?\n"
              "  ! 2025-03-11 x/y: ami recorded 1 request ($0.01), OpenRouter reports 0 ($0.00)\n");
    CHECK(spans_ok(&s));
    usage_text_free(&s);
    usage_text_free(&t);

    /* French numbers. */
    o.locale = CHART_FR;
    CHECK_INT(usage_report_charts(&d, &o, &t), 0);
    CHECK(strstr(t.text.data, " 1,00\xC2\xA0$\n") != NULL);
    CHECK(strstr(t.text.data, "Dépenses par mois") == t.text.data);
    usage_text_free(&t);
    usage_data_free(&d);
    sqlite3_close(db);
}

static void test_charts_of_nothing(void) {
    usage_data d;
    CHECK_INT(usage_data_init("2025-03", &d), 0);
    usage_report_opts o = {CHART_EN, 40, -1, NULL, 0};
    usage_text t = {0};
    CHECK_INT(usage_report_charts(&d, &o, &t), 0);
    CHECK(strstr(t.text.data, "2025-03  $0.00\n") != NULL);
    CHECK(strstr(t.text.data, "Budget") == NULL); /* no budget, no gauge */
    CHECK(spans_ok(&t));
    usage_text_free(&t);
    CHECK_INT(usage_data_init("2025-13", &d), -1);
    char m[8];
    CHECK_INT(usage_month_add("2025-01", -1, m), 0);
    CHECK_STR(m, "2024-12");
    CHECK_INT(usage_month_add("2024-12", 1, m), 0);
    CHECK_STR(m, "2025-01");
    CHECK_INT(usage_month_add("bad", 1, m), -1);
}

/* ---- the page -------------------------------------------------------------------------------- */

static void test_html_escapes_and_loads_nothing(void) {
    sqlite3 *db = fixture_db();
    if (!db) {
        CHECK(0);
        return;
    }
    CHECK_INT(exec(db, "INSERT INTO requests (started_at, started_unix, client, command,"
                       " model_requested, document, cost_usd, cost_source, status) VALUES"
                       " ('x', 1741608000, 'nvim', 'critique', '<m&\"odel>',"
                       " '/secret/dir/<b>note&.md', 0.5, 'reported', 'ok')"),
              SQLITE_OK);
    usage_query q = {"2025-03", NULL, 0};
    usage_data d;
    CHECK_INT(usage_data_load(db, &q, &d), SQLITE_OK);
    usage_report_opts o = {CHART_EN, 0, 5.0, NULL, 1741608000};
    buf page = {0};
    CHECK_INT(usage_report_html(&d, &o, &page), 0);
    const char *h = page.data;
    CHECK(strncmp(h, "<!DOCTYPE html>\n<html lang=\"en\">", 31) == 0);
    CHECK(strstr(h, "default-src 'none'") != NULL);
    CHECK(strstr(h, "<script") == NULL);
    CHECK(strstr(h, "&lt;m&amp;&quot;odel&gt;") != NULL);
    CHECK(strstr(h, "<m&") == NULL);
    CHECK(strstr(h, "&lt;b&gt;note&amp;.md") != NULL);
    CHECK(strstr(h, "/secret/dir") == NULL); /* file names only */
    CHECK(strstr(h, "<table id=\"by-document\">") != NULL);
    CHECK(strstr(h, "data-source=\"openrouter\"") != NULL);
    CHECK(strstr(h, "id=\"mismatches\"") != NULL);
    CHECK(strstr(h, "id=\"budget\"") != NULL);
    CHECK(strstr(h, "2025-03-10.") != NULL); /* the footer's date */
    CHECK(strstr(h, "</html>\n") != NULL);
    buf_free(&page);
    usage_data_free(&d);
    sqlite3_close(db);
}

/* ---- the imports ----------------------------------------------------------------------------- */

static const char *fixture(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "tests/fixtures/import/%s", name);
    return path;
}

static void test_import_twice_and_truncated(void) {
    sqlite3 *db = ledger_db();
    if (!db) {
        CHECK(0);
        return;
    }
    usage_import_job j;
    memset(&j, 0, sizeof j);
    j.format = IMPORT_CHATGPT;
    j.path = fixture("chatgpt_basic.json");
    j.now = 1000;
    CHECK_INT(usage_import_run(db, 0, &j), SQLITE_OK);
    CHECK_INT(j.failed, 0);
    CHECK_INT(j.added, 3);
    long long msgs = count(db, "SELECT COUNT(*) FROM imported_messages");
    CHECK_INT(msgs, (long long)j.messages);
    memset(&j, 0, sizeof j);
    j.format = IMPORT_CHATGPT;
    j.path = fixture("chatgpt_basic.json");
    CHECK_INT(usage_import_run(db, 0, &j), SQLITE_OK);
    CHECK_INT(j.added + j.updated, 0);
    CHECK_INT(j.unchanged, 3);
    CHECK_INT(count(db, "SELECT COUNT(*) FROM imported_messages"), msgs);
    /* Truncated: refused, rolled back, nothing more stored, not even the run. */
    long long runs = count(db, "SELECT COUNT(*) FROM imports");
    memset(&j, 0, sizeof j);
    j.format = IMPORT_CLAUDE;
    j.path = fixture("claude_truncated.json");
    CHECK_INT(usage_import_run(db, 0, &j), SQLITE_OK);
    CHECK_INT(j.failed, 1);
    CHECK(strstr(j.error, "claude_truncated.json: the file ends at byte") != NULL);
    CHECK_INT(count(db, "SELECT COUNT(*) FROM imported_conversations WHERE source = 'claude'"), 0);
    CHECK_INT(count(db, "SELECT COUNT(*) FROM imports"), runs);
    CHECK(sqlite3_get_autocommit(db)); /* no transaction left open */
    /* OpenRouter from memory: the window asked for is kept, widened to the data's days. */
    static const char body[] =
        "{\"data\":[{\"date\":\"2025-03-10\",\"model\":\"m\",\"model_permaslug\":\"m-1\","
        "\"endpoint_id\":\"e\",\"provider_name\":\"P\",\"usage\":0.5,\"byok_usage_inference\":0,"
        "\"requests\":2,\"prompt_tokens\":10,\"completion_tokens\":1,\"reasoning_tokens\":0}]}";
    memset(&j, 0, sizeof j);
    j.format = IMPORT_OPENROUTER;
    j.body = body;
    j.body_len = sizeof body - 1;
    snprintf(j.first_day, sizeof j.first_day, "2025-03-11");
    snprintf(j.last_day, sizeof j.last_day, "2025-04-09");
    CHECK_INT(usage_import_run(db, 0, &j), SQLITE_OK);
    CHECK_INT(j.failed, 0);
    CHECK_INT(j.added, 1);
    CHECK_STR(j.first_day, "2025-03-10");
    CHECK_STR(j.last_day, "2025-04-09");
    CHECK_INT(count(db, "SELECT COUNT(*) FROM imports WHERE first_day = '2025-03-10' AND"
                        " last_day = '2025-04-09'"),
              1);
    sqlite3_close(db);
}

int main(void) {
    setenv("TZ", "UTC0", 1);
    tzset();
    RUN(test_schema_step_holds_import_tables);
    RUN(test_figures_count_everything_once);
    RUN(test_charts_exact);
    RUN(test_charts_of_nothing);
    RUN(test_html_escapes_and_loads_nothing);
    RUN(test_import_twice_and_truncated);
    return check_report("usage");
}
