/* http: the transport under every provider request.  libcurl's multi interface driven by the
 * caller's libuv loop: many transfers at once, no threads of ours, nothing blocks the loop.
 *
 * It POSTs (or GETs) bytes, streams the response body to a callback as it arrives, and ends
 * each transfer with one http_result whose message is a sentence a user can act on.  It knows
 * no wire format: no JSON, no SSE, no provider.
 *
 * Policy, fixed on purpose (no option turns it off):
 *   - only http:// and https:// URLs; TLS peer and host verification always on;
 *   - redirects are never followed (a 3xx is handed over like a 2xx): following one would
 *     resend custom headers such as x-api-key to whatever host the Location names;
 *   - proxies come from the environment (http_proxy, https_proxy, no_proxy), as libcurl does;
 *   - connections are pooled per client and reused by later requests to the same host,
 *     except the connection of a cancelled transfer, which is closed.
 *
 * Every function here must be called on the loop's thread.
 */
#ifndef AMI_HTTP_H
#define AMI_HTTP_H

#include <stddef.h>
#include <uv.h>

/* ---- types ------------------------------------------------------------------------------ */

typedef struct http_client http_client;
typedef struct http_transfer http_transfer;

/* How a transfer ended.  Negative, like libuv's codes. */
typedef enum {
    HTTP_OK = 0,
    HTTP_ESTATUS = -1,  /* the server answered with a status >= 400 */
    HTTP_ECONNECT = -2, /* connection refused / host or network unreachable / proxy refused */
    HTTP_EDNS = -3,     /* the host (or proxy) name could not be resolved */
    HTTP_ETLS = -4,     /* TLS handshake or certificate verification failed */
    HTTP_ETIMEOUT = -5, /* connect timeout, or total timeout */
    HTTP_ESTALL = -6,   /* low-speed limit: the server went silent */
    HTTP_ECLOSED = -7,  /* connection dropped, body cut short, or empty reply */
    HTTP_ETOOBIG = -8,  /* the body exceeded max_body */
    HTTP_ENOMEM = -9,   /* out of memory */
    HTTP_EOTHER = -10   /* anything else; the message says what */
} http_code;

/* Turns the low-speed check off (http_options.low_speed_secs). */
#define HTTP_LOW_SPEED_OFF (-1L)

/* Per-request limits.  A zero-initialised struct (or a NULL pointer) means all defaults. */
typedef struct http_options {
    long connect_timeout_ms; /* name resolution + TCP + TLS; <= 0: 10000 */
    /* Abort when fewer than 1 byte/s moved for this long.  0: 30; HTTP_LOW_SPEED_OFF: never.
     * libcurl averages the speed over up to the last 5 s, so a silence is reported between
     * low_speed_secs and low_speed_secs + 5 s after the last byte. */
    long low_speed_secs;
    long total_timeout_ms; /* whole transfer; <= 0: none */
    size_t max_body;       /* response body bytes; 0: unlimited */
    size_t max_error_body; /* bytes of a >= 400 body kept for http_result.body; 0: 64 KiB */
} http_options;

/* The final response's head, given to on_response.  Valid only during the call. */
typedef struct http_response {
    long status;
    const char *content_type; /* the Content-Type value; NULL if absent */
    long retry_after_secs;    /* Retry-After as seconds from now (delta-seconds or HTTP-date,
                                 a past date gives 0); -1 if absent or unreadable */
} http_response;

/* How a transfer ended, given to on_done.  Every pointer is valid only during the call. */
typedef struct http_result {
    http_code code;
    long status;         /* final HTTP status; 0 if no response head arrived */
    const char *message; /* one sentence naming the cause, never a header value; NULL on
                            HTTP_OK */
    const char *body;    /* status >= 400: the first max_error_body bytes of the body,
                            NUL-terminated; NULL otherwise */
    size_t body_len;
    long retry_after_secs;    /* as in http_response; -1 if none */
    const char *content_type; /* NULL if absent */
    double ttfb_secs;         /* from http_request() to the first body byte; -1 if none */
    size_t body_bytes;        /* response body bytes received (all of them, even if capped) */
} http_result;

/* Callbacks.  ud is the pointer given to http_request().  Each may call http_request() and
 * http_cancel() (on any transfer of the same client, its own included); none may call
 * http_client_free(). */
typedef struct http_callbacks {
    /// Optional.  Once, when the final (non-1xx) response's head is complete, before any
    /// on_data.
    void (*on_response)(void *ud, const http_response *r);
    /// Optional.  Body bytes of a 1xx-3xx response, in order, as they arrive.  data points into
    /// libcurl's receive buffer: no copy is made, and it is valid only during the call.  A
    /// >= 400 body goes to http_result.body instead.
    void (*on_data)(void *ud, const char *data, size_t len);
    /// Required.  Exactly once per transfer, unless it was cancelled (then never).  After it
    /// returns, the http_transfer pointer is invalid.
    void (*on_done)(void *ud, const http_result *res);
} http_callbacks;

