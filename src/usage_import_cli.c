/* usage_import_cli: `ami usage import ...`, what was done elsewhere into the ledger.
 *
 *   ami usage import openwebui|chatgpt|claude FILE [--json]
 *   ami usage import openrouter [FILE] [--json]
 *
 * The exports are read and stored by src/usage_import.c in one transaction on the ledger's
 * connection.  OpenRouter's activity is fetched with a management key (OpenRouter serves it to
 * no inference key): OPENROUTER_MANAGEMENT_KEY, else providers.openrouter.management_key_cmd,
 * found like an API key (ami/keys.h: registered for masking, never stored, never in argv, a
 * log or a message); FILE instead reads an answer saved earlier.
 */
#include "ami/engine.h"
#include "ami/http.h"
#include "ami/keys.h"
#include "ami/usage_data.h"
#include "ami/usage_import.h"
#include "ami/usage_report.h"
#include "usage_internal.h"

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#define MGMT_KEY_ENV "OPENROUTER_MANAGEMENT_KEY"
#define WINDOW_DAYS  30 /* OpenRouter's activity: the last 30 completed UTC days */

static void import_usage(FILE *out) {
    fprintf(out,
            "usage: ami usage import openwebui|chatgpt|claude FILE [--json]\n"
            "       ami usage import openrouter [FILE] [--json]\n"
            "Adds what you did elsewhere to the ledger, beside ami's own requests: conversations\n"
            "and messages from an export (Open WebUI's chat export, ChatGPT's or Claude's\n"
            "conversations.json), or OpenRouter's daily activity (GET /api/v1/activity, the last\n"
            "30 UTC days; it needs a management key in " MGMT_KEY_ENV " or a command that\n"
            "prints one in providers.openrouter.management_key_cmd; FILE: an answer saved\n"
            "earlier).  Importing the same file twice adds nothing; a newer export adds what is\n"
            "new.  One transaction: a broken file imports nothing.\n"
            "  --json   one JSON object saying what was imported\n");
}

/* ---- OpenRouter: the answer of GET /activity ------------------------------------------------ */

typedef struct fetch {
    engine *eng;
    uv_timer_t close_timer;
    char *body;
    size_t len;
    long status;
    char err[700];
} fetch;

static void no_batch(void *ud) {
    (void)ud;
}

static void no_text(void *ud, void *answer, const char *text, size_t len) {
    (void)ud, (void)answer, (void)text, (void)len;
}

static void no_event(void *ud, request *r, const request_event *ev) {
    (void)ud, (void)r, (void)ev;
}

static void engine_closed(void *ud) {
    (void)ud;
}

static void close_engine(uv_timer_t *t) {
    fetch *f = t->data;
    uv_close((uv_handle_t *)t, NULL);
    engine *e = f->eng;
    f->eng = NULL;
    if (e)
        engine_close(e, engine_closed, f);
}

static void on_activity(void *ud, long status, const char *body, size_t len, const char *err) {
    fetch *f = ud;
    f->status = status;
    if (err) {
        snprintf(f->err, sizeof f->err, "%s", err);
    } else if (!(f->body = malloc(len + 1))) {
        snprintf(f->err, sizeof f->err, "out of memory");
    } else {
        memcpy(f->body, body, len);
        f->body[len] = '\0';
        f->len = len;
    }
    /* Inside the transfer's callback: close the engine on the loop's next turn. */
    uv_timer_start(&f->close_timer, close_engine, 0, 0);
}

