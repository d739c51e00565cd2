/* usage_log: `ami log`, the requests the ledger recorded, and `ami log show`, what one of them
 * sent.  See include/ami/usage.h; the reading is src/ledger_log.c. */
#include "ami/cost.h"
#include "ami/ledger_log.h"
#include "ami/usage.h"
#include "usage_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WHO "ami log"

static void log_usage(FILE *out) {
    fprintf(out, "usage: ami log [-n N] [--document FILE] [--json]\n"
                 "       ami log show ID|UID [--json]\n"
                 "  (no command)      the newest requests the ledger recorded (20; -n N for more)\n"
                 "  --document FILE   only the requests about FILE\n"
                 "  show ID           exactly what request ID sent: the URL, the headers (auth\n"
                 "                    values <redacted>), the JSON body with secrets masked\n"
                 "  --json            one JSON value instead of text\n");
}

/* What the work on the pool thread fills; read on the main thread once the loop is done. */
typedef struct log_job {
    ledger_log_query q;
    ledger_log_entry *entries;
    size_t n;
    long long id;
    const char *uid;
    ledger_sent sent;
    int found;
} log_job;

static int list_work(sqlite3 *db, int store_text, void *ud) {
    (void)store_text;
    log_job *j = ud;
    return ledger_log_list(db, &j->q, &j->entries, &j->n);
}

static int show_work(sqlite3 *db, int store_text, void *ud) {
    (void)store_text;
    log_job *j = ud;
    int rc = ledger_log_sent(db, j->id, j->uid, NULL, &j->sent);
    j->found = rc == SQLITE_OK;
    return rc == SQLITE_NOTFOUND ? SQLITE_OK : rc;
}

static void when_text(time_t t, char *out, size_t n) {
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(out, n, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(out, n, "?");
}

static cost_source source_of(const char *s) {
    return s ? cost_source_parse(s) : COST_UNKNOWN;
}

/* A path with $HOME written as ~. */
static const char *short_path(const char *p, char *out, size_t n) {
    const char *home = getenv("HOME");
    size_t hl = home ? strlen(home) : 0;
    if (!p)
        return "-";
    if (hl > 1 && strncmp(p, home, hl) == 0 && p[hl] == '/') {
        snprintf(out, n, "~%s", p + hl);
        return out;
    }
    return p;
}

static cJSON *entry_json(const ledger_log_entry *e) {
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "id", (double)e->id);
    e->uid ? cJSON_AddStringToObject(o, "uid", e->uid) : cJSON_AddNullToObject(o, "uid");
    cJSON_AddNumberToObject(o, "started_unix", (double)e->started);
    cJSON_AddStringToObject(o, "command", e->command);
    cJSON_AddStringToObject(o, "model", e->model);
    cJSON_AddStringToObject(o, "status", e->status);
    e->error ? cJSON_AddStringToObject(o, "error", e->error) : cJSON_AddNullToObject(o, "error");
    e->document ? cJSON_AddStringToObject(o, "document", e->document)
                : cJSON_AddNullToObject(o, "document");
    e->prompt_tokens >= 0 ? cJSON_AddNumberToObject(o, "prompt_tokens", (double)e->prompt_tokens)
                          : cJSON_AddNullToObject(o, "prompt_tokens");
    e->completion_tokens >= 0
        ? cJSON_AddNumberToObject(o, "completion_tokens", (double)e->completion_tokens)
        : cJSON_AddNullToObject(o, "completion_tokens");
    e->cost_usd >= 0 ? cJSON_AddNumberToObject(o, "cost_usd", e->cost_usd)
                     : cJSON_AddNullToObject(o, "cost_usd");
    cJSON_AddStringToObject(o, "cost_source", e->cost_source);
    cJSON_AddBoolToObject(o, "sent_kept", e->sent);
    return o;
}

static void print_list(const log_job *j, int json, const char *path) {
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; a && i < j->n; i++)
            cJSON_AddItemToArray(a, entry_json(&j->entries[i]));
        char *s = a ? cJSON_PrintUnformatted(a) : NULL;
        printf("%s\n", s ? s : "[]");
        free(s);
        cJSON_Delete(a);
        return;
    }
    if (j->n == 0) {
        printf("no request recorded%s (ledger %s)\n", j->q.document ? " about this document" : "",
               path);
        return;
    }
    int wmodel = 5, wcmd = 7;
    for (size_t i = 0; i < j->n; i++) {
        int m = (int)strlen(j->entries[i].model), c = (int)strlen(j->entries[i].command);
        wmodel = m > wmodel ? (m > 40 ? 40 : m) : wmodel;
        wcmd = c > wcmd ? c : wcmd;
    }
    printf("%6s  %-16s  %-*s  %-*s  %-11s  %9s  %9s  %10s  %s\n", "ID", "WHEN", wcmd, "COMMAND",
           wmodel, "MODEL", "STATUS", "IN", "OUT", "COST", "DOCUMENT");
    for (size_t i = 0; i < j->n; i++) {
        const ledger_log_entry *e = &j->entries[i];
        char when[32], in[32], out[32], cost[48], doc[4096];
        when_text(e->started, when, sizeof when);
        cost_format_tokens(e->prompt_tokens, in, sizeof in);
        cost_format_tokens(e->completion_tokens, out, sizeof out);
        if (strcmp(e->status, "refused") == 0)
            snprintf(cost, sizeof cost, "-"); /* nothing was spent; the estimate is in --json */
        else
            cost_format(e->cost_usd, source_of(e->cost_source), cost, sizeof cost);
        printf("%6lld  %-16s  %-*s  %-*.*s  %-11s  %9s  %9s  %10s  %s\n", e->id, when, wcmd,
               e->command, wmodel, wmodel, e->model, e->status, in, out, cost,
               short_path(e->document, doc, sizeof doc));
    }
}

