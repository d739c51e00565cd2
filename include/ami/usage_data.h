/* usage_data: everything the usage report shows (`ami usage`, `:AmiUsage`, `ami usage --html`),
 * read from the ledger in one read transaction: ami's own requests and what was imported from
 * elsewhere (doc/LEDGER.md, tables imported_* and imports), per local month and per source.
 *
 * Sources, and what each one counts:
 *   ami          the requests table: requests sent (refused ones never were), threads, tokens,
 *                cost (reported or estimated), carbon.
 *   OpenRouter   OpenRouter's activity (daily totals per model, UTC days) *minus ami's own
 *                requests through OpenRouter for the same day and model*: what went through
 *                OpenRouter outside ami (Open WebUI, scripts, the website).  Requests, tokens,
 *                cost; no threads.
 *   Open WebUI, ChatGPT, Claude   the exports: threads (conversations with a message that
 *                month), answers (assistant messages), the writer's messages; tokens and cost
 *                only where the export has them (Open WebUI, sometimes).
 *
 * Counted once.  ami's requests through OpenRouter are in OpenRouter's activity too: the
 * OpenRouter source is what remains after taking them out, per UTC day and model, field by
 * field, never below zero.  A day where ami recorded more than OpenRouter reports (more
 * requests, or a cost higher by more than a cent's hundredth) is listed in mismatches.  Open
 * WebUI talks to OpenRouter for many people: an Open WebUI answer by a model that
 * OpenRouter's activity lists in the same month is taken to be inside those figures, and the
 * total counts it once (its threads still count: OpenRouter has none).
 *
 * Which ami rows match an activity row: provider "openrouter", sent, and not an error that
 * came back without any usage (OpenRouter bills nothing for those); the day is the UTC day of
 * started_unix; the model is the activity row whose model_permaslug or model is the row's
 * model_answered, else whose model is its model_requested.  Only days inside an imported
 * window (imports.first_day .. last_day, or a day with activity rows) are compared: ami's
 * requests of today, which OpenRouter has not reported yet, are no mismatch.
 *
 * Months are local (the TZ of the process), activity days UTC (as OpenRouter counts them).
 *
 * Ownership: usage_data_load fills a zeroed usage_data; usage_data_free releases it.
 */
#ifndef AMI_USAGE_DATA_H
#define AMI_USAGE_DATA_H

#include <stddef.h>

#define USAGE_MONTHS      12 /* months in the report, the chosen one last */
#define USAGE_MAX_DOCS    20 /* rows of by_document */
#define USAGE_MAX_MISSES  50 /* mismatches kept (all are counted) */
#define USAGE_MODEL_OTHER "other"

typedef enum usage_source {
    USAGE_AMI,
    USAGE_OPENROUTER, /* through OpenRouter, outside ami */
    USAGE_OPENWEBUI,
    USAGE_CHATGPT,
    USAGE_CLAUDE,
    USAGE_N_SOURCES
} usage_source;

/* One source's figures for a period.  Sums are of what is known; the *_unknown counts say how
 * many answers are not in them (so a total can be shown as a lower bound, "+?"). */
typedef struct usage_cell {
    long long threads;       /* -1: this source has no threads (OpenRouter) */
    long long answers;       /* ami: requests sent; OpenRouter: requests; exports: answers */
    long long user_messages; /* exports: the writer's messages; -1 for ami and OpenRouter */
    long long tokens_in, tokens_out;
    long long tokens_unknown; /* answers whose token counts are unknown */
    double cost_usd;          /* reported + estimated */
    double estimated_usd;     /* the part of cost_usd that ami estimated from prices */
    long long cost_unknown;   /* answers whose cost is unknown */
    double co2e_g;            /* estimate, over the answers whose tokens are known */
} usage_cell;

typedef struct usage_month {
    char month[8]; /* "YYYY-MM", local */
    usage_cell src[USAGE_N_SOURCES];
    usage_cell total;      /* every source, counted once (see the top) */
    long long ami_refused; /* ami's requests refused by the budget (never sent) */
} usage_month;

