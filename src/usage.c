/* usage: `ami usage`.  See include/ami/usage.h. */
#include "ami/usage.h"

#include "ami/buf.h"
#include "ami/config.h"
#include "ami/cost.h"
#include "ami/ledger.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#define EXIT_LEDGER 1
#define EXIT_USAGE  2
#define MAX_MONTHS  12  /* rows of the by-month table */
#define SCAN_MONTHS 240 /* months fetched, so an old --month still finds its predecessors */

/* What the ledger answered, copied out of its callbacks. */
typedef struct report {
    int rc;
    char err[512];
    ledger_totals month; /* by_model points into models */
    ledger_model_totals *models;
    size_t n_models;
    ledger_totals *months;
    size_t n_months;
} report;

static void report_free(report *r) {
    for (size_t i = 0; i < r->n_models; i++)
        free((char *)r->models[i].model);
    free(r->models);
    free(r->months);
}

static void fail(report *r, int rc, const char *err) {
    if (r->rc == 0) {
        r->rc = rc;
        snprintf(r->err, sizeof r->err, "%s", err ? err : "the ledger could not be read");
    }
}

static void on_month(void *ud, int rc, const ledger_totals *t, const char *err) {
    report *r = ud;
    if (rc < 0) {
        fail(r, rc, err);
        return;
    }
    r->month = *t;
    r->models = calloc(t->n_by_model ? t->n_by_model : 1, sizeof *r->models);
    if (!r->models) {
        fail(r, LEDGER_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < t->n_by_model; i++) {
        r->models[i] = t->by_model[i];
        r->models[i].model = strdup(t->by_model[i].model);
        if (!r->models[i].model) {
            fail(r, LEDGER_ENOMEM, "out of memory");
            return;
        }
        r->n_models++;
    }
    r->month.by_model = r->models;
    r->month.n_by_model = r->n_models;
}

static void on_months(void *ud, int rc, const ledger_totals *m, size_t n, const char *err) {
    report *r = ud;
    if (rc < 0) {
        fail(r, rc, err);
        return;
    }
    r->months = calloc(n ? n : 1, sizeof *r->months);
    if (!r->months) {
        fail(r, LEDGER_ENOMEM, "out of memory");
        return;
    }
    memcpy(r->months, m, n * sizeof *m);
    r->n_months = n;
}

/* Reads the chosen month and the monthly totals; 0, or the ledger's error code with r->err. */
static int read_ledger(const char *path, const char *month, report *r) {
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        fail(r, LEDGER_ENOMEM, "cannot start an event loop");
        return r->rc;
    }
    ledger *l = ledger_new(&loop, path, 0);
    if (!l) {
        fail(r, LEDGER_ENOMEM, "out of memory");
    } else {
        int rc = ledger_month(l, month, on_month, r);
        if (rc == 0)
            rc = ledger_months(l, SCAN_MONTHS, on_months, r);
        if (rc < 0)
            fail(r, rc, ledger_error(l));
        ledger_close(l, NULL, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return r->rc;
}

/* ---- text ------------------------------------------------------------------------------- */

/* 1234567 -> "1,234,567" */
static void fmt_int(long long v, char *out, size_t n) {
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
    size_t len = strlen(digits), o = 0;
    if (v < 0 && o + 1 < n)
        out[o++] = '-';
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && o + 1 < n)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* Columns on screen: UTF-8 continuation bytes take none ("CO₂e" is 4 wide). */
static size_t width(const char *s) {
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

#define NCOLS 9
#define CELL  64

typedef struct table {
    int ncols;
    char (*cells)[NCOLS][CELL]; /* row 0 is the header */
    size_t rows, cap;
} table;

static char (*table_row(table *t))[CELL] {
    if (t->rows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        void *p = realloc(t->cells, ncap * sizeof *t->cells);
        if (!p)
            return NULL;
        t->cells = p;
        t->cap = ncap;
    }
    memset(t->cells[t->rows], 0, sizeof t->cells[t->rows]);
    return t->cells[t->rows++];
}

/* Prints the table, two spaces of indent, the first column left-aligned, the rest right. */
static void table_print(const table *t) {
    size_t w[NCOLS] = {0};
    for (size_t r = 0; r < t->rows; r++)
        for (int c = 0; c < t->ncols; c++)
            if (width(t->cells[r][c]) > w[c])
                w[c] = width(t->cells[r][c]);
    for (size_t r = 0; r < t->rows; r++) {
        buf line = {0};
        buf_append_str(&line, " ");
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r][c];
            size_t pad = w[c] - width(s);
            buf_append_str(&line, c == 0 ? " " : "  ");
            if (c > 0)
                for (size_t i = 0; i < pad; i++)
                    buf_append_byte(&line, ' ');
            buf_append_str(&line, s);
            if (c == 0)
                for (size_t i = 0; i < pad; i++)
                    buf_append_byte(&line, ' ');
        }
        while (line.len > 0 && line.data[line.len - 1] == ' ')
            line.data[--line.len] = '\0';
        printf("%s\n", line.data ? line.data : "");
        buf_free(&line);
    }
}

/* The money cells: the total ("~" when part of it is an estimate, "+?" when some requests'
 * cost is unknown, so a lower bound never passes for the whole; "unknown" when nothing is
 * known), the estimated part, and the number of requests of unknown cost ("-" for none). */
static void money_cells(double cost, double estimated, long long requests, long long unknown,
                        char *c_cost, char *c_est, char *c_unknown) {
    if (unknown > 0 && unknown >= requests) {
        snprintf(c_cost, CELL, "unknown");
    } else {
        cost_format(cost, estimated > 0 ? COST_ESTIMATED : COST_REPORTED, c_cost, CELL);
        if (unknown > 0 && strlen(c_cost) + 3 <= CELL)
            strcat(c_cost, "+?");
    }
    if (estimated > 0)
        cost_format(estimated, COST_ESTIMATED, c_est, CELL);
    else
        snprintf(c_est, CELL, "-");
    if (unknown > 0)
        fmt_int(unknown, c_unknown, CELL);
    else
        snprintf(c_unknown, CELL, "-");
}

static const char *const month_header[NCOLS] = {"month",     "requests",   "threads",
                                                "tokens in", "tokens out", "cost",
                                                "estimated", "unknown",    "carbon (est.)"};
static const char *const model_header[NCOLS] = {"model",      "requests",      "tokens in",
                                                "tokens out", "cost",          "estimated",
                                                "unknown",    "carbon (est.)", ""};

static int month_row(table *t, const ledger_totals *m) {
    char(*row)[CELL] = table_row(t);
    if (!row)
        return -1;
    snprintf(row[0], CELL, "%s", m->month);
    fmt_int(m->requests, row[1], CELL);
    fmt_int(m->threads, row[2], CELL);
    fmt_int(m->prompt_tokens, row[3], CELL);
    fmt_int(m->completion_tokens, row[4], CELL);
    money_cells(m->cost_usd, m->estimated_cost_usd, m->requests, m->unknown_cost_requests, row[5],
                row[6], row[7]);
    cost_format_carbon(m->co2e_g, row[8], CELL);
    return 0;
}

static int print_text(const char *path, const char *month, const report *r, int missing,
                      int enabled) {
    int rc = -1;
    table months = {NCOLS, NULL, 0, 0}, models = {8, NULL, 0, 0};
    char(*row)[CELL];

    printf("ami usage for %s — ledger %s\n", month, path);
    if (missing)
        printf("\nNo requests recorded yet: there is no ledger file.\n");
    if (!enabled)
        printf("\nRecording is off (ledger.enabled = false): new requests are not counted.\n");
    if (missing)
        return 0;

    /* By month: the chosen month (even when empty), then the earlier months with rows. */
    if (!(row = table_row(&months)))
        goto out;
    for (int c = 0; c < NCOLS; c++)
        snprintf(row[c], CELL, "%s", month_header[c]);
    if (month_row(&months, &r->month) != 0)
        goto out;
    for (size_t i = 0; i < r->n_months && months.rows < MAX_MONTHS + 1; i++)
        if (strcmp(r->months[i].month, month) < 0 && month_row(&months, &r->months[i]) != 0)
            goto out;
    printf("\nBy month\n");
    table_print(&months);

    printf("\nBy model, %s\n", month);
    if (r->n_models == 0) {
        printf("  no requests this month\n");
    } else {
        if (!(row = table_row(&models)))
            goto out;
        for (int c = 0; c < NCOLS; c++)
            snprintf(row[c], CELL, "%s", model_header[c]);
        for (size_t i = 0; i < r->n_models; i++) {
            const ledger_model_totals *m = &r->models[i];
            if (!(row = table_row(&models)))
                goto out;
            snprintf(row[0], CELL, "%s", m->model);
            fmt_int(m->requests, row[1], CELL);
            fmt_int(m->prompt_tokens, row[2], CELL);
            fmt_int(m->completion_tokens, row[3], CELL);
            money_cells(m->cost_usd, m->estimated_cost_usd, m->requests, m->unknown_cost_requests,
                        row[4], row[5], row[6]);
            cost_format_carbon(m->co2e_g, row[7], CELL);
        }
        table_print(&models);
    }

    if (r->month.refused > 0)
        printf("\n%lld request%s refused by the budget in %s (never sent, not counted above).\n",
               r->month.refused, r->month.refused == 1 ? " was" : "s were", month);
    printf("\ncost: as the provider reported it; ~ marks amounts ami estimated from prices.\n"
           "unknown: requests whose cost could not be known; +? marks a total without them.\n"
           "carbon: an order-of-magnitude estimate from token counts.\n");
    rc = 0;
out:
    free(months.cells);
    free(models.cells);
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------- */

/* Sums of doubles carry binary noise (0.1 + 0.2); a nanodollar is far below any price.
 * Dividing the rounded integer (rather than multiplying by 1e-9) gives the double nearest the
 * decimal value, which prints as that decimal. */
static double round_to(double v, double per_unit) {
    return round(v * per_unit) / per_unit;
}

static int add_totals(cJSON *o, long long requests, long long prompt, long long completion,
                      double cost, double estimated, long long unknown, double co2) {
    return cJSON_AddNumberToObject(o, "requests", (double)requests) &&
           cJSON_AddNumberToObject(o, "prompt_tokens", (double)prompt) &&
           cJSON_AddNumberToObject(o, "completion_tokens", (double)completion) &&
           cJSON_AddNumberToObject(o, "cost_usd", round_to(cost, 1e9)) &&
           cJSON_AddNumberToObject(o, "estimated_cost_usd", round_to(estimated, 1e9)) &&
           cJSON_AddNumberToObject(o, "unknown_cost_requests", (double)unknown) &&
           cJSON_AddNumberToObject(o, "co2e_g", round_to(co2, 1e6));
}

static int print_json(const char *month, const report *r) {
    const ledger_totals *t = &r->month;
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "month", month) &&
             add_totals(o, t->requests, t->prompt_tokens, t->completion_tokens, t->cost_usd,
                        t->estimated_cost_usd, t->unknown_cost_requests, t->co2e_g) &&
             cJSON_AddNumberToObject(o, "threads", (double)t->threads) &&
             cJSON_AddNumberToObject(o, "refused", (double)t->refused);
    cJSON *models = ok ? cJSON_AddArrayToObject(o, "by_model") : NULL;
    ok = models != NULL;
    for (size_t i = 0; ok && i < r->n_models; i++) {
        const ledger_model_totals *m = &r->models[i];
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(models, e) &&
             cJSON_AddStringToObject(e, "model", m->model) &&
             add_totals(e, m->requests, m->prompt_tokens, m->completion_tokens, m->cost_usd,
                        m->estimated_cost_usd, m->unknown_cost_requests, m->co2e_g);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

static void print_usage(FILE *out) {
    fprintf(out, "usage: ami usage [--month YYYY-MM] [--json]\n"
                 "  --month YYYY-MM   the month to report (default: this month, local time)\n"
                 "  --json            one JSON object for that month instead of tables\n");
}

int usage_main(int argc, char **argv) {
    const char *month_arg = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--month") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ami usage: --month needs a month, as YYYY-MM (e.g. 2025-03)\n");
                return EXIT_USAGE;
            }
            month_arg = argv[++i];
        } else if (strncmp(a, "--month=", 8) == 0) {
            month_arg = a + 8;
        } else {
            fprintf(stderr, "ami usage: unknown argument '%s'\n", a);
            print_usage(stderr);
            return EXIT_USAGE;
        }
    }
    char month[8];
    if (month_arg) {
        if (!ledger_month_valid(month_arg)) {
            fprintf(stderr,
                    "ami usage: --month wants a month as YYYY-MM (e.g. 2025-03), not '%s'\n",
                    month_arg);
            return EXIT_USAGE;
        }
        memcpy(month, month_arg, 8);
    } else if (ledger_month_of(time(NULL), month) != 0) {
        fprintf(stderr, "ami usage: cannot tell the current month\n");
        return EXIT_LEDGER;
    }

    ami_config cfg;
    char err[512];
    if (config_init(&cfg) != 0) {
        fprintf(stderr, "ami usage: out of memory\n");
        return EXIT_LEDGER;
    }
    char *cfg_path = config_default_path();
    int exit_code = EXIT_USAGE;
    char *path = NULL;
    report r;
    memset(&r, 0, sizeof r);
    if (!cfg_path || config_load_file(&cfg, cfg_path, 1, err, sizeof err) < 0) {
        fprintf(stderr, "ami usage: %s\n", cfg_path ? err : "out of memory");
        goto out;
    }
    exit_code = EXIT_LEDGER;
    path = config_ledger_path(&cfg);
    if (!path) {
        fprintf(stderr, "ami usage: out of memory\n");
        goto out;
    }

    /* A missing file means nothing was recorded yet; opening it would create it, and a
     * report should leave no trace. */
    struct stat st;
    int missing = stat(path, &st) != 0 && errno == ENOENT;
    snprintf(r.month.month, sizeof r.month.month, "%s", month);
    if (!missing && read_ledger(path, month, &r) < 0) {
        fprintf(stderr, "ami usage: %s\n", r.err);
        goto out;
    }
    if ((json ? print_json(month, &r) : print_text(path, month, &r, missing, cfg.ledger_enabled)) !=
        0) {
        fprintf(stderr, "ami usage: out of memory\n");
        goto out;
    }
    exit_code = fflush(stdout) == 0 ? 0 : EXIT_LEDGER;
out:
    report_free(&r);
    free(path);
    free(cfg_path);
    config_free(&cfg);
    return exit_code;
}
