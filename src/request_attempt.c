/* request_attempt: one attempt on the wire, from the body built to the transfer's end.
 *
 * request__send() builds the body from the prompt, reports what leaves the machine
 * (REQUEST_EV_SENT, kept for the ledger with the key's headers shown as <redacted>) and starts
 * the transfer.  Its bytes go through the SSE parser (ami/sse.h) and the provider's decoder
 * (ami/provider.h) into the answer, the stream sink and the notes.  When the transfer ends,
 * on_http_done() decides how the answer did: done; a 429/502/503 before any text waits and
 * sends again (at most MAX_ATTEMPTS in all: the "waiting" state); a refusal, a cut stream or a
 * network failure ends it with a sentence for the writer.  The request's other states and its
 * end are src/request.c's.
 *
 * Every decoder and parser callback may end the request (request__finish); its memory outlives
 * that, so they check r->ended on return and stop.
 */
#include "ami/buf.h"
#include "ami/log.h"
#include "ami/sse.h"
#include "request_internal.h"
#include "request_notes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ATTEMPTS  3  /* the first try and at most two retries */
#define RETRY_CAP_S   15 /* a Retry-After longer than this is shortened */
#define END_GRACE_MS  250
#define BODY_HEAD_MAX 512

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
            request__finishf(
                r, REQUEST_INTERRUPTED, "too_long",
                "the answer passed max_answer_bytes (%ld bytes) and was stopped; the text so "
                "far is kept",
                cfg->max_answer_bytes);
            return;
        }
        if (!r->t_first_text) {
            r->t_first_text = uv_hrtime();
            request__set_state(r, REQUEST_STREAMING);
        }
        if (buf_append(&r->answer, ev->text, ev->len) != 0 ||
            stream_push(r->out, ev->text, ev->len) != 0) {
            request__finish(r, REQUEST_ERROR, "memory", "out of memory while receiving the answer");
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
            request__emit(r, &me);
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
        request__finishf(r, REQUEST_ERROR, "provider", "%s reported an error %s%s: %s%s",
                         r->provider_name, what, label,
                         ev->message && *ev->message ? ev->message : "no message",
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

static void on_grace(uv_timer_t *t) {
    request *r = t->data;
    /* [DONE] came but the server kept the response open: we have the whole answer. */
    request__finish(r, REQUEST_DONE, NULL, NULL);
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
        request__finishf(r, r->answer.len ? REQUEST_INTERRUPTED : REQUEST_ERROR, "stream",
                         "%s sent an event too large to handle (over 64 MiB)%s", r->provider_name,
                         r->answer.len ? "; the partial answer is kept" : "");
        return;
    }
    if (r->decoder_ended && !r->ended)
        uv_timer_start(r->timer, on_grace, END_GRACE_MS, 0);
}

static void on_retry_timer(uv_timer_t *t) {
    request *r = t->data;
    request__send(r);
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
            request__finish(r, REQUEST_DONE, NULL, NULL);
        } else if (r->answer.len) {
            request__finishf(
                r, REQUEST_INTERRUPTED, "stream",
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
            request__finishf(
                r, REQUEST_ERROR, "protocol",
                "%s answered with something that is not an event stream (Content-Type %s)%s%s",
                r->provider_name, res->content_type ? res->content_type : "missing", n ? ": " : "",
                head);
        } else {
            request__finishf(r, REQUEST_INTERRUPTED, "stream",
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
            request__emit(r, &ev);
            request__set_state(r, REQUEST_WAITING);
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
        request__finishf(r, REQUEST_ERROR, "http", "%s refused the request (HTTP %ld%s%s)%s%s%s%s",
                         r->provider_name, res->status, st ? " " : "", st ? st : "",
                         message ? ": " : "",
                         message ? message : (res->body_len ? "" : ", with no message"),
                         r->attempt > 1 ? " (after retrying)" : "", hint);
        free(kind);
        free(message);
        return;
    }
    const char *kind = res->code == HTTP_ESTALL ? "stalled" : "network";
    if (r->answer.len)
        request__finishf(r, REQUEST_INTERRUPTED, kind, "%s; the partial answer is kept",
                         res->message ? res->message : "the connection failed");
    else if (r->streamed)
        /* The provider accepted the request and began its answer: a cut stream (exit 4, ledger
         * "interrupted"), like one cut after some text, not a refusal. */
        request__finishf(r, REQUEST_INTERRUPTED, kind, "%s, before any text arrived",
                         res->message ? res->message : "the connection failed");
    else
        request__finishf(r, REQUEST_ERROR, kind, "%s",
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
    request__emit(r, &ev);
    /* Kept for the ledger's row (the key is never in the body: it travels in a header). */
    free(r->sent_body);
    free(r->sent_url);
    r->sent_body = strndup(body, body_len);
    r->sent_url = strdup(url);
}

void request__send(request *r) {
    if (r->ended)
        return;
    r->attempt++;
    request__set_state(r, REQUEST_SENDING);
    sse_parser_free(r->sse);
    provider_decoder_free(r->dec);
    r->sse = sse_parser_new(on_sse_event, r);
    r->dec = provider_decoder_new(r->prov.def.dialect, on_provider_event, r);
    if (!r->sse || !r->dec) {
        request__finish(r, REQUEST_ERROR, "memory", "out of memory");
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
        request__finish(r, REQUEST_ERROR, "memory", "out of memory");
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
        request__finishf(r, REQUEST_ERROR, "config", "cannot send to %s: the URL is not valid",
                         url);
    free(url);
}
