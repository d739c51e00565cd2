/* The request module's insides, shared by its own files; not for other modules.  Nothing here
 * is API: every function's name starts with request__.
 *
 *   src/request.c          one answer's life, the state machine drawn in ami/request.h:
 *                          kick-off, dismissed notes and model list, the prompt, the key, the
 *                          budget (a compared pair decided as one), the end (request__finish)
 *                          and the memory's release once nothing refers to it;
 *   src/request_attempt.c  one attempt on the wire: the body built and sent (REQUEST_EV_SENT),
 *                          the response's bytes through the SSE parser and the provider's
 *                          decoder into the answer, and how the transfer ended: done, retried
 *                          after a wait, refused, or cut;
 *   src/request_result.c   what the answer came to (tokens reported or estimated, cost,
 *                          carbon) and the ledger row it leaves.
 *
 * src/request_notes.c and src/request_secrets.c are helpers with headers of their own.
 */
#ifndef AMI_REQUEST_INTERNAL_H
#define AMI_REQUEST_INTERNAL_H

#include "ami/buf.h"
#include "ami/ledger_notes.h"
#include "ami/request.h"
#include "ami/sse.h"
#include "engine_internal.h"
#include "request_notes.h"

#include <stdint.h>
#include <time.h>

/* Two requests compared side by side; defined, and freed, in request.c. */
typedef struct request_pair request_pair;

struct request {
    engine *e;
    request *next;
    uint32_t id;
    char uid[48]; /* "r-<start time>-<pid>-<id>" in hex: unique across processes */
    void *ud;
    request_state state;
    int ended; /* the end event was delivered */

    /* What was asked (owned copies). */
    char *command, *provider_name, *model, *system, *document, *thread;
    long max_tokens;
    int no_ledger;
    prompt_turn *turns;
    size_t n_turns;
    engine_provider prov;
    double temperature;
    long context_tokens;
    prompt_result prompt;
    int want_notes;         /* a critique cut into margin notes */
    rnotes *notes;          /* made once the prompt is built */
    ledger_note *dismissed; /* notes the writer set aside, for the prompt (owned copies) */
    prompt_dismissed *dismissed_view;
    size_t n_dismissed;
    char *sent_url, *sent_headers, *sent_body; /* what left the machine, the last attempt */
    char *input_error; /* a problem found before sending (reported from the loop) */
    const char *input_kind;

    /* Sending. */
    char *key; /* wiped before it is freed */
    keys_request *key_req;
    uv_timer_t *timer; /* kick-off, retry wait, end grace; freed in its close callback */
    http_transfer *xfer;
    sse_parser *sse;
    provider_decoder *dec;
    stream *out;
    int attempt;
    int waiting_models;
    int ledger_pending; /* a budget query is queued: the memory must outlive it */
    int timer_closed;
    double budget_estimate;
    int budget_estimate_known;
    request_pair *pair;
    int pair_slot;
    int budget_ready; /* at the budget stage, waiting for the pair's other member */

    /* What came back. */
    buf answer;    /* the whole answer, for the ledger and the token estimate */
    buf body_head; /* the first bytes of a 200 body, to explain a non-SSE answer */
    char *model_answered;
    char *finish_reason;
    provider_usage usage;
    int saw_event;
    int streamed; /* a 2xx response arrived: the provider may charge for this request */
    int decoder_ended;
    int error_event;
    char *err_kind, *err_message;
    long http_status;
    uint64_t t_start, t_first_text, t_end;
    time_t wall_start;
    request_result result;
};

/* ---- request.c ---------------------------------------------------------------------------- */

void request__set_state(request *r, request_state s);
/* Hands ev to the engine's event callback, if any. */
void request__emit(request *r, const request_event *ev);
/* Ends the request (once; later calls do nothing): delivers the text still pending, computes
 * the cost, records the row, reports the end, and takes the request out of the engine.  Its
 * memory outlives the call (release() in request.c), so a parser or decoder callback may end
 * the request and still read it on return.  message is borrowed. */
void request__finish(request *r, request_state s, const char *kind, const char *message);
/* Ends with an error whose message is built here (and masked: a provider may echo a key). */
void request__finishf(request *r, request_state s, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- request_attempt.c -------------------------------------------------------------------- */

/* Sends one attempt, the first or a retry: a fresh SSE parser and decoder, the body built
 * from the prompt, REQUEST_EV_SENT, then the transfer.  Ends the request on failure.  No
 * effect once it has ended. */
void request__send(request *r);

/* ---- request_result.c --------------------------------------------------------------------- */

/* Fills r->result for an end in state s (kind and message borrowed, as request_result says):
 * the tokens as reported or else estimated, the cost, the carbon.  Nothing sent, nothing
 * spent. */
void request__result(request *r, request_state s, const char *kind, const char *message);
/* Queues r's row in the ledger (unless the request keeps none); a failure is told once. */
void request__record(request *r, const request_result *res);

#endif
