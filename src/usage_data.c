/* usage_data: the usage report's figures, from the ledger.  See include/ami/usage_data.h. */
#include "ami/usage_data.h"

#include "ami/cost.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COST_TOLERANCE 0.0001 /* a cent's hundredth: below it, two costs agree */

/* ---- months and days ---------------------------------------------------------------------- */

int usage_month_add(const char *m, int delta, char out[8]) {
    if (!m || strlen(m) != 7 || m[4] != '-')
        return -1;
    int y = atoi(m), mo = atoi(m + 5);
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12)
        return -1;
    int idx = y * 12 + (mo - 1) + delta;
    if (idx < 1970 * 12 || idx > 9999 * 12 + 11)
        return -1;
    snprintf(out, 8, "%04d-%02d", idx / 12, idx % 12 + 1);
    return 0;
}

/* The local time of the first instant of month m. */
static long long month_start_local(const char *m) {
    struct tm t = {0};
    t.tm_year = atoi(m) - 1900;
    t.tm_mon = atoi(m + 5) - 1;
    t.tm_mday = 1;
    t.tm_isdst = -1;
    return (long long)mktime(&t);
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm): no time zone involved. */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* UTC Unix seconds of "YYYY-MM-DD" (or of "YYYY-MM": its first day). */
static long long utc_of_day(const char *s) {
    unsigned d = strlen(s) >= 10 ? (unsigned)atoi(s + 8) : 1;
    return days_from_civil(atoll(s), (unsigned)atoi(s + 5), d) * 86400;
}

/* ---- labels ------------------------------------------------------------------------------- */

const char *usage_source_label(usage_source s) {
    static const char *const labels[USAGE_N_SOURCES] = {"ami", "OpenRouter (outside ami)",
                                                        "Open WebUI", "ChatGPT", "Claude"};
    return s < USAGE_N_SOURCES ? labels[s] : "?";
}

const char *usage_source_name(usage_source s) {
    static const char *const names[USAGE_N_SOURCES] = {"ami", "openrouter", "openwebui", "chatgpt",
                                                       "claude"};
    return s < USAGE_N_SOURCES ? names[s] : "?";
}

static int source_of_name(const char *name) {
    for (int s = 0; s < USAGE_N_SOURCES; s++)
        if (name && strcmp(name, usage_source_name((usage_source)s)) == 0)
            return s;
    return -1;
}

/* ---- cells -------------------------------------------------------------------------------- */

static void cell_add(usage_cell *to, const usage_cell *c) {
    if (c->threads > 0)
        to->threads += c->threads;
    to->answers += c->answers;
    if (c->user_messages > 0)
        to->user_messages += c->user_messages;
    to->tokens_in += c->tokens_in;
    to->tokens_out += c->tokens_out;
    to->tokens_unknown += c->tokens_unknown;
    to->cost_usd += c->cost_usd;
    to->estimated_usd += c->estimated_usd;
    to->cost_unknown += c->cost_unknown;
    to->co2e_g += c->co2e_g;
}

/* An estimate for n answers of tin/tout tokens in all (the average answer's, n times): the
 * carbon points are per request, and grow slower than the tokens. */
static double carbon_of(const usage_query *q, long long n, long long tin, long long tout) {
    if (!q->carbon_points || !q->n_carbon_points || n <= 0 || tin < 0 || tout < 0)
        return 0;
    double g = cost_carbon_g(tin / n, tout / n, q->carbon_points, q->n_carbon_points);
    return g > 0 ? g * (double)n : 0;
}

/* ---- the model table ---------------------------------------------------------------------- */

typedef struct loader {
    sqlite3 *db;
    const usage_query *q;
    usage_data *d;
    size_t models_cap;
    long long from, to;                 /* the period, local [from, to) as Unix seconds */
    long long bounds[USAGE_MONTHS + 1]; /* each month's local start, then the period's end */
    char first_day[11];                 /* the period's first UTC day and the day after its end */
    char end_day[11];
    /* OpenRouter: activity per (day, model), ami's part of it, and the aliases found */
    struct act {
        char day[11];
        char *model;
        long long requests, tin, tout, tokens_unknown;
        double usd;
        long long usd_unknown;
        long long ami_requests, ami_tin, ami_tout;
        double ami_usd;
    } * acts;
    size_t n_acts, acts_cap;
    struct window {
        char first[11], last[11];
    } * windows;
    size_t n_windows;
    struct alias {
        char *from, *to;
    } * aliases;
    size_t n_aliases;
} loader;

