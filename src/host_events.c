/* host_events: what goes to Lua.  Events are packed into the outbox and leave as one
 * nvim_exec_lua notification (see src/host_internal.h for the helpers); the engine's sink
 * (host_sink) turns an answer's text and its request events (start, retry, model, notice,
 * note, secrets, done) into them, a frame's text for every answer in one batch.
 */
#include "ami/cost.h"
#include "ami/request.h"
#include "ami/rpc.h"
#include "host_internal.h"

#include <stdint.h>
#include <string.h>

static const char dispatch_lua[] = "return require('ami.host')._dispatch(...)";

/* ---- events for Lua ----------------------------------------------------------------------------
 *
 * Every event is a map with a "type".  They accumulate in the outbox and leave as one
 * notification: nvim_exec_lua(dispatch_lua, {events}).  Text arrives in batches (one per frame
 * for all answers, see stream.h); other events are sent at once. */

static void outbox_flush(host *h) {
    if (h->n_events == 0)
        return;
    msgpack_packer *pk = rpc_notify_begin(h->ch, "nvim_exec_lua", 2);
    if (pk) {
        rpc_pack_cstr(pk, dispatch_lua);
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, h->n_events);
        pk->callback(pk->data, h->outbox.data, h->outbox.size);
        rpc_notify_end(h->ch);
    }
    msgpack_sbuffer_clear(&h->outbox);
    h->n_events = 0;
}

/* An event is a map whose size is known only at its end: it gets a map32 header (valid
 * msgpack, if not the shortest) that host_ev_end() patches with the number of pairs written by
 * the ev_* helpers.  Nested values (totals, lists) are packed with explicit sizes. */
msgpack_packer *host_ev_begin(host *h, const char *type) {
    static const char map32[5] = {(char)0xdf, 0, 0, 0, 0};
    h->n_events++;
    h->ev_header = h->outbox.size;
    msgpack_sbuffer_write(&h->outbox, map32, sizeof map32);
    h->ev_pairs = 1;
    rpc_pack_cstr(&h->opk, "type");
    rpc_pack_cstr(&h->opk, type);
    return &h->opk;
}

void host_ev_end(host *h) {
    unsigned char *p = (unsigned char *)h->outbox.data + h->ev_header + 1;
    p[0] = (unsigned char)(h->ev_pairs >> 24);
    p[1] = (unsigned char)(h->ev_pairs >> 16);
    p[2] = (unsigned char)(h->ev_pairs >> 8);
    p[3] = (unsigned char)h->ev_pairs;
    if (!h->batching)
        outbox_flush(h);
}

/* A key of the open event; the caller packs the value. */
msgpack_packer *host_ev_key(host *h, const char *k) {
    h->ev_pairs++;
    rpc_pack_cstr(&h->opk, k);
    return &h->opk;
}

/* An absent value is left out, so Lua sees nil rather than vim.NIL. */
void host_ev_str(host *h, const char *k, const char *v) {
    if (v)
        rpc_pack_cstr(host_ev_key(h, k), v);
}

void host_ev_int(host *h, const char *k, int64_t v) {
    msgpack_pack_int64(host_ev_key(h, k), v);
}

void host_ev_num(host *h, const char *k, double v) {
    msgpack_pack_double(host_ev_key(h, k), v);
}

void host_ev_bool(host *h, const char *k, int v) {
    if (v)
        msgpack_pack_true(host_ev_key(h, k));
    else
        msgpack_pack_false(host_ev_key(h, k));
}

/* Key-value helpers for nested maps (explicit sizes). */
void host_kv_str(msgpack_packer *pk, const char *k, const char *v) {
    rpc_pack_cstr(pk, k);
    rpc_pack_cstr(pk, v);
}

void host_kv_int(msgpack_packer *pk, const char *k, int64_t v) {
    rpc_pack_cstr(pk, k);
    msgpack_pack_int64(pk, v);
}

void host_kv_num(msgpack_packer *pk, const char *k, double v) {
    rpc_pack_cstr(pk, k);
    msgpack_pack_double(pk, v);
}

void host_kv_bool(msgpack_packer *pk, const char *k, int v) {
    rpc_pack_cstr(pk, k);
    if (v)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

uint32_t host_reply_token(rpc_channel *ch, const rpc_message *msg, uint32_t token) {
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_map(pk, 1);
        host_kv_int(pk, "token", token);
        rpc_reply_end(ch);
    }
    return token;
}

