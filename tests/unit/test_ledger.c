/* Unit tests for ledger: rows, totals, the file's mode and schema, migrations, the files it
 * must refuse, and several processes writing at once.
 *
 * Some cases need another process (several writers; a user who cannot write the directory;
 * a disk that is full): the test binary starts itself again with a "--child" argument, so
 * each helper is a fresh process with its own loop and its own SQLite connection.
 */
#include "ami/ledger.h"
#include "ami/ledger_log.h"
#include "ami/log.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *self; /* argv[0]: how to start a helper process */

/* ---- helpers ---------------------------------------------------------------------------- */

static char *tmpdir(void) {
    char t[] = "/tmp/ami-ledger-XXXXXX";
    return mkdtemp(t) ? strdup(t) : NULL;
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *sub = join(path, e->d_name);
            rm_rf(sub);
            free(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Local time, so month boundaries follow TZ (set in main). */
static time_t at(int y, int mon, int d, int h, int min) {
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = min;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

typedef struct model_copy {
    char model[64];
    ledger_model_totals t;
} model_copy;

/* What the callbacks saw, copied out of the ledger's memory. */
typedef struct seen {
    int calls;
    int rc;
    char err[512];
    ledger_totals t;
    model_copy models[8];
    size_t n_models;
    ledger_totals months[16];
    size_t n_months;
    int order[64];
    int n_order;
} seen;

static void on_done(void *ud, int rc, const char *err) {
    seen *s = ud;
    s->calls++;
    s->rc = rc;
    snprintf(s->err, sizeof s->err, "%s", err ? err : "");
}

static void on_totals(void *ud, int rc, const ledger_totals *t, const char *err) {
    seen *s = ud;
    s->calls++;
    s->rc = rc;
    snprintf(s->err, sizeof s->err, "%s", err ? err : "");
    if (!t)
        return;
    s->t = *t;
    s->t.by_model = NULL;
    s->n_models = t->n_by_model < 8 ? t->n_by_model : 8;
    for (size_t i = 0; i < s->n_models; i++) {
        snprintf(s->models[i].model, sizeof s->models[i].model, "%s", t->by_model[i].model);
        s->models[i].t = t->by_model[i];
        s->models[i].t.model = NULL;
    }
}

static void on_months(void *ud, int rc, const ledger_totals *m, size_t n, const char *err) {
    seen *s = ud;
    s->calls++;
    s->rc = rc;
    snprintf(s->err, sizeof s->err, "%s", err ? err : "");
    s->n_months = n < 16 ? n : 16;
    for (size_t i = 0; i < s->n_months; i++)
        s->months[i] = m[i];
}

static void on_closed(void *ud) {
    (*(int *)ud)++;
}

/* Closes l and runs the loop until it is gone; returns how many times done was called. */
static int close_and_run(ledger *l, uv_loop_t *loop) {
    int closed = 0;
    ledger_close(l, on_closed, &closed);
    uv_run(loop, UV_RUN_DEFAULT);
    return closed;
}

/* The result of ledger_flush: 0 when the file is usable. */
static int flush(ledger *l, uv_loop_t *loop, seen *s) {
    memset(s, 0, sizeof *s);
    CHECK_INT(ledger_flush(l, on_done, s), 0);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK_INT(s->calls, 1);
    return s->rc;
}

static ledger_row sample(ledger_status status) {
    ledger_row r;
    memset(&r, 0, sizeof r);
    r.started_at = at(2025, 3, 14, 9, 12);
    r.ended_at = r.started_at + 5;
    r.client = "nvim";
    r.command = "critique";
    r.provider = "openrouter";
    r.model_requested = "anthropic/claude-sonnet-4";
    r.model_answered = "anthropic/claude-4-sonnet-20250522";
    r.document = "/home/me/notes.md";
    r.thread = "t-1";
    r.prompt_tokens = 1200;
    r.completion_tokens = 340;
    r.cost_usd = 0.0087;
    r.cost_source = COST_REPORTED;
    r.co2e_g = 0.9;
    r.status = status;
    r.error = status == LEDGER_STATUS_OK ? NULL : "HTTP 429: rate limited";
    r.finish_reason = "stop";
    r.ttft_ms = 420;
    r.duration_ms = 5100;
    r.prompt_text = "Critique this paragraph.";
    r.answer_text = "The second sentence is long.";
    return r;
}

static sqlite3 *raw_open(const char *path) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    return db;
}

static long long sql_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -777 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The text of the first column of the first row; "(null)" for NULL; caller frees. */
static char *sql_text(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = strdup(sqlite3_column_type(st, 0) == SQLITE_NULL
                       ? "(null)"
                       : (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v ? v : strdup("(no row)");
}

#define CHECK_SQL_STR(db, sql, want)                                                               \
    do {                                                                                           \
        char *v_ = sql_text(db, sql);                                                              \
        CHECK_STR(v_, want);                                                                       \
        free(v_);                                                                                  \
    } while (0)

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = malloc(1 << 16);
    *len = fread(data, 1, 1 << 16, f);
    fclose(f);
    return data;
}

static int contains(const char *data, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(data + i, needle, n) == 0)
            return 1;
    return 0;
}

static pid_t spawn(char *const args[], int no_file_space) {
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        if (no_file_space) {
            /* RLIMIT_FSIZE 0: every write that would grow a file fails (EFBIG), as on a
             * full disk; ignoring SIGXFSZ turns the signal into that error. */
            struct rlimit rl = {0, 0};
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(97);
        }
        execv(self, args);
        _exit(98);
    }
    return p;
}

static int wait_for(pid_t p) {
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) != p)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- rows ------------------------------------------------------------------------------- */

