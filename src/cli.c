/* cli: the shell subcommands.  See include/ami/cli.h.
 *
 * ask, critique and explain share one runner: parse the common flags over the config file,
 * build the turn, start one request on an engine whose sink is stdout, run the loop, and map
 * the end to an exit status.  Input files and standard input are read before the loop starts.
 */
#include "ami/cli.h"

#include "ami/buf.h"
#include "ami/config.h"
#include "ami/cost.h"
#include "ami/engine.h"
#include "ami/http.h"
#include "ami/log.h"
#include "ami/prompt.h"
#include "ami/request.h"
#include "cli_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the common runner ---------------------------------------------------------------------- */

typedef struct run {
    uv_loop_t *loop;
    engine *eng;
    request *req;
    int json;
    int exit_code;
    int ended;
    int interrupted_by_signal;
    uv_signal_t sigint, sigterm;
    size_t printed;   /* text bytes written */
    int last_newline; /* the text printed so far ends with a newline */
    int quiet;
    int notes_only;         /* critique --notes: stdout carries the notes, not the text */
    const char *file;       /* critique: FILE as given, for FILE:LINE:COL */
    struct cli_note *notes; /* by seq: where each note's words were found */
    size_t n_notes;
} run;

/* A note's words as found, kept from its quote event to its comment event. */
typedef struct cli_note {
    char anchor[16];
    int has_range;
    long range[4];
} cli_note;

void cli_print_json(cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
    cJSON_Delete(o);
}

static void sink_begin(void *ud) {
    (void)ud;
}

static void sink_text(void *ud, void *answer, const char *text, size_t len) {
    (void)answer;
    run *R = ud;
    if (R->notes_only && !R->json)
        return; /* the notes are the output */
    if (R->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "delta");
        char *copy = strndup(text, len);
        cJSON_AddStringToObject(o, "text", copy ? copy : "");
        free(copy);
        cli_print_json(o);
    } else {
        fwrite(text, 1, len, stdout);
    }
    R->printed += len;
    R->last_newline = text[len - 1] == '\n';
}

static void sink_end(void *ud) {
    (void)ud;
    fflush(stdout);
}

void cli_report_secrets(const request_event *ev, const char *file) {
    size_t n = ev->n_secrets + ev->secrets_elsewhere;
    fprintf(stderr, "ami: %zu secret%s masked before sending", n, n == 1 ? "" : "s");
    if (ev->n_secrets)
        fprintf(stderr, " (%s:", file ? file : "the text");
    for (size_t i = 0; i < ev->n_secrets; i++)
        fprintf(stderr, "%s line %ld, %s", i ? ";" : "", ev->secrets[i].start_line + 1,
                ev->secrets[i].rule);
    if (ev->n_secrets)
        fputc(')', stderr);
    if (ev->secrets_elsewhere && ev->n_secrets)
        fprintf(stderr, ", and %zu in the question or earlier turns", ev->secrets_elsewhere);
    else if (ev->secrets_elsewhere)
        fprintf(stderr, " (in the question, the system prompt or earlier turns)");
    fprintf(stderr, "; the model sees placeholders such as %s\n",
            ev->n_secrets ? ev->secrets[0].placeholder : "[secret: …]");
}

int cli_training_ok(const cli_opts *o, const ami_config *cfg, const char *model) {
    size_t n = model ? strlen(model) : 0;
    int free_model = n > 5 && strcmp(model + n - 5, ":free") == 0;
    if (!free_model || config_deny_data_collection(cfg) || o->allow_training)
        return 1;
    if (isatty(0) && isatty(2)) {
        fprintf(stderr,
                "ami: %s is a free model: its providers may keep and train on what you send. "
                "Send it anyway? [y/N] ",
                model);
        char line[16];
        if (fgets(line, sizeof line, stdin) && (line[0] == 'y' || line[0] == 'Y'))
            return 1;
        fprintf(stderr, "ami: not sent\n");
        return 0;
    }
    fprintf(stderr,
            "ami: %s is a free model: its providers may keep and train on what you send; add "
            "--allow-training to send it anyway, or set privacy.data_collection = \"deny\" "
            "(then no provider that trains is used)\n",
            model);
    return 0;
}

