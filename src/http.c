/* http: libcurl's multi interface driven by a libuv loop.  See include/ami/http.h.
 *
 * How the loop drives libcurl (the shape of curl's docs/examples/multi-uv.c):
 *   - CURLMOPT_SOCKETFUNCTION tells us which sockets libcurl wants watched, for what.  Each
 *     gets one uv_poll_t inside an http_sock, linked both ways (curl_multi_assign one way,
 *     http_sock.fd the other).  An http_sock is freed only in its uv_close callback: libuv
 *     may still hold the handle after uv_poll_stop().
 *   - CURLMOPT_TIMERFUNCTION arms the client's single uv_timer_t (ms < 0 stops it).
 *   - Poll and timer callbacks call drive(): curl_multi_socket_action(), then settle().
 *
 * libcurl forbids calling curl_multi_add_handle/remove_handle from inside its callbacks, and
 * the user's on_response/on_data run inside them (header and write callbacks).  So while
 * curl_multi_socket_action() runs (c->in_curl), http_request() and http_cancel() only record
 * what to do on the client's work queue; settle() does it once libcurl has returned.  A
 * transfer cancelled inside libcurl is also stopped at once: its own header/write callbacks
 * see the flag and return CURL_WRITEFUNC_ERROR, so not one more byte reaches the user.
 *
 * settle() first empties the work queue (removing cancelled handles also drops any DONE
 * message libcurl had queued for them), then reads CURLMSG_DONE messages one at a time and
 * calls on_done.  on_done runs outside libcurl, so what it does is done at once.
 *
 * Transfer lifecycle (flags added / queued / cancelled / finishing):
 *
 *                   outside libcurl                    CURLMSG_DONE
 *   http_request() ─────────────────► ADDED ─────────────────────────► FINISHING ──► freed
 *        │                             ▲  │                            (on_done runs)
 *        │ inside a libcurl callback   │  │ http_cancel()
 *        ▼             settle() adds   │  ▼
 *      QUEUED ─────────────────────────┘ CANCELLED ──► removed, connection closed ──► freed
 *        │                                 ▲
 *        └──────── http_cancel() ──────────┘
 *
 * CANCELLED is handled inside http_cancel() when called outside libcurl; inside libcurl the
 * transfer waits on the work queue for settle().  No callback of it runs after CANCELLED,
 * and http_cancel() during FINISHING does nothing.
 */
#include "ami/http.h"

#include "ami/buf.h"
#include "ami/log.h"

#include <assert.h>
#include <curl/curl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef AMI_VERSION
#define AMI_VERSION "dev"
#endif

#define HTTP_DEFAULT_CONNECT_MS  10000L
#define HTTP_DEFAULT_LOW_SPEED_S 30L
#define HTTP_DEFAULT_ERROR_BODY  ((size_t)64 * 1024)
#define HTTP_MESSAGE_MAX         512
#define HTTP_REASON_MAX          64
#define HTTP_TRACE_LINE_MAX      1024

typedef struct http_sock {
    uv_poll_t poll; /* first: the close callback gets the uv_handle_t back */
    curl_socket_t fd;
    http_client *c;
    struct http_sock *prev, *next; /* the client's sockets not yet closing */
} http_sock;

/* Why our own write/header callback stopped a transfer. */
typedef enum { ABORT_NONE = 0, ABORT_TOOBIG, ABORT_NOMEM, ABORT_STALL } http_abort;

struct http_transfer {
    http_client *c;
    CURL *easy;
    http_callbacks cbs;
    void *ud;
    unsigned id;

    /* receive path (write callback) */
    int cancelled;
    long status; /* final status, set when the head is complete */
    size_t body_bytes;
    size_t max_body;
    size_t max_error_body;
    buf error_body;
    double ttfb_secs;
    uint64_t start_ns;
    http_abort abort;

    /* response head */
    int head_started; /* any status line seen */
    int head_done;    /* final head complete; later header lines are trailers */
    char *content_type;
    long retry_after;
    char reason[HTTP_REASON_MAX];

    /* request */
    struct curl_slist *headers;
    char *body;
    char *host;
    long port;
    int tls;
    long low_speed_secs;   /* 0: off */
    uint64_t quiet_since;  /* when the last byte arrived, or the request went out (0: not yet) */
    long total_timeout_ms; /* 0: none */

    /* lifecycle */
    int added;     /* in the multi handle */
    int queued;    /* on the client's work queue */
    int finishing; /* on_done is running */
    http_transfer *prev, *next;
    http_transfer *qnext;

    char errbuf[CURL_ERROR_SIZE];
    char message[HTTP_MESSAGE_MAX];
};

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    http_sock *socks;
    http_transfer *transfers;
    http_transfer *qhead, *qtail;
    size_t active;
    int in_curl;   /* inside curl_multi_socket_action(): defer multi calls */
    int in_settle; /* inside settle(): user callbacks may run */
    int trace;
    unsigned next_id;
};

