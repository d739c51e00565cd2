/* cli_arena: the personal arena from the shell.  `ami compare` asks two models the same
 * question, shows both answers and asks for a vote on a terminal; `ami vote` records one
 * later; `ami arena` prints the leaderboard.  See include/ami/cli.h. */
#include "ami/cli.h"

#include "ami/arena_report.h"
#include "ami/compare.h"
#include "ami/config.h"
#include "ami/cost.h"
#include "ami/engine.h"
#include "ami/http.h"
#include "ami/ledger_votes.h"
#include "ami/log.h"
#include "ami/utf8.h"
#include "cli_internal.h"

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* ---- compare ------------------------------------------------------------------------------- */

typedef struct side {
    request *req;
    buf text;
    int done;
    int exit_code;
    request_result res; /* copied at the end (strings below) */
    char model_answered[160];
    char message[512];
    char language[32];
} side;

typedef struct pair_run {
    uv_loop_t *loop;
    engine *eng;
    side s[2];
    int json, blind;
    int ended;
    int interrupted;
    uv_signal_t sigint, sigterm;
} pair_run;

static int side_of(pair_run *P, request *r) {
    return P->s[0].req == r ? 0 : 1;
}

static void pr_batch(void *ud) {
    (void)ud;
}

static void pr_text(void *ud, void *answer, const char *text, size_t len) {
    pair_run *P = ud;
    int i = side_of(P, answer);
    if (P->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "delta");
        cJSON_AddStringToObject(o, "side", i ? "b" : "a");
        char *copy = strndup(text, len);
        cJSON_AddStringToObject(o, "text", copy ? copy : "");
        free(copy);
        cli_print_json(o);
    }
    buf_append(&P->s[i].text, text, len);
}

static void pr_event(void *ud, request *r, const request_event *ev) {
    pair_run *P = ud;
    int i = side_of(P, r);
    side *S = &P->s[i];
    if (ev->type == REQUEST_EV_START && ev->language)
        snprintf(S->language, sizeof S->language, "%s", ev->language);
    if (ev->type == REQUEST_EV_SECRETS && i == 0 && !P->json) /* both sides mask alike */
        cli_report_secrets(ev, NULL);
    if (ev->type == REQUEST_EV_NOTICE || ev->type == REQUEST_EV_RETRY)
        fprintf(stderr, "ami: %s: %s\n", i ? "B" : "A", ev->message);
    if (ev->type == REQUEST_EV_NOTE && P->json) {
        const request_note *n = ev->margin_note;
        if (n->phase == REQUEST_NOTE_QUOTE) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", "note");
            cJSON_AddStringToObject(o, "side", i ? "b" : "a");
            cJSON_AddStringToObject(o, "quote", n->quote ? n->quote : "");
            cJSON_AddStringToObject(o, "anchor", n->anchor ? n->anchor : "unanchored");
            cli_print_json(o);
        }
    }
    if (ev->type != REQUEST_EV_DONE)
        return;
    const request_result *res = ev->result;
    S->done = 1;
    S->res = *res;
    snprintf(S->model_answered, sizeof S->model_answered, "%s",
             res->model_answered ? res->model_answered
             : res->model        ? res->model
                                 : "?");
    snprintf(S->message, sizeof S->message, "%s", res->message ? res->message : "");
    S->res.model_answered = S->res.model = S->res.provider = S->res.finish_reason = NULL;
    S->res.message = S->res.error_kind = NULL;
    S->exit_code = cli_exit_for(res->state, res->error_kind);
    if (P->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", res->state == REQUEST_DONE ? "done" : "error");
        cJSON_AddStringToObject(o, "side", i ? "b" : "a");
        cJSON_AddStringToObject(o, "status", request_state_name(res->state));
        cJSON_AddStringToObject(o, "model", S->model_answered);
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)res->prompt_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens", (double)res->completion_tokens);
        if (res->cost_source == COST_UNKNOWN)
            cJSON_AddNullToObject(u, "cost_usd");
        else
            cJSON_AddNumberToObject(u, "cost_usd", res->cost_usd);
        cJSON_AddNumberToObject(o, "duration_ms", (double)res->duration_ms);
        if (res->message)
            cJSON_AddStringToObject(o, "message", res->message);
        cli_print_json(o);
    } else if (res->state != REQUEST_DONE && res->message) {
        fprintf(stderr, "ami: %s: %s\n", i ? "B" : "A", res->message);
    }
    P->ended = P->s[0].done && P->s[1].done;
}