int cli_exit_for(int state, const char *kind) {
    request_state s = (request_state)state;
    /* A missing key, a bad setting or bad input is the user's to fix, like a bad flag. */
    if (s == REQUEST_ERROR && kind &&
        (strcmp(kind, "key") == 0 || strcmp(kind, "config") == 0 || strcmp(kind, "input") == 0))
        return CLI_EUSAGE;
    switch (s) {
    case REQUEST_DONE:
        return CLI_OK;
    case REQUEST_REFUSED:
        return CLI_EBUDGET;
    case REQUEST_CANCELLED:
        return CLI_EINT;
    case REQUEST_INTERRUPTED:
        return CLI_ECUT;
    default:
        return CLI_EPROVIDER;
    }
}

static void summary(const request_result *res) {
    char cost[64], tin[32], tout[32], co2[64] = "";
    cost_format(res->cost_usd, res->cost_source, cost, sizeof cost);
    snprintf(tin, sizeof tin, "%s%ld", res->tokens_estimated ? "~" : "", res->prompt_tokens);
    snprintf(tout, sizeof tout, "%s%ld", res->tokens_estimated ? "~" : "", res->completion_tokens);
    if (res->co2e_g >= 0) {
        char c[48];
        cost_format_carbon(res->co2e_g, c, sizeof c);
        snprintf(co2, sizeof co2, " · %s", c);
    }
    const char *model = res->model_answered ? res->model_answered : res->model;
    fprintf(stderr, "ami: %s via %s · %s in · %s out · %s%s\n", model, res->provider, tin, tout,
            cost, co2);
}

/* A comment or remark on one line (the errorformat / :cexpr shape). */
static void print_one_line(FILE *f, const char *s) {
    int space = 0;
    for (; s && *s; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t') {
            space = 1;
            continue;
        }
        if (space)
            fputc(' ', f);
        space = 0;
        fputc(*s, f);
    }
}

static void on_note(run *R, const request_note *n) {
    if (n->phase == REQUEST_NOTE_QUOTE) {
        if (n->seq < 0 || (size_t)n->seq >= 100000)
            return;
        if ((size_t)n->seq >= R->n_notes) {
            size_t want = (size_t)n->seq + 16;
            cli_note *m = realloc(R->notes, want * sizeof *m);
            if (!m)
                return;
            memset(m + R->n_notes, 0, (want - R->n_notes) * sizeof *m);
            R->notes = m;
            R->n_notes = want;
        }
        cli_note *c = &R->notes[n->seq];
        snprintf(c->anchor, sizeof c->anchor, "%s", n->anchor);
        c->has_range = n->has_range;
        c->range[0] = n->start_line;
        c->range[1] = n->start_col;
        c->range[2] = n->end_line;
        c->range[3] = n->end_col;
        return;
    }
    if (n->phase == REQUEST_NOTE_OVER_CAP) {
        fprintf(stderr, "ami: the answer has more than %ld notes; the others are not anchored\n",
                n->cap);
        return;
    }
    if (n->phase == REQUEST_NOTE_GENERAL) {
        if (R->notes_only && !R->json && n->comment && *n->comment) {
            fputs("ami: remark: ", stderr);
            print_one_line(stderr, n->comment);
            fputc('\n', stderr);
        }
        return;
    }
    const cli_note *c = n->seq >= 0 && (size_t)n->seq < R->n_notes ? &R->notes[n->seq] : NULL;
    const char *kind = n->kind ? n->kind : "note";
    if (R->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "note");
        if (n->kind)
            cJSON_AddStringToObject(o, "kind", n->kind);
        else
            cJSON_AddNullToObject(o, "kind");
        cJSON_AddStringToObject(o, "quote", n->quote ? n->quote : "");
        cJSON_AddStringToObject(o, "comment", n->comment ? n->comment : "");
        cJSON_AddStringToObject(o, "anchor", c ? c->anchor : "unanchored");
        if (c && c->has_range) {
            cJSON *rg = cJSON_AddObjectToObject(o, "range");
            cJSON *st = cJSON_AddObjectToObject(rg, "start");
            cJSON_AddNumberToObject(st, "line", (double)c->range[0]);
            cJSON_AddNumberToObject(st, "col", (double)c->range[1]);
            cJSON *en = cJSON_AddObjectToObject(rg, "end");
            cJSON_AddNumberToObject(en, "line", (double)c->range[2]);
            cJSON_AddNumberToObject(en, "col", (double)c->range[3]);
        }
        cli_print_json(o);
        return;
    }
    if (!R->notes_only)
        return;
    if (c && c->has_range) {
        fprintf(stdout, "%s:%ld:%ld: %s: ", R->file, c->range[0] + 1, c->range[1] + 1, kind);
        print_one_line(stdout, n->comment && *n->comment ? n->comment : "(no comment)");
        fputc('\n', stdout);
        fflush(stdout);
    } else {
        fprintf(stderr, "ami: %s: words not found: %s: \"", R->file, kind);
        print_one_line(stderr, n->quote);
        fputs("\": ", stderr);
        print_one_line(stderr, n->comment && *n->comment ? n->comment : "(no comment)");
        fputc('\n', stderr);
    }
}

