/* ledger_schema: the SQLite schema of the ledger, as a list of migrations.  doc/LEDGER.md
 * describes the result; src/ledger.c runs them (in one write transaction, re-reading
 * user_version inside it, so two processes opening an old file migrate it once).
 */
#include "ami/ledger.h"
#include "ledger_internal.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

void *ledger_grow(void *items, size_t *cap, size_t n, size_t size) {
    if (n < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *m = realloc(items, ncap * size);
    if (m)
        *cap = ncap;
    return m;
}

char *ledger_col_dup(sqlite3_stmt *st, int c) {
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? strdup((const char *)t) : NULL;
}

long long ledger_col_count(sqlite3_stmt *st, int c) {
    return sqlite3_column_type(st, c) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, c);
}

double ledger_col_real(sqlite3_stmt *st, int c) {
    return sqlite3_column_type(st, c) == SQLITE_NULL ? -1 : sqlite3_column_double(st, c);
}

/* migrations[v] takes a file from user_version v to v + 1.  Never edit a step once released:
 * add one.  doc/LEDGER.md describes the result. */
const char *const ledger_migrations[LEDGER_SCHEMA_VERSION] = {
    /* 0 -> 1: the table. */
    "CREATE TABLE requests ("
    " id INTEGER PRIMARY KEY,"
    " started_at TEXT NOT NULL,"
    " started_unix INTEGER NOT NULL,"
    " ended_at TEXT,"
    " ended_unix INTEGER,"
    " client TEXT NOT NULL,"
    " command TEXT NOT NULL,"
    " provider TEXT,"
    " model_requested TEXT,"
    " model_answered TEXT,"
    " document TEXT,"
    " thread TEXT,"
    " prompt_tokens INTEGER,"
    " completion_tokens INTEGER,"
    " cost_usd REAL,"
    " cost_source TEXT NOT NULL,"
    " co2e_g REAL,"
    " status TEXT NOT NULL,"
    " error TEXT,"
    " finish_reason TEXT,"
    " ttft_ms INTEGER,"
    " duration_ms INTEGER,"
    " prompt_text TEXT,"
    " answer_text TEXT);",
    /* 1 -> 2: indexes for the month and document totals, and the `months` view that gives
     * people with the sqlite3 shell or Datasette the same totals as `ami usage`. */
    "CREATE INDEX requests_started ON requests(started_unix);"
    "CREATE INDEX requests_document ON requests(document);"
    "CREATE VIEW months AS SELECT"
    " strftime('%Y-%m', started_unix, 'unixepoch', 'localtime') AS month,"
    " COALESCE(SUM(status <> 'refused'), 0) AS requests,"
    " COALESCE(SUM(status = 'refused'), 0) AS refused,"
    " COUNT(DISTINCT CASE WHEN status <> 'refused' THEN thread END) AS threads,"
    " COALESCE(SUM(CASE WHEN status <> 'refused' THEN prompt_tokens END), 0) AS prompt_tokens,"
    " COALESCE(SUM(CASE WHEN status <> 'refused' THEN completion_tokens END), 0)"
    "  AS completion_tokens,"
    " TOTAL(CASE WHEN status <> 'refused' AND cost_source <> 'unknown' THEN cost_usd END)"
    "  AS cost_usd,"
    " TOTAL(CASE WHEN status <> 'refused' AND cost_source = 'estimated' THEN cost_usd END)"
    "  AS estimated_cost_usd,"
    " COALESCE(SUM(status <> 'refused' AND (cost_source = 'unknown' OR cost_usd IS NULL)), 0)"
    "  AS unknown_cost_requests,"
    " TOTAL(CASE WHEN status <> 'refused' THEN co2e_g END) AS co2e_g"
    " FROM requests GROUP BY month ORDER BY month DESC;",
    /* 2 -> 3: margin notes.  requests gains `uid` (a stable name for a request, given before
     * its row exists, so notes can point at it while it streams) and `turn` (what was asked,
     * as JSON without the document: how a thread is shown again after a restart).  `notes`
     * holds each remark anchored on the writer's words, with its state. */
    "ALTER TABLE requests ADD COLUMN uid TEXT;"
    "ALTER TABLE requests ADD COLUMN turn TEXT;"
    "CREATE UNIQUE INDEX requests_uid ON requests(uid);"
    "CREATE INDEX requests_thread ON requests(thread);"
    "CREATE TABLE notes ("
    " id INTEGER PRIMARY KEY,"
    " uid TEXT NOT NULL UNIQUE,"
    " request_uid TEXT NOT NULL,"
    " request_id INTEGER REFERENCES requests(id),"
    " document TEXT NOT NULL,"
    " thread TEXT,"
    " seq INTEGER NOT NULL,"
    " kind TEXT,"
    " quote TEXT NOT NULL,"
    " comment TEXT NOT NULL DEFAULT '',"
    " model TEXT,"
    " created_at TEXT NOT NULL,"
    " created_unix INTEGER NOT NULL,"
    " anchor TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " line_start INTEGER, col_start INTEGER, line_end INTEGER, col_end INTEGER,"
    " passage_start INTEGER, passage_end INTEGER,"
    " updated_unix INTEGER NOT NULL);"
    "CREATE INDEX notes_document ON notes(document, state);"
    "CREATE INDEX notes_request ON notes(request_uid);",
    /* 3 -> 4: the personal arena.  One row per pair of answers to the same question (two
     * requests, by their uid), with the writer's vote once given: a pair never voted on counts
     * for nothing. */
    "CREATE TABLE votes ("
    " id INTEGER PRIMARY KEY,"
    " pair TEXT NOT NULL UNIQUE,"
    " request_a TEXT NOT NULL,"
    " request_b TEXT NOT NULL,"
    " model_a TEXT NOT NULL,"
    " model_b TEXT NOT NULL,"
    " result TEXT,"
    " blind INTEGER NOT NULL,"
    " swapped INTEGER NOT NULL,"
    " command TEXT NOT NULL,"
    " language TEXT,"
    " document TEXT,"
    " created_at TEXT NOT NULL,"
    " created_unix INTEGER NOT NULL,"
    " voted_unix INTEGER);"
    "CREATE INDEX votes_created ON votes(created_unix);",
    /* 4 -> 5: usage imported from elsewhere (`ami usage import`).  First the tables of
     * include/ami/import.h, byte for byte import_schema_sql as it was released with this step
     * (a copy, frozen here like every step: tests/unit/test_usage.c checks that it still
     * equals import_schema_sql, so a change there must come as a new step instead); then
     * `imports`, one row per import run: what was read, and for OpenRouter the UTC days its
     * answer covers, so that a day without activity is known to be a day without spending. */
    "CREATE TABLE imported_conversations (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source TEXT NOT NULL,\n"
    "  external_id TEXT NOT NULL,\n"
    "  title TEXT,\n"
    "  created_unix INTEGER,\n"
    "  updated_unix INTEGER,\n"
    "  first_message_unix INTEGER,\n"
    "  last_message_unix INTEGER,\n"
    "  user_messages INTEGER NOT NULL,\n"
    "  assistant_messages INTEGER NOT NULL,\n"
    "  other_messages INTEGER NOT NULL,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  cost_usd REAL,\n"
    "  imported_unix INTEGER NOT NULL,\n"
    "  UNIQUE (source, external_id)\n"
    ");\n"
    "CREATE TABLE imported_messages (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  conversation INTEGER NOT NULL REFERENCES imported_conversations (id) ON DELETE CASCADE,\n"
    "  source TEXT NOT NULL,\n"
    "  external_id TEXT NOT NULL,\n"
    "  role TEXT NOT NULL,\n"
    "  model TEXT,\n"
    "  at_unix INTEGER,\n"
    "  at_estimated INTEGER NOT NULL DEFAULT 0,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  cost_usd REAL,\n"
    "  UNIQUE (conversation, external_id)\n"
    ");\n"
    "CREATE INDEX imported_messages_at ON imported_messages (at_unix);\n"
    "CREATE TABLE imported_activity (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source TEXT NOT NULL,\n"
    "  day TEXT NOT NULL,\n"
    "  day_unix INTEGER NOT NULL,\n"
    "  model TEXT NOT NULL,\n"
    "  model_permaslug TEXT NOT NULL,\n"
    "  endpoint_id TEXT NOT NULL,\n"
    "  provider TEXT NOT NULL,\n"
    "  workspace_id TEXT NOT NULL DEFAULT '',\n"
    "  usd REAL,\n"
    "  byok_usd REAL,\n"
    "  requests INTEGER,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  reasoning_tokens INTEGER,\n"
    "  imported_unix INTEGER NOT NULL,\n"
    "  UNIQUE (source, day, endpoint_id, model_permaslug, provider, workspace_id)\n"
    ");\n"
    "CREATE TABLE imports ("
    " id INTEGER PRIMARY KEY,"
    " source TEXT NOT NULL,"
    " file TEXT,"
    " started_unix INTEGER NOT NULL,"
    " first_day TEXT,"
    " last_day TEXT,"
    " items INTEGER NOT NULL,"
    " added INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " unchanged INTEGER NOT NULL,"
    " messages INTEGER NOT NULL,"
    " warnings INTEGER NOT NULL);",
    /* 5 -> 6: what left the machine (`ami log show`, :AmiSent after a restart): the URL, the
     * header lines with the values of those that carry the key replaced by <redacted>, and
     * the JSON body exactly as sent, secrets already masked.  The body holds the document,
     * so it is kept only when the ledger stores texts, like prompt_text. */
    "ALTER TABLE requests ADD COLUMN sent_url TEXT;"
    "ALTER TABLE requests ADD COLUMN sent_headers TEXT;"
    "ALTER TABLE requests ADD COLUMN sent_body TEXT;",
};