static int month_index(const usage_data *d, const char *m) {
    for (int i = 0; i < USAGE_MONTHS; i++)
        if (m && strncmp(d->months[i].month, m, 7) == 0)
            return i;
    return -1;
}

static usage_model *model_get(loader *L, const char *name) {
    usage_data *d = L->d;
    if (!name || !*name)
        name = "(unknown)";
    for (size_t i = 0; i < d->n_models; i++)
        if (strcmp(d->models[i].model, name) == 0)
            return &d->models[i];
    if (d->n_models == L->models_cap) {
        size_t cap = L->models_cap ? L->models_cap * 2 : 16;
        usage_model *m = realloc(d->models, cap * sizeof *m);
        if (!m)
            return NULL;
        d->models = m;
        L->models_cap = cap;
    }
    usage_model *m = &d->models[d->n_models];
    memset(m, 0, sizeof *m);
    m->c.threads = -1;
    m->c.user_messages = -1;
    if (!(m->model = strdup(name)))
        return NULL;
    d->n_models++;
    return m;
}

static int model_add(loader *L, const char *name, int month, usage_source src,
                     const usage_cell *c) {
    usage_model *m = model_get(L, name);
    if (!m)
        return SQLITE_NOMEM;
    usage_cell add = *c;
    add.threads = add.user_messages = 0;
    cell_add(&m->c, &add);
    m->cost[month] += c->cost_usd;
    m->answers_month[month] += c->answers;
    m->sources |= 1u << src;
    return SQLITE_OK;
}

static const char *alias_of(const loader *L, const char *name) {
    for (size_t i = 0; name && i < L->n_aliases; i++)
        if (strcmp(L->aliases[i].from, name) == 0)
            return L->aliases[i].to;
    return name;
}

/* ---- statements --------------------------------------------------------------------------- */

static const char *col_text(sqlite3_stmt *st, int i) {
    return (const char *)sqlite3_column_text(st, i);
}

/* Runs sql with the period's bounds bound to ?1 and ?2 (integers, or days when days is set)
 * and the months' to ?3 ... (MONTHS below), calling row(L, st) for each row. */
static int each_row(loader *L, const char *sql, int days, int (*row)(loader *, sqlite3_stmt *)) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(L->db, sql, -1, &st, NULL);
    for (int i = 0; rc == SQLITE_OK && i <= USAGE_MONTHS && sqlite3_bind_parameter_count(st) > 2;
         i++)
        rc = sqlite3_bind_int64(st, 3 + i, L->bounds[i]);
    if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) >= 2) {
        if (days) {
            rc = sqlite3_bind_text(st, 1, L->first_day, -1, SQLITE_STATIC);
            if (rc == SQLITE_OK)
                rc = sqlite3_bind_text(st, 2, L->end_day, -1, SQLITE_STATIC);
        } else {
            rc = sqlite3_bind_int64(st, 1, L->from);
            if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(st, 2, L->to);
        }
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        rc = row(L, st);
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc;
}

/* The months as a table: b(i, lo, hi), month i is [lo, hi) in local time.  Joining on it
 * (with the time's index) is what groups by local month: strftime(..., 'localtime') per row
 * costs a localtime() call for each, several times slower on a year of imported messages. */
#define MONTHS                                                                                     \
    "WITH b(i, lo, hi) AS (VALUES (0, ?3, ?4), (1, ?4, ?5), (2, ?5, ?6), (3, ?6, ?7),"             \
    " (4, ?7, ?8), (5, ?8, ?9), (6, ?9, ?10), (7, ?10, ?11), (8, ?11, ?12), (9, ?12, ?13),"        \
    " (10, ?13, ?14), (11, ?14, ?15)) "