static void sink_event(void *ud, request *r, const request_event *ev) {
    (void)r;
    run *R = ud;
    switch (ev->type) {
    case REQUEST_EV_NOTE:
        on_note(R, ev->margin_note);
        return;
    case REQUEST_EV_SENT: /* `ami log show` reads it from the ledger */
        return;
    case REQUEST_EV_SECRETS:
        cli_report_secrets(ev, R->file);
        return;
    case REQUEST_EV_START:
        if (ev->note)
            fprintf(stderr, "ami: %s\n", ev->note);
        return;
    case REQUEST_EV_RETRY:
    case REQUEST_EV_NOTICE:
        fprintf(stderr, "ami: %s\n", ev->message);
        return;
    case REQUEST_EV_MODEL:
        return;
    case REQUEST_EV_DONE:
        break;
    }
    const request_result *res = ev->result;
    R->ended = 1;
    R->exit_code = cli_exit_for(res->state, res->error_kind);
    if (R->interrupted_by_signal)
        R->exit_code = CLI_EINT;
    if (!R->json && R->printed && !R->last_newline)
        fputc('\n', stdout);
    fflush(stdout);
    if (R->json) {
        cJSON *o = cJSON_CreateObject();
        if (res->state == REQUEST_DONE) {
            cJSON_AddStringToObject(o, "type", "done");
            cJSON_AddStringToObject(o, "model",
                                    res->model_answered ? res->model_answered : res->model);
            cJSON_AddStringToObject(o, "model_requested", res->model);
            cJSON_AddStringToObject(o, "provider", res->provider);
            if (res->finish_reason)
                cJSON_AddStringToObject(o, "finish_reason", res->finish_reason);
            else
                cJSON_AddNullToObject(o, "finish_reason");
            cJSON *u = cJSON_AddObjectToObject(o, "usage");
            cJSON_AddNumberToObject(u, "prompt_tokens", (double)res->prompt_tokens);
            cJSON_AddNumberToObject(u, "completion_tokens", (double)res->completion_tokens);
            if (res->cost_source == COST_UNKNOWN)
                cJSON_AddNullToObject(u, "cost_usd");
            else
                cJSON_AddNumberToObject(u, "cost_usd", res->cost_usd);
            cJSON_AddStringToObject(u, "cost_source",
                                    cost_source_name((cost_source)res->cost_source));
            if (res->co2e_g >= 0)
                cJSON_AddNumberToObject(u, "co2e_g", res->co2e_g);
        } else {
            cJSON_AddStringToObject(o, "type", "error");
            cJSON_AddStringToObject(o, "kind", res->error_kind ? res->error_kind : "error");
            cJSON_AddStringToObject(o, "status", request_state_name(res->state));
            if (res->http_status)
                cJSON_AddNumberToObject(o, "http_status", (double)res->http_status);
            else
                cJSON_AddNullToObject(o, "http_status");
            cJSON_AddStringToObject(o, "message", res->message ? res->message : "");
            cJSON_AddBoolToObject(o, "partial", res->text_bytes > 0);
            /* What was spent all the same (an error beside the usage, a cut stream). */
            if (res->prompt_tokens > 0 || res->completion_tokens > 0) {
                cJSON *u = cJSON_AddObjectToObject(o, "usage");
                cJSON_AddNumberToObject(u, "prompt_tokens", (double)res->prompt_tokens);
                cJSON_AddNumberToObject(u, "completion_tokens", (double)res->completion_tokens);
                cJSON_AddBoolToObject(u, "estimated", res->tokens_estimated);
                if (res->cost_source == COST_UNKNOWN)
                    cJSON_AddNullToObject(u, "cost_usd");
                else
                    cJSON_AddNumberToObject(u, "cost_usd", res->cost_usd);
                cJSON_AddStringToObject(u, "cost_source",
                                        cost_source_name((cost_source)res->cost_source));
            }
        }
        cli_print_json(o);
    }
    if (res->state != REQUEST_DONE && res->message)
        fprintf(stderr, "ami: %s\n", res->message);
    /* OpenAI-style providers say "length", Anthropic says "max_tokens". */
    if (res->state == REQUEST_DONE && res->finish_reason &&
        (strcmp(res->finish_reason, "length") == 0 ||
         strcmp(res->finish_reason, "max_tokens") == 0))
        fprintf(stderr, "ami: the answer stopped at max_tokens (%s)\n", "raise --max-tokens");
    if (!R->quiet && (res->state == REQUEST_DONE || res->text_bytes))
        summary(res);
}