static void print_sent(const ledger_sent *s, int json) {
    const char *why = ledger_sent_missing(s);
    if (json) {
        cJSON *o = entry_json(&s->e);
        if (!o)
            return;
        s->url ? cJSON_AddStringToObject(o, "url", s->url) : cJSON_AddNullToObject(o, "url");
        cJSON *h = cJSON_AddArrayToObject(o, "headers");
        for (const char *p = s->headers; h && p && *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            char *line = strndup(p, len);
            if (line && len)
                cJSON_AddItemToArray(h, cJSON_CreateString(line));
            free(line);
            p += len + (nl != NULL);
        }
        cJSON *body = s->body ? cJSON_Parse(s->body) : NULL;
        if (body)
            cJSON_AddItemToObject(o, "body", body);
        else if (s->body)
            cJSON_AddStringToObject(o, "body", s->body);
        else
            cJSON_AddNullToObject(o, "body");
        if (why)
            cJSON_AddStringToObject(o, "missing", why);
        char *txt = cJSON_PrintUnformatted(o);
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        cJSON_Delete(o);
        return;
    }
    char when[32];
    when_text(s->e.started, when, sizeof when);
    printf("# request %lld%s%s · %s · %s · %s · %s\n", s->e.id, s->e.uid ? " " : "",
           s->e.uid ? s->e.uid : "", s->e.command, s->e.model, s->e.status, when);
    if (s->e.document)
        printf("# document %s\n", s->e.document);
    if (s->url) {
        printf("\nPOST %s\n", s->url);
        fputs(s->headers ? s->headers : "", stdout);
    }
    if (why) {
        printf("\n(no body: %s)\n", why);
        return;
    }
    cJSON *j = cJSON_Parse(s->body);
    char *pretty = j ? cJSON_Print(j) : NULL;
    printf("\n%s\n", pretty ? pretty : s->body);
    free(pretty);
    cJSON_Delete(j);
}

static int parse_limit(const char *s, int *out) {
    char *end = NULL;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < 1 || v > LEDGER_LOG_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

int usage_log_main(int argc, char **argv) {
    int json = 0, show = 0;
    log_job j;
    memset(&j, 0, sizeof j);
    j.q.limit = 20;
    const char *target = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            log_usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (!show && (strcmp(a, "-n") == 0 || strcmp(a, "--limit") == 0)) {
            if (parse_limit(i + 1 < argc ? argv[++i] : NULL, &j.q.limit) != 0) {
                fprintf(stderr, WHO ": -n takes a number of requests from 1 to %d\n",
                        LEDGER_LOG_MAX);
                return USAGE_EXIT_USAGE;
            }
        } else if (!show && strcmp(a, "--document") == 0 && i + 1 < argc) {
            j.q.document = argv[++i];
        } else if (!show && i == 1 && strcmp(a, "show") == 0) {
            show = 1;
        } else if (show && !target && a[0] != '-') {
            target = a;
        } else {
            fprintf(stderr, WHO ": unexpected argument '%s'\n", a);
            log_usage(stderr);
            return USAGE_EXIT_USAGE;
        }
    }
    if (show && !target) {
        fprintf(stderr, WHO ": show needs a request's ID (the first column of `ami log`)\n");
        return USAGE_EXIT_USAGE;
    }
    if (show) {
        char *end = NULL;
        long long id = strtoll(target, &end, 10);
        if (end != target && !*end && id > 0)
            j.id = id;
        else
            j.uid = target;
    }
    usage_env u;
    int rc = usage_env_load(&u, WHO);
    if (rc != 0)
        return rc;
    char docpath[4096];
    if (j.q.document && realpath(j.q.document, docpath))
        j.q.document = docpath; /* the ledger keeps absolute paths */
    char err[512];
    if (u.missing) {
        if (show)
            fprintf(stderr, WHO ": no request %s: nothing was recorded yet (no ledger at %s)\n",
                    target, u.path);
        else
            print_list(&j, json, u.path);
        usage_env_free(&u);
        return show ? USAGE_EXIT_LEDGER : 0;
    }
    if (usage_run_work(u.path, show ? "cannot read the request" : "cannot list the requests",
                       show ? show_work : list_work, &j, err, sizeof err) != 0) {
        fprintf(stderr, WHO ": %s\n", err);
        rc = USAGE_EXIT_LEDGER;
    } else if (show && !j.found) {
        fprintf(stderr, WHO ": no request %s in the ledger %s (`ami log` lists them)\n", target,
                u.path);
        rc = USAGE_EXIT_LEDGER;
    } else if (show) {
        print_sent(&j.sent, json);
    } else {
        print_list(&j, json, u.path);
    }
    ledger_log_entries_free(j.entries, j.n);
    ledger_sent_free(&j.sent);
    usage_env_free(&u);
    return rc;
}