/* The columns every per-month query of requests ends with, in usage_cell order. */
#define AMI_FIGURES                                                                                \
    " COUNT(*),"                                                                                   \
    " COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"                       \
    " COALESCE(SUM(prompt_tokens IS NULL OR completion_tokens IS NULL), 0),"                       \
    " TOTAL(CASE WHEN cost_source <> 'unknown' THEN cost_usd END),"                                \
    " TOTAL(CASE WHEN cost_source = 'estimated' THEN cost_usd END),"                               \
    " COALESCE(SUM(cost_source = 'unknown' OR cost_usd IS NULL), 0),"                              \
    " TOTAL(co2e_g)"

static void read_figures(sqlite3_stmt *st, int c, usage_cell *out) {
    out->answers = sqlite3_column_int64(st, c);
    out->tokens_in = sqlite3_column_int64(st, c + 1);
    out->tokens_out = sqlite3_column_int64(st, c + 2);
    out->tokens_unknown = sqlite3_column_int64(st, c + 3);
    out->cost_usd = sqlite3_column_double(st, c + 4);
    out->estimated_usd = sqlite3_column_double(st, c + 5);
    out->cost_unknown = sqlite3_column_int64(st, c + 6);
    out->co2e_g = sqlite3_column_double(st, c + 7);
}

/* ami, per month: threads, refused, and the figures of the requests sent. */
static int ami_month_row(loader *L, sqlite3_stmt *st) {
    int i = sqlite3_column_int(st, 0);
    if (i < 0 || i >= USAGE_MONTHS)
        return SQLITE_OK;
    usage_month *m = &L->d->months[i];
    m->src[USAGE_AMI].threads = sqlite3_column_int64(st, 1);
    m->ami_refused = sqlite3_column_int64(st, 2);
    read_figures(st, 3, &m->src[USAGE_AMI]);
    return SQLITE_OK;
}

static const char ami_month_sql[] = MONTHS
    "SELECT b.i,"
    " COUNT(DISTINCT CASE WHEN status <> 'refused' THEN thread END),"
    " COALESCE(SUM(status = 'refused'), 0),"
    " COALESCE(SUM(status <> 'refused'), 0),"
    " COALESCE(SUM(CASE WHEN status <> 'refused' THEN prompt_tokens END), 0),"
    " COALESCE(SUM(CASE WHEN status <> 'refused' THEN completion_tokens END), 0),"
    " COALESCE(SUM(status <> 'refused' AND (prompt_tokens IS NULL OR completion_tokens IS NULL)),"
    " 0),"
    " TOTAL(CASE WHEN status <> 'refused' AND cost_source <> 'unknown' THEN cost_usd END),"
    " TOTAL(CASE WHEN status <> 'refused' AND cost_source = 'estimated' THEN cost_usd END),"
    " COALESCE(SUM(status <> 'refused' AND (cost_source = 'unknown' OR cost_usd IS NULL)), 0),"
    " TOTAL(CASE WHEN status <> 'refused' THEN co2e_g END)"
    " FROM b JOIN requests ON started_unix >= b.lo AND started_unix < b.hi GROUP BY b.i";

/* ami, per month and model. */
static int ami_model_row(loader *L, sqlite3_stmt *st) {
    int i = sqlite3_column_int(st, 0);
    if (i < 0 || i >= USAGE_MONTHS)
        return SQLITE_OK;
    usage_cell c = {0};
    read_figures(st, 2, &c);
    return model_add(L, alias_of(L, col_text(st, 1)), i, USAGE_AMI, &c);
}

static const char ami_model_sql[] = MONTHS
    "SELECT b.i, COALESCE(model_answered, model_requested, '(unknown)') AS model," AMI_FIGURES
    " FROM b JOIN requests ON started_unix >= b.lo AND started_unix < b.hi"
    " WHERE status <> 'refused' GROUP BY b.i, model";

/* The exports, per month and source: threads and the writer's messages. */
static int export_month_row(loader *L, sqlite3_stmt *st) {
    int i = sqlite3_column_int(st, 0);
    int s = source_of_name(col_text(st, 1));
    if (i < 0 || i >= USAGE_MONTHS || s < 0 || s == USAGE_AMI || s == USAGE_OPENROUTER)
        return SQLITE_OK;
    usage_cell *c = &L->d->months[i].src[s];
    c->threads = sqlite3_column_int64(st, 2);
    c->user_messages = sqlite3_column_int64(st, 3);
    return SQLITE_OK;
}

