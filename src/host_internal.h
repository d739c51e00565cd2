/* The host's parts that its own files share (src/host*.c): the host's state, the events for
 * Lua, and the methods kept in other files.  Not for other modules.
 *
 * src/host.c holds the lifecycle, the method table and the methods about the engine itself
 * (ping, configure, status, models); src/host_events.c the outbox, the events and the
 * engine's sink; the other src/host_*.c files a group of methods each.
 *
 * Events: every event is a map with a "type", packed into the outbox by host_ev_begin(), the
 * host_ev_* helpers (one key and its value each) and host_ev_end(), which sends it (or keeps
 * it for the frame's batch).  Nested values are packed with the host_kv_* helpers and explicit
 * sizes.  Answers to requests that finish later: host_reply_token() answers {token = T} at
 * once, the result comes as an event carrying the same token.
 */
#ifndef AMI_HOST_INTERNAL_H
#define AMI_HOST_INTERNAL_H

#include "ami/engine.h"
#include "ami/rpc.h"

#include <msgpack.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

/* What left the machine (src/host_sent.c): the last requests' URL, headers and body, kept
 * in memory for :AmiSent. */
#define HOST_SENT_KEEP 16
typedef struct host_sent {
    uint32_t id;
    char *uid, *document, *url, *headers, *body;
    size_t body_len;
    time_t when;
} host_sent;

typedef struct host {
    uv_loop_t *loop;
    uv_pipe_t in, out;
    uv_signal_t sigterm;
    rpc_channel *ch;
    engine *eng;
    char *config_error; /* the last configure's error, reported by status */
    int exit_code;
    int stopping;
    /* Events for Lua, sent together as one nvim_exec_lua notification. */
    msgpack_sbuffer outbox;
    msgpack_packer opk;
    uint32_t n_events;
    size_t ev_header;  /* offset of the open event's map32 header in the outbox */
    uint32_t ev_pairs; /* pairs written into the open event so far */
    int batching;
    uint32_t next_token;
    host_sent sent[HOST_SENT_KEEP]; /* a ring: the newest at sent_next - 1 */
    unsigned sent_next;
} host;

msgpack_packer *host_ev_begin(host *h, const char *type);
void host_ev_end(host *h);
msgpack_packer *host_ev_key(host *h, const char *k);
void host_ev_str(host *h, const char *k, const char *v); /* NULL: left out */
void host_ev_int(host *h, const char *k, int64_t v);
void host_ev_num(host *h, const char *k, double v);
void host_ev_bool(host *h, const char *k, int v);
void host_kv_str(msgpack_packer *pk, const char *k, const char *v);
void host_kv_int(msgpack_packer *pk, const char *k, int64_t v);
void host_kv_num(msgpack_packer *pk, const char *k, double v);
void host_kv_bool(msgpack_packer *pk, const char *k, int v);
uint32_t host_reply_token(rpc_channel *ch, const rpc_message *msg, uint32_t token);

/// The engine's sink (src/host_events.c): an answer's text as "delta" events, batched by
/// frame, and its request events; the engine's user data is the host.
extern const engine_sink host_sink;

/* The parameters of start() (and compare()): {command, turns = {{kind, document, path,
 * line_start, line_end, question, name, answer, note_quote, note_comment, note_kind}, ...},
 * provider, model, max_tokens, system, document, thread, notes}.  rp borrows from the message
 * and from the strings owned here. */
typedef struct host_start_params {
    request_params rp;
    prompt_turn *turns;
    size_t n;
    char **owned;
    char *command, *provider, *model, *system, *document, *thread;
} host_start_params;

/// 0; -1 when p is not of that shape; -2 when out of memory.  Free with
/// host_start_params_free() whatever it returns.
int host_start_params_parse(const msgpack_object *p, host_start_params *sp);
void host_start_params_free(host_start_params *sp);

/* Starting and stopping answers (src/host_answers.c). */
void host_m_start(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_cancel(rpc_channel *ch, const rpc_message *msg, void *ud);

/* What left the machine (src/host_sent.c). */
void host_sent_keep(host *h, request *r, const request_event *ev);
void host_sent_free(host *h);
void host_m_sent(rpc_channel *ch, const rpc_message *msg, void *ud);

/* The personal arena (src/host_arena.c). */
void host_m_compare(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_vote(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_arena_report(rpc_channel *ch, const rpc_message *msg, void *ud);

/* Margin notes (src/host_notes.c). */
void host_m_notes_load(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_notes_state(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_notes_dismiss_all(rpc_channel *ch, const rpc_message *msg, void *ud);
/* What the ledger remembers (src/host_history.c). */
void host_m_thread_history(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_models_used(rpc_channel *ch, const rpc_message *msg, void *ud);

/* Usage: the ledger's totals and the usage report's pictures (src/host_usage.c). */
void host_m_document_usage(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_usage_report(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_usage_overview(rpc_channel *ch, const rpc_message *msg, void *ud);

/// Packs a REQUEST_EV_NOTE event for Lua.
void host_note_event(host *h, request *r, const request_note *n);

#endif