/* ---- the engine's sink: answers' text and request events ------------------------------ */

static void sink_batch_begin(void *ud) {
    host *h = ud;
    h->batching = 1;
}

static void sink_text(void *ud, void *answer, const char *text, size_t len) {
    host *h = ud;
    host_ev_begin(h, "delta");
    host_ev_int(h, "id", request_id(answer));
    rpc_pack_str(host_ev_key(h, "text"), text, len);
    host_ev_end(h);
}

static void sink_batch_end(void *ud) {
    host *h = ud;
    h->batching = 0;
    outbox_flush(h);
}

static void sink_event(void *ud, request *r, const request_event *ev) {
    host *h = ud;
    uint32_t id = r ? request_id(r) : 0;
    switch (ev->type) {
    case REQUEST_EV_START:
        host_ev_begin(h, "start");
        host_ev_int(h, "id", id);
        host_ev_str(h, "uid", r ? request_uid(r) : NULL);
        host_ev_str(h, "provider", ev->provider);
        host_ev_str(h, "model", ev->model);
        host_ev_str(h, "language", ev->language);
        host_ev_str(h, "note", ev->note);
        host_ev_int(h, "prompt_tokens", ev->prompt_tokens);
        break;
    case REQUEST_EV_RETRY:
        host_ev_begin(h, "retry");
        host_ev_int(h, "id", id);
        host_ev_int(h, "attempt", ev->attempt);
        host_ev_num(h, "wait_s", ev->wait_s);
        host_ev_str(h, "message", ev->message);
        break;
    case REQUEST_EV_MODEL:
        host_ev_begin(h, "model");
        host_ev_int(h, "id", id);
        host_ev_str(h, "model", ev->model);
        break;
    case REQUEST_EV_NOTICE:
        host_ev_begin(h, "notice");
        host_ev_int(h, "id", id);
        host_ev_str(h, "message", ev->message);
        break;
    case REQUEST_EV_NOTE:
        host_note_event(h, r, ev->margin_note);
        return;
    case REQUEST_EV_SENT:
        host_sent_keep(h, r, ev);
        return;
    case REQUEST_EV_SECRETS: {
        host_ev_begin(h, "secrets");
        host_ev_int(h, "id", id);
        host_ev_int(h, "elsewhere", (int64_t)ev->secrets_elsewhere);
        msgpack_packer *pk = host_ev_key(h, "found");
        msgpack_pack_array(pk, (uint32_t)ev->n_secrets);
        for (size_t i = 0; i < ev->n_secrets; i++) {
            const request_secret *s = &ev->secrets[i];
            msgpack_pack_map(pk, 3);
            host_kv_str(pk, "rule", s->rule);
            host_kv_str(pk, "placeholder", s->placeholder);
            rpc_pack_cstr(pk, "range");
            msgpack_pack_array(pk, 4);
            msgpack_pack_int64(pk, s->start_line);
            msgpack_pack_int64(pk, s->start_col);
            msgpack_pack_int64(pk, s->end_line);
            msgpack_pack_int64(pk, s->end_col);
        }
        break;
    }
    case REQUEST_EV_DONE: {
        const request_result *res = ev->result;
        host_ev_begin(h, "done");
        host_ev_int(h, "id", id);
        host_ev_str(h, "status", request_state_name(res->state));
        host_ev_str(h, "provider", res->provider);
        host_ev_str(h, "model", res->model);
        host_ev_str(h, "model_answered", res->model_answered);
        host_ev_str(h, "finish_reason", res->finish_reason);
        host_ev_int(h, "prompt_tokens", res->prompt_tokens);
        host_ev_int(h, "completion_tokens", res->completion_tokens);
        host_ev_bool(h, "tokens_estimated", res->tokens_estimated);
        host_ev_num(h, "cost_usd", res->cost_usd);
        host_ev_str(h, "cost_source", cost_source_name((cost_source)res->cost_source));
        host_ev_num(h, "co2e_g", res->co2e_g);
        host_ev_str(h, "error_kind", res->error_kind);
        host_ev_int(h, "http_status", res->http_status);
        host_ev_str(h, "message", res->message);
        host_ev_int(h, "ttft_ms", res->ttft_ms);
        host_ev_int(h, "duration_ms", res->duration_ms);
        break;
    }
    default:
        return;
    }
    host_ev_end(h);
}

const engine_sink host_sink = {
    {sink_batch_begin, sink_text, sink_batch_end},
    sink_event,
};
