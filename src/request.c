/* request: one answer's life.  See include/ami/request.h for the state diagram. */
#include "ami/request.h"

#include "ami/budget.h"
#include "ami/buf.h"
#include "ami/cost.h"
#include "ami/log.h"
#include "ami/ledger_notes.h"
#include "ami/sse.h"
#include "engine_internal.h"
#include "request_notes.h"
#include "request_secrets.h"

#include <cJSON.h>
#include <unistd.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_ATTEMPTS  3  /* the first try and at most two retries */
#define RETRY_CAP_S   15 /* a Retry-After longer than this is shortened */
#define END_GRACE_MS  250
#define BODY_HEAD_MAX 512
#define USAGE_UNKNOWN (-1)

/* Two requests compared side by side (request_params.pair_with) share a pair: the budget
 * sees them as one, deciding once for both, on the sum of their estimates.  Each member holds a
 * reference; the last one released frees it. */
typedef struct request_pair {
    request *member[2]; /* NULL once released */
    int refs;
} request_pair;

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

static const char *state_names[] = {"queued",      "key",       "budget", "sending",
                                    "waiting",     "streaming", "done",   "error",
                                    "interrupted", "cancelled", "refused"};

const char *request_state_name(request_state s) {
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

uint32_t request_id(const request *r) {
    return r->id;
}
void *request_ud(const request *r) {
    return r->ud;
}
request_state request_get_state(const request *r) {
    return r->state;
}
const char *request_thread(const request *r) {
    return r->thread;
}
const char *request_document(const request *r) {
    return r->document;
}
const char *request_uid(const request *r) {
    return r->uid;
}

static void set_state(request *r, request_state s) {
    if (r->state == s)
        return;
    log_debug("request %u: %s → %s", r->id, request_state_name(r->state), request_state_name(s));
    r->state = s;
}

static void emit(request *r, const request_event *ev) {
    if (r->e->sink.event)
        r->e->sink.event(r->e->sink_ud, r, ev);
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

static void wipe_free(char *s) {
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = 0;
    free(s);
}

/* ---- the end --------------------------------------------------------------------------- */

/* Frees what the request owns.  Runs last, from release(): never from inside a parser or
 * decoder callback, which may still be on the stack when the request ends. */
static void request_free_fields(request *r) {
    engine_provider_clear(&r->prov);
    sse_parser_free(r->sse);
    provider_decoder_free(r->dec);
    stream_free(r->out);
    wipe_free(r->key);
    free(r->command);
    free(r->provider_name);
    free(r->model);
    free(r->system);
    free(r->document);
    free(r->thread);
    for (size_t i = 0; i < r->n_turns; i++) {
        free((char *)r->turns[i].document);
        free((char *)r->turns[i].path);
        free((char *)r->turns[i].question);
        free((char *)r->turns[i].name);
        free((char *)r->turns[i].answer);
        free((char *)r->turns[i].note_quote);
        free((char *)r->turns[i].note_comment);
        free((char *)r->turns[i].note_kind);
    }
    free(r->turns);
    rnotes_free(r->notes);
    for (size_t i = 0; i < r->n_dismissed; i++) {
        free((char *)r->dismissed[i].kind);
        free((char *)r->dismissed[i].quote);
        free((char *)r->dismissed[i].comment);
    }
    free(r->dismissed);
    free(r->dismissed_view);
    prompt_result_free(&r->prompt);
    free(r->input_error);
    free(r->sent_url);
    free(r->sent_headers);
    free(r->sent_body);
    buf_free(&r->answer);
    buf_free(&r->body_head);
    free(r->model_answered);
    free(r->finish_reason);
    free(r->err_kind);
    free(r->err_message);
}

/* The memory goes once the timer has closed and no ledger query still refers to it. */
static void release(request *r) {
    if (!r->timer_closed || r->ledger_pending)
        return;
    engine *e = r->e;
    if (r->pair) {
        r->pair->member[r->pair_slot] = NULL;
        if (--r->pair->refs == 0)
            free(r->pair);
    }
    request_free_fields(r);
    free(r);
    e->pending_closes--;
    engine_request_freed(e);
}

static void on_timer_closed(uv_handle_t *h) {
    request *r = h->data;
    free(h);
    r->timer_closed = 1;
    release(r);
}

static void on_models_ready(void *ud, const provider_model *models, size_t n, const char *err);

/* Takes the request out of the engine and stops everything it started; the memory is freed
 * later (release()). */
static void request_destroy(request *r) {
    for (request **pp = &r->e->requests; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    if (r->waiting_models)
        engine_models_forget(r->e, r->provider_name, on_models_ready, r);
    if (r->key_req)
        keys_cancel(r->key_req);
    r->key_req = NULL;
    if (r->xfer)
        http_cancel(r->xfer);
    r->xfer = NULL;
    uv_timer_stop(r->timer);
    uv_close((uv_handle_t *)r->timer, on_timer_closed);
}

static void on_recorded(void *ud, int rc, const char *err) {
    engine *e = ud;
    if (rc != 0 && !e->ledger_told) {
        e->ledger_told = 1;
        char msg[600];
        snprintf(msg, sizeof msg, "the usage ledger could not record a request: %s", err);
        engine_notice(e, NULL, msg);
    }
}

static ledger_status ledger_status_of(request_state s) {
    switch (s) {
    case REQUEST_DONE:
        return LEDGER_STATUS_OK;
    case REQUEST_INTERRUPTED:
        return LEDGER_STATUS_INTERRUPTED;
    case REQUEST_CANCELLED:
        return LEDGER_STATUS_CANCELLED;
    case REQUEST_REFUSED:
        return LEDGER_STATUS_REFUSED;
    default:
        return LEDGER_STATUS_ERROR;
    }
}

/* What was asked, without the document: the ledger's `turn` column, from which a thread is
 * shown again after a restart.  NULL when out of memory. */
static char *turn_json(const request *r) {
    if (!r->n_turns)
        return NULL;
    const prompt_turn *t = &r->turns[r->n_turns - 1];
    static const char *const kinds[] = {"ask", "critique", "explain", "explore"};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "kind", (unsigned)t->kind < 4 ? kinds[t->kind] : "ask");
    if (t->question)
        cJSON_AddStringToObject(o, "question", t->question);
    if (t->name)
        cJSON_AddStringToObject(o, "name", t->name);
    if (t->path)
        cJSON_AddStringToObject(o, "path", t->path);
    if (t->kind == PROMPT_CRITIQUE) {
        cJSON_AddNumberToObject(o, "line_start", (double)t->line_start);
        cJSON_AddNumberToObject(o, "line_end", (double)t->line_end);
    }
    if (t->note_quote)
        cJSON_AddStringToObject(o, "note_quote", t->note_quote);
    if (t->note_kind)
        cJSON_AddStringToObject(o, "note_kind", t->note_kind);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void record(request *r, const request_result *res) {
    ledger *l = r->no_ledger ? NULL : engine_ledger(r->e);
    if (!l)
        return;
    ledger_row row;
    memset(&row, 0, sizeof row);
    row.started_at = r->wall_start;
    row.ended_at = time(NULL);
    row.client = r->e->client;
    row.command = r->command;
    row.provider = res->provider;
    row.model_requested = res->model;
    row.model_answered = res->model_answered;
    row.document = r->document;
    row.thread = r->thread;
    row.prompt_tokens = res->prompt_tokens;
    row.completion_tokens = res->completion_tokens;
    row.cost_usd = res->cost_usd;
    row.cost_source = (cost_source)res->cost_source;
    if (res->state == REQUEST_REFUSED) {
        /* doc/LEDGER.md: a refused row keeps the estimate that was refused, so the reader can
         * see what the cap prevented.  Nothing was spent: the months view leaves refused rows
         * out of every total.  An unknown price is stored as unknown, never as 0. */
        row.cost_usd = r->budget_estimate_known ? r->budget_estimate : NAN;
        row.cost_source = r->budget_estimate_known ? COST_ESTIMATED : COST_UNKNOWN;
    }
    row.co2e_g = res->co2e_g;
    row.status = ledger_status_of(res->state);
    row.error = res->state != REQUEST_DONE ? res->message : NULL;
    row.finish_reason = res->finish_reason;
    row.ttft_ms = res->ttft_ms;
    row.duration_ms = res->duration_ms;
    buf prompt = {0};
    if (r->prompt.system) {
        buf_printf(&prompt, "[system]\n%s\n", r->prompt.system);
        for (size_t i = 0; i < r->prompt.n_messages; i++) {
            buf_printf(&prompt, "\n[%s]\n", r->prompt.messages[i].role);
            buf_append(&prompt, r->prompt.messages[i].content, r->prompt.messages[i].content_len);
            buf_append_byte(&prompt, '\n');
        }
    }
    row.prompt_text = prompt.data;
    row.answer_text = r->answer.data ? r->answer.data : "";
    row.uid = r->uid;
    char *turn = turn_json(r);
    row.turn = turn;
    row.sent_url = r->sent_url;
    row.sent_headers = r->sent_headers;
    row.sent_body = r->sent_body;
    if (ledger_record(l, &row, on_recorded, r->e) != 0)
        on_recorded(r->e, -1, ledger_error(l) ? ledger_error(l) : "the ledger is closed");
    buf_free(&prompt);
    free(turn);
}

/* Ends the request: delivers the text still pending, computes the cost, records the row,
 * reports the end, and frees the request. */
static request *partner(const request *r) {
    request *o = r->pair ? r->pair->member[1 - r->pair_slot] : NULL;
    return o && !o->ended ? o : NULL;
}

static void budget_query(request *r);

static void finish(request *r, request_state s, const char *kind, const char *message) {
    if (r->ended)
        return;
    r->ended = 1;
    /* A pair's other answer waiting for this one at the budget stage decides alone now. */
    request *o = partner(r);
    if (o && o->budget_ready) {
        o->budget_ready = 0;
        budget_query(o);
    }
    if (r->key_req) {
        keys_cancel(r->key_req);
        r->key_req = NULL;
    }
    if (r->xfer) {
        http_cancel(r->xfer);
        r->xfer = NULL;
    }
    uv_timer_stop(r->timer);
    if (r->out)
        stream_end(r->out);
    rnotes_finish(r->notes); /* the last note, with what it has */
    set_state(r, s);
    r->t_end = uv_hrtime();

    request_result *res = &r->result;
    memset(res, 0, sizeof *res);
    res->state = s;
    res->provider = r->provider_name;
    res->model = r->model;
    res->model_answered = r->model_answered;
    res->finish_reason = r->finish_reason;
    res->error_kind = kind;
    res->http_status = r->http_status;
    res->message = message;
    res->text_bytes = r->answer.len;
    res->ttft_ms = r->t_first_text ? (long)((r->t_first_text - r->t_start) / 1000000) : -1;
    res->duration_ms = (long)((r->t_end - r->t_start) / 1000000);

    /* Tokens: as reported; otherwise estimated from the text when something was sent. */
    res->prompt_tokens = r->usage.prompt_tokens;
    res->completion_tokens = r->usage.completion_tokens;
    int sent = r->streamed;
    if (sent && res->prompt_tokens < 0) {
        res->prompt_tokens = r->prompt.prompt_tokens;
        res->tokens_estimated = 1;
    }
    if (sent && res->completion_tokens < 0) {
        res->completion_tokens =
            cost_estimate_tokens(r->answer.data ? r->answer.data : "", r->answer.len);
        res->tokens_estimated = 1;
    }
    if (!sent) {
        res->prompt_tokens = res->completion_tokens = 0;
    }
    double pp = -1, cp = -1;
    long ctx;
    engine_model_info(r->e, r->provider_name, r->model_answered ? r->model_answered : r->model,
                      &ctx, &pp, &cp);
    if ((pp < 0 || cp < 0) && r->model_answered)
        engine_model_info(r->e, r->provider_name, r->model, &ctx, &pp, &cp);
    cost_price price = {pp, cp, pp >= 0 && cp >= 0};
    cost_result c = cost_of(res->prompt_tokens, res->completion_tokens, r->usage.cost,
                            r->usage.has_cost, price);
    if (!sent) {
        c.usd = 0;
        c.source = COST_REPORTED; /* nothing was sent: nothing was spent */
    }
    res->cost_usd = c.usd;
    res->cost_source = c.source;
    const ami_config *cfg = engine_config(r->e);
    res->co2e_g = cfg->carbon_enabled && sent
                      ? cost_carbon_g(res->prompt_tokens, res->completion_tokens,
                                      cfg->carbon_points, cfg->n_carbon_points)
                      : -1;
    char cost_text[48];
    cost_format(res->cost_usd, c.source, cost_text, sizeof cost_text);
    log_info("request %u: %s (%ld in, %ld out, %s)%s%s", r->id, request_state_name(s),
             res->prompt_tokens, res->completion_tokens, cost_text, message ? ": " : "",
             message ? message : "");
    record(r, res);
    request_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = REQUEST_EV_DONE;
    ev.result = res;
    emit(r, &ev);
    request_destroy(r);
}

/* Ends with an error whose message is built here (and masked: a provider may echo a key). */
static void finishf(request *r, request_state s, const char *kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void finishf(request *r, request_state s, const char *kind, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    secret_redact(msg);
    finish(r, s, kind, msg);
}

void request_cancel(request *r, const char *why) {
    if (r->ended)
        return;
    finish(r, REQUEST_CANCELLED, "cancelled", why ? why : "stopped by the user");
}

void request_cancel_all(engine *e, const char *why) {
    while (e->requests)
        request_cancel(e->requests, why);
}

request *request_find(engine *e, uint32_t id) {
    for (request *r = e->requests; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

void request_each(engine *e, void (*fn)(request *r, void *ud), void *ud) {
    request *r = e->requests;
    while (r) {
        request *next = r->next; /* fn may end r */
        fn(r, ud);
        r = next;
    }
}

size_t request_count(const engine *e) {
    size_t n = 0;
    for (const request *r = e->requests; r; r = r->next)
        n++;
    return n;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static void on_provider_event(void *ud, const provider_event *ev) {
    request *r = ud;
    if (r->ended)
        return;
    r->saw_event = 1;
    switch (ev->type) {
    case PEV_TEXT: {
        if (ev->len == 0)
            return;
        const ami_config *cfg = engine_config(r->e);
        if (r->answer.len + ev->len > (size_t)cfg->max_answer_bytes) {
            finishf(r, REQUEST_INTERRUPTED, "too_long",
                    "the answer passed max_answer_bytes (%ld bytes) and was stopped; the text so "
                    "far is kept",
                    cfg->max_answer_bytes);
            return;
        }
        if (!r->t_first_text) {
            r->t_first_text = uv_hrtime();
            set_state(r, REQUEST_STREAMING);
        }
        if (buf_append(&r->answer, ev->text, ev->len) != 0 ||
            stream_push(r->out, ev->text, ev->len) != 0) {
            finish(r, REQUEST_ERROR, "memory", "out of memory while receiving the answer");
            return;
        }
        rnotes_feed(r->notes, ev->text, ev->len);
        return;
    }
    case PEV_MODEL:
        if (r->model_answered && strlen(r->model_answered) == ev->len &&
            memcmp(r->model_answered, ev->text, ev->len) == 0)
            return;
        free(r->model_answered);
        r->model_answered = strndup(ev->text, ev->len);
        rnotes_set_model(r->notes, r->model_answered);
        {
            request_event me;
            memset(&me, 0, sizeof me);
            me.type = REQUEST_EV_MODEL;
            me.model = r->model_answered;
            emit(r, &me);
        }
        return;
    case PEV_USAGE:
        if (ev->usage.prompt_tokens >= 0)
            r->usage.prompt_tokens = ev->usage.prompt_tokens;
        if (ev->usage.completion_tokens >= 0)
            r->usage.completion_tokens = ev->usage.completion_tokens;
        if (ev->usage.has_cost) {
            r->usage.cost = ev->usage.cost;
            r->usage.has_cost = 1;
        }
        return;
    case PEV_FINISH:
        free(r->finish_reason);
        r->finish_reason = strndup(ev->text, ev->len);
        return;
    case PEV_ERROR: {
        const char *what = r->answer.len ? "mid-answer" : "before answering";
        char code[64] = "";
        if (ev->code)
            snprintf(code, sizeof code, "%ld", ev->code);
        const char *kind = ev->error_kind && *ev->error_kind ? ev->error_kind : NULL;
        char label[160] = "";
        if (*code || kind)
            snprintf(label, sizeof label, " (%s%s%s)", code, *code && kind ? " " : "",
                     kind ? kind : "");
        finishf(r, REQUEST_ERROR, "provider", "%s reported an error %s%s: %s%s", r->provider_name,
                what, label, ev->message && *ev->message ? ev->message : "no message",
                r->answer.len ? "; the partial answer is kept" : "");
        return;
    }
    case PEV_END:
        r->decoder_ended = 1;
        return;
    }
}

static int on_sse_event(void *ud, const sse_event *ev) {
    request *r = ud;
    provider_decoder_event(r->dec, ev->type, ev->type_len, ev->data, ev->data_len);
    return r->ended || r->decoder_ended;
}

static int on_sse_field(void *ud, const char *name, size_t name_len, const char *value,
                        size_t value_len) {
    request *r = ud;
    provider_decoder_field(r->dec, name, name_len, value, value_len);
    return r->ended;
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

static void send_now(request *r);

static void on_grace(uv_timer_t *t) {
    request *r = t->data;
    /* [DONE] came but the server kept the response open: we have the whole answer. */
    finish(r, REQUEST_DONE, NULL, NULL);
}

static void on_data(void *ud, const char *data, size_t len) {
    request *r = ud;
    if (r->ended || r->decoder_ended)
        return;
    r->streamed = 1;
    if (r->body_head.len < BODY_HEAD_MAX)
        buf_append(&r->body_head, data,
                   len < BODY_HEAD_MAX - r->body_head.len ? len : BODY_HEAD_MAX - r->body_head.len);
    int rc = sse_parser_feed(r->sse, data, len);
    if (r->ended)
        return;
    if (rc == SSE_ETOOBIG || rc == SSE_ENOMEM) {
        finishf(r, r->answer.len ? REQUEST_INTERRUPTED : REQUEST_ERROR, "stream",
                "%s sent an event too large to handle (over 64 MiB)%s", r->provider_name,
                r->answer.len ? "; the partial answer is kept" : "");
        return;
    }
    if (r->decoder_ended && !r->ended)
        uv_timer_start(r->timer, on_grace, END_GRACE_MS, 0);
}

static void on_retry_timer(uv_timer_t *t) {
    request *r = t->data;
    send_now(r);
}

static int retryable(long status) {
    return status == 429 || status == 502 || status == 503;
}

static const char *status_text(long status) {
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 529:
        return "Overloaded";
    default:
        return NULL;
    }
}

/* Whether a Content-Type announces server-sent events ("text/event-stream; charset=utf-8"). */
static int is_event_stream(const char *content_type) {
    static const char sse[] = "text/event-stream";
    return content_type && strncasecmp(content_type, sse, sizeof sse - 1) == 0;
}

static void on_http_done(void *ud, const http_result *res) {
    request *r = ud;
    r->xfer = NULL;
    if (r->ended)
        return;
    if (res->status)
        r->http_status = res->status;
    if (res->code == HTTP_OK) {
        const char *pending = NULL;
        size_t pending_len = 0;
        sse_parser_finish(r->sse, &pending, &pending_len);
        provider_decoder_eof(r->dec, pending, pending_len);
        if (r->ended)
            return;
        if (r->decoder_ended || r->finish_reason) {
            finish(r, REQUEST_DONE, NULL, NULL);
        } else if (r->answer.len) {
            finishf(r, REQUEST_INTERRUPTED, "stream",
                    "the answer from %s stopped before it was complete (the stream ended without "
                    "a finish); the partial answer is kept",
                    r->provider_name);
        } else if (!r->saw_event && !is_event_stream(res->content_type)) {
            char head[201];
            size_t n = r->body_head.len < 200 ? r->body_head.len : 200;
            memcpy(head, r->body_head.data ? r->body_head.data : "", n);
            head[n] = '\0';
            for (char *p = head; *p; p++)
                if (*p == '\n' || *p == '\r')
                    *p = ' ';
            finishf(r, REQUEST_ERROR, "protocol",
                    "%s answered with something that is not an event stream (Content-Type %s)%s%s",
                    r->provider_name, res->content_type ? res->content_type : "missing",
                    n ? ": " : "", head);
        } else {
            finishf(r, REQUEST_INTERRUPTED, "stream",
                    "the stream from %s ended before any text arrived", r->provider_name);
        }
        return;
    }
    if (res->code == HTTP_ESTATUS) {
        char *kind = NULL, *message = NULL;
        provider_parse_error(res->body, res->body_len, res->content_type, &kind, &message);
        if (retryable(res->status) && r->answer.len == 0 && r->attempt < MAX_ATTEMPTS) {
            double wait =
                res->retry_after_secs >= 0 ? (double)res->retry_after_secs : (double)r->attempt;
            if (wait > RETRY_CAP_S)
                wait = RETRY_CAP_S;
            char msg[600];
            snprintf(msg, sizeof msg, "%s answered HTTP %ld%s%s; retrying in %.0f s (%d of %d)",
                     r->provider_name, res->status, message ? ": " : "", message ? message : "",
                     wait, r->attempt, MAX_ATTEMPTS - 1);
            secret_redact(msg);
            request_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = REQUEST_EV_RETRY;
            ev.attempt = r->attempt;
            ev.wait_s = wait;
            ev.message = msg;
            emit(r, &ev);
            set_state(r, REQUEST_WAITING);
            uv_timer_start(r->timer, on_retry_timer, (uint64_t)(wait * 1000), 0);
            free(kind);
            free(message);
            return;
        }
        const char *st = status_text(res->status);
        /* OpenRouter found no provider that may serve the model under the privacy settings. */
        const char *hint = "";
        if (message && strstr(message, "data policy") && r->prov.def.attribution)
            hint = config_deny_data_collection(engine_config(r->e))
                       ? "; privacy.data_collection = \"deny\" (or privacy.zdr) leaves no "
                         "provider for this model: choose another with :AmiModel, or allow it "
                         "for this model knowingly"
                       : "; privacy.zdr leaves no provider for this model: choose another with "
                         ":AmiModel";
        finishf(r, REQUEST_ERROR, "http", "%s refused the request (HTTP %ld%s%s)%s%s%s%s",
                r->provider_name, res->status, st ? " " : "", st ? st : "", message ? ": " : "",
                message ? message : (res->body_len ? "" : ", with no message"),
                r->attempt > 1 ? " (after retrying)" : "", hint);
        free(kind);
        free(message);
        return;
    }
    const char *kind = res->code == HTTP_ESTALL ? "stalled" : "network";
    if (r->answer.len)
        finishf(r, REQUEST_INTERRUPTED, kind, "%s; the partial answer is kept",
                res->message ? res->message : "the connection failed");
    else if (r->streamed)
        /* The provider accepted the request and began its answer: a cut stream (exit 4, ledger
         * "interrupted"), like one cut after some text, not a refusal. */
        finishf(r, REQUEST_INTERRUPTED, kind, "%s, before any text arrived",
                res->message ? res->message : "the connection failed");
    else
        finishf(r, REQUEST_ERROR, kind, "%s",
                res->message ? res->message : "the connection failed");
}

static int is_loopback_url(const char *url) {
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    return strncmp(p, "127.", 4) == 0 || strncmp(p, "localhost", 9) == 0 ||
           strncmp(p, "[::1]", 5) == 0;
}

/* What leaves the machine, for :AmiSent and `ami log show`: the URL, the headers with the
 * values of those that carry the key replaced by <redacted>, the body exactly as sent. */
static void emit_sent(request *r, const char *url, char **headers, const char *body,
                      size_t body_len) {
    buf shown = {0};
    for (char **h = headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        size_t name = colon ? (size_t)(colon - *h) : strlen(*h);
        int secret = (name == 13 && strncasecmp(*h, "authorization", 13) == 0) ||
                     (name == 9 && strncasecmp(*h, "x-api-key", 9) == 0);
        buf_append(&shown, *h, name);
        buf_append_str(&shown, secret ? ": <redacted>\n" : colon ? colon : "\n");
        if (!secret && colon)
            buf_append_byte(&shown, '\n');
    }
    free(r->sent_headers);
    r->sent_headers = buf_steal(&shown);
    request_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = REQUEST_EV_SENT;
    ev.url = url;
    ev.headers = r->sent_headers;
    ev.body = body;
    ev.body_len = body_len;
    emit(r, &ev);
    /* Kept for the ledger's row (the key is never in the body: it travels in a header). */
    free(r->sent_body);
    free(r->sent_url);
    r->sent_body = strndup(body, body_len);
    r->sent_url = strdup(url);
}

static void send_now(request *r) {
    if (r->ended)
        return;
    r->attempt++;
    set_state(r, REQUEST_SENDING);
    sse_parser_free(r->sse);
    provider_decoder_free(r->dec);
    r->sse = sse_parser_new(on_sse_event, r);
    r->dec = provider_decoder_new(r->prov.def.dialect, on_provider_event, r);
    if (!r->sse || !r->dec) {
        finish(r, REQUEST_ERROR, "memory", "out of memory");
        return;
    }
    sse_parser_set_field_fn(r->sse, on_sse_field);
    r->saw_event = r->decoder_ended = 0;
    buf_clear(&r->body_head);
    provider_request pr;
    memset(&pr, 0, sizeof pr);
    pr.model = r->model;
    pr.system = r->prompt.system;
    pr.messages = r->prompt.messages;
    pr.n_messages = r->prompt.n_messages;
    pr.max_tokens = r->max_tokens;
    pr.temperature = r->temperature;
    pr.deny_data_collection = config_deny_data_collection(engine_config(r->e));
    pr.zdr = engine_config(r->e)->privacy_zdr;
    size_t body_len = 0;
    char *body = provider_build_body(&r->prov.def, &pr, &body_len);
    char *url = provider_endpoint(&r->prov.def, r->prov.base_url);
    char **headers = provider_headers(&r->prov.def, r->key, r->prov.app_url, r->prov.app_title);
    if (!body || !url || !headers) {
        free(body);
        free(url);
        provider_headers_free(headers);
        finish(r, REQUEST_ERROR, "memory", "out of memory");
        return;
    }
    emit_sent(r, url, headers, body, body_len);
    if (r->key && strncmp(url, "http://", 7) == 0 && !is_loopback_url(url) &&
        !r->e->warned_plain_http) {
        r->e->warned_plain_http = 1;
        char msg[512];
        snprintf(msg, sizeof msg,
                 "warning: the API key for %s is sent over plain http:// to %s: anyone on the "
                 "network path can read it; use https://",
                 r->provider_name, r->prov.base_url);
        engine_notice(r->e, r, msg);
    }
    const ami_config *cfg = engine_config(r->e);
    http_options opts;
    memset(&opts, 0, sizeof opts);
    opts.connect_timeout_ms = (long)(cfg->connect_timeout_s * 1000);
    opts.low_speed_secs = (long)cfg->stall_timeout_s;
    http_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.on_data = on_data;
    cbs.on_done = on_http_done;
    r->xfer = http_request(r->e->http, "POST", url, (const char *const *)headers, body, body_len,
                           &opts, &cbs, r);
    free(body);
    provider_headers_free(headers);
    if (!r->xfer)
        finishf(r, REQUEST_ERROR, "config", "cannot send to %s: the URL is not valid", url);
    free(url);
}

/* ---- budget --------------------------------------------------------------------------------- */

/* The budget's verdict for r, and for its pair's other member when that one waits at the
 * budget stage too: one decision on the sum of their estimates, applied to both. */
static void on_month(void *ud, int rc, const ledger_totals *t, const char *err) {
    request *r = ud;
    r->ledger_pending = 0;
    if (r->ended) {
        release(r);
        return;
    }
    request *o = partner(r);
    if (o && !o->budget_ready)
        o = NULL;
    const ami_config *cfg = engine_config(r->e);
    budget_request br;
    memset(&br, 0, sizeof br);
    br.month_spent_usd = rc == 0 && t ? t->cost_usd : 0;
    br.ledger_ok = rc == 0;
    br.ledger_error = err;
    br.estimate_usd = r->budget_estimate + (o ? o->budget_estimate : 0);
    br.estimate_known = r->budget_estimate_known && (!o || o->budget_estimate_known);
    br.prompt_tokens = r->prompt.prompt_tokens + (o ? o->prompt.prompt_tokens : 0);
    br.max_output_tokens = r->max_tokens + (o ? o->max_tokens : 0);
    char msg[768];
    budget_verdict verdict = budget_decide(cfg, &br, msg, sizeof msg);
    /* The verdict's sentence starts with "ami: "; the sinks add their own prefix. */
    const char *text = strncmp(msg, "ami: ", 5) == 0 ? msg + 5 : msg;
    char both[900];
    if (o && verdict != BUDGET_OK) {
        snprintf(both, sizeof both, "%s (the two answers of the comparison, together)", text);
        text = both;
    }
    if (o)
        o->budget_ready = 0;
    if (verdict == BUDGET_REFUSED) {
        if (o)
            finish(o, REQUEST_REFUSED, "budget", text);
        finish(r, REQUEST_REFUSED, "budget", text);
        return;
    }
    if (verdict == BUDGET_UNENFORCED)
        engine_notice(r->e, r, text);
    send_now(r);
    if (o && !o->ended)
        send_now(o);
}

static void budget_query(request *r) {
    ledger *l = engine_ledger(r->e);
    int rc = l ? ledger_month(l, NULL, on_month, r) : LEDGER_EUNUSABLE;
    if (rc == 0)
        r->ledger_pending = 1;
    else
        on_month(r, rc, NULL,
                 !l                ? "the ledger is turned off (ledger.enabled = false)"
                 : ledger_error(l) ? ledger_error(l)
                                   : "the ledger cannot be read");
}

static void check_budget(request *r) {
    const ami_config *cfg = engine_config(r->e);
    if (cfg->budget_monthly_usd < 0 && cfg->budget_per_request_usd < 0) {
        send_now(r);
        return;
    }
    set_state(r, REQUEST_BUDGET);
    long ctx;
    double pp = -1, cp = -1;
    engine_model_info(r->e, r->provider_name, r->model, &ctx, &pp, &cp);
    r->budget_estimate_known = pp >= 0 && cp >= 0;
    r->budget_estimate =
        r->budget_estimate_known
            ? ((double)r->prompt.prompt_tokens * pp + (double)r->max_tokens * cp) / 1e6
            : 0;
    request *o = partner(r);
    if (o && !o->budget_ready) {
        r->budget_ready = 1; /* the other answer decides for both when it gets here */
        return;
    }
    budget_query(r);
}

/* ---- key, kick-off -------------------------------------------------------------------------- */

static void on_key(void *ud, const char *key, const char *source, const char *err) {
    request *r = ud;
    r->key_req = NULL;
    if (r->ended)
        return;
    if (err) {
        finish(r, REQUEST_ERROR, "key", err);
        return;
    }
    (void)source;
    r->key = key ? strdup(key) : NULL;
    check_budget(r);
}

static void emit_note(void *ud, const request_note *note) {
    request *r = ud;
    request_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = REQUEST_EV_NOTE;
    ev.margin_note = note;
    emit(r, &ev);
}

/* The note cutter, on the document of the last turn (the critique). */
static int start_notes(request *r) {
    const prompt_turn *t = &r->turns[r->n_turns - 1];
    rnotes_info info;
    memset(&info, 0, sizeof info);
    info.request_uid = r->uid;
    info.document = r->document;
    info.thread = r->thread;
    info.text = t->document;
    info.text_len = t->document_len;
    info.passage_start = t->line_start;
    info.passage_end = t->line_end;
    r->notes = rnotes_new(&info, r->no_ledger ? NULL : engine_ledger(r->e), emit_note, r);
    return r->notes ? 0 : -1;
}

/* Every text that will leave the machine, masked (request_secrets.h), and the writer told
 * what was masked.  0, or -1 (-2: a bad allow pattern) with err set: then nothing must be
 * sent. */
static int mask_secrets(request *r, char *err, size_t errlen) {
    const ami_config *cfg = engine_config(r->e);
    if (!cfg->secrets_mask)
        return 0;
    rsecrets_report rep;
    int rc =
        rsecrets_mask(r->turns, r->n_turns, &r->system, (const char *const *)cfg->secrets_allow,
                      cfg->n_secrets_allow, &rep, err, errlen);
    if (rc != 0)
        return rc;
    if (rep.n_found || rep.elsewhere) {
        log_info("request %u: %zu secret%s masked in the document, %zu elsewhere", r->id,
                 rep.n_found, rep.n_found == 1 ? "" : "s", rep.elsewhere);
        request_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = REQUEST_EV_SECRETS;
        ev.secrets = rep.found;
        ev.n_secrets = rep.n_found;
        ev.secrets_elsewhere = rep.elsewhere;
        emit(r, &ev);
    }
    rsecrets_report_free(&rep);
    return 0;
}

/* Builds the prompt (now that the model's context length is known, if it can be), reports
 * the start, and looks for the key. */
static void begin(request *r) {
    const ami_config *cfg = engine_config(r->e);
    char err[512] = "";
    /* The notes are found in the document as the writer has it, before any secret is masked
     * (the cutter keeps its own copy); then every text is masked, before anything is built
     * from it. */
    if (r->want_notes && !r->notes && start_notes(r) != 0) {
        finish(r, REQUEST_ERROR, "memory", "out of memory");
        return;
    }
    int masked = mask_secrets(r, err, sizeof err);
    if (masked != 0) {
        finish(r, REQUEST_ERROR, masked == -2 ? "config" : "secrets", err);
        return;
    }
    long ctx = cfg->context_tokens > 0 ? cfg->context_tokens : r->prov.context_tokens;
    if (ctx <= 0) {
        double pp, cp;
        engine_model_info(r->e, r->provider_name, r->model, &ctx, &pp, &cp);
    }
    r->context_tokens = ctx;
    prompt_options po;
    memset(&po, 0, sizeof po);
    po.language = cfg->language;
    po.system = r->system;
    po.context_tokens = ctx;
    po.max_tokens = r->max_tokens;
    po.notes = r->want_notes;
    po.dismissed = r->dismissed_view;
    po.n_dismissed = r->n_dismissed;
    if (prompt_build(r->turns, r->n_turns, &po, &r->prompt, err, sizeof err) != 0) {
        finish(r, REQUEST_ERROR, "input", err);
        return;
    }
    request_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = REQUEST_EV_START;
    ev.provider = r->provider_name;
    ev.model = r->model;
    ev.language = r->prompt.language;
    ev.note = r->prompt.note;
    ev.prompt_tokens = r->prompt.prompt_tokens;
    emit(r, &ev);
    if (r->ended)
        return;
    set_state(r, REQUEST_KEY);
    keys_spec spec = engine_provider_keys(&r->prov, -1);
    r->key_req = keys_get(r->e->keys, &spec, on_key, r);
}

static void on_models_ready(void *ud, const provider_model *models, size_t n, const char *err) {
    (void)models;
    (void)n;
    request *r = ud;
    r->waiting_models = 0;
    if (r->ended)
        return;
    if (err)
        log_info("request %u: no model list: %s", r->id, err);
    begin(r);
}

/* Bytes of document text the thread sends, to tell whether the context length matters. */
static size_t document_bytes(const request *r) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_turns; i++)
        n += r->turns[i].document_len;
    return n;
}

static void after_dismissed(request *r);

/* The notes the writer dismissed on this document, to tell the model not to repeat them. */
static void on_dismissed(void *ud, int rc, const ledger_note *notes, size_t n, const char *err) {
    request *r = ud;
    r->ledger_pending = 0;
    if (r->ended) {
        release(r);
        return;
    }
    if (rc < 0)
        log_info("request %u: no dismissed notes: %s", r->id, err ? err : "?");
    if (rc == 0 && n) {
        r->dismissed = calloc(n, sizeof *r->dismissed);
        r->dismissed_view = calloc(n, sizeof *r->dismissed_view);
        for (size_t i = 0; r->dismissed && r->dismissed_view && i < n; i++) {
            ledger_note *d = &r->dismissed[r->n_dismissed];
            d->kind = dup_or_null(notes[i].kind);
            d->quote = dup_or_null(notes[i].quote);
            d->comment = dup_or_null(notes[i].comment);
            if (!d->quote)
                break;
            prompt_dismissed *v = &r->dismissed_view[r->n_dismissed++];
            v->kind = d->kind;
            v->quote = d->quote;
            v->comment = d->comment;
        }
    }
    after_dismissed(r);
}

static void on_kickoff(uv_timer_t *t) {
    request *r = t->data;
    if (r->input_error) {
        finish(r, REQUEST_ERROR, r->input_kind, r->input_error);
        return;
    }
    ledger *l = r->want_notes && r->document && !r->no_ledger ? engine_ledger(r->e) : NULL;
    if (l && ledger_notes_for(l, r->document, 1, on_dismissed, r) == 0) {
        r->ledger_pending = 1;
        return;
    }
    after_dismissed(r);
}

static void after_dismissed(request *r) {
    /* Wait for the model list only when it matters: a large document whose model's context
     * is unknown, or a per-request cap whose price is unknown. */
    const ami_config *cfg = engine_config(r->e);
    long ctx;
    double pp, cp;
    engine_model_info(r->e, r->provider_name, r->model, &ctx, &pp, &cp);
    int need_context = ctx <= 0 && cfg->context_tokens <= 0 && r->prov.context_tokens <= 0 &&
                       document_bytes(r) > 32 * 1024;
    int need_price = cfg->budget_per_request_usd >= 0 && (pp < 0 || cp < 0);
    if (need_context || need_price) {
        r->waiting_models = 1;
        engine_models(r->e, r->provider_name, 0, on_models_ready, r);
        return;
    }
    begin(r);
}

static int copy_turns(request *r, const prompt_turn *turns, size_t n) {
    r->turns = calloc(n ? n : 1, sizeof *r->turns);
    if (!r->turns)
        return -1;
    r->n_turns = n;
    for (size_t i = 0; i < n; i++) {
        prompt_turn *d = &r->turns[i];
        const prompt_turn *s = &turns[i];
        *d = *s;
        d->document = NULL;
        d->path = d->question = d->name = d->answer = NULL;
        d->note_quote = d->note_comment = d->note_kind = NULL;
        if (s->document) {
            char *doc = malloc(s->document_len + 1);
            if (!doc)
                return -1;
            memcpy(doc, s->document, s->document_len);
            doc[s->document_len] = '\0';
            d->document = doc;
        }
        if ((s->path && !(d->path = strdup(s->path))) ||
            (s->question && !(d->question = strdup(s->question))) ||
            (s->name && !(d->name = strdup(s->name))) ||
            (s->answer && !(d->answer = strdup(s->answer))) ||
            (s->note_quote && !(d->note_quote = strdup(s->note_quote))) ||
            (s->note_comment && !(d->note_comment = strdup(s->note_comment))) ||
            (s->note_kind && !(d->note_kind = strdup(s->note_kind))))
            return -1;
    }
    return 0;
}

request *request_start(engine *e, const request_params *p, void *ud) {
    if (e->closing)
        return NULL;
    request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->timer = malloc(sizeof *r->timer);
    if (!r->timer) {
        free(r);
        return NULL;
    }
    uv_timer_init(e->loop, r->timer);
    r->timer->data = r;
    r->e = e;
    r->ud = ud;
    r->id = ++e->next_id;
    r->t_start = uv_hrtime();
    r->wall_start = time(NULL);
    snprintf(r->uid, sizeof r->uid, "r-%llx-%lx-%x", (unsigned long long)r->wall_start,
             (unsigned long)getpid(), (unsigned)r->id);
    r->usage.prompt_tokens = r->usage.completion_tokens = USAGE_UNKNOWN;
    r->next = e->requests;
    e->requests = r;
    e->pending_closes++; /* until release() */

    const ami_config *cfg = engine_config(e);
    r->command = strdup(p->command ? p->command : "ask");
    r->provider_name = strdup(p->provider && *p->provider ? p->provider : cfg->provider);
    r->model = strdup(p->model && *p->model ? p->model : cfg->model);
    r->system = dup_or_null(p->system);
    r->document = dup_or_null(p->document);
    r->thread = dup_or_null(p->thread);
    r->no_ledger = p->no_ledger;
    if (p->pair_with && !p->pair_with->ended && !p->pair_with->pair) {
        request_pair *pr = calloc(1, sizeof *pr);
        if (pr) {
            pr->member[0] = p->pair_with;
            pr->member[1] = r;
            pr->refs = 2;
            p->pair_with->pair = pr;
            p->pair_with->pair_slot = 0;
            r->pair = pr;
            r->pair_slot = 1;
        }
    }
    /* Notes for a critique whose last turn has its document. */
    r->want_notes = p->notes && p->n_turns && p->turns[p->n_turns - 1].kind == PROMPT_CRITIQUE &&
                    p->turns[p->n_turns - 1].document;
    r->max_tokens = p->max_tokens > 0 ? p->max_tokens : cfg->max_tokens;
    r->temperature = cfg->temperature;
    r->out = stream_new(e->clock, r); /* the sink gets the request: request_id(), request_ud() */
    char err[512] = "";
    if (!r->command || !r->provider_name || !r->model || !r->out ||
        copy_turns(r, p->turns, p->n_turns) != 0) {
        r->input_error = strdup("out of memory");
        r->input_kind = "memory";
    } else if (engine_provider_resolve(e, r->provider_name, &r->prov, err, sizeof err) != 0) {
        r->input_error = strdup(err);
        r->input_kind = "config";
    }
    uv_timer_start(r->timer, on_kickoff, 0, 0);
    return r;
}
