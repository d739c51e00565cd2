/* cli_info: the commands that show settings and lists rather than ask a model:
 * `ami config` and `ami models`.  See include/ami/cli.h. */
#include "ami/cli.h"

#include "ami/config.h"
#include "ami/engine.h"
#include "ami/http.h"
#include "ami/log.h"
#include "cli_internal.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- config -------------------------------------------------------------------------------- */

static void config_usage(FILE *out) {
    fprintf(out, "usage: ami config [--defaults | --path | --check [FILE]]\n"
                 "  --defaults   print the default settings as JSON\n"
                 "  --path       print the path of the config file ami reads\n"
                 "  --check      validate the config file (or FILE) and say what is wrong\n");
}

int cli_config(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        config_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EUSAGE : CLI_OK;
    }
    if (strcmp(argv[1], "--defaults") == 0) {
        char *json = config_defaults_json();
        if (!json)
            return 1;
        printf("%s\n", json);
        free(json);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--path") == 0) {
        char *path = config_default_path();
        printf("%s\n", path ? path : "");
        free(path);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--check") == 0) {
        char *path = argc > 2 ? strdup(argv[2]) : config_default_path();
        ami_config c;
        char err[512];
        if (!path || config_init(&c) != 0) {
            free(path);
            fprintf(stderr, "ami: out of memory\n");
            return 1;
        }
        int rc = config_load_file(&c, path, argc <= 2, err, sizeof err);
        if (rc < 0)
            fprintf(stderr, "ami: %s\n", err);
        else if (rc == 1)
            printf("%s: no config file (defaults apply)\n", path);
        else
            printf("%s: ok\n", path);
        if (rc == 0 && c.file_has_key && c.file_too_open)
            fprintf(stderr,
                    "ami: warning: %s holds an API key and is readable by other users; run "
                    "chmod 600 %s\n",
                    path, path);
        config_free(&c);
        free(path);
        return rc < 0 ? CLI_EUSAGE : CLI_OK;
    }
    fprintf(stderr, "ami: config: unknown option '%s'\n", argv[1]);
    config_usage(stderr);
    return CLI_EUSAGE;
}

/* ---- models
 * -------------------------------------------------------------------------------------- */

/* `ami models` streams no answer. */
static void no_batch(void *ud) {
    (void)ud;
}

static void no_text(void *ud, void *answer, const char *text, size_t len) {
    (void)ud, (void)answer, (void)text, (void)len;
}

typedef struct models_run {
    engine *eng;
    int json;
    int exit_code;
    uv_timer_t close_timer; /* started once the list (or the error) is printed */
} models_run;

static void models_sink_event(void *ud, request *r, const request_event *ev) {
    (void)ud;
    (void)r;
    if (ev->type == REQUEST_EV_NOTICE)
        fprintf(stderr, "ami: %s\n", ev->message);
}

static void models_closed(void *ud) {
    (void)ud;
}

/* Closes the engine once the list is printed, from the loop rather than from a callback. */
static void models_close(uv_timer_t *t) {
    models_run *M = t->data;
    uv_close((uv_handle_t *)t, NULL);
    if (!M->eng)
        return;
    engine *e = M->eng;
    M->eng = NULL;
    engine_close(e, models_closed, M);
}

static void print_price(double usd_per_mtok) {
    if (usd_per_mtok < 0)
        printf("%10s", "?");
    else
        printf("%10.2f", usd_per_mtok);
}

