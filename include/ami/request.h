/* request: one answer, from the question to its ledger row.
 *
 * A request is created by engine_start() (include/ami/engine.h) and owned by its engine.
 * Text goes to the engine's stream sink as it arrives; everything else (start, retry, the
 * model that answered, notices, the end) goes to the engine's event callback.  After the
 * REQUEST_EV_DONE event returns, the request is gone.
 *
 * Lifecycle (states read as a sentence in logs: "request 12: streaming → done"):
 *
 *   queued ─► key ─► budget ─► sending ─► streaming ─► done
 *     │        │       │         │  ▲         │
 *     │        │       │         ▼  │         ├──► error        (error event mid-answer)
 *     │        │       │      waiting (429/502/503 before any text: at most 2 retries)
 *     │        │       │                      └──► interrupted  (stream cut, stalled, too long)
 *     │        │       └──► refused                (over budget: nothing was sent)
 *     │        └──► error                          (no key)
 *     └──► error                                   (bad input: empty document, ...)
 *   any state before the end ──cancel──► cancelled (the connection closes at once)
 *
 * Partial text is never lost: whatever arrived is delivered before the end event, which says
 * how the answer ended.
 */
#ifndef AMI_REQUEST_H
#define AMI_REQUEST_H

#include "ami/prompt.h"

#include <stddef.h>
#include <stdint.h>

typedef struct request request;

typedef enum {
    REQUEST_QUEUED,
    REQUEST_KEY,
    REQUEST_BUDGET,
    REQUEST_SENDING,
    REQUEST_WAITING,
    REQUEST_STREAMING,
    REQUEST_DONE,
    REQUEST_ERROR,
    REQUEST_INTERRUPTED,
    REQUEST_CANCELLED,
    REQUEST_REFUSED,
} request_state;

/// "queued", "key", ..., "done", "error", "interrupted", "cancelled", "refused".
const char *request_state_name(request_state s);

/* What to ask.  Everything is copied by engine_start(). */
typedef struct request_params {
    const char *command; /* "ask", "critique", "explain", "followup": for the ledger */
    const prompt_turn *turns;
    size_t n_turns;
    const char *provider;      /* NULL: the configured one */
    const char *model;         /* NULL: the configured one */
    const char *system;        /* NULL: the built-in persona */
    long max_tokens;           /* <= 0: the configured one */
    const char *document;      /* the document's path, for the ledger (NULL: none) */
    const char *thread;        /* thread id, for the ledger (NULL: none) */
    int no_ledger;             /* do not record this request */
    int notes;                 /* a critique: cut the answer into margin notes (REQUEST_EV_NOTE) */
    struct request *pair_with; /* compared side by side with this request, started just before
                                  in the same turn of the loop: the budget decides once for
                                  both, on the sum of their estimates (a pair over a cap is
                                  refused whole, before anything is sent) */
} request_params;

typedef struct request_result {
    request_state state;
    const char *provider;
    const char *model;          /* requested */
    const char *model_answered; /* NULL when the provider never said */
    const char *finish_reason;  /* "stop", "length", "end_turn", ...; NULL if none */
    long prompt_tokens;         /* -1 unknown */
    long completion_tokens;
    int tokens_estimated; /* the provider did not report usage: counted from the text */
    double cost_usd;
    int cost_source;        /* COST_UNKNOWN, COST_REPORTED, COST_ESTIMATED (ami/cost.h) */
    double co2e_g;          /* < 0 when carbon estimates are off */
    const char *error_kind; /* NULL on success: "input", "config", "key", "budget", "http",
                               "provider", "network", "stream", "too_long", "cancelled" */
    long http_status;       /* 0 when none */
    const char *message;    /* one sentence for the user; NULL on plain success */
    long ttft_ms;           /* -1 when no text came */
    long duration_ms;
    size_t text_bytes;
} request_result;

/* A margin note of a critique (request_params.notes), as its answer streams. */
typedef enum {
    REQUEST_NOTE_QUOTE,   /* its words are complete and were looked for: comment is NULL */
    REQUEST_NOTE_DONE,    /* its comment is complete */
    REQUEST_NOTE_GENERAL, /* a general remark (text outside notes, or a note without words) */
    REQUEST_NOTE_OVER_CAP /* once: further notes are in the text but not anchored */
} request_note_phase;

