/* usage_import: storing an export (ami/import.h's readers) in the ledger's imported_* tables,
 * for `ami usage import openwebui|chatgpt|claude FILE` and `ami usage import openrouter`.
 *
 * One import is one write transaction (BEGIN IMMEDIATE ... COMMIT): a file that turns out
 * truncated, foreign or broken halfway imports nothing, and two imports never interleave.
 * The file is read in 64 KiB pieces and fed to the reader as it goes (bounded memory: one
 * conversation at a time).  Re-importing is idempotent: a conversation already stored with
 * the same update time and counts is left alone (unchanged); one stored with a later update
 * time is kept (older: the file is an older export); otherwise its row is updated in place
 * and its messages replaced (updated).  OpenRouter rows are keyed by day, endpoint, model,
 * provider and workspace; the latest fetch of a day wins.  Each run adds a row to `imports`
 * (what was read; for OpenRouter the UTC days the answer covers).
 *
 * Runs where ledger_exec runs it (the thread pool): SQLite and the file only.
 */
#ifndef AMI_USAGE_IMPORT_H
#define AMI_USAGE_IMPORT_H

#include "ami/import.h"

#include <stddef.h>

#define USAGE_IMPORT_KEEP_WARNINGS 10

typedef struct usage_import_job {
    /* in */
    import_format format;
    const char *path; /* the export to read, or NULL to read body */
    const char *body; /* OpenRouter: GET /activity's answer */
    size_t body_len;
    char first_day[11]; /* OpenRouter: the UTC days asked for ("" unknown: the data's) */
    char last_day[11];
    long long now; /* the import's time, UTC Unix seconds */

    /* out */
    int failed;       /* 1: nothing was imported; error says why */
    char error[1024]; /* one sentence, naming the file */
    size_t items;     /* conversations (or activity rows) read */
    size_t added, updated, unchanged, older;
    size_t messages; /* messages stored (of added and updated conversations) */
    size_t warnings;
    char warning[USAGE_IMPORT_KEEP_WARNINGS][256];
    size_t n_warning;
    long long first, last; /* UTC Unix seconds of the earliest and latest message (or day) */
} usage_import_job;

struct sqlite3;

/// A ledger_work_fn (ami/ledger.h): imports job (a usage_import_job *) into db.  Returns
/// SQLITE_OK, also when the export was refused (job->failed, job->error: the transaction was
/// rolled back), or the SQLite code of a database failure (rolled back too).
int usage_import_run(struct sqlite3 *db, int store_text, void *job);

#endif