/* ---- process-wide ------------------------------------------------------------------------ */

/// Initialises libcurl (curl_global_init), counted: each call is paired with one
/// http_global_cleanup().  Call once from main() (and from each test program) before any other
/// http_ function, while no other thread runs — or, where http_global_lazy_ok(), leave it to
/// the clients: each takes its own reference with its first request and drops it when freed,
/// so that a process that never sends anything never sets up libcurl and OpenSSL (~2 MiB).
/// Returns 0, or HTTP_EOTHER when libcurl cannot start.
int http_global_init(void);
/// Releases one reference of http_global_init().  Call after every client is freed.
void http_global_cleanup(void);
/// 1 when this libcurl may be initialised while other threads run (built thread-safe:
/// CURL_VERSION_THREADSAFE, libcurl >= 7.84), so clients can do it on their first request.
int http_global_lazy_ok(void);

/// A constant name for a code ("ESTALL", ...), for logs.
const char *http_code_name(http_code code);

/* ---- client ------------------------------------------------------------------------------ */

/// Returns a client driving its transfers on loop, or NULL when out of memory.  libcurl's
/// multi handle (and a reference of http_global_init()) is made with its first request; a
/// request returns NULL if libcurl refuses then.  The caller owns the client and frees it
/// with http_client_free().  Reads $AMI_HTTP_TRACE: when "1", every transfer logs its headers
/// and libcurl's notes through log_debug, with credential header values replaced by
/// "[redacted]".
http_client *http_client_new(uv_loop_t *loop);

/// Cancels every transfer (no callback runs) and starts closing the client's libuv handles.
/// The client's memory is released by those handles' close callbacks, so the caller must
/// then run the loop (uv_run) until it has nothing left to close, before uv_loop_close().
/// Must not be called from inside an http callback.  NULL is a no-op.
void http_client_free(http_client *c);

/// Transfers started and not yet done or cancelled.
size_t http_client_active(const http_client *c);

/* ---- transfers --------------------------------------------------------------------------- */

/// Starts a request on c.
///   method   "GET" or "POST" (anything else fails).
///   url      http:// or https:// only.
///   headers  NULL, or a NULL-terminated array of "Name: value" strings; copied.  A header
///            with CR or LF in it fails the call (it would inject headers).  Values may hold
///            an API key: they are never logged (tracing shows "[redacted]" for credential
///            headers) and never appear in messages.
///   body     body_len bytes sent as the POST body; copied (the caller's buffer may go at
///            once).  NULL/0 sends an empty body; ignored for GET.
///   opts     NULL for all defaults; read during the call only.
///   cbs      copied; cbs->on_done is required.
/// Returns the transfer, which the client owns and frees itself after on_done (or on
/// http_cancel): the pointer is only good for http_cancel() until then.  Returns NULL on
/// immediate failure (bad method or URL, bad header, out of memory), with no callback
/// called.  Called from inside an http callback, the request starts as soon as libcurl
/// returns control (libcurl forbids adding handles from its callbacks); should that fail, on_done
/// reports it.
http_transfer *http_request(http_client *c, const char *method, const char *url,
                            const char *const *headers, const char *body, size_t body_len,
                            const http_options *opts, const http_callbacks *cbs, void *ud);

/// Cancels a transfer: no callback of it runs any more, and its pointer is invalid on return.
/// Its connection is closed at once rather than returned to the pool (over HTTP/1.1 the
/// server sees EOF; over HTTP/2 the stream is reset and the shared connection stays).  Safe
/// to call from inside any http callback, including the transfer's own on_data.  Calling it
/// on a transfer whose on_done is running does nothing.  NULL is a no-op.
void http_cancel(http_transfer *t);

/* ---- logging helper ---------------------------------------------------------------------- */

/// Copies len bytes of in (header lines or libcurl notes, not NUL-terminated) to out,
/// replacing the value of every credential header (Authorization, Proxy-Authorization,
/// x-api-key, api-key, Cookie, Set-Cookie; any case) with "[redacted]", both in
/// "Name: value" form and in libcurl's HTTP/2 "[name: value]" notes.  out always ends up
/// NUL-terminated (truncated to outsize - 1 bytes; nothing is written if outsize is 0).
/// Returns the length written.  It knows header names only: run the result through
/// secret_redact() for keys that appear elsewhere.
size_t http_redact_credentials(const char *in, size_t len, char *out, size_t outsize);

#endif