static void test_roundtrip_every_status(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    CHECK(l != NULL);
    CHECK_STR(ledger_path(l), path);
    seen done[5];
    memset(done, 0, sizeof done);
    for (int s = LEDGER_STATUS_OK; s <= LEDGER_STATUS_REFUSED; s++) {
        ledger_row r = sample((ledger_status)s);
        CHECK_INT(ledger_record(l, &r, on_done, &done[s]), 0);
    }
    /* One with everything unknown, and a NULL callback. */
    ledger_row u;
    memset(&u, 0, sizeof u);
    u.started_at = at(2025, 3, 15, 10, 0);
    u.prompt_tokens = u.completion_tokens = -1;
    u.cost_usd = 1.5; /* ignored: the source says unknown */
    u.cost_source = COST_UNKNOWN;
    u.co2e_g = -1;
    u.ttft_ms = u.duration_ms = -1;
    u.status = LEDGER_STATUS_ERROR;
    CHECK_INT(ledger_record(l, &u, NULL, NULL), 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    for (int s = 0; s < 5; s++) {
        CHECK_INT(done[s].calls, 1);
        CHECK_INT(done[s].rc, 0);
    }

    sqlite3 *db = raw_open(path);
    CHECK(db != NULL);
    CHECK_INT(sql_int(db, "SELECT count(*) FROM requests"), 6);
    CHECK_SQL_STR(db,
                  "SELECT group_concat(status, ',') FROM (SELECT status FROM requests ORDER BY id)",
                  "ok,error,interrupted,cancelled,refused,error");
    const char *q1 = "SELECT %s FROM requests WHERE id = 1";
    struct {
        const char *col, *want;
    } cols[] = {
        {"client", "nvim"},
        {"command", "critique"},
        {"provider", "openrouter"},
        {"model_requested", "anthropic/claude-sonnet-4"},
        {"model_answered", "anthropic/claude-4-sonnet-20250522"},
        {"document", "/home/me/notes.md"},
        {"thread", "t-1"},
        {"prompt_tokens", "1200"},
        {"completion_tokens", "340"},
        {"cost_usd", "0.0087"},
        {"cost_source", "reported"},
        {"co2e_g", "0.9"},
        {"error", "(null)"},
        {"finish_reason", "stop"},
        {"ttft_ms", "420"},
        {"duration_ms", "5100"},
        {"prompt_text", "Critique this paragraph."},
        {"answer_text", "The second sentence is long."},
        {"typeof(started_unix)", "integer"},
        {"typeof(cost_usd)", "real"},
        {"ended_unix - started_unix", "5"},
        /* The ISO text and the unix seconds name the same instant. */
        {"strftime('%s', started_at) = CAST(started_unix AS TEXT)", "1"},
        {"length(started_at)", "25"},
        {"substr(started_at, 1, 16)", "2025-03-14T09:12"},
        {"substr(started_at, 23, 1)", ":"},
    };
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, q1, cols[i].col);
        char *v = sql_text(db, sql);
        if (strcmp(v, cols[i].want) != 0)
            fprintf(stderr, "  column %s: \"%s\", expected \"%s\"\n", cols[i].col, v, cols[i].want);
        CHECK_STR(v, cols[i].want);
        free(v);
    }
    CHECK_SQL_STR(db, "SELECT error FROM requests WHERE id = 2", "HTTP 429: rate limited");
    /* The unknowns are NULL, never 0; the defaults name what was missing. */
    const char *q6 = "SELECT quote(prompt_tokens) || quote(completion_tokens) || quote(cost_usd) ||"
                     " quote(co2e_g) || quote(ttft_ms) || quote(duration_ms) || ' ' ||"
                     " cost_source || ' ' || client || ' ' || command || quote(provider) ||"
                     " quote(document) || quote(thread) FROM requests WHERE id = 6";
    CHECK_SQL_STR(db, q6, "NULLNULLNULLNULLNULLNULL unknown unknown unknownNULLNULLNULL");
    /* ended_at 0 means "now": it is recorded, not left empty. */
    CHECK(sql_int(db, "SELECT ended_unix FROM requests WHERE id = 6") > 1700000000);
    sqlite3_close(db);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_store_text_false(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 0);
    ledger_row r = sample(LEDGER_STATUS_OK);
    seen s = {0};
    CHECK_INT(ledger_record(l, &r, on_done, &s), 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    CHECK_INT(s.rc, 0);
    sqlite3 *db = raw_open(path);
    CHECK_SQL_STR(db, "SELECT quote(prompt_text) || quote(answer_text) FROM requests", "NULLNULL");
    /* Everything else is still there. */
    CHECK_SQL_STR(db, "SELECT model_answered FROM requests", "anthropic/claude-4-sonnet-20250522");
    sqlite3_close(db);
    /* And the texts are nowhere in the file. */
    size_t len = 0;
    char *data = read_file(path, &len);
    CHECK(data != NULL);
    CHECK(data && !contains(data, len, "Critique this"));
    free(data);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_secrets_are_masked(void) {
    const char *key = "sk-or-v1-0123456789abcdef0123456789abcdef";
    secret_add(key);
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    ledger_row r = sample(LEDGER_STATUS_ERROR);
    char err[128], prompt[128];
    snprintf(err, sizeof err, "HTTP 401: invalid key %s", key);
    snprintf(prompt, sizeof prompt, "my notes mention %s by mistake", key);
    r.error = err;
    r.prompt_text = prompt;
    CHECK_INT(ledger_record(l, &r, NULL, NULL), 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    CHECK(strstr(err, key) != NULL); /* the caller's strings are left alone */
    size_t len = 0;
    char *data = read_file(path, &len);
    CHECK(data && !contains(data, len, key));
    free(data);
    sqlite3 *db = raw_open(path);
    CHECK_SQL_STR(db, "SELECT error FROM requests",
                  "HTTP 401: invalid key *****************************************");
    CHECK_SQL_STR(db, "SELECT substr(prompt_text, 1, 22) FROM requests", "my notes mention *****");
    sqlite3_close(db);
    secret_clear();
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_file_mode_wal_and_schema(void) {
    char *dir = tmpdir();
    char *sub = join(dir, "state/ami");
    char *path = join(sub, "ledger.sqlite3");
    mode_t old = umask(022); /* a usual umask: the file must still be 0600 */
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    ledger_row r = sample(LEDGER_STATUS_OK);
    CHECK_INT(ledger_record(l, &r, NULL, NULL), 0);
    seen s;
    CHECK_INT(flush(l, &loop, &s), 0);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(stat(sub, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0700);
    char *state = join(dir, "state");
    CHECK_INT(stat(state, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0700);
    /* While open, the WAL file exists and has the database's mode. */
    char *wal = join(sub, "ledger.sqlite3-wal");
    CHECK_INT(stat(wal, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(close_and_run(l, &loop), 1);
    umask(old);

    sqlite3 *db = raw_open(path);
    CHECK_SQL_STR(db, "PRAGMA journal_mode", "wal");
    CHECK_INT(sql_int(db, "PRAGMA user_version"), LEDGER_SCHEMA_VERSION);
    /* The documented columns, in order, and nothing else: in particular no place for a key. */
    CHECK_SQL_STR(db, "SELECT group_concat(name, ',') FROM pragma_table_info('requests')",
                  "id,started_at,started_unix,ended_at,ended_unix,client,command,provider,"
                  "model_requested,model_answered,document,thread,prompt_tokens,"
                  "completion_tokens,cost_usd,cost_source,co2e_g,status,error,finish_reason,"
                  "ttft_ms,duration_ms,prompt_text,answer_text,uid,turn,sent_url,sent_headers,"
                  "sent_body");
    CHECK_INT(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'months'"), 1);
    sqlite3_close(db);

    /* An existing ledger that others can read is narrowed to 0600 when opened. */
    CHECK_INT(chmod(path, 0644), 0);
    l = ledger_new(&loop, path, 1);
    CHECK_INT(flush(l, &loop, &s), 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(wal);
    free(state);
    free(path);
    free(sub);
    free(dir);
}

/* ---- totals ----------------------------------------------------------------------------- */

/* Records a row with the given month-relevant fields. */
static void put(ledger *l, time_t when, const char *model, const char *doc, const char *thread,
                long long in, long long out, double usd, cost_source src, double co2,
                ledger_status status) {
    ledger_row r;
    memset(&r, 0, sizeof r);
    r.started_at = when;
    r.ended_at = when + 3;
    r.client = "cli";
    r.command = "ask";
    r.model_requested = "requested/model";
    r.model_answered = model;
    r.document = doc;
    r.thread = thread;
    r.prompt_tokens = in;
    r.completion_tokens = out;
    r.cost_usd = usd;
    r.cost_source = src;
    r.co2e_g = co2;
    r.status = status;
    r.ttft_ms = r.duration_ms = -1;
    CHECK_INT(ledger_record(l, &r, NULL, NULL), 0);
}

static void fill_months(ledger *l) {
    /* March 2025 (local time): 4 sent requests in 2 threads, one refused. */
    put(l, at(2025, 3, 1, 0, 30), "m/a", "/d/one.md", "t1", 1000, 200, 0.5, COST_REPORTED, 1.0,
        LEDGER_STATUS_OK);
    put(l, at(2025, 3, 10, 12, 0), "m/a", "/d/one.md", "t1", 2000, 300, 0.25, COST_ESTIMATED, 0.5,
        LEDGER_STATUS_OK);
    put(l, at(2025, 3, 20, 8, 0), "m/b", "/d/two.md", "t2", 500, 50, 0, COST_UNKNOWN, 0.25,
        LEDGER_STATUS_INTERRUPTED);
    put(l, at(2025, 3, 31, 23, 30), "m/b", NULL, NULL, 100, 0, 0.125, COST_REPORTED, -1,
        LEDGER_STATUS_ERROR);
    put(l, at(2025, 3, 15, 9, 0), NULL, "/d/one.md", "t3", 9999, 0, 9, COST_ESTIMATED, 9,
        LEDGER_STATUS_REFUSED);
    /* February 2025, just before the month's first local second. */
    put(l, at(2025, 2, 28, 23, 59), "m/a", "/d/one.md", "t0", 10, 10, 2, COST_REPORTED, 0.125,
        LEDGER_STATUS_OK);
    /* December 2024. */
    put(l, at(2024, 12, 5, 10, 0), "m/c", "/d/two.md", "t9", 7, 3, 0.0625, COST_REPORTED, 0.1,
        LEDGER_STATUS_CANCELLED);
}

static void test_month_totals(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    fill_months(l);
    seen s = {0};
    CHECK_INT(ledger_month(l, "2025-03", on_totals, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.calls, 1);
    CHECK_INT(s.rc, 0);
    CHECK_STR(s.t.month, "2025-03");
    CHECK_INT(s.t.requests, 4);
    CHECK_INT(s.t.refused, 1);
    CHECK_INT(s.t.threads, 2);
    CHECK_INT(s.t.prompt_tokens, 3600);
    CHECK_INT(s.t.completion_tokens, 550);
    CHECK(s.t.cost_usd == 0.875); /* 0.5 + 0.25 + 0.125; the unknown one adds nothing */
    CHECK(s.t.estimated_cost_usd == 0.25);
    CHECK_INT(s.t.unknown_cost_requests, 1);
    CHECK(s.t.co2e_g == 1.75);
    CHECK_INT(s.n_models, 2);
    CHECK_STR(s.models[0].model, "m/a"); /* the most expensive first */
    CHECK_INT(s.models[0].t.requests, 2);
    CHECK_INT(s.models[0].t.prompt_tokens, 3000);
    CHECK_INT(s.models[0].t.completion_tokens, 500);
    CHECK(s.models[0].t.cost_usd == 0.75);
    CHECK(s.models[0].t.estimated_cost_usd == 0.25);
    CHECK(s.models[0].t.co2e_g == 1.5);
    CHECK_STR(s.models[1].model, "m/b");
    CHECK_INT(s.models[1].t.requests, 2);
    CHECK(s.models[1].t.cost_usd == 0.125);
    CHECK_INT(s.models[1].t.unknown_cost_requests, 1);

    /* A month without rows: zeros, not an error. */
    memset(&s, 0, sizeof s);
    CHECK_INT(ledger_month(l, "2025-01", on_totals, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.rc, 0);
    CHECK_INT(s.t.requests, 0);
    CHECK(s.t.cost_usd == 0);
    CHECK_INT(s.n_models, 0);

    /* February holds only its own row (the boundary is local midnight). */
    memset(&s, 0, sizeof s);
    CHECK_INT(ledger_month(l, "2025-02", on_totals, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.t.requests, 1);
    CHECK(s.t.cost_usd == 2);

    /* NULL: the current month, which holds nothing here. */
    memset(&s, 0, sizeof s);
    CHECK_INT(ledger_month(l, NULL, on_totals, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    char now[8];
    CHECK_INT(ledger_month_of(time(NULL), now), 0);
    CHECK_STR(s.t.month, now);
    CHECK_INT(s.t.requests, 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_months_and_view(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    fill_months(l);
    seen s = {0};
    CHECK_INT(ledger_months(l, 12, on_months, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.rc, 0);
    CHECK_INT(s.n_months, 3);
    CHECK_STR(s.months[0].month, "2025-03");
    CHECK_STR(s.months[1].month, "2025-02");
    CHECK_STR(s.months[2].month, "2024-12");
    CHECK_INT(s.months[0].requests, 4);
    CHECK(s.months[0].cost_usd == 0.875);
    CHECK(s.months[0].by_model == NULL);
    CHECK_INT(s.months[2].requests, 1);
    CHECK(s.months[2].cost_usd == 0.0625);
    /* how_many limits from the newest. */
    memset(&s, 0, sizeof s);
    CHECK_INT(ledger_months(l, 1, on_months, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.n_months, 1);
    CHECK_STR(s.months[0].month, "2025-03");
    CHECK_INT(close_and_run(l, &loop), 1);

    /* The view gives sqlite3-shell users the same numbers. */
    sqlite3 *db = raw_open(path);
    CHECK_SQL_STR(db,
                  "SELECT month || ' ' || requests || ' ' || refused || ' ' || threads || ' ' ||"
                  " prompt_tokens || ' ' || completion_tokens || ' ' || cost_usd || ' ' ||"
                  " estimated_cost_usd || ' ' || unknown_cost_requests || ' ' || co2e_g"
                  " FROM months LIMIT 1",
                  "2025-03 4 1 2 3600 550 0.875 0.25 1 1.75");
    sqlite3_close(db);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_document_totals(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    fill_months(l);
    seen s = {0};
    CHECK_INT(ledger_document(l, "/d/one.md", on_totals, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.rc, 0);
    CHECK_STR(s.t.month, "");
    CHECK_INT(s.t.requests, 3); /* across months; the refused one apart */
    CHECK_INT(s.t.refused, 1);
    CHECK_INT(s.t.threads, 2);
    CHECK_INT(s.t.prompt_tokens, 3010);
    CHECK(s.t.cost_usd == 2.75);
    CHECK(s.t.estimated_cost_usd == 0.25);
    CHECK_INT(s.n_models, 1);
    CHECK_STR(s.models[0].model, "m/a");
    /* A document never seen: zeros. */
    memset(&s, 0, sizeof s);
    CHECK_INT(ledger_document(l, "/d/none.md", on_totals, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.rc, 0);
    CHECK_INT(s.t.requests, 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- schema versions and files that must be refused -------------------------------------- */

/* The file version 1 wrote: the table alone. */
static const char v1_schema[] =
    "CREATE TABLE requests (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, started_unix "
    "INTEGER NOT NULL, ended_at TEXT, ended_unix INTEGER, client TEXT NOT NULL, command TEXT "
    "NOT NULL, provider TEXT, model_requested TEXT, model_answered TEXT, document TEXT, thread "
    "TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, cost_usd REAL, cost_source TEXT "
    "NOT NULL, co2e_g REAL, status TEXT NOT NULL, error TEXT, finish_reason TEXT, ttft_ms "
    "INTEGER, duration_ms INTEGER, prompt_text TEXT, answer_text TEXT);"
    "INSERT INTO requests (started_at, started_unix, client, command, model_answered, "
    "prompt_tokens, completion_tokens, cost_usd, cost_source, status) VALUES "
    "('2025-03-02T10:00:00+01:00', 1740906000, 'cli', 'ask', 'old/model', 10, 20, 0.5, "
    "'reported', 'ok');"
    "PRAGMA user_version = 1;";

static void test_migration_from_v1(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    put(l, at(2025, 3, 3, 10, 0), "new/model", NULL, NULL, 1, 2, 0.25, COST_REPORTED, 0.5,
        LEDGER_STATUS_OK);
    seen s = {0};
    CHECK_INT(ledger_month(l, "2025-03", on_totals, &s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(s.rc, 0);
    CHECK_INT(s.t.requests, 2); /* the old row is kept and counted */
    CHECK(s.t.cost_usd == 0.75);
    CHECK_INT(close_and_run(l, &loop), 1);

    db = raw_open(path);
    CHECK_INT(sql_int(db, "PRAGMA user_version"), LEDGER_SCHEMA_VERSION);
    CHECK_INT(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('months',"
                          " 'requests_started', 'requests_document')"),
              3);
    CHECK_SQL_STR(db, "SELECT model_answered FROM requests WHERE id = 1", "old/model");
    /* Schema 6: what was sent; an old row has nothing of it. */
    CHECK_SQL_STR(db, "SELECT quote(sent_url) || quote(sent_body) FROM requests WHERE id = 1",
                  "NULLNULL");
    sqlite3_close(db);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

/* Opens path, expects it unusable with a message containing want; checks that operations
 * then fail at once. */
static void expect_unusable(const char *path, const char *want) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    CHECK(l != NULL);
    /* Queued before the failure is known: fails through its callback, with the reason. */
    seen rec = {0};
    ledger_row r = sample(LEDGER_STATUS_OK);
    CHECK_INT(ledger_record(l, &r, on_done, &rec), 0);
    seen s;
    CHECK_INT(flush(l, &loop, &s), LEDGER_EUNUSABLE);
    CHECK_INT(rec.calls, 1);
    CHECK_INT(rec.rc, LEDGER_EUNUSABLE);
    CHECK(strstr(rec.err, want) != NULL);
    if (!strstr(rec.err, want))
        fprintf(stderr, "  error was: %s\n", rec.err);
    CHECK(strncmp(rec.err, "ledger ", 7) == 0);
    /* Once known: refused at once, the callback never called. */
    CHECK(ledger_error(l) != NULL);
    CHECK(ledger_error(l) && strstr(ledger_error(l), want) != NULL);
    memset(&rec, 0, sizeof rec);
    CHECK_INT(ledger_record(l, &r, on_done, &rec), LEDGER_EUNUSABLE);
    CHECK_INT(ledger_month(l, "2025-03", on_totals, &rec), LEDGER_EUNUSABLE);
    CHECK_INT(ledger_months(l, 3, on_months, &rec), LEDGER_EUNUSABLE);
    CHECK_INT(ledger_document(l, "/x", on_totals, &rec), LEDGER_EUNUSABLE);
    CHECK_INT(close_and_run(l, &loop), 1);
    CHECK_INT(rec.calls, 0);
    uv_loop_close(&loop);
}

static void test_corrupt_file_is_reported_and_kept(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)("not a database, just notes\n"[i % 27]);
    FILE *f = fopen(path, "wb");
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    chmod(path, 0600);
    expect_unusable(path, "file is not a database; move it aside");
    size_t len = 0;
    char *after = read_file(path, &len);
    CHECK_MEM(after, len, junk, sizeof junk); /* not a byte changed */
    free(after);
    char *wal = join(dir, "ledger.sqlite3-wal");
    CHECK(access(wal, F_OK) != 0);
    free(wal);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_newer_schema_is_left_alone(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db,
                           "CREATE TABLE requests (id INTEGER PRIMARY KEY, future TEXT);"
                           "PRAGMA user_version = 99;",
                           NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    expect_unusable(path, "newer ami (schema version 99");
    db = raw_open(path);
    CHECK_INT(sql_int(db, "PRAGMA user_version"), 99);
    CHECK_INT(sql_int(db, "SELECT count(*) FROM pragma_table_info('requests')"), 2);
    sqlite3_close(db);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_other_programs_database(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE notes (body TEXT);", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    expect_unusable(path, "some other program");
    db = raw_open(path);
    CHECK_INT(sql_int(db, "SELECT count(*) FROM sqlite_master"), 1);
    sqlite3_close(db);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_path_is_directory(void) {
    char *dir = tmpdir();
    expect_unusable(dir, "is a directory");
    /* A file where a directory should be. */
    char *file = join(dir, "plain");
    FILE *f = fopen(file, "w");
    fclose(f);
    char *path = join(file, "ledger.sqlite3");
    expect_unusable(path, "ledger ");
    expect_unusable("", "path is empty");
    rm_rf(dir);
    free(path);
    free(file);
    free(dir);
}

/* Child: as a user who cannot write dir, every way to use it fails with a reason. */
static int child_readonly(const char *dir) {
    char *missing = join(dir, "ledger.sqlite3");
    expect_unusable(missing, "cannot create the file: Permission denied");
    char *deeper = join(dir, "sub/ledger.sqlite3");
    expect_unusable(deeper, "cannot create the directory");
    char *existing = join(dir, "existing.sqlite3");
    expect_unusable(existing, "writable");
    free(missing);
    free(deeper);
    free(existing);
    return check_test_failed;
}

static void test_readonly_directory(void) {
    char *dir = tmpdir();
    char *ro = join(dir, "ro");
    mkdir(ro, 0755);
    /* A valid ledger, closed, that the child may read and write but whose directory it
     * cannot: WAL needs the -shm and -wal files beside it. */
    char *existing = join(ro, "existing.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, existing, 1);
    seen s;
    CHECK_INT(flush(l, &loop, &s), 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    uv_loop_close(&loop);
    chmod(existing, 0666);
    chmod(ro, 0555);
    chmod(dir, 0755);
    if (geteuid() == 0) {
        /* root writes anywhere: the check runs as nobody instead, in a fork without exec (a
         * test binary under a private directory is out of nobody's reach). */
        fflush(NULL);
        pid_t p = fork();
        if (p == 0) {
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
                _exit(99);
            _exit(child_readonly(ro));
        }
        CHECK_INT(wait_for(p), 0);
    } else {
        CHECK_INT(child_readonly(ro), 0);
    }
    rm_rf(dir);
    free(existing);
    free(ro);
    free(dir);
}

/* Child: no room to write, so creating the schema fails and is reported. */
static int child_disk_full(const char *path) {
    expect_unusable(path, "(is the disk full?)");
    return check_test_failed;
}

static void test_disk_full(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    char *args[] = {(char *)self, "--child-disk-full", path, NULL};
    CHECK_INT(wait_for(spawn(args, 1)), 0);
    /* What was created is empty, and a later run with room makes it a ledger. */
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_size, 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    seen s;
    CHECK_INT(flush(l, &loop, &s), 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- the queue -------------------------------------------------------------------------- */

typedef struct ordered {
    int *log;
    int *n;
    int id;
} ordered;

static void on_ordered(void *ud, int rc, const char *err) {
    ordered *o = ud;
    (void)err;
    o->log[(*o->n)++] = rc == 0 ? o->id : -1;
}

static void on_ordered_totals(void *ud, int rc, const ledger_totals *t, const char *err) {
    ordered *o = ud;
    (void)err;
    /* The totals see every row recorded before them. */
    o->log[(*o->n)++] = rc == 0 ? (int)(o->id * 100 + t->requests) : -1;
}

static void test_operations_run_in_order(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    int log[16], n = 0;
    ordered o[6];
    for (int i = 0; i < 6; i++)
        o[i] = (ordered){log, &n, i};
    ledger_row r = sample(LEDGER_STATUS_OK);
    CHECK_INT(ledger_record(l, &r, on_ordered, &o[0]), 0);
    CHECK_INT(ledger_record(l, &r, on_ordered, &o[1]), 0);
    CHECK_INT(ledger_month(l, "2025-03", on_ordered_totals, &o[2]), 0);
    CHECK_INT(ledger_record(l, &r, on_ordered, &o[3]), 0);
    CHECK_INT(ledger_flush(l, on_ordered, &o[4]), 0);
    CHECK_INT(n, 0); /* nothing is called from inside the calls */
    int closed = 0;
    ledger_close(l, on_closed, &closed);
    /* Queued work finishes; new work is refused. */
    CHECK_INT(ledger_record(l, &r, on_ordered, &o[5]), LEDGER_ECLOSED);
    CHECK_INT(ledger_flush(l, on_ordered, &o[5]), LEDGER_ECLOSED);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(closed, 1);
    CHECK_INT(n, 5);
    CHECK_INT(log[0], 0);
    CHECK_INT(log[1], 1);
    CHECK_INT(log[2], 202);
    CHECK_INT(log[3], 3);
    CHECK_INT(log[4], 4);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

/* ledger_exec: work on the pool thread, in queue order, with errors turned into sentences and
 * a transaction left open rolled back. */
typedef struct exec_work {
    const char *sql;
    int leave_open;  /* BEGIN and return without COMMIT */
    long long count; /* requests rows the work saw */
    int store_text;
    int done_calls;
    int rc;
    char err[512];
} exec_work;

static int run_exec(sqlite3 *db, int store_text, void *ud) {
    exec_work *w = ud;
    w->store_text = store_text;
    int rc = SQLITE_OK;
    if (w->leave_open)
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, w->sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK || w->leave_open)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM requests", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        w->count = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static void on_exec_done(void *ud, int rc, const char *err) {
    exec_work *w = ud;
    w->done_calls++;
    w->rc = rc;
    snprintf(w->err, sizeof w->err, "%s", err ? err : "");
}

static void test_exec(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 0);
    ledger_row r = sample(LEDGER_STATUS_OK);
    exec_work ok = {.sql = "CREATE TABLE extra (x)", .count = -1};
    exec_work bad = {.sql = "INSERT INTO no_such_table VALUES (1)", .count = -1};
    exec_work open_tx = {.sql = "INSERT INTO extra VALUES (1)", .leave_open = 1, .count = -1};
    exec_work after = {.sql = "SELECT 1", .count = -1};
    CHECK_INT(ledger_record(l, &r, NULL, NULL), 0);
    CHECK_INT(ledger_exec(l, "cannot add a table", run_exec, on_exec_done, &ok), 0);
    CHECK_INT(ledger_record(l, &r, NULL, NULL), 0);
    CHECK_INT(ledger_exec(l, "cannot store the notes", run_exec, on_exec_done, &bad), 0);
    CHECK_INT(ledger_exec(l, "cannot finish", run_exec, on_exec_done, &open_tx), 0);
    CHECK_INT(ledger_exec(l, "cannot read", run_exec, on_exec_done, &after), 0);
    CHECK_INT(ledger_exec(l, NULL, run_exec, NULL, NULL), LEDGER_EINVAL);
    CHECK_INT(ledger_exec(l, "x", NULL, NULL, NULL), LEDGER_EINVAL);
    CHECK_INT(ok.done_calls, 0); /* never from inside the call */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(ok.done_calls, 1);
    CHECK_INT(ok.rc, 0);
    CHECK_INT(ok.count, 1); /* after the first row, before the second */
    CHECK_INT(ok.store_text, 0);
    CHECK_INT(bad.rc, LEDGER_EDB);
    CHECK(strstr(bad.err, "cannot store the notes: no such table: no_such_table") != NULL);
    CHECK(strstr(bad.err, path) != NULL);
    CHECK_INT(open_tx.rc, 0);
    CHECK_INT(after.rc, 0); /* the transaction left open was rolled back: the queue goes on */
    CHECK_INT(after.count, 2);
    CHECK_INT(close_and_run(l, &loop), 1);
    sqlite3 *db = raw_open(path);
    CHECK_INT(sql_int(db, "SELECT count(*) FROM extra"), 0); /* rolled back */
    CHECK_INT(sql_int(db, "SELECT count(*) FROM requests"), 2);
    sqlite3_close(db);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

typedef struct closer {
    ledger *l;
    int closed;
    int calls;
} closer;

static void close_from_callback(void *ud, int rc, const char *err) {
    closer *c = ud;
    (void)err;
    CHECK_INT(rc, 0);
    c->calls++;
    ledger_close(c->l, on_closed, &c->closed);
    ledger_close(c->l, on_closed, &c->closed); /* a second call does nothing */
}

static void test_close_from_callback(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    closer c = {ledger_new(&loop, path, 1), 0, 0};
    ledger_row r = sample(LEDGER_STATUS_OK);
    CHECK_INT(ledger_record(c.l, &r, close_from_callback, &c), 0);
    seen s = {0};
    CHECK_INT(ledger_record(c.l, &r, on_done, &s), 0); /* queued before the close: runs */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(c.calls, 1);
    CHECK_INT(c.closed, 1);
    CHECK_INT(s.calls, 1);
    CHECK_INT(s.rc, 0);
    sqlite3 *db = raw_open(path);
    CHECK_INT(sql_int(db, "SELECT count(*) FROM requests"), 2);
    sqlite3_close(db);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void test_invalid_arguments(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    CHECK(ledger_new(NULL, path, 1) == NULL);
    CHECK(ledger_new(&loop, NULL, 1) == NULL);
    ledger *l = ledger_new(&loop, path, 1);
    seen s = {0};
    CHECK_INT(ledger_month(l, "2025-13", on_totals, &s), LEDGER_EINVAL);
    CHECK_INT(ledger_month(l, "2025-3", on_totals, &s), LEDGER_EINVAL);
    CHECK_INT(ledger_month(l, "25-03-01", on_totals, &s), LEDGER_EINVAL);
    CHECK_INT(ledger_month(l, "2025-03", NULL, &s), LEDGER_EINVAL);
    CHECK_INT(ledger_months(l, 0, on_months, &s), LEDGER_EINVAL);
    CHECK_INT(ledger_document(l, NULL, on_totals, &s), LEDGER_EINVAL);
    CHECK_INT(ledger_record(l, NULL, NULL, NULL), LEDGER_EINVAL);
    CHECK_INT(ledger_record(NULL, NULL, NULL, NULL), LEDGER_EINVAL);
    CHECK(ledger_error(NULL) == NULL);
    ledger_close(NULL, on_closed, NULL);
    CHECK_INT(close_and_run(l, &loop), 1);
    CHECK_INT(s.calls, 0);
    CHECK(ledger_month_valid("2025-03"));
    CHECK(!ledger_month_valid("2025-00"));
    CHECK(!ledger_month_valid("2025/03"));
    CHECK(!ledger_month_valid(NULL));
    CHECK_STR(ledger_status_name(LEDGER_STATUS_CANCELLED), "cancelled");
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- several processes ------------------------------------------------------------------ */

#define WRITERS 4
#define ROWS    250

typedef struct tally {
    int ok, failed;
    char err[512];
} tally;

static void on_tally(void *ud, int rc, const char *err) {
    tally *t = ud;
    if (rc == 0) {
        t->ok++;
    } else {
        t->failed++;
        snprintf(t->err, sizeof t->err, "%s", err ? err : "?");
    }
}

/* Queues n rows tagged with client id on a fresh ledger (not yet run). */
static ledger *start_writer(uv_loop_t *loop, const char *path, const char *id, int n, tally *t) {
    ledger *l = ledger_new(loop, path, 1);
    for (int i = 0; l && i < n; i++) {
        ledger_row r = sample(LEDGER_STATUS_OK);
        r.client = id;
        r.completion_tokens = i;
        if (ledger_record(l, &r, on_tally, t) != 0)
            t->failed++;
    }
    return l;
}

/* Child: one writer process. */
static int child_writer(const char *path, const char *id) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    tally t = {0};
    ledger *l = start_writer(&loop, path, id, ROWS, &t);
    ledger_close(l, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (t.failed || t.ok != ROWS)
        fprintf(stderr, "writer %s: %d ok, %d failed: %s\n", id, t.ok, t.failed, t.err);
    return t.failed || t.ok != ROWS;
}

static void test_concurrent_writers(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    pid_t kids[WRITERS];
    char ids[WRITERS][16];
    /* Every process starts on a missing file: creating and migrating it races too. */
    for (int i = 0; i < WRITERS; i++) {
        snprintf(ids[i], sizeof ids[i], "w%d", i);
        char *args[] = {(char *)self, "--child-writer", path, ids[i], NULL};
        kids[i] = spawn(args, 0);
    }
    /* And this process writes at the same time, through two ledgers on the same file. */
    uv_loop_t loop;
    uv_loop_init(&loop);
    tally ta = {0}, tb = {0};
    ledger *a = start_writer(&loop, path, "pa", ROWS, &ta);
    ledger *b = start_writer(&loop, path, "pb", ROWS, &tb);
    ledger_close(a, NULL, NULL);
    ledger_close(b, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    CHECK_INT(ta.ok, ROWS);
    CHECK_INT(tb.ok, ROWS);
    if (ta.failed || tb.failed)
        fprintf(stderr, "  in-process writer failed: %s%s\n", ta.err, tb.err);
    for (int i = 0; i < WRITERS; i++)
        CHECK_INT(wait_for(kids[i]), 0);

    sqlite3 *db = raw_open(path);
    CHECK_INT(sql_int(db, "SELECT count(*) FROM requests"), (WRITERS + 2) * ROWS);
    /* Each writer's rows are all there, each exactly once. */
    CHECK_INT(sql_int(db, "SELECT count(*) FROM (SELECT client, completion_tokens FROM requests"
                          " GROUP BY client, completion_tokens HAVING count(*) = 1)"),
              (WRITERS + 2) * ROWS);
    CHECK_INT(sql_int(db, "SELECT count(DISTINCT client) FROM requests"), WRITERS + 2);
    CHECK_INT(sql_int(db, "PRAGMA user_version"), LEDGER_SCHEMA_VERSION);
    CHECK_SQL_STR(db, "PRAGMA integrity_check", "ok");
    sqlite3_close(db);
    rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- what was sent, read back (ledger_log) ------------------------------------------------- */

static void test_sent_is_kept_and_read_back(void) {
    char *dir = tmpdir();
    char *path = join(dir, "ledger.sqlite3");
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    ledger_row r = sample(LEDGER_STATUS_OK);
    r.uid = "r-one";
    r.sent_url = "https://openrouter.ai/api/v1/chat/completions";
    r.sent_headers = "Content-Type: application/json\nAuthorization: <redacted>\n";
    r.sent_body = "{\"model\":\"anthropic/claude-sonnet-4\"}";
    CHECK_INT(ledger_record(l, &r, NULL, NULL), 0);
    ledger_row refused = sample(LEDGER_STATUS_REFUSED);
    refused.uid = "r-two";
    refused.cost_usd = 0.5;
    refused.cost_source = COST_ESTIMATED;
    CHECK_INT(ledger_record(l, &refused, NULL, NULL), 0);
    ledger_row other = sample(LEDGER_STATUS_OK);
    other.uid = "r-three";
    other.document = "/home/me/other.md";
    other.model_answered = NULL;
    other.prompt_tokens = -1;
    CHECK_INT(ledger_record(l, &other, NULL, NULL), 0);
    CHECK_INT(close_and_run(l, &loop), 1);

    sqlite3 *db = raw_open(path);
    ledger_log_entry *e = NULL;
    size_t n = 0;
    ledger_log_query q = {10, NULL};
    CHECK_INT(ledger_log_list(db, &q, &e, &n), SQLITE_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(e[0].uid, "r-three");                     /* newest first */
        CHECK_STR(e[0].model, "anthropic/claude-sonnet-4"); /* the one asked, when none answered */
        CHECK_INT(e[0].prompt_tokens, -1);
        CHECK_INT(e[0].sent, 0);
        CHECK_STR(e[1].status, "refused");
        CHECK(e[1].cost_usd == 0.5);
        CHECK_STR(e[2].model, "anthropic/claude-4-sonnet-20250522");
        CHECK_INT(e[2].sent, 1);
        CHECK_STR(e[2].document, "/home/me/notes.md");
    }
    ledger_log_entries_free(e, n);
    q.limit = 1;
    q.document = "/home/me/notes.md";
    CHECK_INT(ledger_log_list(db, &q, &e, &n), SQLITE_OK);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(e[0].uid, "r-two");
    ledger_log_entries_free(e, n);
    q.document = "/nowhere.md";
    CHECK_INT(ledger_log_list(db, &q, &e, &n), SQLITE_OK);
    CHECK_INT(n, 0);
    CHECK(e == NULL);

    ledger_sent s;
    CHECK_INT(ledger_log_sent(db, 1, NULL, NULL, &s), SQLITE_OK);
    CHECK_STR(s.url, "https://openrouter.ai/api/v1/chat/completions");
    CHECK_STR(s.headers, "Content-Type: application/json\nAuthorization: <redacted>\n");
    CHECK_STR(s.body, "{\"model\":\"anthropic/claude-sonnet-4\"}");
    CHECK(ledger_sent_missing(&s) == NULL);
    ledger_sent_free(&s);
    CHECK_INT(ledger_log_sent(db, 0, "r-two", NULL, &s), SQLITE_OK);
    CHECK(s.url == NULL && s.body == NULL);
    CHECK(strstr(ledger_sent_missing(&s), "refused") != NULL);
    ledger_sent_free(&s);
    CHECK_INT(ledger_log_sent(db, 0, "r-three", NULL, &s), SQLITE_OK);
    CHECK(strstr(ledger_sent_missing(&s), "schema 6") != NULL);
    ledger_sent_free(&s);
    /* By document: the newest request about it that sent something (not the refused one). */
    CHECK_INT(ledger_log_sent(db, 0, NULL, "/home/me/notes.md", &s), SQLITE_OK);
    CHECK_STR(s.e.uid, "r-one");
    ledger_sent_free(&s);
    CHECK_INT(ledger_log_sent(db, 0, NULL, "/home/me/other.md", &s), SQLITE_NOTFOUND);
    CHECK_INT(ledger_log_sent(db, 42, NULL, NULL, &s), SQLITE_NOTFOUND);
    CHECK_INT(ledger_log_sent(db, 0, "r-none", NULL, &s), SQLITE_NOTFOUND);
    CHECK_INT(ledger_log_sent(db, 0, NULL, NULL, &s), SQLITE_NOTFOUND);
    sqlite3_close(db);

    /* Without texts, the body (it holds the document) is not kept; where it went still is. */
    l = ledger_new(&loop, path, 0);
    r.uid = "r-four";
    CHECK_INT(ledger_record(l, &r, NULL, NULL), 0);
    CHECK_INT(close_and_run(l, &loop), 1);
    db = raw_open(path);
    CHECK_INT(ledger_log_sent(db, 0, "r-four", NULL, &s), SQLITE_OK);
    CHECK(s.url != NULL && s.headers != NULL && s.body == NULL);
    CHECK(strstr(ledger_sent_missing(&s), "store_text") != NULL);
    ledger_sent_free(&s);
    sqlite3_close(db);
    uv_loop_close(&loop);
    rm_rf(dir);
    free(path);
    free(dir);
}

int main(int argc, char **argv) {
    self = argv[0];
    /* Month boundaries in a zone with summer time, without needing tzdata. */
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    if (argc == 4 && strcmp(argv[1], "--child-writer") == 0)
        return child_writer(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--child-disk-full") == 0)
        return child_disk_full(argv[2]);

    RUN(test_roundtrip_every_status);
    RUN(test_store_text_false);
    RUN(test_secrets_are_masked);
    RUN(test_file_mode_wal_and_schema);
    RUN(test_month_totals);
    RUN(test_months_and_view);
    RUN(test_document_totals);
    RUN(test_migration_from_v1);
    RUN(test_corrupt_file_is_reported_and_kept);
    RUN(test_newer_schema_is_left_alone);
    RUN(test_other_programs_database);
    RUN(test_path_is_directory);
    RUN(test_readonly_directory);
    RUN(test_disk_full);
    RUN(test_operations_run_in_order);
    RUN(test_close_from_callback);
    RUN(test_exec);
    RUN(test_invalid_arguments);
    RUN(test_concurrent_writers);
    RUN(test_sent_is_kept_and_read_back);
    return check_report("ledger");
}