static const char export_month_sql[] = MONTHS
    "SELECT b.i, source, COUNT(DISTINCT conversation), COALESCE(SUM(role = 'user'), 0)"
    " FROM b JOIN imported_messages ON at_unix >= b.lo AND at_unix < b.hi GROUP BY b.i, source";

/* The exports' answers, per month, source and model. */
static const char export_model_sql[] =
    MONTHS "SELECT b.i, source, model, COUNT(*),"
           " COALESCE(SUM(CASE WHEN prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL"
           "  THEN prompt_tokens END), 0),"
           " COALESCE(SUM(CASE WHEN prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL"
           "  THEN completion_tokens END), 0),"
           " COALESCE(SUM(prompt_tokens IS NULL OR completion_tokens IS NULL), 0),"
           " TOTAL(cost_usd), COALESCE(SUM(cost_usd IS NULL), 0)"
           " FROM b JOIN imported_messages ON at_unix >= b.lo AND at_unix < b.hi"
           " WHERE role = 'assistant' GROUP BY b.i, source, model";

/* ---- OpenRouter --------------------------------------------------------------------------- */

static int window_row(loader *L, sqlite3_stmt *st) {
    const char *a = col_text(st, 0), *b = col_text(st, 1);
    if (!a || !b || strlen(a) != 10 || strlen(b) != 10)
        return SQLITE_OK;
    void *p = realloc(L->windows, (L->n_windows + 1) * sizeof *L->windows);
    if (!p)
        return SQLITE_NOMEM;
    L->windows = p;
    memcpy(L->windows[L->n_windows].first, a, 11);
    memcpy(L->windows[L->n_windows].last, b, 11);
    L->n_windows++;
    return SQLITE_OK;
}

static int act_row(loader *L, sqlite3_stmt *st) {
    const char *day = col_text(st, 0), *model = col_text(st, 1);
    if (!day || strlen(day) != 10)
        return SQLITE_OK;
    if (L->n_acts == L->acts_cap) {
        size_t cap = L->acts_cap ? L->acts_cap * 2 : 64;
        void *p = realloc(L->acts, cap * sizeof *L->acts);
        if (!p)
            return SQLITE_NOMEM;
        L->acts = p;
        L->acts_cap = cap;
    }
    struct act *a = &L->acts[L->n_acts];
    memset(a, 0, sizeof *a);
    memcpy(a->day, day, 11);
    if (!(a->model = strdup(model ? model : "")))
        return SQLITE_NOMEM;
    L->n_acts++;
    a->requests = sqlite3_column_int64(st, 2);
    a->tin = sqlite3_column_int64(st, 3);
    a->tout = sqlite3_column_int64(st, 4);
    a->tokens_unknown = sqlite3_column_int64(st, 5);
    a->usd = sqlite3_column_double(st, 6);
    a->usd_unknown = sqlite3_column_int64(st, 7);
    return SQLITE_OK;
}

/* Rows with unknown tokens count their requests as of unknown tokens (and so for cost). */
static const char act_sql[] =
    "SELECT day, model, COALESCE(SUM(requests), 0),"
    " COALESCE(SUM(CASE WHEN prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL"
    "  THEN prompt_tokens END), 0),"
    " COALESCE(SUM(CASE WHEN prompt_tokens IS NOT NULL AND completion_tokens IS NOT NULL"
    "  THEN completion_tokens END), 0),"
    " COALESCE(SUM(CASE WHEN prompt_tokens IS NULL OR completion_tokens IS NULL"
    "  THEN COALESCE(requests, 0) END), 0),"
    " TOTAL(usd), COALESCE(SUM(CASE WHEN usd IS NULL THEN COALESCE(requests, 0) END), 0)"
    " FROM imported_activity WHERE source = 'openrouter' AND day >= ?1 AND day < ?2"
    " GROUP BY day, model ORDER BY day, model";

static struct act *act_find(loader *L, const char *day, const char *model) {
    for (size_t i = 0; i < L->n_acts; i++)
        if (strcmp(L->acts[i].day, day) == 0 && strcmp(L->acts[i].model, model) == 0)
            return &L->acts[i];
    return NULL;
}