static void settle(http_client *c);

/* ---- process-wide ------------------------------------------------------------------------ */

static int global_refs;

int http_global_init(void) {
    if (global_refs++ > 0)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        global_refs = 0;
        return HTTP_EOTHER;
    }
    /* Without an asynchronous resolver, libcurl resolves names with a blocking
     * getaddrinfo() inside curl_multi_socket_action(): on our loop, that would freeze the
     * editor for as long as DNS takes.  Debian's libcurl has one; say so loudly if not. */
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (v && !(v->features & CURL_VERSION_ASYNCHDNS))
        log_warn("libcurl %s resolves host names synchronously: the loop will block on DNS",
                 v->version);
    return 0;
}

void http_global_cleanup(void) {
    if (global_refs > 0 && --global_refs == 0)
        curl_global_cleanup();
}

const char *http_code_name(http_code code) {
    switch (code) {
    case HTTP_OK:
        return "OK";
    case HTTP_ESTATUS:
        return "ESTATUS";
    case HTTP_ECONNECT:
        return "ECONNECT";
    case HTTP_EDNS:
        return "EDNS";
    case HTTP_ETLS:
        return "ETLS";
    case HTTP_ETIMEOUT:
        return "ETIMEOUT";
    case HTTP_ESTALL:
        return "ESTALL";
    case HTTP_ECLOSED:
        return "ECLOSED";
    case HTTP_ETOOBIG:
        return "ETOOBIG";
    case HTTP_ENOMEM:
        return "ENOMEM";
    case HTTP_EOTHER:
        return "EOTHER";
    }
    return "E?";
}

/* ---- sockets and timer ------------------------------------------------------------------- */

static void on_sock_closed(uv_handle_t *h) {
    free(h); /* the uv_poll_t is the http_sock's first member */
}

