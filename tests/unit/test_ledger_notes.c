/* Unit tests for ledger_notes: notes written, updated, dismissed and read back; the index of
 * documents with notes; the link to the request's row; store_text = false; an older file. */
#include "ami/ledger.h"
#include "ami/ledger_notes.h"
#include "check.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static char *path_in(const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

typedef struct got {
    int calls, rc;
    char err[512];
    size_t n;
    char uid[8][64], quote[8][128], comment[8][128], state[8][32], kind[8][32];
    long line_start[8], col_end[8], passage_start[8];
} got;

static void on_done(void *ud, int rc, const char *err) {
    got *g = ud;
    g->calls++;
    g->rc = rc;
    snprintf(g->err, sizeof g->err, "%s", err ? err : "");
}

static void on_notes(void *ud, int rc, const ledger_note *n, size_t count, const char *err) {
    got *g = ud;
    g->calls++;
    g->rc = rc;
    g->n = count;
    snprintf(g->err, sizeof g->err, "%s", err ? err : "");
    for (size_t i = 0; i < count && i < 8; i++) {
        snprintf(g->uid[i], 64, "%s", n[i].uid);
        snprintf(g->quote[i], 128, "%s", n[i].quote);
        snprintf(g->comment[i], 128, "%s", n[i].comment ? n[i].comment : "(null)");
        snprintf(g->state[i], 32, "%s", n[i].state);
        snprintf(g->kind[i], 32, "%s", n[i].kind ? n[i].kind : "(null)");
        g->line_start[i] = n[i].line_start;
        g->col_end[i] = n[i].col_end;
        g->passage_start[i] = n[i].passage_start;
    }
}

static ledger_note note(const char *uid, long seq, const char *quote) {
    ledger_note n;
    memset(&n, 0, sizeof n);
    n.uid = uid;
    n.request_uid = "r-1";
    n.document = "/home/me/note.md";
    n.thread = "t-1";
    n.seq = seq;
    n.kind = "clarity";
    n.quote = quote;
    n.model = "anthropic/claude-sonnet-4";
    n.created = 1764000000 + seq;
    n.anchor = "exact";
    n.state = LEDGER_NOTE_ANCHORED;
    n.line_start = 20;
    n.col_start = 4;
    n.line_end = 20;
    n.col_end = 24;
    n.passage_start = 21;
    n.passage_end = 23;
    return n;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = calloc(1, 4096);
    size_t n = fread(b, 1, 4095, f);
    b[n] = 0;
    fclose(f);
    return b;
}