static void on_signal(uv_signal_t *s, int signum) {
    (void)signum;
    run *R = s->data;
    R->interrupted_by_signal = 1;
    if (R->req && !R->ended)
        request_cancel(R->req, "interrupted (SIGINT)");
}

static void on_engine_closed(void *ud) {
    run *R = ud;
    uv_signal_stop(&R->sigint);
    uv_signal_stop(&R->sigterm);
    uv_close((uv_handle_t *)&R->sigint, NULL);
    uv_close((uv_handle_t *)&R->sigterm, NULL);
}

static void on_idle_check(uv_check_t *c) {
    run *R = c->data;
    if (R->ended && R->eng) {
        engine *e = R->eng;
        R->eng = NULL;
        uv_check_stop(c);
        uv_close((uv_handle_t *)c, NULL);
        engine_close(e, on_engine_closed, R);
    }
}

const char cli_common_help[] =
    "  --provider P      openrouter (default), openai, mistral, scaleway, ollama,\n"
    "                    openai-compatible, anthropic, or one defined in the config\n"
    "  --model M         the model id (default from the config)\n"
    "  --base-url URL    the provider's API base URL\n"
    "  --system TEXT     replace ami's system prompt\n"
    "  --max-tokens N    the most the answer may use\n"
    "  --json            one JSON object per line on stdout (delta, then done or error)\n"
    "  --no-ledger       do not record this request in the usage ledger\n"
    "  --allow-training  send to a free model (\":free\") although its providers may keep\n"
    "                    and train on the text (with privacy.data_collection = \"allow\")\n"
    "Exit status: 0 done, 2 usage or configuration error, 3 provider error, 4 the stream was\n"
    "cut off, 5 refused by the budget, 130 interrupted.\n";

/* Parses argv[1..]; positional words go to the question. Returns 0 or CLI_EUSAGE. */
int cli_parse_opts(int argc, char **argv, cli_opts *o, unsigned takes) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = 1;
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (strcmp(a, "--no-ledger") == 0) {
            o->no_ledger = 1;
            continue;
        }
        if (strcmp(a, "--allow-training") == 0) {
            o->allow_training = 1;
            continue;
        }
        if ((takes & CLI_TAKES_NOTES) && strcmp(a, "--notes") == 0) {
            o->notes = 1;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                buf_printf(&o->question, "%s%s", o->question.len ? " " : "", argv[i]);
            break;
        }
        const char **slot = NULL;
        if (strcmp(a, "--provider") == 0)
            slot = &o->provider;
        else if (strcmp(a, "--model") == 0)
            slot = &o->model;
        else if (strcmp(a, "--base-url") == 0)
            slot = &o->base_url;
        else if (strcmp(a, "--system") == 0)
            slot = &o->system;
        else if ((takes & CLI_TAKES_FILE) && strcmp(a, "--file") == 0)
            slot = &o->file;
        else if ((takes & CLI_TAKES_LINES) && strcmp(a, "--lines") == 0)
            slot = &o->lines;
        else if ((takes & CLI_TAKES_PRESET) && strcmp(a, "--preset") == 0)
            slot = &o->preset;
        else if ((takes & CLI_TAKES_MODELS) && strcmp(a, "--models") == 0)
            slot = &o->models;
        if (slot) {
            if (!v) {
                fprintf(stderr, "ami: %s needs a value\n", a);
                return CLI_EUSAGE;
            }
            *slot = v;
            i++;
            continue;
        }
        if (strcmp(a, "--max-tokens") == 0) {
            char *end;
            long n = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || n <= 0) {
                fprintf(stderr, "ami: --max-tokens needs a positive whole number\n");
                return CLI_EUSAGE;
            }
            o->max_tokens = n;
            i++;
            continue;
        }
        if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "ami: unknown option %s (see --help)\n", a);
            return CLI_EUSAGE;
        }
        buf_printf(&o->question, "%s%s", o->question.len ? " " : "", a);
    }
    return 0;
}