typedef struct request_note {
    request_note_phase phase;
    long seq;            /* the note's number in the answer (QUOTE, DONE) */
    const char *uid;     /* its stable name, "<request uid>.<seq>" (QUOTE, DONE) */
    const char *kind;    /* clarity, ambiguity, …; NULL when the model gave none */
    const char *quote;   /* the words as quoted (cleaned of quotation marks) */
    const char *comment; /* DONE: the comment; GENERAL: the remark; else NULL */
    const char *anchor;  /* "exact", "approximate", "unanchored" */
    const char *tier;    /* "bytes", "normalized", "fuzzy", "none" */
    double similarity;
    int has_range;              /* the words were found */
    long start_line, start_col; /* 0-based line, byte column */
    long end_line, end_col;     /* end exclusive */
    const char *words;          /* the document's bytes in the range */
    size_t words_len;
    long cap; /* OVER_CAP: the most notes anchored per answer */
} request_note;

/* A secret masked in the document before sending (REQUEST_EV_SECRETS).  Never its bytes. */
typedef struct request_secret {
    const char *rule;                              /* "GitHub token" */
    const char *placeholder;                       /* "[secret: GitHub token]" */
    long start_line, start_col, end_line, end_col; /* 0-based, byte columns, end exclusive */
} request_secret;

typedef enum {
    REQUEST_EV_START,   /* about to send: model, provider, language, note, prompt_tokens */
    REQUEST_EV_RETRY,   /* attempt, wait_s, message */
    REQUEST_EV_MODEL,   /* model: the id the provider answered with */
    REQUEST_EV_NOTICE,  /* message: something the user should know (budget not enforced...) */
    REQUEST_EV_DONE,    /* result */
    REQUEST_EV_NOTE,    /* margin_note: a critique's note (request_params.notes) */
    REQUEST_EV_SENT,    /* url, headers, body: exactly what leaves the machine (each attempt) */
    REQUEST_EV_SECRETS, /* secrets, n_secrets, secrets_elsewhere: what was masked, once */
} request_event_type;

typedef struct request_event {
    request_event_type type;
    const char *provider;
    const char *model;
    const char *language;
    const char *note;
    long prompt_tokens;
    int attempt;
    double wait_s;
    const char *message;
    const request_result *result;
    const request_note *margin_note;
    /* REQUEST_EV_SENT: the URL; the headers, one "Name: value" per line, the values of the
     * auth headers (Authorization, x-api-key) replaced by <redacted>; the body as sent. */
    const char *url;
    const char *headers;
    const char *body;
    size_t body_len;
    /* REQUEST_EV_SECRETS: the secrets masked in the last turn's document (positions in it as
     * it was sent), and how many more in the other texts (question, earlier turns). */
    const request_secret *secrets;
    size_t n_secrets;
    size_t secrets_elsewhere;
} request_event;

struct engine;

/// Starts a request on engine e, tagged ud.  Always answers later: even an immediate failure
/// is reported by events from the loop, after this returns.  NULL when out of memory or when
/// the engine is closing.
request *request_start(struct engine *e, const request_params *p, void *ud);
/// The request in progress with this id, or NULL.
request *request_find(struct engine *e, uint32_t id);
/// Calls fn on each request in progress; fn may cancel it.
void request_each(struct engine *e, void (*fn)(request *r, void *ud), void *ud);
size_t request_count(const struct engine *e);

uint32_t request_id(const request *r);
void *request_ud(const request *r);
request_state request_get_state(const request *r);
const char *request_thread(const request *r);
const char *request_document(const request *r);
/// The request's stable name ("r-…"): its ledger row's uid, the prefix of its notes' uids.
const char *request_uid(const request *r);

/// Cancels: the connection closes at once, the text so far is delivered, and the end event
/// says "cancelled".  No effect once the request has ended.
void request_cancel(request *r, const char *why);

#endif
