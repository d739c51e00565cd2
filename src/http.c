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
 *
 * The easy handle's callbacks are src/http_receive.c (the response) and src/http_trace.c
 * (AMI_HTTP_TRACE); how an ended transfer is named, src/http_classify.c.  They share
 * src/http_internal.h, which holds struct http_transfer.
 */
#include "ami/http.h"

#include "ami/buf.h"
#include "ami/log.h"
#include "http_internal.h"

#include <assert.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef AMI_VERSION
#define AMI_VERSION "dev"
#endif

#define HTTP_DEFAULT_CONNECT_MS  10000L
#define HTTP_DEFAULT_LOW_SPEED_S 30L
#define HTTP_DEFAULT_ERROR_BODY  ((size_t)64 * 1024)

typedef struct http_sock {
    uv_poll_t poll; /* first: the close callback gets the uv_handle_t back */
    curl_socket_t fd;
    http_client *c;
    struct http_sock *prev, *next; /* the client's sockets not yet closing */
} http_sock;

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

int http__global_refs(void) {
    return global_refs;
}

int http_global_lazy_ok(void) {
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v && (v->features & CURL_VERSION_THREADSAFE) ? 1 : 0;
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
    res.code = http__classify(t, rc);
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
    res.message = http__set_message(t, "could not start the request to %s: %s", t->host,
                                    curl_multi_strerror(mc));
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

/* The multi handle, made with the client's first request together with a reference of
 * http_global_init() (the client holds one exactly while it has a multi handle): libcurl's
 * global state, and with it OpenSSL's (about 2 MiB of pages), is set up only by a process that
 * sends something. */
static int client_start(http_client *c) {
    if (c->multi)
        return 0;
    if (http_global_init() != 0) {
        log_warn("http: libcurl cannot start (curl_global_init failed)");
        return -1;
    }
    c->multi = curl_multi_init();
    if (c->multi &&
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) == CURLM_OK &&
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c) == CURLM_OK &&
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) == CURLM_OK &&
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c) == CURLM_OK)
        return 0;
    log_warn("http: libcurl refused a multi handle");
    if (c->multi)
        curl_multi_cleanup(c->multi);
    c->multi = NULL;
    http_global_cleanup();
    return -1;
}

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
    if (client_start(c) != 0)
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
    SETOPT(CURLOPT_HEADERFUNCTION, http__on_curl_header);
    SETOPT(CURLOPT_HEADERDATA, (void *)t);
    SETOPT(CURLOPT_WRITEFUNCTION, http__on_curl_write);
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
        SETOPT(CURLOPT_XFERINFOFUNCTION, http__on_curl_progress);
        SETOPT(CURLOPT_XFERINFODATA, t);
        /* A backstop, and what makes libcurl wake up every second for http__on_curl_progress. */
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
        SETOPT(CURLOPT_DEBUGFUNCTION, http__on_curl_debug);
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
    /* libcurl's multi handle comes with the first request (client_start). */
    if (uv_timer_init(loop, &c->timer) != 0) {
        free(c);
        return NULL;
    }
    c->timer.data = c;

    const char *trace = getenv("AMI_HTTP_TRACE");
    if (trace && strcmp(trace, "1") == 0) {
        if (log_enabled(LOG_DEBUG))
            c->trace = 1;
        else
            log_warn("AMI_HTTP_TRACE=1 shows nothing unless AMI_LOG=debug");
    }
    return c;
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
    if (c->multi) {
        CURLMcode mc = curl_multi_cleanup(c->multi);
        if (mc != CURLM_OK)
            log_warn("http: curl_multi_cleanup: %s", curl_multi_strerror(mc));
        c->multi = NULL;
        http_global_cleanup();
    }
    /* Sockets libcurl did not announce as removed (pooled connections closed by the
     * cleanup) still have a poll handle: close them too. */
    while (c->socks)
        sock_close(c, c->socks);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_client_closed);
}