static void pr_signal(uv_signal_t *sig, int signum) {
    (void)signum;
    pair_run *P = sig->data;
    P->interrupted = 1;
    for (int i = 0; i < 2; i++)
        if (!P->s[i].done && P->s[i].req)
            request_cancel(P->s[i].req, "interrupted (SIGINT)");
}

static void pr_check(uv_check_t *c) {
    pair_run *P = c->data;
    if (P->ended) {
        uv_check_stop(c);
        uv_stop(P->loop); /* back to cli_compare: the vote, then the engine closes */
    }
}

static int terminal_width(void) {
    struct winsize w;
    if (ioctl(1, TIOCGWINSZ, &w) == 0 && w.ws_col > 0)
        return w.ws_col;
    const char *c = getenv("COLUMNS");
    return c && atoi(c) > 0 ? atoi(c) : 80;
}

/* Display cells of s[0..n): code points (good enough for the prose answers are made of). */
static size_t cells(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* The next line of text wrapped to width cells: its length in bytes, *next where the rest
 * starts.  Breaks at a space when it can, never inside a code point. */
static size_t wrap_line(const char *s, size_t n, size_t width, size_t *next) {
    size_t i = 0, c = 0, last_space = 0;
    while (i < n && s[i] != '\n') {
        if (c == width)
            break;
        if (s[i] == ' ')
            last_space = i;
        size_t k = i + 1;
        while (k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
            k++;
        i = k;
        c++;
    }
    if (i < n && s[i] == '\n') {
        *next = i + 1;
        return i;
    }
    if (i < n && last_space > 0) {
        *next = last_space + 1;
        return last_space;
    }
    *next = i;
    return i;
}

static void print_columns(const buf *a, const buf *b, int width) {
    size_t col = (size_t)(width - 3) / 2;
    const char *pa = a->data ? a->data : "", *pb = b->data ? b->data : "";
    size_t na = a->len, nb = b->len;
    while (na || nb) {
        size_t next, la = na ? wrap_line(pa, na, col, &next) : 0;
        size_t ca = cells(pa, la);
        fwrite(pa, 1, la, stdout);
        if (na) {
            na -= next;
            pa += next;
        }
        for (size_t k = ca; k < col; k++)
            fputc(' ', stdout);
        fputs(" │ ", stdout);
        size_t lb = nb ? wrap_line(pb, nb, col, &next) : 0;
        fwrite(pb, 1, lb, stdout);
        if (nb) {
            nb -= next;
            pb += next;
        }
        fputc('\n', stdout);
    }
}

static void side_footer(const pair_run *P, int i, int reveal, char *out, size_t n) {
    const side *S = &P->s[i];
    char cost[48] = "cost hidden";
    if (reveal)
        cost_format(S->res.cost_usd, (cost_source)S->res.cost_source, cost, sizeof cost);
    snprintf(out, n, "%s: %s%s%ld in · %ld out · %.1f s · %s%s%s", i ? "B" : "A",
             reveal ? S->model_answered : "", reveal ? " · " : "", S->res.prompt_tokens,
             S->res.completion_tokens, (double)S->res.duration_ms / 1000, cost,
             S->res.state != REQUEST_DONE ? " · " : "",
             S->res.state != REQUEST_DONE ? request_state_name(S->res.state) : "");
}

static void print_pair(const pair_run *P, int reveal) {
    int width = isatty(1) ? terminal_width() : 80;
    char fa[512], fb[512];
    side_footer(P, 0, reveal, fa, sizeof fa);
    side_footer(P, 1, reveal, fb, sizeof fb);
    const char *hidden = P->blind && !reveal ? " (the models are hidden until you vote)" : "";
    if (width >= 140 && isatty(1)) {
        printf("── A ──%s\n", hidden);
        print_columns(&P->s[0].text, &P->s[1].text, width);
        printf("%s\n%s\n", fa, fb);
    } else {
        printf("── A ──────────────────────────────────────────%s\n%s%s", hidden,
               P->s[0].text.data ? P->s[0].text.data : "",
               P->s[0].text.len && P->s[0].text.data[P->s[0].text.len - 1] != '\n' ? "\n" : "");
        printf("%s\n\n── B ──────────────────────────────────────────\n%s%s", fa,
               P->s[1].text.data ? P->s[1].text.data : "",
               P->s[1].text.len && P->s[1].text.data[P->s[1].text.len - 1] != '\n' ? "\n" : "");
        printf("%s\n", fb);
    }
    fflush(stdout);
}

typedef struct vote_wait {
    int done, rc;
    char err[512];
} vote_wait;

static void on_voted(void *ud, int rc, const char *err) {
    vote_wait *w = ud;
    w->done = 1;
    w->rc = rc;
    snprintf(w->err, sizeof w->err, "%s", err ? err : "");
}

/* Reads the writer's vote on the terminal: "a", "b", "tie", "bad", or NULL (skip). */
static const char *ask_vote(void) {
    char line[64];
    for (;;) {
        fputs("Which answer helps you more? a / b / t(ie) / n(either: both bad) / s(kip): ",
              stderr);
        fflush(stderr);
        if (!fgets(line, sizeof line, stdin))
            return NULL;
        char c = line[0];
        if (c == 'a' || c == 'A')
            return "a";
        if (c == 'b' || c == 'B')
            return "b";
        if (c == 't' || c == 'T')
            return "tie";
        if (c == 'n' || c == 'N')
            return "bad";
        if (c == 's' || c == 'S' || c == '\n')
            return NULL;
    }
}

static void pr_closed(void *ud) {
    pair_run *P = ud;
    uv_signal_stop(&P->sigint);
    uv_signal_stop(&P->sigterm);
    uv_close((uv_handle_t *)&P->sigint, NULL);
    uv_close((uv_handle_t *)&P->sigterm, NULL);
}

int cli_compare(int argc, char **argv) {
    cli_opts o;
    memset(&o, 0, sizeof o);
    const char *file = NULL;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-' &&
            !(i > 1 && argv[i - 1][0] == '-' && argv[i - 1][1] == '-' &&
              strcmp(argv[i - 1], "--json") && strcmp(argv[i - 1], "--no-ledger"))) {
            file = argv[i];
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof *argv);
            argc--;
            break;
        }
    int rc = cli_parse_opts(argc, argv, &o, CLI_TAKES_LINES | CLI_TAKES_MODELS);
    if (rc || o.help || !file) {
        FILE *out = o.help ? stdout : stderr;
        fprintf(
            out,
            "usage: ami compare FILE [--lines A-B] [--models M1,M2] [OPTIONS] [QUESTION...]\n"
            "Asks two models the same critique of lines A-B of FILE at once, shows both\n"
            "answers (side by side on a wide terminal), then on a terminal asks which helps\n"
            "more and records the vote for `ami arena`.  The order of A and B is random;\n"
            "with compare.blind (the default) the models are named only after the vote.\n"
            "  --models M1,M2    the two models (default: compare.models of the config)\n"
            "  --json            both streams' events tagged \"side\":\"a\"|\"b\", then a\n"
            "                    {\"type\":\"pair\"} event; no prompt (vote with `ami vote`)\n%s",
            cli_common_help);
        buf_free(&o.question);
        return o.help && !rc ? CLI_OK : CLI_EUSAGE;
    }
    buf doc = {0};
    char err[512];
    prompt_turn t;
    if (cli_critique_turn(&o, file, &doc, &t) != 0) {
        buf_free(&o.question);
        return CLI_EUSAGE;
    }
    ami_config cfg;
    if ((rc = cli_load_config(&o, &cfg)) != 0) {
        buf_free(&doc);
        buf_free(&o.question);
        return rc;
    }
    /* The two models: --models, else compare.models (the current model and the next). */
    char *given = o.models ? strdup(o.models) : NULL;
    const char *models[2] = {NULL, NULL};
    if (given) {
        char *comma = strchr(given, ',');
        if (comma) {
            *comma = '\0';
            models[0] = given;
            models[1] = comma + 1;
        }
        if (!comma || !*models[0] || !*models[1] || strchr(models[1], ',')) {
            fprintf(stderr, "ami: --models needs two model ids separated by a comma\n");
            free(given);
            config_free(&cfg);
            buf_free(&doc);
            buf_free(&o.question);
            return CLI_EUSAGE;
        }
    } else if (compare_choose(o.model ? o.model : cfg.model,
                              (const char *const *)cfg.compare_models, cfg.n_compare_models, models,
                              err, sizeof err) != 0) {
        fprintf(stderr, "ami: %s\n", err);
        config_free(&cfg);
        buf_free(&doc);
        buf_free(&o.question);
        return CLI_EUSAGE;
    }
    char m0[256], m1[256];
    snprintf(m0, sizeof m0, "%s", models[0]);
    snprintf(m1, sizeof m1, "%s", models[1]);
    free(given);
    if (!cli_training_ok(&o, &cfg, m0) || !cli_training_ok(&o, &cfg, m1)) {
        config_free(&cfg);
        buf_free(&doc);
        buf_free(&o.question);
        return CLI_EUSAGE;
    }
    int blind = cfg.compare_blind;
    int notes = cfg.notes_enabled;
    if (http_global_init() != 0) {
        config_free(&cfg);
        buf_free(&doc);
        buf_free(&o.question);
        fprintf(stderr, "ami: cannot initialise libcurl\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    pair_run P;
    memset(&P, 0, sizeof P);
    P.loop = uv_default_loop();
    P.json = o.json;
    P.blind = blind;
    static const engine_sink sink = {{pr_batch, pr_text, pr_batch}, pr_event};
    P.eng = engine_new(P.loop, "cli", &cfg, &sink, &P);
    char *abs = strcmp(file, "-") != 0 ? realpath(file, NULL) : NULL;
    compare_params cp;
    memset(&cp, 0, sizeof cp);
    cp.base.command = "critique";
    cp.base.turns = &t;
    cp.base.n_turns = 1;
    cp.base.system = o.system;
    cp.base.document = abs;
    cp.base.no_ledger = o.no_ledger;
    cp.base.notes = notes;
    cp.models[0] = m0;
    cp.models[1] = m1;
    cp.blind = blind;
    const char *swap = getenv("AMI_COMPARE_SWAP"); /* tests: "0" or "1" instead of random */
    cp.swap = swap && (*swap == '0' || *swap == '1') ? *swap - '0' : -1;
    compare_pair pair;
    int started = P.eng && compare_start(P.eng, &cp, NULL, NULL, &pair, err, sizeof err) == 0;
    if (!started) {
        fprintf(stderr, "ami: %s\n", P.eng ? err : "out of memory");
        if (P.eng)
            engine_close(P.eng, NULL, NULL);
        uv_run(P.loop, UV_RUN_DEFAULT);
        uv_loop_close(P.loop);
        http_global_cleanup();
        free(abs);
        config_free(&cfg);
        buf_free(&doc);
        buf_free(&o.question);
        return P.eng ? CLI_EUSAGE : 1;
    }
    P.s[0].req = pair.side[0];
    P.s[1].req = pair.side[1];
    if (!P.json)
        fprintf(stderr, "ami: asking two models at once%s…\n",
                blind ? " (their names stay hidden until you vote)" : "");
    uv_signal_init(P.loop, &P.sigint);
    uv_signal_init(P.loop, &P.sigterm);
    P.sigint.data = P.sigterm.data = &P;
    uv_signal_start(&P.sigint, pr_signal, SIGINT);
    uv_signal_start(&P.sigterm, pr_signal, SIGTERM);
    uv_check_t check;
    uv_check_init(P.loop, &check);
    check.data = &P;
    uv_check_start(&check, pr_check);
    uv_run(P.loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&check, NULL);

    int exit_code = P.interrupted      ? CLI_EINT
                    : P.s[0].exit_code ? P.s[0].exit_code
                                       : P.s[1].exit_code;
    ledger *l = o.no_ledger ? NULL : engine_ledger(P.eng);
    if (P.json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "pair");
        cJSON_AddStringToObject(e, "pair", pair.pair);
        cJSON_AddBoolToObject(e, "swapped", pair.swapped);
        cJSON_AddBoolToObject(e, "blind", blind);
        cJSON *a = cJSON_AddObjectToObject(e, "a"), *b = cJSON_AddObjectToObject(e, "b");
        cJSON_AddStringToObject(a, "model", pair.model[0]);
        cJSON_AddStringToObject(b, "model", pair.model[1]);
        cli_print_json(e);
    } else {
        print_pair(&P, !blind);
        const char *vote = NULL;
        int both = P.s[0].res.state == REQUEST_DONE && P.s[1].res.state == REQUEST_DONE;
        if (both && isatty(0) && !P.interrupted && l)
            vote = ask_vote();
        if (vote) {
            vote_wait w = {0};
            if (ledger_votes_set(l, pair.pair, vote, P.s[0].language[0] ? P.s[0].language : NULL,
                                 on_voted, &w) == 0)
                while (!w.done && uv_run(P.loop, UV_RUN_ONCE))
                    ;
            if (!w.done || w.rc != 0)
                fprintf(stderr, "ami: the vote could not be recorded: %s\n",
                        w.done ? w.err : "the ledger is closed");
            else
                fprintf(stderr, "ami: vote recorded (%s).\n", vote);
        } else if (both && !P.interrupted) {
            fprintf(stderr, "ami: no vote; vote later with: ami vote %s a|b|tie|bad\n", pair.pair);
        }
        if (blind) {
            char fa[512], fb[512];
            side_footer(&P, 0, 1, fa, sizeof fa);
            side_footer(&P, 1, 1, fb, sizeof fb);
            fprintf(stderr, "ami: %s\nami: %s\n", fa, fb);
        }
    }
    engine_close(P.eng, pr_closed, &P);
    uv_run(P.loop, UV_RUN_DEFAULT);
    uv_loop_close(P.loop);
    http_global_cleanup();
    secret_clear();
    buf_free(&P.s[0].text);
    buf_free(&P.s[1].text);
    free(abs);
    buf_free(&doc);
    buf_free(&o.question);
    return exit_code;
}

/* ---- vote and arena: the ledger alone ----------------------------------------------------------
 */

typedef struct ledger_run {
    uv_loop_t *loop;
    ledger *l;
    int json;
    int rc;
    arena_report_options ro;
    char filters[256];
} ledger_run;

static int open_ledger(const cli_opts *o, ledger_run *L, ami_config *cfg) {
    int rc = cli_load_config(o, cfg);
    if (rc)
        return rc;
    if (!cfg->ledger_enabled) {
        fprintf(stderr,
                "ami: the ledger is turned off (ledger.enabled = false): votes live there\n");
        config_free(cfg);
        return CLI_EUSAGE;
    }
    char *path = config_ledger_path(cfg);
    L->loop = uv_default_loop();
    L->l = path ? ledger_new(L->loop, path, cfg->ledger_store_text) : NULL;
    free(path);
    if (!L->l) {
        fprintf(stderr, "ami: out of memory\n");
        config_free(cfg);
        return 1;
    }
    return 0;
}

static void close_ledger(ledger_run *L) {
    ledger_close(L->l, NULL, NULL);
    uv_run(L->loop, UV_RUN_DEFAULT);
    uv_loop_close(L->loop);
}

static void on_vote_set(void *ud, int rc, const char *err) {
    ledger_run *L = ud;
    if (rc == 0)
        fprintf(stderr, "ami: vote recorded.\n");
    else
        fprintf(stderr, "ami: %s\n", err ? err : "the vote could not be recorded");
    L->rc = rc == 0 ? CLI_OK : rc == LEDGER_EINVAL ? CLI_EUSAGE : 1;
}

int cli_vote(int argc, char **argv) {
    if (argc != 3 || strcmp(argv[1], "--help") == 0) {
        FILE *out = argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr;
        fprintf(out,
                "usage: ami vote PAIR a|b|tie|bad\n"
                "Records (or changes) the vote on a pair of answers that `ami compare --json`\n"
                "named: a or b helped more, tie (both good), bad (both bad).\n");
        return out == stdout ? CLI_OK : CLI_EUSAGE;
    }
    const char *r = argv[2];
    if (strcmp(r, "a") && strcmp(r, "b") && strcmp(r, "tie") && strcmp(r, "bad")) {
        fprintf(stderr, "ami: the vote is a, b, tie or bad, not \"%s\"\n", r);
        return CLI_EUSAGE;
    }
    cli_opts o;
    memset(&o, 0, sizeof o);
    ledger_run L;
    memset(&L, 0, sizeof L);
    ami_config cfg;
    int rc = open_ledger(&o, &L, &cfg);
    if (rc)
        return rc;
    L.rc = 1;
    if (ledger_votes_set(L.l, argv[1], r, NULL, on_vote_set, &L) != 0)
        fprintf(stderr, "ami: %s\n",
                ledger_error(L.l) ? ledger_error(L.l) : "the vote could not be recorded");
    close_ledger(&L);
    config_free(&cfg);
    return L.rc;
}

static void on_votes(void *ud, int rc, const ledger_vote *votes, size_t n, const char *err) {
    ledger_run *L = ud;
    if (rc != 0) {
        fprintf(stderr, "ami: %s\n", err ? err : "the votes cannot be read");
        L->rc = 1;
        return;
    }
    if (L->json) {
        cJSON *j = arena_report_json(votes, n, &L->ro);
        if (!j) {
            L->rc = 1;
            return;
        }
        cli_print_json(j);
        L->rc = CLI_OK;
    } else {
        buf out = {0};
        L->rc = arena_report_text(votes, n, &L->ro, &out) == 0 ? CLI_OK : 1;
        fputs(out.data ? out.data : "", stdout);
        buf_free(&out);
    }
}

int cli_arena(int argc, char **argv) {
    cli_opts o;
    memset(&o, 0, sizeof o);
    ledger_vote_filter f;
    memset(&f, 0, sizeof f);
    long min_votes = -1;
    ledger_run L;
    memset(&L, 0, sizeof L);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            L.json = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: ami arena [--command critique|explain|ask] [--language fr]\n"
                   "                 [--since YYYY-MM] [--min-votes N] [--json]\n"
                   "Ranks the models you compared by your own votes: a Bradley-Terry strength\n"
                   "with 95 %% bootstrap intervals, votes, wins / ties / losses, the median cost\n"
                   "of an answer and the median time to the full answer.  Models with fewer\n"
                   "votes than compare.min_votes (default 5) are listed apart.\n");
            return CLI_OK;
        } else if (v && strcmp(a, "--command") == 0) {
            f.command = v;
            i++;
        } else if (v && strcmp(a, "--language") == 0) {
            f.language = v;
            i++;
        } else if (v && strcmp(a, "--since") == 0) {
            struct tm tm = {0};
            if (strlen(v) != 7 || sscanf(v, "%4d-%2d", &tm.tm_year, &tm.tm_mon) != 2 ||
                tm.tm_mon < 1 || tm.tm_mon > 12) {
                fprintf(stderr, "ami: --since needs a month YYYY-MM, not \"%s\"\n", v);
                return CLI_EUSAGE;
            }
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            tm.tm_mday = 1;
            tm.tm_isdst = -1;
            f.since = mktime(&tm);
            i++;
        } else if (v && strcmp(a, "--min-votes") == 0) {
            char *end;
            min_votes = strtol(v, &end, 10);
            if (*end || min_votes < 1) {
                fprintf(stderr, "ami: --min-votes needs a positive whole number\n");
                return CLI_EUSAGE;
            }
            i++;
        } else {
            fprintf(stderr, "ami: arena: unknown option %s (see --help)\n", a);
            return CLI_EUSAGE;
        }
    }
    ami_config cfg;
    int rc = open_ledger(&o, &L, &cfg);
    if (rc)
        return rc;
    L.ro.min_votes = (unsigned)(min_votes > 0 ? min_votes : cfg.compare_min_votes);
    int w = 0;
    for (const char *parts[] = {f.command, f.language}, **p = parts; p < parts + 2; p++)
        if (*p)
            w += snprintf(L.filters + w, sizeof L.filters - (size_t)w, "%s%s", w ? ", " : "", *p);
    for (int i = 1; i < argc - 1; i++)
        if (strcmp(argv[i], "--since") == 0 && w < (int)sizeof L.filters)
            snprintf(L.filters + w, sizeof L.filters - (size_t)w, "%ssince %s", w ? ", " : "",
                     argv[i + 1]);
    L.ro.filters = L.filters[0] ? L.filters : NULL;
    L.rc = 1;
    if (ledger_votes_read(L.l, &f, on_votes, &L) != 0)
        fprintf(stderr, "ami: %s\n",
                ledger_error(L.l) ? ledger_error(L.l) : "the votes cannot be read");
    close_ledger(&L);
    config_free(&cfg);
    return L.rc;
}
