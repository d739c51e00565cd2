/* The host's parts that its own files share (src/host*.c): the host's state, the events for
 * Lua, and the methods kept in other files.  Not for other modules.
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
#include <uv.h>

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

/* Margin notes (src/host_notes.c). */
void host_m_notes_load(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_notes_state(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_notes_dismiss_all(rpc_channel *ch, const rpc_message *msg, void *ud);
/* What the ledger remembers (src/host_history.c). */
void host_m_thread_history(rpc_channel *ch, const rpc_message *msg, void *ud);
void host_m_models_used(rpc_channel *ch, const rpc_message *msg, void *ud);

/* The usage report's pictures (src/host_usage.c). */
void host_m_usage_overview(rpc_channel *ch, const rpc_message *msg, void *ud);

/// Packs a REQUEST_EV_NOTE event for Lua.
void host_note_event(host *h, request *r, const request_note *n);

#endif