static void sock_close(http_client *c, http_sock *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    (void)uv_poll_stop(&s->poll); /* cannot fail on a valid handle */
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void drive(http_client *c, curl_socket_t fd, int flags) {
    int running = 0;
    c->in_curl++;
    CURLMcode mc = curl_multi_socket_action(c->multi, fd, flags, &running);
    c->in_curl--;
    if (mc != CURLM_OK)
        log_warn("http: curl_multi_socket_action: %s", curl_multi_strerror(mc));
    settle(c);
}

static void on_poll(uv_poll_t *p, int status, int events) {
    http_sock *s = (http_sock *)p;
    int flags = 0;
    if (status < 0) {
        /* A reset connection may still hold bytes we have not read (the end of an answer).
         * CURL_CSELECT_ERR would make libcurl fail without reading them; saying "readable"
         * lets it read them, then meet the reset itself and name it. */
        flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    drive(s->c, s->fd, flags); /* s may be closed during the call: not used after it */
}

static void on_timer(uv_timer_t *timer) {
    drive(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION.  Returns 0, or -1 (libcurl then fails the transfers on it). */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    (void)easy;
    http_client *c = userp;
    http_sock *s = socketp;

    if (what == CURL_POLL_REMOVE) {
        /* libcurl drops its own record of the socket (and our pointer in it) after this
         * callback, so no curl_multi_assign(NULL) is needed. */
        if (s)
            sock_close(c, s);
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;
        int rc = uv_poll_init_socket(c->loop, &s->poll, fd);
        if (rc != 0) {
            log_warn("http: cannot watch socket %d: %s", (int)fd, uv_strerror(rc));
            free(s);
            return -1;
        }
        s->fd = fd;
        s->c = c;
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        if (curl_multi_assign(c->multi, fd, s) != CURLM_OK) {
            sock_close(c, s);
            return -1;
        }
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    int rc = uv_poll_start(&s->poll, events, on_poll);
    if (rc != 0) {
        log_warn("http: cannot poll socket %d: %s", (int)fd, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* CURLMOPT_TIMERFUNCTION.  ms == 0 means "as soon as possible": a 0 ms uv timer fires on the
 * loop's next timer run, after the current callback has returned, as libcurl needs (it must
 * not be re-entered from here).  Started from inside on_timer, libuv 1.44 runs it in the same
 * timer pass: that happens only when libcurl asked to be called again at once. */
static int on_curl_timer(CURLM *multi, long ms, void *userp) {
    (void)multi;
    http_client *c = userp;
    if (ms < 0) {
        uv_timer_stop(&c->timer);
        return 0;
    }
    int rc = uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
    if (rc != 0) {
        log_warn("http: cannot arm the timer: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- transfers: helpers ------------------------------------------------------------------- */

static void transfer_free(http_transfer *t) {
    if (t->easy)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    free(t->body);
    free(t->host);
    free(t->content_type);
    buf_free(&t->error_body);
    free(t);
}

static void transfer_link(http_client *c, http_transfer *t) {
    t->next = c->transfers;
    if (c->transfers)
        c->transfers->prev = t;
    c->transfers = t;
}

static void transfer_unlink(http_client *c, http_transfer *t) {
    if (t->prev)
        t->prev->next = t->next;
    else
        c->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void queue_push(http_client *c, http_transfer *t) {
    if (t->queued)
        return;
    t->queued = 1;
    t->qnext = NULL;
    if (c->qtail)
        c->qtail->qnext = t;
    else
        c->qhead = t;
    c->qtail = t;
}

static http_transfer *queue_pop(http_client *c) {
    http_transfer *t = c->qhead;
    if (!t)
        return NULL;
    c->qhead = t->qnext;
    if (!c->qhead)
        c->qtail = NULL;
    t->qnext = NULL;
    t->queued = 0;
    return t;
}

/* Takes a cancelled transfer out of the multi handle (outside libcurl only) and frees it.
 * libcurl already closes an HTTP/1 connection whose handle leaves mid-response (its docs only
 * say it "might"); FORBID_REUSE makes that certain: the server must see the client go. */
static void transfer_destroy(http_client *c, http_transfer *t) {
    if (t->added) {
        if (curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK)
            log_debug("http %u: cannot forbid reuse of the connection", t->id);
        CURLMcode mc = curl_multi_remove_handle(c->multi, t->easy);
        if (mc != CURLM_OK)
            log_warn("http %u: curl_multi_remove_handle: %s", t->id, curl_multi_strerror(mc));
        t->added = 0;
    }
    transfer_unlink(c, t);
    transfer_free(t);
}

/* Writes one sentence into t->message: control characters become spaces (the detail comes
 * from libcurl and the network) and registered secrets are masked. */
static const char *set_message(http_transfer *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static const char *set_message(http_transfer *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    va_end(ap);
    for (char *p = t->message; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return secret_redact(t->message);
}

/* libcurl's detail for the failure: its error buffer when filled, else its generic text. */
static const char *curl_detail(const http_transfer *t, CURLcode rc) {
    return t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
}

/* "Connection refused" -> "connection refused", for use after a colon. */
static void lower_first(char *s) {
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
        s[0] = (char)(s[0] - 'A' + 'a');
}

static void message_connect(http_transfer *t, CURLcode rc) {
    long os_errno = 0;
    char reason[256];
    if (curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0)
        snprintf(reason, sizeof reason, "%s", strerror((int)os_errno));
    else
        snprintf(reason, sizeof reason, "%s", curl_detail(t, rc));
    lower_first(reason);

    /* Through a proxy, the socket that failed is the proxy's: name it, not the target. */
    char *ip = NULL;
    long port = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip && ip[0] &&
        curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK && port > 0 &&
        port != t->port)
        set_message(t, "could not connect to the proxy %s port %ld for %s: %s", ip, port, t->host,
                    reason);
    else
        set_message(t, "could not connect to %s port %ld: %s", t->host, t->port, reason);
}

/* A phase's time in microseconds since the start; 0 when the phase was not reached (or
 * libcurl cannot say, which the callers treat the same way). */
static curl_off_t info_time(const http_transfer *t, CURLINFO what) {
    curl_off_t us = 0;
    if (curl_easy_getinfo(t->easy, what, &us) != CURLE_OK)
        return 0;
    return us;
}

/* CURLE_OPERATION_TIMEDOUT covers three limits; tell them apart by how far the transfer got
 * and how long it ran. */
static http_code classify_timeout(http_transfer *t) {
    curl_off_t name_us = info_time(t, CURLINFO_NAMELOOKUP_TIME_T);
    curl_off_t connect_us = info_time(t, CURLINFO_CONNECT_TIME_T);
    curl_off_t app_us = info_time(t, CURLINFO_APPCONNECT_TIME_T);
    curl_off_t pre_us = info_time(t, CURLINFO_PRETRANSFER_TIME_T);
    curl_off_t total_us = info_time(t, CURLINFO_TOTAL_TIME_T);
    long elapsed_ms = (long)(total_us / 1000);

    int connected = t->head_started || pre_us > 0 || (connect_us > 0 && (!t->tls || app_us > 0));
    if (!connected) {
        if (name_us == 0 && connect_us == 0)
            set_message(t, "resolving %s timed out after %ld ms", t->host, elapsed_ms);
        else if (connect_us > 0 && t->tls)
            set_message(t, "the TLS handshake with %s timed out after %ld ms", t->host, elapsed_ms);
        else
            set_message(t, "connecting to %s port %ld timed out after %ld ms", t->host, t->port,
                        elapsed_ms);
        return HTTP_ETIMEOUT;
    }
    if (t->total_timeout_ms > 0 && elapsed_ms >= t->total_timeout_ms) {
        set_message(t, "the request to %s did not complete within %ld ms", t->host,
                    t->total_timeout_ms);
        return HTTP_ETIMEOUT;
    }
    if (t->low_speed_secs > 0) {
        if (!t->head_started)
            set_message(t, "no response from %s for %ld s after the request was sent", t->host,
                        t->low_speed_secs);
        else
            set_message(t, "no data from %s for %ld s", t->host, t->low_speed_secs);
        return HTTP_ESTALL;
    }
    set_message(t, "the request to %s timed out: %s", t->host, curl_detail(t, CURLE_OK));
    return HTTP_ETIMEOUT;
}

/* Maps how libcurl ended (rc) and what we saw into the result's code and message. */
static http_code classify(http_transfer *t, CURLcode rc) {
    if (t->abort == ABORT_STALL && rc == CURLE_ABORTED_BY_CALLBACK) {
        if (!t->head_started)
            set_message(t, "no response from %s for %ld s after the request was sent", t->host,
                        t->low_speed_secs);
        else
            set_message(t, "no data from %s for %ld s", t->host, t->low_speed_secs);
        return HTTP_ESTALL;
    }
    if (t->status >= 400 && t->abort != ABORT_NOMEM) {
        /* The server's verdict is what the caller acts on (retry, re-auth), even if the
         * error body was cut short or too big afterwards. */
        if (t->reason[0])
            set_message(t, "%s answered HTTP %ld (%s)", t->host, t->status, t->reason);
        else
            set_message(t, "%s answered HTTP %ld", t->host, t->status);
        return HTTP_ESTATUS;
    }
    switch (rc) {
    case CURLE_OK:
        return HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
        set_message(t, "could not resolve host %s", t->host);
        return HTTP_EDNS;
    case CURLE_COULDNT_RESOLVE_PROXY:
        set_message(t, "could not resolve the proxy for %s: %s", t->host, curl_detail(t, rc));
        return HTTP_EDNS;
    case CURLE_COULDNT_CONNECT:
        message_connect(t, rc);
        return HTTP_ECONNECT;
    case CURLE_PROXY:
        set_message(t, "the proxy refused the connection to %s: %s", t->host, curl_detail(t, rc));
        return HTTP_ECONNECT;
    case CURLE_PEER_FAILED_VERIFICATION:
        set_message(t, "TLS certificate verification failed for %s: %s", t->host,
                    curl_detail(t, rc));
        return HTTP_ETLS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        set_message(t, "the TLS handshake with %s failed: %s", t->host, curl_detail(t, rc));
        return HTTP_ETLS;
    case CURLE_OPERATION_TIMEDOUT:
        return classify_timeout(t);
    case CURLE_PARTIAL_FILE:
        set_message(t,
                    "the connection to %s closed before the response was complete (%zu body "
                    "bytes received)",
                    t->host, t->body_bytes);
        return HTTP_ECLOSED;
    case CURLE_GOT_NOTHING:
        set_message(t, "%s closed the connection without sending a response", t->host);
        return HTTP_ECLOSED;
    case CURLE_RECV_ERROR:
        set_message(t, "lost the connection to %s while receiving: %s", t->host,
                    curl_detail(t, rc));
        return HTTP_ECLOSED;
    case CURLE_SEND_ERROR:
        set_message(t, "lost the connection to %s while sending the request: %s", t->host,
                    curl_detail(t, rc));
        return HTTP_ECLOSED;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        set_message(t, "the HTTP/2 stream from %s failed: %s", t->host, curl_detail(t, rc));
        return HTTP_ECLOSED;
    case CURLE_WRITE_ERROR:
        if (t->abort == ABORT_TOOBIG) {
            set_message(t, "the response from %s is larger than the %zu-byte limit", t->host,
                        t->max_body);
            return HTTP_ETOOBIG;
        }
        if (t->abort == ABORT_NOMEM) {
            set_message(t, "out of memory while receiving from %s", t->host);
            return HTTP_ENOMEM;
        }
        break;
    case CURLE_OUT_OF_MEMORY:
        set_message(t, "out of memory while talking to %s", t->host);
        return HTTP_ENOMEM;
    case CURLE_WEIRD_SERVER_REPLY:
        set_message(t, "%s sent a reply that is not HTTP: %s", t->host, curl_detail(t, rc));
        return HTTP_EOTHER;
    default:
        break;
    }
    set_message(t, "the request to %s failed: %s", t->host, curl_detail(t, rc));
    return HTTP_EOTHER;
}

/* Removes a finished transfer, reports it, frees it. */
static void finish(http_client *c, CURL *easy, CURLcode rc) {
    char *priv = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK)
        priv = NULL;
    http_transfer *t = (http_transfer *)priv;
    CURLMcode mc = curl_multi_remove_handle(c->multi, easy);
    if (mc != CURLM_OK)
        log_warn("http: curl_multi_remove_handle: %s", curl_multi_strerror(mc));
    if (!t)
        return;
    t->added = 0;
    if (t->cancelled) { /* cannot happen: removing a handle drops its DONE message */
        transfer_destroy(c, t);
        return;
    }

    http_result res;
    memset(&res, 0, sizeof res);
    res.code = classify(t, rc);
    res.status = t->status;
    res.message = res.code == HTTP_OK ? NULL : t->message;
    if (t->status >= 400) {
        res.body = t->error_body.data ? t->error_body.data : "";
        res.body_len = t->error_body.len;
    }
    res.retry_after_secs = t->retry_after;
    res.content_type = t->content_type;
    res.ttfb_secs = t->ttfb_secs;
    res.body_bytes = t->body_bytes;
    if (res.code == HTTP_OK)
        log_debug("http %u: done, status %ld, %zu bytes", t->id, t->status, t->body_bytes);
    else
        log_debug("http %u: %s: %s", t->id, http_code_name(res.code), res.message);

    c->active--;
    t->finishing = 1;
    t->cbs.on_done(t->ud, &res);
    transfer_unlink(c, t);
    transfer_free(t);
}

/* A queued request could not be added: report it through on_done, as http_request()
 * promised. */
static void fail_start(http_client *c, http_transfer *t, CURLMcode mc) {
    http_result res;
    memset(&res, 0, sizeof res);
    res.code = mc == CURLM_OUT_OF_MEMORY ? HTTP_ENOMEM : HTTP_EOTHER;
    res.message =
        set_message(t, "could not start the request to %s: %s", t->host, curl_multi_strerror(mc));
    res.retry_after_secs = -1;
    res.ttfb_secs = -1;
    c->active--;
    t->finishing = 1;
    t->cbs.on_done(t->ud, &res);
    transfer_unlink(c, t);
    transfer_free(t);
}

/* Runs after every curl_multi_socket_action(): deferred adds and removals, then completions.
 * One item at a time, re-reading the queue and libcurl's messages after each, because every
 * on_done may start or cancel transfers. */
static void settle(http_client *c) {
    c->in_settle++;
    for (;;) {
        http_transfer *t = queue_pop(c);
        if (t) {
            if (t->cancelled) {
                transfer_destroy(c, t);
            } else if (!t->added) {
                CURLMcode mc = curl_multi_add_handle(c->multi, t->easy);
                if (mc == CURLM_OK)
                    t->added = 1;
                else
                    fail_start(c, t, mc);
            }
            continue;
        }
        int left = 0;
        CURLMsg *m = curl_multi_info_read(c->multi, &left);
        if (!m)
            break;
        if (m->msg == CURLMSG_DONE) {
            /* m is invalid once the handle is removed: copy what we need first. */
            CURL *easy = m->easy_handle;
            CURLcode rc = m->data.result;
            finish(c, easy, rc);
        }
    }
    c->in_settle--;
}

/* ---- transfers: libcurl callbacks ---------------------------------------------------------- */

/* Seconds from now named by a Retry-After value: delta-seconds or an HTTP-date (RFC 9110
 * 10.2.3).  -1 when unreadable. */
static long parse_retry_after(const char *v, size_t len) {
    char tmp[128];
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    size_t digits = strspn(tmp, "0123456789");
    if (digits == len) {
        long secs = 0;
        for (size_t i = 0; i < len; i++) {
            if (secs > (LONG_MAX - 9) / 10)
                return LONG_MAX;
            secs = secs * 10 + (tmp[i] - '0');
        }
        return secs;
    }
    time_t when = curl_getdate(tmp, NULL);
    if (when == (time_t)-1)
        return -1;
    time_t now = time(NULL);
    return when > now ? (long)(when - now) : 0;
}

static int header_is(const char *line, size_t name_len, const char *name) {
    return strlen(name) == name_len && strncasecmp(line, name, name_len) == 0;
}

/* "HTTP/1.1 429 Too Many Requests" -> "Too Many Requests" (printable ASCII, bounded). */
static void keep_reason(http_transfer *t, const char *line, size_t len) {
    t->reason[0] = '\0';
    const char *p = memchr(line, ' ', len);
    if (!p)
        return;
    const char *end = line + len;
    p++;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    while (p < end && *p == ' ')
        p++;
    size_t n = 0;
    while (p < end && *p != '\r' && *p != '\n' && n + 1 < sizeof t->reason) {
        t->reason[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        p++;
    }
    while (n > 0 && t->reason[n - 1] == ' ')
        n--;
    t->reason[n] = '\0';
}

/* CURLOPT_HEADERFUNCTION: one header line at a time, CRLF included.  Heads of 1xx interim
 * responses come first and are dropped; the final head ends with an empty line, where
 * on_response runs.  Trailers after the body are ignored. */
static size_t on_curl_header(char *line, size_t size, size_t nitems, void *userp) {
    http_transfer *t = userp;
    size_t n = size * nitems;
    if (t->cancelled)
        return CURL_WRITEFUNC_ERROR;
    t->quiet_since = uv_hrtime();
    if (t->head_done)
        return n;

    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        t->head_started = 1;
        free(t->content_type);
        t->content_type = NULL;
        t->retry_after = -1;
        keep_reason(t, line, n);
        return n;
    }

    size_t len = n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0) {
        long status = 0;
        if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
            status = 0; /* unknown: treated as final, and never >= 400 */
        if (status >= 100 && status < 200)
            return n; /* interim: the real head follows */
        t->status = status;
        t->head_done = 1;
        if (t->cbs.on_response) {
            http_response r = {status, t->content_type, t->retry_after};
            t->cbs.on_response(t->ud, &r);
            if (t->cancelled)
                return CURL_WRITEFUNC_ERROR;
        }
        return n;
    }

    const char *colon = memchr(line, ':', len);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);

    if (header_is(line, name_len, "content-type")) {
        char *ct = malloc(vlen + 1);
        if (!ct) {
            t->abort = ABORT_NOMEM;
            return CURL_WRITEFUNC_ERROR;
        }
        memcpy(ct, v, vlen);
        ct[vlen] = '\0';
        free(t->content_type);
        t->content_type = ct;
    } else if (header_is(line, name_len, "retry-after")) {
        t->retry_after = parse_retry_after(v, vlen);
    }
    return n;
}

/* CURLOPT_XFERINFOFUNCTION: the stall watch.  libcurl's own low-speed limit averages the
 * speed over a window of about 5 s, so a server that went silent after a burst was noticed
 * seconds late.  libcurl calls this at least once a second even when nothing arrives (the
 * low-speed limit, kept as a distant backstop, makes it wake up), and the clock starts only
 * once the request is on its way, so a slow connect is the connect timeout's business. */
static int on_curl_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow) {
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    http_transfer *t = userp;
    if (t->low_speed_secs <= 0 || t->cancelled)
        return 0;
    uint64_t now = uv_hrtime();
    if (t->quiet_since == 0) {
        curl_off_t pre = 0;
        if (curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre) == CURLE_OK && pre > 0)
            t->quiet_since = now;
        return 0;
    }
    if (now - t->quiet_since >= (uint64_t)t->low_speed_secs * 1000000000ull) {
        t->abort = ABORT_STALL;
        return 1;
    }
    return 0;
}

/* CURLOPT_WRITEFUNCTION: body bytes, already de-chunked.  The hot path of every streamed
 * answer: no allocation and no copy for a 2xx body, just bookkeeping and the user's call. */
static size_t on_curl_write(char *data, size_t size, size_t nmemb, void *userp) {
    http_transfer *t = userp;
    size_t n = size * nmemb;
    if (t->cancelled)
        return CURL_WRITEFUNC_ERROR;
    if (n == 0)
        return 0;
    uint64_t now = uv_hrtime();
    t->quiet_since = now;
    if (t->body_bytes == 0)
        t->ttfb_secs = (double)(now - t->start_ns) / 1e9;
    t->body_bytes += n;
    if (t->max_body && t->body_bytes > t->max_body) {
        t->abort = ABORT_TOOBIG;
        return CURL_WRITEFUNC_ERROR;
    }
    if (t->status >= 400) {
        if (t->error_body.len < t->max_error_body) {
            size_t room = t->max_error_body - t->error_body.len;
            if (buf_append(&t->error_body, data, n < room ? n : room) != 0) {
                t->abort = ABORT_NOMEM;
                return CURL_WRITEFUNC_ERROR;
            }
        }
        return n;
    }
    if (t->cbs.on_data) {
        t->cbs.on_data(t->ud, data, n);
        if (t->cancelled)
            return CURL_WRITEFUNC_ERROR;
    }
    return n;
}

/* Header names whose values are credentials. */
static const char *const credential_names[] = {
    "proxy-authorization", "authorization", "x-api-key", "api-key", "set-cookie", "cookie"};

/* Length of the credential header name (followed by ':') starting at p, or 0. */
static size_t credential_at(const char *p, const char *end) {
    for (size_t i = 0; i < sizeof credential_names / sizeof credential_names[0]; i++) {
        size_t n = strlen(credential_names[i]);
        if ((size_t)(end - p) > n && p[n] == ':' && strncasecmp(p, credential_names[i], n) == 0)
            return n;
    }
    return 0;
}

size_t http_redact_credentials(const char *in, size_t len, char *out, size_t outsize) {
    if (outsize == 0)
        return 0;
    const char *p = in, *end = in + len;
    size_t o = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < outsize)                                                                       \
            out[o++] = (ch);                                                                       \
    } while (0)
    while (p < end) {
        /* A name counts only at the start of a token, so "x-api-key" is not also "api-key". */
        int boundary = p == in || p[-1] == ' ' || p[-1] == '[' || p[-1] == '\t';
        size_t n = boundary ? credential_at(p, end) : 0;
        if (n == 0) {
            PUT(*p);
            p++;
            continue;
        }
        for (size_t i = 0; i <= n; i++) /* the name and its ':' */
            PUT(p[i]);
        p += n + 1;
        for (const char *r = " [redacted]"; *r; r++)
            PUT(*r);
        /* The value runs to the end of the line, or to the ']' that closes libcurl's
         * "[name: value]" notation for HTTP/2 and HTTP/3 request headers. */
        while (p < end && *p != ']' && *p != '\r' && *p != '\n')
            p++;
    }
#undef PUT
    out[o] = '\0';
    return o;
}

static void trace_line(const http_transfer *t, const char *dir, const char *s, size_t len) {
    char out[HTTP_TRACE_LINE_MAX];
    http_redact_credentials(s, len, out, sizeof out);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    secret_redact(out);
    log_debug("http %u %s %s", t->id, dir, out);
}

/* CURLOPT_DEBUGFUNCTION, installed only with AMI_HTTP_TRACE=1: headers both ways and libcurl's
 * notes, line by line.  Bodies are never traced (prompts and answers are the user's text).
 * Notes are redacted like headers: over HTTP/2 libcurl reports each request header as a note
 * ("[authorization: Bearer ...]"). */
static int on_curl_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userp) {
    (void)easy;
    const char *dir;
    switch (type) {
    case CURLINFO_TEXT:
        dir = "*";
        break;
    case CURLINFO_HEADER_IN:
        dir = "<";
        break;
    case CURLINFO_HEADER_OUT:
        dir = ">";
        break;
    default:
        return 0;
    }
    const char *p = data, *end = data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t len = (size_t)(stop - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > 0)
            trace_line(userp, dir, p, len);
        p = nl ? nl + 1 : end;
    }
    return 0;
}

/* ---- transfers: API ---------------------------------------------------------------------- */

/* Checks the URL, keeps host and port for messages.  Returns 0 or -1. */
static int parse_url(http_transfer *t, const char *url) {
    CURLU *u = curl_url();
    if (!u)
        return -1;
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strcasecmp(scheme, "https") == 0)
        t->tls = 1;
    else if (strcasecmp(scheme, "http") != 0)
        goto out;
    t->host = strdup(host);
    if (!t->host)
        goto out;
    t->port = strtol(port, NULL, 10);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* Copies the caller's headers.  Returns 0 or -1 (CR/LF in a header, or out of memory). */
static int copy_headers(http_transfer *t, const char *const *headers) {
    int has_expect = 0;
    for (size_t i = 0; headers && headers[i]; i++) {
        if (strpbrk(headers[i], "\r\n"))
            return -1;
        if (strncasecmp(headers[i], "expect:", 7) == 0)
            has_expect = 1;
        struct curl_slist *l = curl_slist_append(t->headers, headers[i]);
        if (!l)
            return -1;
        t->headers = l;
    }
    /* libcurl sends "Expect: 100-continue" with bodies over 1 MiB and then waits up to a
     * second for a "100 Continue" that many servers never send.  A prompt is sent whole
     * anyway; an empty Expect: header turns the dance off. */
    if (!has_expect) {
        struct curl_slist *l = curl_slist_append(t->headers, "Expect:");
        if (!l)
            return -1;
        t->headers = l;
    }
    return 0;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(e, opt, val) != CURLE_OK)                                             \
            goto fail;                                                                             \
    } while (0)

http_transfer *http_request(http_client *c, const char *method, const char *url,
                            const char *const *headers, const char *body, size_t body_len,
                            const http_options *opts, const http_callbacks *cbs, void *ud) {
    if (!c || !method || !url || !cbs || !cbs->on_done)
        return NULL;
    int post;
    if (strcmp(method, "POST") == 0)
        post = 1;
    else if (strcmp(method, "GET") == 0)
        post = 0;
    else
        return NULL;

    http_transfer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->c = c;
    t->cbs = *cbs;
    t->ud = ud;
    t->id = ++c->next_id;
    t->start_ns = uv_hrtime();
    t->ttfb_secs = -1;
    t->retry_after = -1;

    http_options o = {0};
    if (opts)
        o = *opts;
    long connect_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS;
    t->low_speed_secs = o.low_speed_secs == 0  ? HTTP_DEFAULT_LOW_SPEED_S
                        : o.low_speed_secs < 0 ? 0
                                               : o.low_speed_secs;
    t->total_timeout_ms = o.total_timeout_ms > 0 ? o.total_timeout_ms : 0;
    t->max_body = o.max_body;
    t->max_error_body = o.max_error_body ? o.max_error_body : HTTP_DEFAULT_ERROR_BODY;

    if (parse_url(t, url) != 0 || copy_headers(t, headers) != 0)
        goto fail;
    if (post) {
        t->body = malloc(body_len ? body_len : 1);
        if (!t->body)
            goto fail;
        if (body_len)
            memcpy(t->body, body, body_len);
    }

    CURL *e = t->easy = curl_easy_init();
    if (!e)
        goto fail;
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PRIVATE, (void *)t);
    SETOPT(CURLOPT_ERRORBUFFER, t->errbuf);
    SETOPT(CURLOPT_HEADERFUNCTION, on_curl_header);
    SETOPT(CURLOPT_HEADERDATA, (void *)t);
    SETOPT(CURLOPT_WRITEFUNCTION, on_curl_write);
    SETOPT(CURLOPT_WRITEDATA, (void *)t);
    SETOPT(CURLOPT_HTTPHEADER, t->headers);
    SETOPT(CURLOPT_USERAGENT, "ami/" AMI_VERSION);
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    /* A proxy's "200 Connection established" head is not the answer. */
    SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    /* Removing a transfer that is still resolving makes libcurl join its resolver thread,
     * i.e. wait on the loop for getaddrinfo() to return, unless told to detach it (the thread
     * then frees its own state when the lookup ends). */
    SETOPT(CURLOPT_QUICK_EXIT, 1L);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    if (t->total_timeout_ms)
        SETOPT(CURLOPT_TIMEOUT_MS, t->total_timeout_ms);
    if (t->low_speed_secs) {
        SETOPT(CURLOPT_NOPROGRESS, 0L);
        SETOPT(CURLOPT_XFERINFOFUNCTION, on_curl_progress);
        SETOPT(CURLOPT_XFERINFODATA, t);
        /* A backstop, and what makes libcurl wake up every second for on_curl_progress. */
        SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
        SETOPT(CURLOPT_LOW_SPEED_TIME, t->low_speed_secs + 10);
    }
    if (post) {
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        SETOPT(CURLOPT_POSTFIELDS, t->body);
    } else {
        SETOPT(CURLOPT_HTTPGET, 1L);
    }
    if (c->trace) {
        SETOPT(CURLOPT_DEBUGFUNCTION, on_curl_debug);
        SETOPT(CURLOPT_DEBUGDATA, (void *)t);
        SETOPT(CURLOPT_VERBOSE, 1L);
    }

    if (c->in_curl) {
        queue_push(c, t);
    } else {
        CURLMcode mc = curl_multi_add_handle(c->multi, e);
        if (mc != CURLM_OK) {
            log_warn("http: curl_multi_add_handle: %s", curl_multi_strerror(mc));
            goto fail;
        }
        t->added = 1;
    }
    transfer_link(c, t);
    c->active++;
    log_debug("http %u: %s %s://%s:%ld", t->id, method, t->tls ? "https" : "http", t->host,
              t->port);
    return t;

fail:
    transfer_free(t);
    return NULL;
}