/* Reads a whole file ("-": standard input).  Returns 0 or -1 with err set. */
int cli_read_all(const char *path, buf *out, char *err, size_t errlen) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(out, chunk, n) != 0) {
            snprintf(err, errlen, "%s is too large to read", path);
            if (f != stdin)
                fclose(f);
            return -1;
        }
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        snprintf(err, errlen, "cannot read %s", path);
        return -1;
    }
    return 0;
}

/* Loads the config file and applies the flags. */
int cli_load_config(const cli_opts *o, ami_config *cfg) {
    char err[768];
    if (config_init(cfg) != 0) {
        fprintf(stderr, "ami: out of memory\n");
        return CLI_EUSAGE;
    }
    char *path = config_default_path();
    if (path && config_load_file(cfg, path, 1, err, sizeof err) < 0) {
        fprintf(stderr, "ami: %s\n", err);
        free(path);
        config_free(cfg);
        return CLI_EUSAGE;
    }
    if (cfg->file_has_key && cfg->file_too_open)
        fprintf(stderr,
                "ami: warning: %s holds an API key and is readable by other users; run chmod "
                "600 %s\n",
                path, path);
    free(path);
    cJSON *over = cJSON_CreateObject();
    if (o->provider)
        cJSON_AddStringToObject(over, "provider", o->provider);
    if (o->model)
        cJSON_AddStringToObject(over, "model", o->model);
    if (o->max_tokens > 0)
        cJSON_AddNumberToObject(over, "max_tokens", (double)o->max_tokens);
    if (o->base_url) {
        cJSON *ps = cJSON_AddObjectToObject(over, "providers");
        cJSON *p = cJSON_AddObjectToObject(ps, o->provider ? o->provider : cfg->provider);
        cJSON_AddStringToObject(p, "base_url", o->base_url);
    }
    if (o->no_ledger) {
        cJSON *l = cJSON_AddObjectToObject(over, "ledger");
        cJSON_AddFalseToObject(l, "enabled");
    }
    int rc = config_apply_json(cfg, over, err, sizeof err);
    cJSON_Delete(over);
    if (rc != 0) {
        fprintf(stderr, "ami: %s\n", err);
        config_free(cfg);
        return CLI_EUSAGE;
    }
    return 0;
}