/* GETs the activity; 0 with f->body, or the exit status after saying why. */
static int fetch_activity(fetch *f) {
    ami_config cfg;
    char err[512];
    char *cfg_path = config_default_path();
    if (config_init(&cfg) != 0 || !cfg_path ||
        config_load_file(&cfg, cfg_path, 1, err, sizeof err) < 0) {
        fprintf(stderr, "ami usage import openrouter: %s\n", cfg_path ? err : "out of memory");
        free(cfg_path);
        config_free(&cfg);
        return USAGE_EXIT_USAGE;
    }
    free(cfg_path);
    const config_provider *p = config_find_provider(&cfg, "openrouter");
    const char *cmd = p ? p->management_key_cmd : NULL;
    const char *env = getenv(MGMT_KEY_ENV);
    if ((!env || !*env) && (!cmd || !*cmd)) {
        fprintf(stderr,
                "ami usage import openrouter: needs a management key (OpenRouter shows its "
                "activity to no inference key): set " MGMT_KEY_ENV " in the environment, or "
                "providers.openrouter.management_key_cmd to a command that prints it (make one "
                "at https://openrouter.ai/settings/provisioning-keys)\n");
        config_free(&cfg);
        return USAGE_EXIT_USAGE;
    }
    /* The spec borrows cmd from cfg, which the engine takes over: keep a copy. */
    char *cmd_copy = cmd ? strdup(cmd) : NULL;
    if (http_global_init() != 0) {
        free(cmd_copy);
        config_free(&cfg);
        fprintf(stderr, "ami usage import openrouter: cannot start the HTTP client\n");
        return USAGE_EXIT_LEDGER;
    }
    signal(SIGPIPE, SIG_IGN);
    static const engine_sink sink = {{no_batch, no_text, no_batch}, no_event};
    uv_loop_t *loop = uv_default_loop();
    f->eng = engine_new(loop, "cli", &cfg, &sink, f);
    config_free(&cfg);
    if (!f->eng) {
        free(cmd_copy);
        http_global_cleanup();
        fprintf(stderr, "ami usage import openrouter: out of memory\n");
        return USAGE_EXIT_LEDGER;
    }
    uv_timer_init(loop, &f->close_timer);
    f->close_timer.data = f;
    keys_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.provider = "openrouter";
    spec.env = MGMT_KEY_ENV;
    spec.cmd = cmd_copy;
    spec.required = 1;
    spec.cmd_name = "management_key_cmd";
    engine_get_keyed(f->eng, "openrouter", "activity", &spec, on_activity, f);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    http_global_cleanup();
    free(cmd_copy);
    if (f->body)
        return 0;
    if (f->status == 401 || f->status == 403)
        fprintf(stderr,
                "ami usage import openrouter: %s (is the key in " MGMT_KEY_ENV
                " or management_key_cmd a management key?)\n",
                f->err);
    else
        fprintf(stderr, "ami usage import openrouter: %s\n", f->err);
    /* The key's command failing is the configuration's problem, not OpenRouter's. */
    return f->status == 0 && strncmp(f->err, "management_key_cmd", 18) == 0 ? USAGE_EXIT_USAGE
                                                                            : USAGE_EXIT_PROVIDER;
}

/* ---- reporting ---------------------------------------------------------------------------- */

static void day_of(time_t t, char out[11]) {
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
        out[0] = '\0';
}

static void print_json(const usage_import_job *j) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", import_format_name(j->format));
    if (j->path)
        cJSON_AddStringToObject(o, "file", j->path);
    else
        cJSON_AddNullToObject(o, "file");
    cJSON_AddNumberToObject(o, "items", (double)j->items);
    cJSON_AddNumberToObject(o, "added", (double)j->added);
    cJSON_AddNumberToObject(o, "updated", (double)j->updated);
    cJSON_AddNumberToObject(o, "unchanged", (double)j->unchanged);
    cJSON_AddNumberToObject(o, "older", (double)j->older);
    cJSON_AddNumberToObject(o, "messages", (double)j->messages);
    cJSON_AddNumberToObject(o, "warnings", (double)j->warnings);
    cJSON *w = cJSON_AddArrayToObject(o, "warning_messages");
    for (size_t i = 0; i < j->n_warning; i++)
        cJSON_AddItemToArray(w, cJSON_CreateString(j->warning[i]));
    if (j->format == IMPORT_OPENROUTER) {
        cJSON_AddStringToObject(o, "first_day", j->first_day);
        cJSON_AddStringToObject(o, "last_day", j->last_day);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text)
        printf("%s\n", text);
    free(text);
}

static void print_text(const usage_import_job *j, const char *who) {
    const char *what = j->format == IMPORT_OPENROUTER
                           ? (j->items == 1 ? "activity row" : "activity rows")
                           : (j->items == 1 ? "conversation" : "conversations");
    char a[11] = "", b[11] = "";
    if (j->first >= 0) {
        day_of((time_t)j->first, a);
        day_of((time_t)j->last, b);
    }
    printf("%s: %s: %zu %s read: %zu new, %zu updated, %zu unchanged", who,
           j->path ? j->path : "OpenRouter's activity", j->items, what, j->added, j->updated,
           j->unchanged);
    if (j->older)
        printf(", %zu kept (the ledger has a newer copy)", j->older);
    if (j->format != IMPORT_OPENROUTER)
        printf("; %zu message%s stored", j->messages, j->messages == 1 ? "" : "s");
    if (j->format == IMPORT_OPENROUTER && *j->first_day)
        printf("; UTC days %s – %s", j->first_day, j->last_day);
    else if (*a)
        printf(" (%s – %s, UTC)", a, b);
    printf(".\n");
    for (size_t i = 0; i < j->n_warning; i++)
        fprintf(stderr, "%s: warning: %s\n", who, j->warning[i]);
    if (j->warnings > j->n_warning)
        fprintf(stderr, "%s: (and %zu more warnings)\n", who, j->warnings - j->n_warning);
}

/* After an OpenRouter import: the months it touched, by source, with the days where ami
 * recorded more than OpenRouter reports. */
typedef struct after_job {
    usage_query q;
    usage_data data;
} after_job;

static int load_after(struct sqlite3 *db, int store_text, void *ud) {
    (void)store_text;
    after_job *a = ud;
    return usage_data_load(db, &a->q, &a->data);
}