#undef SETOPT

void http_cancel(http_transfer *t) {
    if (!t || t->cancelled || t->finishing)
        return;
    http_client *c = t->c;
    t->cancelled = 1;
    c->active--;
    log_debug("http %u: cancelled", t->id);
    if (c->in_curl || t->queued) {
        queue_push(c, t); /* settle() removes and frees it */
        return;
    }
    transfer_destroy(c, t);
}

size_t http_client_active(const http_client *c) {
    return c ? c->active : 0;
}

/* ---- client ------------------------------------------------------------------------------ */

static void on_client_closed(uv_handle_t *h) {
    free(h->data);
}

http_client *http_client_new(uv_loop_t *loop) {
    http_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->multi = curl_multi_init();
    if (!c->multi)
        goto fail;
    if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c) != CURLM_OK)
        goto fail;
    /* Last: once initialised, the timer can only be released through the loop. */
    if (uv_timer_init(loop, &c->timer) != 0)
        goto fail;
    c->timer.data = c;

    const char *trace = getenv("AMI_HTTP_TRACE");
    if (trace && strcmp(trace, "1") == 0) {
        if (log_enabled(LOG_DEBUG))
            c->trace = 1;
        else
            log_warn("AMI_HTTP_TRACE=1 shows nothing unless AMI_LOG=debug");
    }
    return c;

fail:
    if (c->multi)
        curl_multi_cleanup(c->multi);
    free(c);
    return NULL;
}

void http_client_free(http_client *c) {
    if (!c)
        return;
    assert(!c->in_curl && !c->in_settle && "http_client_free() called from an http callback");
    c->qhead = c->qtail = NULL;
    while (c->transfers) {
        http_transfer *t = c->transfers;
        t->cancelled = 1;
        t->queued = 0;
        transfer_destroy(c, t);
    }
    c->active = 0;
    CURLMcode mc = curl_multi_cleanup(c->multi);
    if (mc != CURLM_OK)
        log_warn("http: curl_multi_cleanup: %s", curl_multi_strerror(mc));
    c->multi = NULL;
    /* Sockets libcurl did not announce as removed (pooled connections closed by the
     * cleanup) still have a poll handle: close them too. */
    while (c->socks)
        sock_close(c, c->socks);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_client_closed);
}