static int run_request(const char *command, const cli_opts *o, const prompt_turn *turn,
                       const char *document_path, const char *file) {
    ami_config cfg;
    int rc = cli_load_config(o, &cfg);
    if (rc)
        return rc;
    if (http_global_init() != 0) {
        config_free(&cfg);
        fprintf(stderr, "ami: cannot initialise libcurl\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    run R;
    memset(&R, 0, sizeof R);
    R.loop = uv_default_loop();
    R.json = o->json;
    R.notes_only = o->notes;
    R.file = file;
    R.exit_code = CLI_EPROVIDER;
    int notes = turn->kind == PROMPT_CRITIQUE && (o->notes || cfg.notes_enabled);
    if (!cli_training_ok(o, &cfg, o->model ? o->model : cfg.model)) {
        config_free(&cfg);
        http_global_cleanup();
        return CLI_EUSAGE;
    }
    /* --preset: the preset's question, then the words given after it, if any. */
    prompt_turn with_preset;
    buf preset_q = {0};
    if (o->preset) {
        const char *q = config_question_text(&cfg, o->preset);
        if (!q) {
            buf names = {0};
            for (size_t i = 0; i < cfg.n_questions; i++)
                buf_printf(&names, "%s%s", i ? ", " : "", cfg.questions[i].name);
            fprintf(stderr,
                    "ami: no question preset \"%s\" (the presets: %s; add one with "
                    "questions.%s in the config)\n",
                    o->preset, names.data ? names.data : "none", o->preset);
            buf_free(&names);
            config_free(&cfg);
            http_global_cleanup();
            return CLI_EUSAGE;
        }
        buf_printf(&preset_q, "%s%s%s", q, turn->question ? " " : "",
                   turn->question ? turn->question : "");
        with_preset = *turn;
        with_preset.question = preset_q.data;
        turn = &with_preset;
    }
    static const engine_sink sink = {{sink_begin, sink_text, sink_end}, sink_event};
    R.eng = engine_new(R.loop, "cli", &cfg, &sink, &R);
    if (!R.eng) {
        config_free(&cfg);
        fprintf(stderr, "ami: out of memory\n");
        return 1;
    }
    uv_signal_init(R.loop, &R.sigint);
    uv_signal_init(R.loop, &R.sigterm);
    R.sigint.data = R.sigterm.data = &R;
    uv_signal_start(&R.sigint, on_signal, SIGINT);
    uv_signal_start(&R.sigterm, on_signal, SIGTERM);
    uv_check_t check;
    uv_check_init(R.loop, &check);
    check.data = &R;
    uv_check_start(&check, on_idle_check);
    request_params rp;
    memset(&rp, 0, sizeof rp);
    rp.command = command;
    rp.turns = turn;
    rp.n_turns = 1;
    rp.system = o->system;
    rp.document = document_path;
    rp.no_ledger = o->no_ledger;
    rp.notes = notes;
    R.req = request_start(R.eng, &rp, NULL);
    if (!R.req) {
        R.ended = 1;
        R.exit_code = 1;
        fprintf(stderr, "ami: out of memory\n");
    }
    uv_run(R.loop, UV_RUN_DEFAULT);
    uv_loop_close(R.loop);
    http_global_cleanup();
    secret_clear();
    free(R.notes);
    buf_free(&preset_q);
    return R.exit_code;
}

/* ---- ask ------------------------------------------------------------------------------------- */

int cli_ask(int argc, char **argv) {
    cli_opts o;
    memset(&o, 0, sizeof o);
    int rc = cli_parse_opts(argc, argv, &o, 0);
    if (rc || o.help) {
        FILE *out = o.help ? stdout : stderr;
        fprintf(out,
                "usage: ami ask [OPTIONS] [QUESTION...]\n"
                "Asks a question; standard input, when it is not a terminal, goes along as\n"
                "context.  The answer streams to stdout; a summary goes to stderr.\n%s",
                cli_common_help);
        buf_free(&o.question);
        return rc ? rc : CLI_OK;
    }
    buf context = {0};
    char err[512];
    if (!isatty(0) && cli_read_all("-", &context, err, sizeof err) != 0) {
        fprintf(stderr, "ami: %s\n", err);
        buf_free(&o.question);
        return CLI_EUSAGE;
    }
    if (o.question.len == 0 && context.len == 0) {
        fprintf(stderr, "ami: ask: no question (give it as arguments, or text on standard "
                        "input)\n");
        buf_free(&o.question);
        buf_free(&context);
        return CLI_EUSAGE;
    }
    prompt_turn t;
    memset(&t, 0, sizeof t);
    t.kind = PROMPT_ASK;
    if (o.question.len) {
        t.question = o.question.data;
        t.document = context.data;
        t.document_len = context.len;
    } else {
        t.question = context.data; /* the input is the question */
    }
    rc = run_request("ask", &o, &t, NULL, NULL);
    buf_free(&o.question);
    buf_free(&context);
    return rc;
}

/* ---- critique ----------------------------------------------------------------------------------
 */

int cli_parse_lines(const char *s, long *a, long *b) {
    char *end;
    *a = strtol(s, &end, 10);
    if (end == s || *a < 1)
        return -1;
    if (*end == '\0') {
        *b = *a;
        return 0;
    }
    if (*end != '-' && *end != ',' && *end != ':')
        return -1;
    const char *rest = end + 1;
    *b = strtol(rest, &end, 10);
    if (end == rest || *end || *b < *a)
        return -1;
    return 0;
}

int cli_critique_turn(const cli_opts *o, const char *file, buf *doc, prompt_turn *t) {
    char err[512];
    if (cli_read_all(file, doc, err, sizeof err) != 0) {
        fprintf(stderr, "ami: %s\n", err);
        return CLI_EUSAGE;
    }
    memset(t, 0, sizeof *t);
    t->kind = PROMPT_CRITIQUE;
    t->document = doc->data;
    t->document_len = doc->len;
    t->path = strcmp(file, "-") == 0 ? "standard input" : file;
    t->question = o->question.len ? o->question.data : NULL;
    t->line_start = 1;
    t->line_end = prompt_count_lines(doc->data ? doc->data : "", doc->len);
    if (o->lines && cli_parse_lines(o->lines, &t->line_start, &t->line_end) != 0) {
        fprintf(stderr, "ami: --lines must be A-B with 1 <= A <= B (e.g. --lines 12-15)\n");
        buf_free(doc);
        return CLI_EUSAGE;
    }
    if (t->line_end < 1)
        t->line_end = 1;
    return 0;
}

int cli_critique(int argc, char **argv) {
    cli_opts o;
    memset(&o, 0, sizeof o);
    /* The first positional argument is the file. */
    const char *file = NULL;
    int shifted = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
            int is_value = i > 1 && argv[i - 1][0] == '-' && argv[i - 1][1] == '-' &&
                           strcmp(argv[i - 1], "--json") && strcmp(argv[i - 1], "--no-ledger");
            if (!is_value) {
                file = argv[i];
                memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof *argv);
                argc--;
                shifted = 1;
                break;
            }
        }
    }
    (void)shifted;
    int rc = cli_parse_opts(argc, argv, &o, CLI_TAKES_LINES | CLI_TAKES_NOTES | CLI_TAKES_PRESET);
    if (rc || o.help || !file) {
        FILE *out = o.help ? stdout : stderr;
        fprintf(out,
                "usage: ami critique FILE [--lines A-B] [--preset NAME] [--notes] [OPTIONS]\n"
                "                     [QUESTION...]\n"
                "Asks an expert friend about lines A-B of FILE (all of it by default),\n"
                "with the whole file as context.  FILE - reads standard input.\n"
                "  --preset NAME     a question preset of the config: clarity, reader,\n"
                "                    concision, argument, tone, or your own\n"
                "  --notes           print the remarks anchored on the words, one per line as\n"
                "                    FILE:LINE:COL: kind: comment (for :cexpr, errorformat, CI);\n"
                "                    remarks whose words are not in FILE go to stderr\n"
                "  With --json, each remark is also a {\"type\":\"note\",…} event.\n%s",
                cli_common_help);
        buf_free(&o.question);
        return o.help && !rc ? CLI_OK : CLI_EUSAGE;
    }
    buf doc = {0};
    prompt_turn t;
    if (cli_critique_turn(&o, file, &doc, &t) != 0) {
        buf_free(&o.question);
        return CLI_EUSAGE;
    }
    char *abs = NULL;
    if (strcmp(file, "-") != 0)
        abs = realpath(file, NULL);
    rc = run_request("critique", &o, &t, abs ? abs : NULL, file);
    free(abs);
    buf_free(&doc);
    buf_free(&o.question);
    return rc;
}