static int covered(const loader *L, const char *day) {
    for (size_t i = 0; i < L->n_windows; i++)
        if (strcmp(day, L->windows[i].first) >= 0 && strcmp(day, L->windows[i].last) <= 0)
            return 1;
    for (size_t i = 0; i < L->n_acts; i++)
        if (strcmp(L->acts[i].day, day) == 0)
            return 1;
    return 0;
}

static int mismatch_add(loader *L, const char *day, const char *model, long long ami_req,
                        long long or_req, double ami_usd, double or_usd) {
    usage_data *d = L->d;
    d->all_mismatches++;
    if (d->n_mismatches >= USAGE_MAX_MISSES)
        return SQLITE_OK;
    if (!d->mismatches && !(d->mismatches = calloc(USAGE_MAX_MISSES, sizeof *d->mismatches)))
        return SQLITE_NOMEM;
    usage_mismatch *m = &d->mismatches[d->n_mismatches];
    snprintf(m->day, sizeof m->day, "%s", day);
    if (!(m->model = strdup(model ? model : "(unknown)")))
        return SQLITE_NOMEM;
    d->n_mismatches++;
    m->ami_requests = ami_req;
    m->openrouter_requests = or_req;
    m->ami_usd = ami_usd;
    m->openrouter_usd = or_usd;
    return SQLITE_OK;
}

static int alias_add(loader *L, const char *from, const char *to) {
    if (!from || !to || strcmp(from, to) == 0 || alias_of(L, from) != from)
        return SQLITE_OK;
    void *p = realloc(L->aliases, (L->n_aliases + 1) * sizeof *L->aliases);
    if (!p)
        return SQLITE_NOMEM;
    L->aliases = p;
    L->aliases[L->n_aliases].from = strdup(from);
    L->aliases[L->n_aliases].to = strdup(to);
    L->n_aliases++;
    return L->aliases[L->n_aliases - 1].from && L->aliases[L->n_aliases - 1].to ? SQLITE_OK
                                                                                : SQLITE_NOMEM;
}

/* ami's requests through OpenRouter, per UTC day and model, with the activity model they
 * belong to (or NULL): see the top of include/ami/usage_data.h. */
static int ami_or_row(loader *L, sqlite3_stmt *st) {
    const char *day = col_text(st, 0), *key = col_text(st, 1), *am = col_text(st, 7);
    if (!day || strlen(day) != 10)
        return SQLITE_OK;
    long long n = sqlite3_column_int64(st, 2);
    double usd = sqlite3_column_double(st, 5);
    if (!am)
        return covered(L, day) ? mismatch_add(L, day, key, n, 0, usd, 0) : SQLITE_OK;
    struct act *a = act_find(L, day, am);
    if (!a)
        return SQLITE_OK;
    a->ami_requests += n;
    a->ami_tin += sqlite3_column_int64(st, 3);
    a->ami_tout += sqlite3_column_int64(st, 4);
    a->ami_usd += usd;
    return alias_add(L, key, am);
}

static const char ami_or_sql[] =
    "SELECT g.d, g.model, g.n, g.tin, g.tout, g.usd, g.ans,"
    " COALESCE((SELECT MIN(a.model) FROM imported_activity a WHERE a.source = 'openrouter'"
    "   AND a.day = g.d AND (a.model_permaslug = g.ans OR a.model = g.ans)),"
    "  (SELECT MIN(a.model) FROM imported_activity a WHERE a.source = 'openrouter'"
    "   AND a.day = g.d AND a.model = g.req))"
    " FROM (SELECT date(started_unix, 'unixepoch') AS d, model_requested AS req,"
    "   model_answered AS ans, COALESCE(model_answered, model_requested, '(unknown)') AS model,"
    "   COUNT(*) AS n, COALESCE(SUM(prompt_tokens), 0) AS tin,"
    "   COALESCE(SUM(completion_tokens), 0) AS tout,"
    "   TOTAL(CASE WHEN cost_source <> 'unknown' THEN cost_usd END) AS usd"
    "  FROM requests WHERE provider = 'openrouter' AND status <> 'refused'"
    "   AND NOT (status = 'error' AND prompt_tokens IS NULL AND completion_tokens IS NULL"
    "    AND cost_usd IS NULL)"
    "   AND started_unix >= ?1 AND started_unix < ?2"
    "  GROUP BY d, req, ans) g ORDER BY g.d, g.model";

static long long sub0(long long a, long long b) {
    return a > b ? a - b : 0;
}