static void on_models_listed(void *ud, const provider_model *models, size_t n, const char *err) {
    models_run *M = ud;
    if (err) {
        fprintf(stderr, "ami: %s\n", err);
        M->exit_code = CLI_EPROVIDER;
    } else if (M->json) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", models[i].id);
            if (models[i].name)
                cJSON_AddStringToObject(o, "name", models[i].name);
            if (models[i].context_length > 0)
                cJSON_AddNumberToObject(o, "context_length", (double)models[i].context_length);
            else
                cJSON_AddNullToObject(o, "context_length");
            if (models[i].prompt_usd_per_mtok >= 0)
                cJSON_AddNumberToObject(o, "prompt_usd_per_mtok", models[i].prompt_usd_per_mtok);
            else
                cJSON_AddNullToObject(o, "prompt_usd_per_mtok");
            if (models[i].completion_usd_per_mtok >= 0)
                cJSON_AddNumberToObject(o, "completion_usd_per_mtok",
                                        models[i].completion_usd_per_mtok);
            else
                cJSON_AddNullToObject(o, "completion_usd_per_mtok");
            size_t idl = strlen(models[i].id);
            cJSON_AddBoolToObject(
                o, "free",
                (idl > 5 && strcmp(models[i].id + idl - 5, ":free") == 0) ||
                    (models[i].prompt_usd_per_mtok == 0 && models[i].completion_usd_per_mtok == 0));
            cJSON_AddItemToArray(a, o);
        }
        cli_print_json(a);
        M->exit_code = CLI_OK;
    } else {
        printf("%-50s %9s %10s %10s\n", "model", "context", "$/M in", "$/M out");
        for (size_t i = 0; i < n; i++) {
            printf("%-50s ", models[i].id);
            if (models[i].context_length > 0)
                printf("%9ld ", models[i].context_length);
            else
                printf("%9s ", "?");
            print_price(models[i].prompt_usd_per_mtok);
            printf(" ");
            print_price(models[i].completion_usd_per_mtok);
            /* OpenRouter's :free variants (which may train on prompts: see ami-privacy) */
            size_t idl = strlen(models[i].id);
            int is_free =
                (idl > 5 && strcmp(models[i].id + idl - 5, ":free") == 0) ||
                (models[i].prompt_usd_per_mtok == 0 && models[i].completion_usd_per_mtok == 0);
            printf("%s\n", is_free ? "  free" : "");
        }
        M->exit_code = CLI_OK;
    }
    /* This runs inside the HTTP transfer's completion callback (or the thread pool's): closing
     * the engine here would free the HTTP client under libcurl's feet.  A zero timer closes it
     * on the loop's next turn, once the callback has returned. */
    uv_timer_start(&M->close_timer, models_close, 0, 0);
}

int cli_models(int argc, char **argv) {
    cli_opts o;
    memset(&o, 0, sizeof o);
    int refresh = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--refresh") == 0) {
            refresh = 1;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof *argv);
            argc--;
            i--;
        }
    }
    int rc = cli_parse_opts(argc, argv, &o, 0);
    if (rc || o.help || o.question.len) {
        FILE *out = o.help && !rc ? stdout : stderr;
        fprintf(out, "usage: ami models [--provider P] [--base-url URL] [--refresh] [--json]\n"
                     "Lists the provider's models with their context length and prices (USD per\n"
                     "million tokens).  The list is cached for a day; --refresh asks again.\n");
        buf_free(&o.question);
        return o.help && !rc ? CLI_OK : CLI_EUSAGE;
    }
    ami_config cfg;
    rc = cli_load_config(&o, &cfg);
    if (rc)
        return rc;
    if (http_global_init() != 0) {
        config_free(&cfg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    models_run M;
    memset(&M, 0, sizeof M);
    M.json = o.json;
    M.exit_code = CLI_EPROVIDER;
    char *provider = strdup(cfg.provider);
    static const engine_sink sink = {{no_batch, no_text, no_batch}, models_sink_event};
    uv_loop_t *loop = uv_default_loop();
    M.eng = engine_new(loop, "cli", &cfg, &sink, &M);
    if (!M.eng || !provider) {
        free(provider);
        config_free(&cfg);
        return 1;
    }
    uv_timer_init(loop, &M.close_timer);
    M.close_timer.data = &M;
    char err[512];
    engine_provider prov;
    if (engine_provider_resolve(M.eng, provider, &prov, err, sizeof err) != 0) {
        fprintf(stderr, "ami: %s\n", err);
        M.exit_code = CLI_EUSAGE;
        uv_close((uv_handle_t *)&M.close_timer, NULL); /* not inside a callback: close now */
        engine *e = M.eng;
        M.eng = NULL;
        engine_close(e, models_closed, &M);
    } else {
        engine_provider_clear(&prov);
        engine_models(M.eng, provider, refresh, on_models_listed, &M);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    free(provider);
    http_global_cleanup();
    return M.exit_code;
}