/* ---- explore ----------------------------------------------------------------------------------
 */

int cli_explore(int argc, char **argv) {
    cli_opts o;
    memset(&o, 0, sizeof o);
    int rc = cli_parse_opts(argc, argv, &o, CLI_TAKES_FILE | CLI_TAKES_LINES);
    if (rc || o.help) {
        FILE *out = o.help ? stdout : stderr;
        fprintf(out,
                "usage: ami explore [--file FILE [--lines A-B]] [OPTIONS] [QUESTION...]\n"
                "Shares an idea, as with a well-read friend: does it make sense, what does it\n"
                "evoke (concepts, authors, works, each with why)?  The idea is standard input,\n"
                "or lines A-B of FILE (all of it by default).\n%s",
                cli_common_help);
        buf_free(&o.question);
        return rc ? rc : CLI_OK;
    }
    buf idea = {0};
    char err[512];
    if (o.file) {
        buf doc = {0};
        if (cli_read_all(o.file, &doc, err, sizeof err) != 0) {
            fprintf(stderr, "ami: %s\n", err);
            buf_free(&o.question);
            return CLI_EUSAGE;
        }
        long a = 1, b = prompt_count_lines(doc.data ? doc.data : "", doc.len);
        if (o.lines && cli_parse_lines(o.lines, &a, &b) != 0) {
            fprintf(stderr, "ami: --lines must be A-B with 1 <= A <= B (e.g. --lines 12-15)\n");
            buf_free(&doc);
            buf_free(&o.question);
            return CLI_EUSAGE;
        }
        long line = 1;
        for (size_t i = 0; i < doc.len; i++) {
            if (line >= a && line <= b)
                buf_append_byte(&idea, doc.data[i]);
            if (doc.data[i] == '\n')
                line++;
        }
        buf_free(&doc);
    } else if (!isatty(0) && cli_read_all("-", &idea, err, sizeof err) != 0) {
        fprintf(stderr, "ami: %s\n", err);
        buf_free(&o.question);
        return CLI_EUSAGE;
    }
    prompt_turn t;
    memset(&t, 0, sizeof t);
    t.kind = PROMPT_EXPLORE;
    t.document = idea.data;
    t.document_len = idea.len;
    t.question = o.question.len ? o.question.data : NULL;
    t.path = o.file;
    rc = run_request("explore", &o, &t, NULL, NULL);
    buf_free(&idea);
    buf_free(&o.question);
    return rc;
}