static void print_openrouter_months(const usage_env *u, const usage_import_job *j) {
    if (!*j->last_day)
        return;
    after_job a;
    memset(&a, 0, sizeof a);
    snprintf(a.q.last, sizeof a.q.last, "%.7s", j->last_day);
    a.q.carbon_points = u->cfg.carbon_enabled ? u->cfg.carbon_points : NULL;
    a.q.n_carbon_points = u->cfg.carbon_enabled ? u->cfg.n_carbon_points : 0;
    char err[512];
    if (usage_run_work(u->path, "cannot read the usage report", load_after, &a, err, sizeof err) !=
        0) {
        fprintf(stderr, "ami usage import openrouter: %s\n", err);
        return;
    }
    usage_report_opts ro = {u->locale, 0, -1, NULL, 0};
    for (int i = 0; i < USAGE_MONTHS; i++) {
        const char *m = a.data.months[i].month;
        const usage_cell *tot = &a.data.months[i].total;
        if (strncmp(m, j->first_day, 7) < 0 || strncmp(m, j->last_day, 7) > 0 ||
            (tot->answers == 0 && tot->cost_usd == 0))
            continue;
        usage_text t = {0};
        if (usage_report_sources(&a.data, i, &ro, &t) == 0) {
            printf("\nBy source, %s\n", m);
            fwrite(t.text.data, 1, t.text.len, stdout);
        }
        usage_text_free(&t);
    }
    if (a.data.all_mismatches)
        printf(
            "\n%zu day%s where ami recorded more than OpenRouter reports (marked !): OpenRouter's "
            "figures are the ones counted.\n",
            a.data.all_mismatches, a.data.all_mismatches == 1 ? "" : "s");
    usage_data_free(&a.data);
}

/* ---- main --------------------------------------------------------------------------------- */

int usage_import_main(int argc, char **argv) {
    const char *source = NULL, *file = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            import_usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ami usage import: unknown argument '%s'\n", a);
            import_usage(stderr);
            return USAGE_EXIT_USAGE;
        } else if (!source) {
            source = a;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "ami usage import: one file at a time ('%s' is one too many)\n", a);
            return USAGE_EXIT_USAGE;
        }
    }
    import_format format = source ? import_format_from_name(source) : IMPORT_FORMAT_UNKNOWN;
    if (format == IMPORT_FORMAT_UNKNOWN) {
        if (source)
            fprintf(stderr,
                    "ami usage import: '%s' is not a source ami imports: openwebui, chatgpt, "
                    "claude or openrouter\n",
                    source);
        import_usage(stderr);
        return USAGE_EXIT_USAGE;
    }
    char who[64];
    snprintf(who, sizeof who, "ami usage import %s", import_format_name(format));
    if (!file && format != IMPORT_OPENROUTER) {
        fprintf(stderr, "%s: which file? (e.g. %s)\n", who,
                format == IMPORT_OPENWEBUI ? "chat-export.json" : "conversations.json");
        return USAGE_EXIT_USAGE;
    }
    struct stat st;
    if (file) {
        int found = stat(file, &st) == 0;
        if (!found || S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s: cannot read %s: %s\n", who, file,
                    found ? "it is a directory" : strerror(errno));
            return USAGE_EXIT_LEDGER;
        }
    }

    usage_env u;
    int exit_code = usage_env_load(&u, who);
    if (exit_code != 0)
        return exit_code;
    usage_import_job *j = calloc(1, sizeof *j);
    char *path = file ? realpath(file, NULL) : NULL;
    fetch f;
    memset(&f, 0, sizeof f);
    exit_code = USAGE_EXIT_LEDGER;
    if (!j || (file && !path)) {
        fprintf(stderr, "%s: %s\n", who, j ? strerror(errno) : "out of memory");
        goto out;
    }
    if (!u.cfg.ledger_enabled) {
        fprintf(stderr,
                "%s: the ledger is turned off (ledger.enabled = false): there is "
                "nowhere to import into\n",
                who);
        exit_code = USAGE_EXIT_USAGE;
        goto out;
    }
    j->format = format;
    j->path = path;
    j->now = (long long)time(NULL);
    if (format == IMPORT_OPENROUTER && !file) {
        int rc = fetch_activity(&f);
        if (rc != 0) {
            exit_code = rc;
            goto out;
        }
        j->body = f.body;
        j->body_len = f.len;
        day_of((time_t)(j->now - WINDOW_DAYS * 86400LL), j->first_day);
        day_of((time_t)(j->now - 86400), j->last_day);
    }
    char err[512];
    if (usage_run_work(u.path, "cannot store the import", usage_import_run, j, err, sizeof err) !=
        0) {
        fprintf(stderr, "%s: %s (nothing was imported)\n", who, err);
        goto out;
    }
    if (j->failed) {
        fprintf(stderr, "%s: %s (nothing was imported)\n", who, j->error);
        goto out;
    }
    if (json) {
        print_json(j);
    } else {
        print_text(j, who);
        if (format == IMPORT_OPENROUTER)
            print_openrouter_months(&u, j);
    }
    exit_code = fflush(stdout) == 0 ? 0 : USAGE_EXIT_LEDGER;
out:
    free(f.body);
    free(path);
    free(j);
    usage_env_free(&u);
    return exit_code;
}
