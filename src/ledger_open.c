/* ledger_open: opening the ledger's file, on the pool thread (src/ledger.c runs it as the
 * first op): the file and its directories made private (0600, 0700), SQLite opened on it
 * in WAL mode with a busy timeout, the schema brought up to date (the migrations are in
 * src/ledger_schema.c), the insert statement prepared; and the messages for what can go
 * wrong with the file, with advice where a person can fix it.
 */
#include "ami/ledger.h"

#include "ledger_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000

static void errno_text(int e, char *buf, size_t n) {
    if (strerror_r(e, buf, n) != 0)
        snprintf(buf, n, "error %d", e);
}

/* The message for a SQLite failure, with advice for the failures a person can fix. */
void ledger_db_error(ledger *l, const char *what, int rc, char *err) {
    int primary = rc & 0xff;
    if (primary == SQLITE_NOTADB)
        snprintf(err, LEDGER_ERRLEN,
                 "ledger %s: file is not a database; move it aside (ami then starts a new "
                 "ledger) or point ledger.path elsewhere",
                 l->path);
    else if (primary == SQLITE_CORRUPT)
        snprintf(err, LEDGER_ERRLEN,
                 "ledger %s: the database is damaged (%s); move it aside (ami then starts a new "
                 "ledger) or point ledger.path elsewhere",
                 l->path, l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
    else if (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM)
        snprintf(err, LEDGER_ERRLEN, "ledger %s: %s: %s (are the file and its directory writable?)",
                 l->path, what, l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
    else if (primary == SQLITE_FULL || primary == SQLITE_IOERR)
        snprintf(err, LEDGER_ERRLEN, "ledger %s: %s: %s (is the disk full?)", l->path, what,
                 l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
    else
        snprintf(err, LEDGER_ERRLEN, "ledger %s: %s: %s", l->path, what,
                 l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
}

int ledger_is_fatal(int rc) {
    return (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT;
}

/* Creates the missing directories above path, each 0700: the ledger may hold the user's
 * texts, so nobody else should even list it. */
static int make_parents(ledger *l, char *err) {
    char *p = strdup(l->path);
    if (!p) {
        snprintf(err, LEDGER_ERRLEN, "ledger %s: out of memory", l->path);
        return LEDGER_ENOMEM;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            char why[128];
            errno_text(errno, why, sizeof why);
            snprintf(err, LEDGER_ERRLEN, "ledger %s: cannot create the directory %s: %s", l->path,
                     p, why);
            free(p);
            return LEDGER_EUNUSABLE;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

/* Makes sure path is a regular file, creating it 0600 if it is missing.  Creating it here
 * rather than letting SQLite do it is what gives it mode 0600 (SQLite would use 0644 less
 * the umask); SQLite then gives the -wal and -shm files the same mode as the database. */
static int prepare_file(ledger *l, char *err) {
    char why[128];
    struct stat st;
    if (stat(l->path, &st) != 0) {
        if (errno != ENOENT) {
            errno_text(errno, why, sizeof why);
            snprintf(err, LEDGER_ERRLEN, "ledger %s: %s", l->path, why);
            return LEDGER_EUNUSABLE;
        }
        int rc = make_parents(l, err);
        if (rc < 0)
            return rc;
        int fd = open(l->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) { /* EEXIST: another process just made it */
            errno_text(errno, why, sizeof why);
            snprintf(err, LEDGER_ERRLEN, "ledger %s: cannot create the file: %s", l->path, why);
            return LEDGER_EUNUSABLE;
        }
        if (fd >= 0) {
            if (fchmod(fd, 0600) != 0) { /* a umask such as 0277 must not leave it unwritable */
                errno_text(errno, why, sizeof why);
                close(fd);
                snprintf(err, LEDGER_ERRLEN, "ledger %s: cannot set its mode: %s", l->path, why);
                return LEDGER_EUNUSABLE;
            }
            close(fd);
        }
        if (stat(l->path, &st) != 0) {
            errno_text(errno, why, sizeof why);
            snprintf(err, LEDGER_ERRLEN, "ledger %s: %s", l->path, why);
            return LEDGER_EUNUSABLE;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, LEDGER_ERRLEN,
                 "ledger %s: is a directory, not a file; set ledger.path to a file", l->path);
        return LEDGER_EUNUSABLE;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, LEDGER_ERRLEN, "ledger %s: is not a regular file", l->path);
        return LEDGER_EUNUSABLE;
    }
    /* A file that others can read may leak prompts: narrow it, if it is ours to change. */
    if ((st.st_mode & 077) && st.st_uid == geteuid())
        (void)chmod(l->path, st.st_mode & 0700);
    return 0;
}

/* Runs a statement that returns one integer (PRAGMA user_version, a count). */
static int query_int(ledger *l, const char *sql, long long *out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Brings the schema to LEDGER_SCHEMA_VERSION, in one write transaction. */
static int migrate(ledger *l, char *err) {
    char *msg = NULL;
    int rc = sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        ledger_db_error(l, "cannot update the schema", rc, err);
        return LEDGER_EUNUSABLE;
    }
    long long version = 0, objects = 0;
    rc = query_int(l, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK && version == 0)
        rc = query_int(l, "SELECT count(*) FROM sqlite_master", &objects);
    if (rc != SQLITE_OK) {
        ledger_db_error(l, "cannot read the schema", rc, err);
        goto fail;
    }
    if (version == 0 && objects > 0) {
        /* Somebody else's database: creating our table in it would mix two programs' data. */
        snprintf(err, LEDGER_ERRLEN,
                 "ledger %s: is a SQLite database of some other program (it has tables but no "
                 "ami schema); point ledger.path elsewhere",
                 l->path);
        goto fail;
    }
    for (long long v = version; v < LEDGER_SCHEMA_VERSION; v++) {
        rc = sqlite3_exec(l->db, ledger_migrations[v], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            snprintf(err, LEDGER_ERRLEN,
                     "ledger %s: cannot update the schema from version %lld: %s", l->path, v,
                     msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            goto fail;
        }
    }
    if (version < LEDGER_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", LEDGER_SCHEMA_VERSION);
        rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            ledger_db_error(l, "cannot update the schema", rc, err);
            goto fail;
        }
    }
    rc = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        ledger_db_error(l, "cannot update the schema", rc, err);
        goto fail;
    }
    return 0;
fail:
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return LEDGER_EUNUSABLE;
}

int ledger_do_open(ledger *l, char *err) {
    if (!sqlite3_threadsafe()) {
        snprintf(err, LEDGER_ERRLEN,
                 "ledger %s: this SQLite library was built without thread support", l->path);
        return LEDGER_EUNUSABLE;
    }
    if (!*l->path) {
        snprintf(err, LEDGER_ERRLEN, "ledger path is empty; set ledger.path to a file");
        return LEDGER_EUNUSABLE;
    }
    int rc = prepare_file(l, err);
    if (rc < 0)
        return rc;
    /* No SQLITE_OPEN_CREATE: prepare_file made the file, and a file that vanished since
     * should be an error, not a fresh ledger with the wrong mode. */
    rc = sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ledger_db_error(l, "cannot open", rc, err);
        goto fail;
    }
    sqlite3_extended_result_codes(l->db, 1);
    sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
    if (sqlite3_db_readonly(l->db, "main") == 1) {
        snprintf(err, LEDGER_ERRLEN, "ledger %s: the file is read-only; ami cannot record requests",
                 l->path);
        goto fail;
    }

    /* Reading the version is the first access to the file: a file that is not a database
     * fails here, before anything could be written to it. */
    long long version = 0;
    rc = query_int(l, "PRAGMA user_version", &version);
    if (rc != SQLITE_OK) {
        ledger_db_error(l, "cannot read", rc, err);
        goto fail;
    }
    if (version > LEDGER_SCHEMA_VERSION) {
        snprintf(err, LEDGER_ERRLEN,
                 "ledger %s: was written by a newer ami (schema version %lld; this one knows up "
                 "to %d); upgrade ami, or point ledger.path elsewhere",
                 l->path, version, LEDGER_SCHEMA_VERSION);
        goto fail;
    }
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(l->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        ledger_db_error(l, "cannot switch to WAL mode", rc, err);
        goto fail;
    }
    if (version < LEDGER_SCHEMA_VERSION && migrate(l, err) < 0)
        goto fail;
    rc = sqlite3_prepare_v3(l->db, ledger_insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &l->insert,
                            NULL);
    if (rc != SQLITE_OK) {
        ledger_db_error(l, "unexpected schema", rc, err);
        goto fail;
    }
    return 0;
fail:
    sqlite3_finalize(l->insert);
    l->insert = NULL;
    sqlite3_close(l->db);
    l->db = NULL;
    return LEDGER_EUNUSABLE;
}