/* ---- explain ------------------------------------------------------------------------------------
 */

/* The paragraph of text (blank-line separated) where name first appears; NULL if nowhere. */
static const char *find_paragraph(const char *text, size_t len, const char *name, size_t *plen) {
    size_t nl = strlen(name);
    const char *hit = NULL;
    for (const char *p = text; nl && p + nl <= text + len; p++)
        if (memcmp(p, name, nl) == 0) {
            hit = p;
            break;
        }
    if (!hit)
        return NULL;
    const char *start = hit, *end = hit;
    while (start > text && !(start - text >= 2 && start[-1] == '\n' && start[-2] == '\n'))
        start--;
    while (end < text + len && !(end + 1 < text + len && end[0] == '\n' && end[1] == '\n'))
        end++;
    *plen = (size_t)(end - start);
    return start;
}

int cli_explain(int argc, char **argv) {
    cli_opts o;
    memset(&o, 0, sizeof o);
    int rc = cli_parse_opts(argc, argv, &o, CLI_TAKES_FILE);
    if (rc || o.help || o.question.len == 0) {
        FILE *out = o.help ? stdout : stderr;
        fprintf(out,
                "usage: ami explain NAME [--file FILE] [OPTIONS]\n"
                "Explains what a project or product name refers to and where it comes from.\n"
                "With --file, the paragraph of FILE where NAME appears goes along as context.\n%s",
                cli_common_help);
        buf_free(&o.question);
        return o.help && !rc ? CLI_OK : CLI_EUSAGE;
    }
    buf doc = {0};
    char err[512];
    prompt_turn t;
    memset(&t, 0, sizeof t);
    t.kind = PROMPT_EXPLAIN;
    t.name = o.question.data;
    if (o.file) {
        if (cli_read_all(o.file, &doc, err, sizeof err) != 0) {
            fprintf(stderr, "ami: %s\n", err);
            buf_free(&o.question);
            return CLI_EUSAGE;
        }
        size_t plen = 0;
        const char *para = find_paragraph(doc.data ? doc.data : "", doc.len, t.name, &plen);
        if (para) {
            t.document = para;
            t.document_len = plen;
        }
        t.path = o.file;
    }
    rc = run_request("explain", &o, &t, NULL, NULL);
    buf_free(&doc);
    buf_free(&o.question);
    return rc;
}
