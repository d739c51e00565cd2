/* rpc: msgpack-RPC framing, both directions, over a pair of libuv streams.
 *
 * Two layers:
 *   - rpc_reader: bytes in, whole messages out.  Pure: no I/O, no loop, so the unit tests
 *     and the fuzzer feed it directly.
 *   - rpc_channel: a reader on an input stream, a writer on an output stream, a dispatch
 *     table for incoming requests and notifications, and outgoing requests with response
 *     callbacks.  The host's stdout carries msgpack-RPC and nothing else.
 *
 * Message shapes (https://github.com/msgpack-rpc/msgpack-rpc/blob/master/spec.md):
 *   request       [0, msgid, method, params]
 *   response      [1, msgid, error, result]
 *   notification  [2, method, params]
 * params is always an array.
 */
#ifndef AMI_RPC_H
#define AMI_RPC_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Error codes (negative, like libuv's). */
#define RPC_OK         0
#define RPC_EMALFORMED (-1) /* not msgpack: the stream can't be resynchronised */
#define RPC_EINVALID   (-2) /* valid msgpack that is not a msgpack-RPC message */
#define RPC_ENOMEM     (-3)
#define RPC_ECLOSED    (-4) /* the channel is closing; nothing was sent */

/* Longest method name accepted; longer ones make the message invalid. */
#define RPC_METHOD_MAX 256

typedef enum { RPC_REQUEST = 0, RPC_RESPONSE = 1, RPC_NOTIFICATION = 2 } rpc_kind;

/* One decoded message.  Every pointer points into the reader's current object and is valid
 * only during the callback that receives it. */
typedef struct rpc_message {
    rpc_kind kind;
    uint32_t msgid;               /* request, response */
    const char *method;           /* request, notification; not NUL-terminated */
    size_t method_len;            /* 1..RPC_METHOD_MAX */
    const msgpack_object *params; /* request, notification: always an array */
    const msgpack_object *error;  /* response: nil on success */
    const msgpack_object *result; /* response */
} rpc_message;

/* ---- reader ---------------------------------------------------------------------------- */

typedef struct rpc_reader rpc_reader;
typedef void (*rpc_message_fn)(void *ud, const rpc_message *msg);

/// Returns a reader that calls on_message for each whole message it decodes, or NULL when out
/// of memory.  The caller owns it; free with rpc_reader_free().
rpc_reader *rpc_reader_new(rpc_message_fn on_message, void *ud);

/// Feeds len bytes (any split: a message may span feeds, a feed may hold several messages).
/// Calls on_message for each complete message, in order, before returning.  Returns RPC_OK,
/// RPC_EMALFORMED or RPC_EINVALID (err then holds one sentence naming the cause), or
/// RPC_ENOMEM.  After an error the reader is unusable: the stream has lost its framing.
/// on_message must not free the reader.
int rpc_reader_feed(rpc_reader *r, const char *data, size_t len, char *err, size_t errlen);

/// Total bytes fed so far (for error messages).
uint64_t rpc_reader_offset(const rpc_reader *r);

void rpc_reader_free(rpc_reader *r);

/* ---- channel --------------------------------------------------------------------------- */

typedef struct rpc_channel rpc_channel;

/// Handles an incoming request or notification.  For a request (msg->kind == RPC_REQUEST),
/// the handler must answer exactly once, now or later, with rpc_reply_begin()/rpc_reply_end()
/// or rpc_reply_error(), using msg->msgid.
typedef void (*rpc_handler_fn)(rpc_channel *ch, const rpc_message *msg, void *ud);

typedef struct rpc_method {
    const char *name;
    rpc_handler_fn fn;
} rpc_method;

/// Why the channel ends: RPC_OK on EOF of the input, RPC_EMALFORMED/RPC_EINVALID on bad input
/// (message then names the cause), or a libuv error code for an I/O error.
typedef void (*rpc_close_fn)(rpc_channel *ch, int reason, const char *message, void *ud);

/// Called with the response to a request the host sent.  error is nil on success.  Both
/// pointers are valid only during the call.  When the channel closes with requests still
/// unanswered, each callback runs once with error == NULL and result == NULL.
typedef void (*rpc_response_fn)(rpc_channel *ch, const msgpack_object *error,
                                const msgpack_object *result, void *ud);

/// Opens a channel reading in and writing out (both already initialised, e.g. uv_pipe_t on
/// fds 0 and 1), starts reading, and dispatches through methods (terminated by {NULL, NULL};
/// the array must outlive the channel).  Unknown methods get an error response naming the
/// method.  on_close runs once when the input ends or fails; the channel then stops reading
/// but can still flush what was queued.  Returns NULL when out of memory.  The channel does
/// not own the streams.
rpc_channel *rpc_channel_new(uv_stream_t *in, uv_stream_t *out, const rpc_method *methods,
                             rpc_close_fn on_close, void *ud);

/// Frees the channel.  Pending response callbacks run first (see rpc_response_fn).  Writes
/// already handed to libuv complete on their own; the streams are not closed.
void rpc_channel_free(rpc_channel *ch);

/// Bytes queued for output that the peer has not taken yet.
size_t rpc_channel_pending_bytes(const rpc_channel *ch);

/* Writing.  Each *_begin returns a packer positioned where the caller packs the payload
 * (the result, or exactly nparams params); *_end sends the message.  Between begin and end,
 * nothing else may be written to the channel.  Returns NULL (nothing sent) when the channel
 * is closed. */

msgpack_packer *rpc_reply_begin(rpc_channel *ch, uint32_t msgid);
int rpc_reply_end(rpc_channel *ch);
/// Sends [1, msgid, [0, message], nil]: the form Neovim's rpcrequest() reports as an error.
int rpc_reply_error(rpc_channel *ch, uint32_t msgid, const char *message);

msgpack_packer *rpc_notify_begin(rpc_channel *ch, const char *method, uint32_t nparams);
int rpc_notify_end(rpc_channel *ch);

msgpack_packer *rpc_request_begin(rpc_channel *ch, const char *method, uint32_t nparams,
                                  rpc_response_fn on_response, void *ud);
int rpc_request_end(rpc_channel *ch);

/* ---- msgpack helpers shared by the method handlers ------------------------------------- */

/// Packs a NUL-terminated string (NULL packs nil).
void rpc_pack_cstr(msgpack_packer *pk, const char *s);
/// Packs len bytes as a msgpack str.
void rpc_pack_str(msgpack_packer *pk, const char *s, size_t len);
/// True when o is a str equal to s.
int rpc_obj_streq(const msgpack_object *o, const char *s);
/// Looks up key in a map object; NULL when o is not a map or the key is absent.
const msgpack_object *rpc_map_get(const msgpack_object *o, const char *key);
/// Returns a malloc'd NUL-terminated copy of a str/bin object (caller frees), or NULL.
char *rpc_obj_strdup(const msgpack_object *o);

#endif