/* What went through OpenRouter outside ami: each activity (day, model) minus ami's part. */
static int openrouter_outside(loader *L) {
    for (size_t i = 0; i < L->n_acts; i++) {
        struct act *a = &L->acts[i];
        if (a->ami_requests > a->requests || a->ami_usd > a->usd + COST_TOLERANCE) {
            int rc =
                mismatch_add(L, a->day, a->model, a->ami_requests, a->requests, a->ami_usd, a->usd);
            if (rc != SQLITE_OK)
                return rc;
        }
        int month = month_index(L->d, a->day);
        if (month < 0)
            continue;
        usage_cell c = {0};
        c.threads = -1;
        c.user_messages = -1;
        c.answers = sub0(a->requests, a->ami_requests);
        c.tokens_in = sub0(a->tin, a->ami_tin);
        c.tokens_out = sub0(a->tout, a->ami_tout);
        c.tokens_unknown = a->tokens_unknown < c.answers ? a->tokens_unknown : c.answers;
        c.cost_usd = a->usd - a->ami_usd > COST_TOLERANCE ? a->usd - a->ami_usd : 0;
        c.cost_unknown = a->usd_unknown < c.answers ? a->usd_unknown : c.answers;
        c.co2e_g = carbon_of(L->q, c.answers - c.tokens_unknown, c.tokens_in, c.tokens_out);
        if (c.answers == 0 && c.tokens_in == 0 && c.tokens_out == 0 && c.cost_usd == 0)
            continue;
        cell_add(&L->d->months[month].src[USAGE_OPENROUTER], &c);
        int rc = model_add(L, a->model, month, USAGE_OPENROUTER, &c);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* An Open WebUI model that OpenRouter's activity lists in that month: "x" matches "x",
 * "prefix.x" and "something/x" (Open WebUI's connection prefixes). */
static int in_openrouter(const loader *L, const char *month, const char *model) {
    if (!model)
        return 0;
    size_t ml = strlen(model);
    for (size_t i = 0; i < L->n_acts; i++) {
        const struct act *a = &L->acts[i];
        size_t al = strlen(a->model);
        if (strncmp(a->day, month, 7) != 0 || !al || al > ml)
            continue;
        if (strcmp(model + ml - al, a->model) != 0)
            continue;
        if (al == ml || model[ml - al - 1] == '/' || model[ml - al - 1] == '.')
            return 1;
    }
    return 0;
}

static int export_model_row(loader *L, sqlite3_stmt *st) {
    int i = sqlite3_column_int(st, 0);
    int s = source_of_name(col_text(st, 1));
    if (i < 0 || i >= USAGE_MONTHS || s < 0 || s == USAGE_AMI || s == USAGE_OPENROUTER)
        return SQLITE_OK;
    const char *model = col_text(st, 2);
    usage_cell c = {0};
    c.answers = sqlite3_column_int64(st, 3);
    c.tokens_in = sqlite3_column_int64(st, 4);
    c.tokens_out = sqlite3_column_int64(st, 5);
    c.tokens_unknown = sqlite3_column_int64(st, 6);
    c.cost_usd = sqlite3_column_double(st, 7);
    c.cost_unknown = sqlite3_column_int64(st, 8);
    c.co2e_g = carbon_of(L->q, c.answers - c.tokens_unknown, c.tokens_in, c.tokens_out);
    usage_month *m = &L->d->months[i];
    usage_cell *cell = &m->src[s];
    long long threads = cell->threads, user = cell->user_messages;
    cell_add(cell, &c);
    cell->threads = threads;
    cell->user_messages = user;
    if (s == USAGE_OPENWEBUI && in_openrouter(L, m->month, model)) {
        /* Inside OpenRouter's figures: counted there (the model keeps the source's mark). */
        usage_model *um = model_get(L, model);
        if (!um)
            return SQLITE_NOMEM;
        um->sources |= 1u << s;
        /* The total must not count it again: remember it as negative, see total_of(). */
        usage_cell *t = &m->total;
        t->answers -= c.answers;
        t->tokens_in -= c.tokens_in;
        t->tokens_out -= c.tokens_out;
        t->tokens_unknown -= c.tokens_unknown;
        t->cost_usd -= c.cost_usd;
        t->cost_unknown -= c.cost_unknown;
        t->co2e_g -= c.co2e_g;
        return SQLITE_OK;
    }
    return model_add(L, model, i, (usage_source)s, &c);
}

/* ---- documents and imports ---------------------------------------------------------------- */

static int document_row(loader *L, sqlite3_stmt *st) {
    usage_data *d = L->d;
    if (d->n_documents >= USAGE_MAX_DOCS)
        return SQLITE_OK;
    if (!d->documents && !(d->documents = calloc(USAGE_MAX_DOCS, sizeof *d->documents)))
        return SQLITE_NOMEM;
    usage_document *doc = &d->documents[d->n_documents];
    const char *path = col_text(st, 0);
    if (!(doc->document = strdup(path ? path : "")))
        return SQLITE_NOMEM;
    d->n_documents++;
    usage_cell c = {0};
    read_figures(st, 1, &c);
    doc->requests = c.answers;
    doc->tokens_in = c.tokens_in;
    doc->tokens_out = c.tokens_out;
    doc->cost_usd = c.cost_usd;
    doc->estimated_usd = c.estimated_usd;
    doc->cost_unknown = c.cost_unknown;
    doc->co2e_g = c.co2e_g;
    return SQLITE_OK;
}

static const char document_sql[] =
    "SELECT document," AMI_FIGURES " FROM requests"
    " WHERE document IS NOT NULL AND status <> 'refused' AND started_unix >= ?1"
    " AND started_unix < ?2 GROUP BY document ORDER BY 6 DESC, 2 DESC, document LIMIT 20";

static int import_row(loader *L, sqlite3_stmt *st) {
    int s = source_of_name(col_text(st, 0));
    if (s <= USAGE_AMI)
        return SQLITE_OK;
    usage_import *im = &L->d->imports[s];
    im->runs = sqlite3_column_int64(st, 1);
    im->last_unix = sqlite3_column_int64(st, 2);
    const char *a = col_text(st, 3), *b = col_text(st, 4);
    snprintf(im->first_day, sizeof im->first_day, "%s", a ? a : "");
    snprintf(im->last_day, sizeof im->last_day, "%s", b ? b : "");
    return SQLITE_OK;
}

static int items_row(loader *L, sqlite3_stmt *st) {
    int s = source_of_name(col_text(st, 0));
    if (s <= USAGE_AMI)
        return SQLITE_OK;
    L->d->imports[s].items = sqlite3_column_int64(st, 1);
    if (L->d->imports[s].items > 0)
        L->d->has_imports = 1;
    return SQLITE_OK;
}

static const char import_sql[] = "SELECT source, COUNT(*), MAX(started_unix), MIN(first_day),"
                                 " MAX(last_day) FROM imports GROUP BY source";
static const char items_sql[] =
    "SELECT source, COUNT(*) FROM imported_conversations GROUP BY source"
    " UNION ALL SELECT source, COUNT(*) FROM imported_activity GROUP BY source";

/* ---- the whole -------------------------------------------------------------------------- */

static int by_cost(const void *a, const void *b) {
    const usage_model *x = a, *y = b;
    if (x->c.cost_usd != y->c.cost_usd)
        return x->c.cost_usd < y->c.cost_usd ? 1 : -1;
    if (x->c.answers != y->c.answers)
        return x->c.answers < y->c.answers ? 1 : -1;
    return strcmp(x->model, y->model);
}

static void totals(usage_data *d) {
    for (int i = 0; i < USAGE_MONTHS; i++) {
        usage_month *m = &d->months[i];
        usage_cell *t = &m->total; /* holds minus what is counted twice (export_model_row) */
        t->threads = 0;
        t->user_messages = 0;
        for (int s = 0; s < USAGE_N_SOURCES; s++) {
            cell_add(t, &m->src[s]);
            cell_add(&d->period[s], &m->src[s]);
        }
        cell_add(&d->period[USAGE_N_SOURCES], t);
    }
    d->period[USAGE_OPENROUTER].threads = -1;
    d->period[USAGE_AMI].user_messages = -1;
    d->period[USAGE_OPENROUTER].user_messages = -1;
}

static void loader_free(loader *L) {
    for (size_t i = 0; i < L->n_acts; i++)
        free(L->acts[i].model);
    free(L->acts);
    free(L->windows);
    for (size_t i = 0; i < L->n_aliases; i++) {
        free(L->aliases[i].from);
        free(L->aliases[i].to);
    }
    free(L->aliases);
}

int usage_data_init(const char *last, usage_data *out) {
    memset(out, 0, sizeof *out);
    char m[8];
    if (usage_month_add(last, 0, m) != 0)
        return -1;
    for (int i = USAGE_MONTHS - 1; i >= 0; i--) {
        usage_month *um = &out->months[i];
        memcpy(um->month, m, 8);
        um->src[USAGE_OPENROUTER].threads = -1;
        um->src[USAGE_AMI].user_messages = -1;
        um->src[USAGE_OPENROUTER].user_messages = -1;
        if (i > 0 && usage_month_add(m, -1, m) != 0)
            return -1;
    }
    out->period[USAGE_OPENROUTER].threads = -1;
    out->period[USAGE_AMI].user_messages = -1;
    out->period[USAGE_OPENROUTER].user_messages = -1;
    return 0;
}

int usage_data_load(sqlite3 *db, const usage_query *q, usage_data *out) {
    loader L;
    memset(&L, 0, sizeof L);
    L.db = db;
    L.q = q;
    L.d = out;
    if (usage_data_init(q->last, out) != 0)
        return SQLITE_MISUSE;
    char after[8];
    if (usage_month_add(q->last, 1, after) != 0)
        return SQLITE_MISUSE;
    for (int i = 0; i < USAGE_MONTHS; i++)
        L.bounds[i] = month_start_local(out->months[i].month);
    L.bounds[USAGE_MONTHS] = month_start_local(after);
    L.from = L.bounds[0];
    L.to = L.bounds[USAGE_MONTHS];
    snprintf(L.first_day, sizeof L.first_day, "%s-01", out->months[0].month);
    snprintf(L.end_day, sizeof L.end_day, "%s-01", after);

    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = each_row(&L, ami_month_sql, 0, ami_month_row);
    if (rc == SQLITE_OK)
        rc = each_row(&L, "SELECT first_day, last_day FROM imports WHERE source = 'openrouter'", 0,
                      window_row);
    if (rc == SQLITE_OK)
        rc = each_row(&L, act_sql, 1, act_row);
    if (rc == SQLITE_OK) {
        /* ami's requests by UTC day: the period's UTC days, not its local bounds */
        long long from = L.from, to = L.to;
        L.from = utc_of_day(L.first_day);
        L.to = utc_of_day(L.end_day);
        rc = each_row(&L, ami_or_sql, 0, ami_or_row);
        L.from = from;
        L.to = to;
    }
    if (rc == SQLITE_OK)
        rc = openrouter_outside(&L);
    if (rc == SQLITE_OK)
        rc = each_row(&L, ami_model_sql, 0, ami_model_row);
    if (rc == SQLITE_OK)
        rc = each_row(&L, export_month_sql, 0, export_month_row);
    if (rc == SQLITE_OK)
        rc = each_row(&L, export_model_sql, 0, export_model_row);
    if (rc == SQLITE_OK)
        rc = each_row(&L, document_sql, 0, document_row);
    if (rc == SQLITE_OK)
        rc = each_row(&L, import_sql, 0, import_row);
    if (rc == SQLITE_OK)
        rc = each_row(&L, items_sql, 0, items_row);
    /* On failure the transaction stays open: the ledger rolls it back after reading SQLite's
     * message, which a ROLLBACK here would clear. */
    if (rc == SQLITE_OK && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    loader_free(&L);
    if (rc != SQLITE_OK) {
        usage_data_free(out);
        return rc;
    }
    totals(out);
    if (out->n_models > 1)
        qsort(out->models, out->n_models, sizeof *out->models, by_cost);
    return SQLITE_OK;
}

void usage_data_free(usage_data *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->n_models; i++)
        free(d->models[i].model);
    free(d->models);
    for (size_t i = 0; i < d->n_documents; i++)
        free(d->documents[i].document);
    free(d->documents);
    for (size_t i = 0; i < d->n_mismatches; i++)
        free(d->mismatches[i].model);
    free(d->mismatches);
    memset(d, 0, sizeof *d);
}