/* One model over the whole period, every source together. */
typedef struct usage_model {
    char *model;               /* "(unknown)" for answers without one */
    usage_cell c;              /* threads is -1 */
    double cost[USAGE_MONTHS]; /* per month (same order as months) */
    long long answers_month[USAGE_MONTHS];
    unsigned sources; /* bit (1u << usage_source) per source that used it */
} usage_model;

/* One document (ami's requests only: the exports do not say what a chat was about). */
typedef struct usage_document {
    char *document; /* the path as recorded */
    long long requests;
    long long tokens_in, tokens_out;
    double cost_usd, estimated_usd;
    long long cost_unknown;
    double co2e_g;
} usage_document;

/* A day where ami recorded more than OpenRouter reports for a model. */
typedef struct usage_mismatch {
    char day[11]; /* "YYYY-MM-DD", UTC */
    char *model;  /* as OpenRouter names it, or ami's when OpenRouter reports nothing */
    long long ami_requests, openrouter_requests;
    double ami_usd, openrouter_usd;
} usage_mismatch;

/* The imports so far, per source. */
typedef struct usage_import {
    long long runs;      /* 0: never imported */
    long long last_unix; /* when the last import ran */
    long long items;     /* conversations or activity rows stored now */
    char first_day[11];  /* OpenRouter: the UTC days covered, first and last ("" none) */
    char last_day[11];
} usage_import;

typedef struct usage_query {
    char last[8];               /* the newest month, "YYYY-MM" (local) */
    double (*carbon_points)[2]; /* the config's carbon.points, for the estimates of imported
                                   tokens; NULL or n 0: no estimate */
    size_t n_carbon_points;
} usage_query;

typedef struct usage_data {
    usage_month months[USAGE_MONTHS];       /* oldest first; months[USAGE_MONTHS - 1] is q->last */
    usage_cell period[USAGE_N_SOURCES + 1]; /* the 12 months together; [USAGE_N_SOURCES]: total */
    usage_model *models;                    /* most expensive first, then most answers */
    size_t n_models;
    usage_document *documents; /* most expensive first, at most USAGE_MAX_DOCS */
    size_t n_documents;
    usage_mismatch *mismatches; /* oldest first, at most USAGE_MAX_MISSES */
    size_t n_mismatches;
    size_t all_mismatches;
    usage_import imports[USAGE_N_SOURCES]; /* [USAGE_AMI] unused */
    int has_imports;                       /* some source besides ami has rows */
} usage_data;

struct sqlite3;

/// Reads the report for the USAGE_MONTHS months ending with q->last into out (its previous
/// content is not freed), in one read transaction on db (a ledger at LEDGER_SCHEMA_VERSION).
/// Returns SQLITE_OK or the SQLite code of what failed (out is then freed and zeroed).  For the
/// thread pool (ledger_exec): no global state.
int usage_data_load(struct sqlite3 *db, const usage_query *q, usage_data *out);

/// Fills out with the USAGE_MONTHS months ending with last ("YYYY-MM") and nothing in them
/// (what a missing ledger reports).  0, or -1 when last is not a month.
int usage_data_init(const char *last, usage_data *out);

/// Releases out's memory and zeroes it.  NULL is allowed.
void usage_data_free(usage_data *d);

/// "ami", "OpenRouter (outside ami)", "Open WebUI", "ChatGPT", "Claude" (for people).
const char *usage_source_label(usage_source s);
/// "ami", "openrouter", "openwebui", "chatgpt", "claude" (JSON keys, the CLI's words).
const char *usage_source_name(usage_source s);

/// The month before (delta -1) or after (+1) m, "YYYY-MM", into out (8 bytes).  0, or -1 when
/// m is not a month.
int usage_month_add(const char *m, int delta, char out[8]);

#endif