static void close_ledger(ledger *l, uv_loop_t *loop) {
    ledger_close(l, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
}

static void test_write_update_read(void) {
    char *path = path_in("a.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    got a = {0}, r = {0}, d = {0};
    ledger_note n0 = note("r-1.0", 0, "ça finit par faire");
    ledger_note n1 = note("r-1.1", 1, "on perd quelque chose");
    n1.kind = NULL;
    CHECK_INT(ledger_notes_add(l, &n0, on_done, &a), 0);
    CHECK_INT(ledger_notes_add(l, &n1, on_done, &a), 0);
    /* A state change asked for before the comment is complete finds the note. */
    const char *uids[] = {"r-1.1"};
    long range[] = {22, 0, 22, 21};
    CHECK_INT(ledger_notes_set_state(l, uids, 1, LEDGER_NOTE_STALE, range, on_done, &a), 0);
    CHECK_INT(ledger_notes_set_comment(l, "r-1.0", "À quoi renvoie « ça » ?", on_done, &a), 0);
    CHECK_INT(ledger_notes_set_state(l, uids, 1, "bogus", NULL, on_done, &a), LEDGER_EINVAL);
    CHECK_INT(ledger_notes_for(l, "/home/me/note.md", 0, on_notes, &r), 0);
    CHECK_INT(ledger_notes_for(l, "/home/me/note.md", 1, on_notes, &d), 0);
    CHECK_INT(a.calls, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(a.calls, 4);
    CHECK_INT(a.rc, 0);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.n, 2);
    CHECK_STR(r.uid[0], "r-1.0");
    CHECK_STR(r.quote[0], "ça finit par faire");
    CHECK_STR(r.comment[0], "À quoi renvoie « ça » ?");
    CHECK_STR(r.state[0], "anchored");
    CHECK_STR(r.kind[0], "clarity");
    CHECK_INT(r.line_start[0], 20);
    CHECK_INT(r.col_end[0], 24);
    CHECK_INT(r.passage_start[0], 21);
    CHECK_STR(r.state[1], "stale");
    CHECK_STR(r.kind[1], "(null)");
    CHECK_INT(r.line_start[1], 22);
    CHECK_INT(r.col_end[1], 21);
    CHECK_STR(r.comment[1], "");
    CHECK_INT(d.n, 0); /* nothing dismissed yet */

    /* The index lists the document while it has notes not dismissed; mode 0600. */
    char *index = ledger_notes_index_path(path);
    char *text = read_file(index);
    CHECK_STR(text, "/home/me/note.md\n");
    free(text);
    struct stat st;
    CHECK_INT(stat(index, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);

    got x = {0}, r2 = {0}, d2 = {0};
    CHECK_INT(ledger_notes_dismiss_all(l, "/home/me/note.md", on_done, &x), 0);
    CHECK_INT(ledger_notes_for(l, "/home/me/note.md", 0, on_notes, &r2), 0);
    CHECK_INT(ledger_notes_for(l, "/home/me/note.md", 1, on_notes, &d2), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(x.rc, 0);
    CHECK_INT(r2.n, 2);
    CHECK_STR(r2.state[0], "dismissed");
    CHECK_STR(r2.state[1], "dismissed");
    CHECK_INT(d2.n, 2);
    text = read_file(index);
    CHECK_STR(text, ""); /* no document has notes left */
    free(text);
    free(index);
    close_ledger(l, &loop);
    uv_loop_close(&loop);
    free(path);
}

static void test_request_row_links_its_notes(void) {
    char *path = path_in("b.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    ledger_note n0 = note("r-9.0", 0, "le GPS");
    n0.request_uid = "r-9";
    CHECK_INT(ledger_notes_add(l, &n0, NULL, NULL), 0);
    ledger_row row;
    memset(&row, 0, sizeof row);
    row.client = "cli";
    row.command = "critique";
    row.status = LEDGER_STATUS_OK;
    row.prompt_tokens = row.completion_tokens = -1;
    row.ttft_ms = row.duration_ms = -1;
    row.co2e_g = -1;
    row.uid = "r-9";
    row.turn = "{\"kind\":\"critique\",\"question\":\"Clair ?\"}";
    CHECK_INT(ledger_record(l, &row, NULL, NULL), 0);
    close_ledger(l, &loop);
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_INT(
        sqlite3_prepare_v2(db,
                           "SELECT n.request_id = r.id, r.uid, r.turn FROM notes n, requests r"
                           " WHERE n.uid = 'r-9.0'",
                           -1, &st, NULL),
        SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 1);
    CHECK_STR((const char *)sqlite3_column_text(st, 1), "r-9");
    CHECK_STR((const char *)sqlite3_column_text(st, 2),
              "{\"kind\":\"critique\",\"question\":\"Clair ?\"}");
    sqlite3_finalize(st);
    sqlite3_close(db);
    uv_loop_close(&loop);
    free(path);
}

static void test_store_text_false_keeps_no_note(void) {
    char *path = path_in("c.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 0);
    got a = {0}, r = {0};
    ledger_note n0 = note("r-2.0", 0, "des mots");
    CHECK_INT(ledger_notes_add(l, &n0, on_done, &a), 0);
    CHECK_INT(ledger_notes_for(l, "/home/me/note.md", 0, on_notes, &r), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(a.rc, 0);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.n, 0);
    close_ledger(l, &loop);
    uv_loop_close(&loop);
    free(path);
}

/* A version 2 file (before notes) with a row: migrated in place, the row kept. */
static void test_migration_from_v2(void) {
    char *path = path_in("d.sqlite3");
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(
        db,
        "CREATE TABLE requests (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, started_unix"
        " INTEGER NOT NULL, ended_at TEXT, ended_unix INTEGER, client TEXT NOT NULL, command TEXT"
        " NOT NULL, provider TEXT, model_requested TEXT, model_answered TEXT, document TEXT,"
        " thread TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, cost_usd REAL,"
        " cost_source TEXT NOT NULL, co2e_g REAL, status TEXT NOT NULL, error TEXT, finish_reason"
        " TEXT, ttft_ms INTEGER, duration_ms INTEGER, prompt_text TEXT, answer_text TEXT);"
        "CREATE INDEX requests_started ON requests(started_unix);"
        "CREATE INDEX requests_document ON requests(document);"
        "CREATE VIEW months AS SELECT 1 AS month;"
        "INSERT INTO requests (started_at, started_unix, client, command, cost_source, status)"
        " VALUES ('2025-01-01T00:00:00+00:00', 1735689600, 'nvim', 'ask', 'unknown', 'ok');"
        "PRAGMA user_version = 2;",
        NULL, NULL, &err);
    CHECK_INT(rc, SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(db);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    got a = {0};
    ledger_note n0 = note("r-3.0", 0, "un mot");
    CHECK_INT(ledger_notes_add(l, &n0, on_done, &a), 0);
    close_ledger(l, &loop);
    CHECK_INT(a.rc, 0);
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM"
                                 " notes), (SELECT user_version FROM pragma_user_version)",
                                 -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 1);
    CHECK_INT(sqlite3_column_int(st, 1), 1);
    CHECK_INT(sqlite3_column_int(st, 2), LEDGER_SCHEMA_VERSION);
    sqlite3_finalize(st);
    sqlite3_close(db);
    uv_loop_close(&loop);
    free(path);
}

static void test_bad_arguments(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *path = path_in("e.sqlite3");
    ledger *l = ledger_new(&loop, path, 1);
    ledger_note n0 = note("r-4.0", 0, "x");
    n0.quote = NULL;
    CHECK_INT(ledger_notes_add(l, &n0, NULL, NULL), LEDGER_EINVAL);
    CHECK_INT(ledger_notes_add(NULL, &n0, NULL, NULL), LEDGER_EINVAL);
    CHECK_INT(ledger_notes_for(l, NULL, 0, on_notes, NULL), LEDGER_EINVAL);
    CHECK_INT(ledger_notes_set_comment(l, "x", NULL, NULL, NULL), LEDGER_EINVAL);
    const char *bad[] = {NULL};
    CHECK_INT(ledger_notes_set_state(l, bad, 1, LEDGER_NOTE_STALE, NULL, NULL, NULL),
              LEDGER_EINVAL);
    close_ledger(l, &loop);
    uv_loop_close(&loop);
    free(path);
}

static void rm_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ami-notes-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_write_update_read);
    RUN(test_request_row_links_its_notes);
    RUN(test_store_text_false_keeps_no_note);
    RUN(test_migration_from_v2);
    RUN(test_bad_arguments);
    rm_dir();
    return check_report("ledger_notes");
}
