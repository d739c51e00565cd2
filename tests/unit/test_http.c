/* http: tests against a scripted HTTP/1.1 server that runs on the same libuv loop.
 *
 * The server listens on 127.0.0.1 port 0.  Each request is routed by its path to a script:
 * a list of actions (send bytes, wait, close, go silent, echo the request body) played in
 * order; when a script ends, the connection waits for its next request (keep-alive).  The
 * server counts accepts, requests and EOFs seen from the client, and keeps the last request's
 * head and body, so the tests can check both sides of the wire.
 */
#include "../../src/http_internal.h"
#include "ami/buf.h"
#include "ami/http.h"
#include "ami/log.h"
#include "check.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t loop;
static uv_timer_t tick;

/* ---- loop helpers ------------------------------------------------------------------------- */

static void on_tick(uv_timer_t *t) {
    (void)t;
}

static void setup(void) {
    uv_loop_init(&loop);
    /* Keeps UV_RUN_ONCE from sleeping longer than 5 ms, so WAIT_FOR re-checks often. */
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
}

/* Closes what is left and checks that nothing was: every handle the client or the server
 * opened must be closed by now, or uv_loop_close() reports UV_EBUSY. */
static void teardown(void) {
    uv_close((uv_handle_t *)&tick, NULL);
    for (int i = 0; i < 100 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_INT(uv_loop_close(&loop), 0);
}

static int loop_step(uint64_t end) {
    if (uv_now(&loop) >= end)
        return 0;
    uv_run(&loop, UV_RUN_ONCE);
    return 1;
}

/* Runs the loop until cond holds or ms pass. */
#define WAIT_FOR(cond, ms)                                                                         \
    do {                                                                                           \
        uint64_t end_ = uv_now(&loop) + (ms);                                                      \
        while (!(cond) && loop_step(end_)) {                                                       \
        }                                                                                          \
    } while (0)

/* ---- scripts ------------------------------------------------------------------------------ */

typedef enum { ACT_SEND, ACT_DELAY, ACT_CLOSE, ACT_SILENT, ACT_ECHO } act_kind;

typedef struct act {
    act_kind kind;
    char *data;
    size_t len;
    unsigned ms;
} act;

typedef struct script {
    act *acts;
    size_t n, cap;
} script;

static act *sc_add(script *s, act_kind kind) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->acts = realloc(s->acts, s->cap * sizeof *s->acts);
        if (!s->acts)
            abort();
    }
    act *a = &s->acts[s->n++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    return a;
}

static void sc_sendn(script *s, const char *data, size_t len) {
    act *a = sc_add(s, ACT_SEND);
    a->data = malloc(len ? len : 1);
    if (!a->data)
        abort();
    memcpy(a->data, data, len);
    a->len = len;
}

static void sc_send(script *s, const char *str) {
    sc_sendn(s, str, strlen(str));
}

static void sc_sendf(script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sc_sendf(script *s, const char *fmt, ...) {
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        abort();
    sc_sendn(s, tmp, (size_t)n);
}

/* One chunk of a chunked body. */
static void sc_chunk(script *s, const char *str) {
    sc_sendf(s, "%zx\r\n%s\r\n", strlen(str), str);
}

static void sc_delay(script *s, unsigned ms) {
    sc_add(s, ACT_DELAY)->ms = ms;
}

static void sc_close(script *s) {
    sc_add(s, ACT_CLOSE);
}

static void sc_silent(script *s) {
    sc_add(s, ACT_SILENT);
}

static void sc_echo(script *s) {
    sc_add(s, ACT_ECHO);
}

static void sc_free(script *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->acts[i].data);
    free(s->acts);
    memset(s, 0, sizeof *s);
}

/* ---- server ------------------------------------------------------------------------------- */

#define ROUTES_MAX 8

typedef struct server server;

typedef struct conn {
    uv_tcp_t tcp;
    uv_timer_t delay;
    server *srv;
    buf in;
    buf body; /* the current request's body, for ACT_ECHO */
    const script *sc;
    size_t step;
    int responding;
    int closing;
    int open_handles;
    struct conn *prev, *next;
} conn;

struct server {
    uv_tcp_t tcp;
    int port;
    struct {
        const char *path;
        const script *sc;
    } routes[ROUTES_MAX];
    size_t nroutes;
    const script *greet; /* played on accept, before any request */
    int accepts, requests, eofs;
    size_t steps_played; /* actions played, all connections */
    buf last_head, last_body;
    conn *conns;
};

static void conn_run(conn *c);
static void conn_try_request(conn *c);

static void on_conn_handle_closed(uv_handle_t *h) {
    conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    buf_free(&c->in);
    buf_free(&c->body);
    free(c);
}

static void conn_close(conn *c) {
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->delay, on_conn_handle_closed);
}

typedef struct write_req {
    uv_write_t req;
    char *owned;
} write_req;

static void on_written(uv_write_t *req, int status) {
    (void)status;
    write_req *w = (write_req *)req;
    free(w->owned);
    free(w);
}

/* Writes len bytes; owned (may be NULL) is freed once written. */
static void conn_write(conn *c, const char *data, size_t len, char *owned) {
    write_req *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->owned = owned;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(owned);
        free(w);
    }
}

static void on_delay(uv_timer_t *t) {
    conn_run(t->data);
}

static void conn_run(conn *c) {
    while (!c->closing && c->step < c->sc->n) {
        const act *a = &c->sc->acts[c->step++];
        c->srv->steps_played++;
        switch (a->kind) {
        case ACT_SEND:
            conn_write(c, a->data, a->len, NULL);
            break;
        case ACT_DELAY:
            uv_timer_start(&c->delay, on_delay, a->ms, 0);
            return;
        case ACT_CLOSE:
            conn_close(c);
            return;
        case ACT_SILENT:
            return;
        case ACT_ECHO: {
            char head[128];
            int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
                              c->body.len);
            char *out = malloc((size_t)hl + c->body.len + 1);
            if (!out)
                abort();
            memcpy(out, head, (size_t)hl);
            if (c->body.len)
                memcpy(out + hl, c->body.data, c->body.len);
            conn_write(c, out, (size_t)hl + c->body.len, out);
            break;
        }
        }
    }
    if (c->closing)
        return;
    c->responding = 0; /* the script ended: wait for the next request on this connection */
    conn_try_request(c);
}

static const script *route(server *s, const char *path, size_t len) {
    for (size_t i = 0; i < s->nroutes; i++)
        if (strlen(s->routes[i].path) == len && memcmp(s->routes[i].path, path, len) == 0)
            return s->routes[i].sc;
    return s->nroutes ? s->routes[0].sc : NULL;
}

/* Case-insensitive search for "\r\nname:" in a request head; returns the value or NULL. */
static const char *head_value(const char *head, const char *name) {
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n;
    return NULL;
}

static void conn_try_request(conn *c) {
    if (c->responding || c->closing || !c->in.data)
        return;
    char *end = strstr(c->in.data, "\r\n\r\n");
    if (!end)
        return;
    size_t head_len = (size_t)(end - c->in.data) + 4;
    char saved = c->in.data[head_len];
    c->in.data[head_len] = '\0';
    const char *cl = head_value(c->in.data, "content-length");
    size_t body_len = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
    c->in.data[head_len] = saved;
    if (c->in.len < head_len + body_len)
        return; /* the body is still coming */

    server *s = c->srv;
    s->requests++;
    buf_clear(&s->last_head);
    buf_append(&s->last_head, c->in.data, head_len);
    buf_clear(&s->last_body);
    buf_append(&s->last_body, c->in.data + head_len, body_len);
    buf_clear(&c->body);
    buf_append(&c->body, c->in.data + head_len, body_len);

    const char *path = strchr(c->in.data, ' ');
    const char *path_end = path ? strchr(path + 1, ' ') : NULL;
    const script *sc = path && path_end ? route(s, path + 1, (size_t)(path_end - path - 1)) : NULL;
    buf_consume(&c->in, head_len + body_len);
    if (!sc) {
        conn_close(c);
        return;
    }
    c->sc = sc;
    c->step = 0;
    c->responding = 1;
    conn_run(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)h;
    b->base = malloc(suggested);
    b->len = b->base ? suggested : 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b) {
    conn *c = stream->data;
    if (nread < 0) {
        c->srv->eofs++; /* EOF or reset: the client went away */
        conn_close(c);
    } else if (nread > 0) {
        buf_append(&c->in, b->base, (size_t)nread);
        conn_try_request(c);
    }
    free(b->base);
}

static void on_connection(uv_stream_t *listener, int status) {
    server *s = listener->data;
    if (status < 0)
        return;
    conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->srv = s;
    uv_tcp_init(&loop, &c->tcp);
    uv_timer_init(&loop, &c->delay);
    c->tcp.data = c->delay.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    s->accepts++;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (s->greet) {
        c->sc = s->greet;
        c->step = 0;
        c->responding = 1;
        conn_run(c);
    }
}

static void server_start(server *s) {
    memset(s, 0, sizeof *s);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(&loop, &s->tcp);
    s->tcp.data = s;
    CHECK_INT(uv_tcp_bind(&s->tcp, (const struct sockaddr *)&addr, 0), 0);
    CHECK_INT(uv_listen((uv_stream_t *)&s->tcp, 64, on_connection), 0);
    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&bound, &len);
    s->port = ntohs(bound.sin_port);
}

static void server_route(server *s, const char *path, const script *sc) {
    s->routes[s->nroutes].path = path;
    s->routes[s->nroutes].sc = sc;
    s->nroutes++;
}

static void server_stop(server *s) {
    uv_close((uv_handle_t *)&s->tcp, NULL);
    for (conn *c = s->conns; c; c = c->next)
        conn_close(c);
    /* The connections free themselves in their close callbacks, during teardown(). */
}

static void server_free(server *s) {
    buf_free(&s->last_head);
    buf_free(&s->last_body);
}

/* ---- client-side recorder ----------------------------------------------------------------- */

typedef struct rec rec;
typedef void (*rec_hook)(rec *r, int event);
enum { EV_RESPONSE, EV_DATA, EV_DONE };

struct rec {
    http_transfer *t;
    server *srv;
    int responses, datas, dones, order_bad;
    long resp_status, resp_retry;
    char resp_ctype[128];
    buf data;
    size_t steps_at_first_data;
    http_code code;
    long status;
    char message[512];
    int message_null;
    buf body;
    int body_null;
    long retry_after;
    char ctype[128];
    double ttfb;
    size_t body_bytes;
    rec_hook hook;
    void *arg;
};

static void rec_on_response(void *ud, const http_response *r) {
    rec *x = ud;
    if (x->responses || x->datas || x->dones)
        x->order_bad = 1;
    x->responses++;
    x->resp_status = r->status;
    x->resp_retry = r->retry_after_secs;
    snprintf(x->resp_ctype, sizeof x->resp_ctype, "%s", r->content_type ? r->content_type : "-");
    if (x->hook)
        x->hook(x, EV_RESPONSE);
}

static void rec_on_data(void *ud, const char *data, size_t len) {
    rec *x = ud;
    if (!x->responses || x->dones)
        x->order_bad = 1;
    if (!x->datas && x->srv)
        x->steps_at_first_data = x->srv->steps_played;
    x->datas++;
    buf_append(&x->data, data, len);
    if (x->hook)
        x->hook(x, EV_DATA);
}

static void rec_on_done(void *ud, const http_result *res) {
    rec *x = ud;
    x->dones++;
    x->code = res->code;
    x->status = res->status;
    x->message_null = res->message == NULL;
    snprintf(x->message, sizeof x->message, "%s", res->message ? res->message : "");
    x->body_null = res->body == NULL;
    buf_clear(&x->body);
    if (res->body)
        buf_append(&x->body, res->body, res->body_len);
    x->retry_after = res->retry_after_secs;
    snprintf(x->ctype, sizeof x->ctype, "%s", res->content_type ? res->content_type : "-");
    x->ttfb = res->ttfb_secs;
    x->body_bytes = res->body_bytes;
    if (x->hook)
        x->hook(x, EV_DONE);
}

static const http_callbacks rec_cbs = {rec_on_response, rec_on_data, rec_on_done};

static void rec_free(rec *r) {
    buf_free(&r->data);
    buf_free(&r->body);
}

static http_transfer *start(http_client *c, rec *r, server *s, const char *method, const char *path,
                            const char *const *headers, const char *body, size_t len,
                            const http_options *o) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    r->srv = s;
    r->t = http_request(c, method, url, headers, body, len, o, &rec_cbs, r);
    return r->t;
}

static int contains(const char *hay, const char *needle) {
    return hay && strstr(hay, needle) != NULL;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* A chunked stream written in many small pieces, some splitting a chunk's framing, arrives
 * whole and in order, incrementally, with on_response → on_data… → on_done(OK); the request's
 * headers and body reach the server. */
static void test_chunked_stream(void) {
    setup();
    server s;
    server_start(&s);
    script sc = {0};
    sc_send(&sc, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    buf expect = {0};
    for (int i = 0; i < 40; i++) {
        char piece[96];
        snprintf(piece, sizeof piece, "data: {\"delta\":\"piece %02d of the answer\"}\n\n", i);
        buf_append_str(&expect, piece);
        char framed[128];
        int n = snprintf(framed, sizeof framed, "%zx\r\n%s\r\n", strlen(piece), piece);
        if (i % 3 == 0) { /* split inside the chunk: size line and data in separate writes */
            sc_sendn(&sc, framed, 5);
            sc_delay(&sc, 2);
            sc_sendn(&sc, framed + 5, (size_t)n - 5);
        } else {
            sc_sendn(&sc, framed, (size_t)n);
        }
        sc_delay(&sc, 2);
    }
    sc_send(&sc, "0\r\n\r\n");
    server_route(&s, "/stream", &sc);

    http_client *c = http_client_new(&loop);
    CHECK(c != NULL);
    rec r = {0};
    const char *headers[] = {"Authorization: Bearer sk-test-123", "X-Test: hello",
                             "Content-Type: application/json", NULL};
    const char *body = "{\"q\":1}";
    CHECK(start(c, &r, &s, "POST", "/stream", headers, body, strlen(body), NULL) != NULL);
    CHECK_INT(http_client_active(c), 1);
    WAIT_FOR(r.dones, 5000);

    CHECK_INT(r.dones, 1);
    CHECK_INT(r.code, HTTP_OK);
    CHECK(r.message_null);
    CHECK(r.body_null);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.responses, 1);
    CHECK_INT(r.resp_status, 200);
    CHECK_STR(r.resp_ctype, "text/event-stream");
    CHECK_STR(r.ctype, "text/event-stream");
    CHECK(!r.order_bad);
    CHECK_MEM(r.data.data, r.data.len, expect.data, expect.len);
    CHECK_INT(r.body_bytes, expect.len);
    CHECK(r.datas > 10);                     /* delivered as it came, not at the end */
    CHECK(r.steps_at_first_data < sc.n / 2); /* the first bytes arrived mid-script */
    CHECK(r.ttfb >= 0 && r.ttfb < 5);
    CHECK_INT(http_client_active(c), 0);

    CHECK(contains(s.last_head.data, "POST /stream HTTP/1.1\r\n"));
    CHECK(contains(s.last_head.data, "\r\nAuthorization: Bearer sk-test-123\r\n"));
    CHECK(contains(s.last_head.data, "\r\nX-Test: hello\r\n"));
    CHECK(contains(s.last_head.data, "\r\nContent-Type: application/json\r\n"));
    CHECK(!contains(s.last_head.data, "Expect:"));
    CHECK_MEM(s.last_body.data, s.last_body.len, body, strlen(body));

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    buf_free(&expect);
    rec_free(&r);
}

/* 429 with Retry-After and a JSON body: ESTATUS, the body kept, on_data never called. */
static void test_status_429(void) {
    setup();
    server s;
    server_start(&s);
    const char *json = "{\"error\":{\"type\":\"rate_limit\",\"message\":\"slow down\"}}";
    script sc = {0};
    sc_sendf(&sc,
             "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(json), json);
    server_route(&s, "/", &sc);

    http_client *c = http_client_new(&loop);
    rec r = {0};
    CHECK(start(c, &r, &s, "POST", "/", NULL, "{}", 2, NULL) != NULL);
    WAIT_FOR(r.dones, 5000);

    CHECK_INT(r.dones, 1);
    CHECK_INT(r.code, HTTP_ESTATUS);
    CHECK_INT(r.status, 429);
    CHECK_INT(r.retry_after, 2);
    CHECK_INT(r.responses, 1);
    CHECK_INT(r.resp_status, 429);
    CHECK_INT(r.resp_retry, 2);
    CHECK_STR(r.ctype, "application/json");
    CHECK_INT(r.datas, 0);
    CHECK(!r.body_null);
    CHECK_MEM(r.body.data, r.body.len, json, strlen(json));
    CHECK_STR(r.message, "127.0.0.1 answered HTTP 429 (Too Many Requests)");

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    rec_free(&r);
}

/* Retry-After as an HTTP-date (future, past) and as garbage; a capped error body. */
static void test_retry_after_date(void) {
    setup();
    server s;
    server_start(&s);
    char future[64], past[64];
    time_t now = time(NULL);
    time_t when = now + 120;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(future, sizeof future, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    when = now - 3600;
    gmtime_r(&when, &tm);
    strftime(past, sizeof past, "%a, %d %b %Y %H:%M:%S GMT", &tm);

    script s1 = {0}, s2 = {0}, s3 = {0};
    sc_sendf(&s1,
             "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %s\r\n"
             "Content-Length: 20\r\n\r\n01234567890123456789",
             future);
    sc_sendf(&s2,
             "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %s\r\nContent-Length: 0\r\n\r\n",
             past);
    sc_send(&s3, "HTTP/1.1 529 Overloaded\r\nretry-after:  soon \r\nContent-Length: 0\r\n\r\n");
    server_route(&s, "/future", &s1);
    server_route(&s, "/past", &s2);
    server_route(&s, "/garbage", &s3);

    http_client *c = http_client_new(&loop);
    rec r1 = {0}, r2 = {0}, r3 = {0};
    http_options o = {.max_error_body = 8};
    start(c, &r1, &s, "GET", "/future", NULL, NULL, 0, &o);
    start(c, &r2, &s, "GET", "/past", NULL, NULL, 0, NULL);
    start(c, &r3, &s, "GET", "/garbage", NULL, NULL, 0, NULL);
    WAIT_FOR(r1.dones && r2.dones && r3.dones, 5000);

    CHECK_INT(r1.code, HTTP_ESTATUS);
    CHECK_INT(r1.status, 503);
    CHECK(r1.retry_after >= 118 && r1.retry_after <= 121);
    CHECK_MEM(r1.body.data, r1.body.len, "01234567", 8); /* capped at max_error_body */
    CHECK_INT(r1.body_bytes, 20);
    CHECK_INT(r2.retry_after, 0);
    CHECK(!r2.body_null);
    CHECK_INT(r2.body.len, 0);
    CHECK_INT(r3.code, HTTP_ESTATUS);
    CHECK_INT(r3.status, 529);
    CHECK_INT(r3.retry_after, -1);

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&s1);
    sc_free(&s2);
    sc_free(&s3);
    rec_free(&r1);
    rec_free(&r2);
    rec_free(&r3);
}

/* A port that was bound and closed refuses: ECONNECT naming host and port. */
static void test_connect_refused(void) {
    setup();
    uv_tcp_t tmp;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(&loop, &tmp);
    CHECK_INT(uv_tcp_bind(&tmp, (const struct sockaddr *)&addr, 0), 0);
    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&tmp, (struct sockaddr *)&bound, &len);
    int port = ntohs(bound.sin_port);
    uv_close((uv_handle_t *)&tmp, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);

    http_client *c = http_client_new(&loop);
    rec r = {0};
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat", port);
    r.t = http_request(c, "POST", url, NULL, "{}", 2, NULL, &rec_cbs, &r);
    CHECK(r.t != NULL);
    WAIT_FOR(r.dones, 5000);

    CHECK_INT(r.dones, 1);
    CHECK_INT(r.code, HTTP_ECONNECT);
    CHECK_INT(r.responses, 0);
    CHECK_INT(r.status, 0);
    char want[128];
    snprintf(want, sizeof want, "could not connect to 127.0.0.1 port %d: connection refused", port);
    CHECK_STR(r.message, want);

    http_client_free(c);
    teardown();
    rec_free(&r);
}

/* The server closes mid-body: ECLOSED, with the bytes that did arrive delivered. */
static void test_dropped_mid_body(void) {
    setup();
    server s;
    server_start(&s);
    script len_sc = {0}, chunk_sc = {0}, empty_sc = {0};
    sc_send(
        &len_sc,
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789012345678901234567890123456789");
    sc_delay(&len_sc, 20);
    sc_close(&len_sc);
    sc_send(&chunk_sc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    sc_chunk(&chunk_sc, "data: one\n\n");
    sc_delay(&chunk_sc, 20);
    sc_close(&chunk_sc);
    sc_close(&empty_sc);
    server_route(&s, "/len", &len_sc);
    server_route(&s, "/chunked", &chunk_sc);
    server_route(&s, "/empty", &empty_sc);

    http_client *c = http_client_new(&loop);
    rec r1 = {0}, r2 = {0}, r3 = {0};
    start(c, &r1, &s, "POST", "/len", NULL, "x", 1, NULL);
    start(c, &r2, &s, "POST", "/chunked", NULL, "x", 1, NULL);
    start(c, &r3, &s, "POST", "/empty", NULL, "x", 1, NULL);
    WAIT_FOR(r1.dones && r2.dones && r3.dones, 5000);

    CHECK_INT(r1.code, HTTP_ECLOSED);
    CHECK_INT(r1.status, 200);
    CHECK_INT(r1.data.len, 40);
    CHECK_INT(r1.body_bytes, 40);
    CHECK_STR(r1.message, "the connection to 127.0.0.1 closed before the response was complete "
                          "(40 body bytes received)");
    CHECK_INT(r2.code, HTTP_ECLOSED);
    CHECK_STR(r2.data.data, "data: one\n\n");
    CHECK_INT(r3.code, HTTP_ECLOSED);
    CHECK_INT(r3.responses, 0);
    CHECK_STR(r3.message, "127.0.0.1 closed the connection without sending a response");

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&len_sc);
    sc_free(&chunk_sc);
    sc_free(&empty_sc);
    rec_free(&r1);
    rec_free(&r2);
    rec_free(&r3);
}

/* Silence mid-body trips the low-speed limit: ESTALL, not ETIMEOUT. */
static void test_stall(void) {
    setup();
    server s;
    server_start(&s);
    script sc = {0};
    sc_send(&sc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    sc_chunk(&sc, "d");
    sc_silent(&sc);
    server_route(&s, "/", &sc);

    http_client *c = http_client_new(&loop);
    rec r = {0};
    http_options o = {.low_speed_secs = 1};
    uint64_t t0 = uv_now(&loop);
    start(c, &r, &s, "GET", "/", NULL, NULL, 0, &o);
    WAIT_FOR(r.dones, 8000);
    uint64_t took = uv_now(&loop) - t0;

    CHECK_INT(r.dones, 1);
    CHECK_INT(r.code, HTTP_ESTALL);
    CHECK_STR(r.data.data, "d");
    CHECK_STR(r.message, "no data from 127.0.0.1 for 1 s");
    CHECK(took >= 1000);
    fprintf(stderr, "  (stall detected after %llu ms)\n", (unsigned long long)took);

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    rec_free(&r);
}

/* A total timeout with the low-speed check off: ETIMEOUT naming the limit. */
static void test_total_timeout(void) {
    setup();
    server s;
    server_start(&s);
    script sc = {0};
    sc_send(&sc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    sc_silent(&sc);
    server_route(&s, "/", &sc);

    http_client *c = http_client_new(&loop);
    rec r = {0};
    http_options o = {.low_speed_secs = HTTP_LOW_SPEED_OFF, .total_timeout_ms = 300};
    start(c, &r, &s, "GET", "/", NULL, NULL, 0, &o);
    WAIT_FOR(r.dones, 3000);

    CHECK_INT(r.code, HTTP_ETIMEOUT);
    CHECK_STR(r.message, "the request to 127.0.0.1 did not complete within 300 ms");

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    rec_free(&r);
}

/* A body over max_body: ETOOBIG, and no more than max_body bytes delivered. */
static void test_max_body(void) {
    setup();
    server s;
    server_start(&s);
    script sc = {0};
    char big[10001];
    memset(big, 'a', 10000);
    big[10000] = '\0';
    sc_sendf(&sc, "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n");
    sc_send(&sc, big);
    server_route(&s, "/", &sc);

    http_client *c = http_client_new(&loop);
    rec r = {0};
    http_options o = {.max_body = 1000};
    start(c, &r, &s, "GET", "/", NULL, NULL, 0, &o);
    WAIT_FOR(r.dones, 5000);

    CHECK_INT(r.code, HTTP_ETOOBIG);
    CHECK(r.data.len <= 1000);
    CHECK_STR(r.message, "the response from 127.0.0.1 is larger than the 1000-byte limit");

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    rec_free(&r);
}

static void hook_cancel_self(rec *r, int event) {
    if (event == EV_DATA)
        http_cancel(r->t);
}

/* http_cancel() from the transfer's own on_data: no more callbacks, and the server sees the
 * connection close within 2 s. */
static void test_cancel_in_on_data(void) {
    setup();
    server s;
    server_start(&s);
    script sc = {0};
    sc_send(&sc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    sc_chunk(&sc, "first");
    sc_delay(&sc, 50);
    sc_chunk(&sc, "second");
    sc_delay(&sc, 5000);
    sc_send(&sc, "0\r\n\r\n");
    server_route(&s, "/", &sc);

    http_client *c = http_client_new(&loop);
    rec r = {0};
    r.hook = hook_cancel_self;
    start(c, &r, &s, "POST", "/", NULL, "x", 1, NULL);
    WAIT_FOR(r.datas, 5000);
    CHECK_INT(r.datas, 1);
    CHECK_INT(http_client_active(c), 0);
    WAIT_FOR(s.eofs >= 1, 2000);
    CHECK_INT(s.eofs, 1);
    WAIT_FOR(0, 200); /* the second chunk's time passes: nothing more may arrive */
    CHECK_INT(r.datas, 1);
    CHECK_INT(r.dones, 0);
    CHECK_STR(r.data.data, "first");

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    rec_free(&r);
}

/* From inside A's callbacks: cancel B (in flight), start C and cancel it at once, start D
 * (from on_data) and E (from on_done).  B and C never call back; C never reaches the server;
 * A, D and E complete. */
typedef struct cross {
    http_client *c;
    server *s;
    rec *b, *cc, *d, *e;
} cross;

static void hook_cross(rec *a, int event) {
    cross *x = a->arg;
    if (event == EV_RESPONSE) {
        CHECK(start(x->c, x->cc, x->s, "POST", "/c", NULL, "c", 1, NULL) != NULL);
        http_cancel(x->cc->t);
    } else if (event == EV_DATA && a->datas == 1) {
        http_cancel(x->b->t);
        CHECK(start(x->c, x->d, x->s, "POST", "/d", NULL, "dee", 3, NULL) != NULL);
    } else if (event == EV_DONE) {
        http_cancel(a->t); /* a no-op while its on_done runs */
        CHECK(start(x->c, x->e, x->s, "POST", "/d", NULL, "eee", 3, NULL) != NULL);
    }
}

static void test_cancel_from_other_callback(void) {
    setup();
    server s;
    server_start(&s);
    script a_sc = {0}, b_sc = {0}, echo_sc = {0};
    sc_send(&a_sc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    sc_chunk(&a_sc, "a1");
    sc_delay(&a_sc, 100);
    sc_chunk(&a_sc, "a2");
    sc_send(&a_sc, "0\r\n\r\n");
    sc_silent(&b_sc);
    sc_echo(&echo_sc);
    server_route(&s, "/a", &a_sc);
    server_route(&s, "/b", &b_sc);
    server_route(&s, "/c", &echo_sc);
    server_route(&s, "/d", &echo_sc);

    http_client *c = http_client_new(&loop);
    rec a = {0}, b = {0}, cc = {0}, d = {0}, e = {0};
    cross x = {c, &s, &b, &cc, &d, &e};
    start(c, &b, &s, "POST", "/b", NULL, "b", 1, NULL);
    WAIT_FOR(s.requests == 1, 5000);
    a.hook = hook_cross;
    a.arg = &x;
    start(c, &a, &s, "POST", "/a", NULL, "a", 1, NULL);
    WAIT_FOR(a.dones && d.dones && e.dones, 5000);
    WAIT_FOR(s.eofs >= 1, 2000);

    CHECK_INT(a.code, HTTP_OK);
    CHECK_STR(a.data.data, "a1a2");
    CHECK_INT(d.code, HTTP_OK);
    CHECK_STR(d.data.data, "dee");
    CHECK_INT(e.code, HTTP_OK);
    CHECK_STR(e.data.data, "eee");
    CHECK_INT(b.responses + b.datas + b.dones, 0);
    CHECK_INT(cc.responses + cc.datas + cc.dones, 0);
    CHECK_INT(s.eofs, 1);     /* B's connection was closed */
    CHECK_INT(s.requests, 4); /* B, A, D, E: C never went out */
    CHECK_INT(http_client_active(c), 0);

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&a_sc);
    sc_free(&b_sc);
    sc_free(&echo_sc);
    rec_free(&a);
    rec_free(&b);
    rec_free(&cc);
    rec_free(&d);
    rec_free(&e);
}

/* 20 transfers at once on one client each get their own body back. */
static void test_concurrent(void) {
    setup();
    server s;
    server_start(&s);
    script sc = {0};
    sc_echo(&sc);
    server_route(&s, "/echo", &sc);

    http_client *c = http_client_new(&loop);
    enum { N = 20 };
    rec r[N];
    char bodies[N][64];
    memset(r, 0, sizeof r);
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof bodies[i], "transfer %d says %.*s", i, i,
                 "xxxxxxxxxxxxxxxxxxxx");
        CHECK(start(c, &r[i], &s, "POST", "/echo", NULL, bodies[i], strlen(bodies[i]), NULL));
    }
    CHECK_INT(http_client_active(c), N);
    uint64_t end = uv_now(&loop) + 5000;
    for (;;) {
        int done = 0;
        for (int i = 0; i < N; i++)
            done += r[i].dones;
        if (done == N || !loop_step(end))
            break;
    }
    for (int i = 0; i < N; i++) {
        CHECK_INT(r[i].dones, 1);
        CHECK_INT(r[i].code, HTTP_OK);
        CHECK_STR(r[i].data.data, bodies[i]);
    }
    CHECK_INT(http_client_active(c), 0);
    CHECK(s.accepts > 1); /* really in parallel, not one after another on one connection */

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    for (int i = 0; i < N; i++)
        rec_free(&r[i]);
}

/* Sequential requests share one connection; a cancelled transfer's connection is not reused. */
static void test_connection_reuse(void) {
    setup();
    server s;
    server_start(&s);
    script small = {0}, slow = {0};
    sc_send(&small, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    sc_send(&slow, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    sc_chunk(&slow, "partial");
    sc_delay(&slow, 3000);
    sc_send(&slow, "0\r\n\r\n");
    server_route(&s, "/small", &small);
    server_route(&s, "/slow", &slow);

    http_client *c = http_client_new(&loop);
    rec r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0};
    start(c, &r1, &s, "POST", "/small", NULL, "1", 1, NULL);
    WAIT_FOR(r1.dones, 5000);
    start(c, &r2, &s, "GET", "/small", NULL, NULL, 0, NULL);
    WAIT_FOR(r2.dones, 5000);
    CHECK_INT(r1.code, HTTP_OK);
    CHECK_INT(r2.code, HTTP_OK);
    CHECK_STR(r2.data.data, "ok");
    CHECK_INT(s.accepts, 1);
    CHECK_INT(s.requests, 2);

    r3.hook = hook_cancel_self;
    start(c, &r3, &s, "POST", "/slow", NULL, "3", 1, NULL);
    WAIT_FOR(s.eofs >= 1, 5000);
    CHECK_INT(s.eofs, 1);
    CHECK_INT(s.accepts, 1); /* r3 had reused the pooled connection, then closed it */
    start(c, &r4, &s, "POST", "/small", NULL, "4", 1, NULL);
    WAIT_FOR(r4.dones, 5000);
    CHECK_INT(r4.code, HTTP_OK);
    CHECK_INT(s.accepts, 2);
    CHECK_INT(s.requests, 4);
    CHECK_INT(r3.dones, 0);

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&small);
    sc_free(&slow);
    rec_free(&r1);
    rec_free(&r2);
    rec_free(&r3);
    rec_free(&r4);
}

static void test_dns_failure(void) {
    setup();
    http_client *c = http_client_new(&loop);
    rec r = {0};
    r.t =
        http_request(c, "POST", "http://nonexistent.invalid/v1", NULL, "{}", 2, NULL, &rec_cbs, &r);
    CHECK(r.t != NULL);
    WAIT_FOR(r.dones, 10000);
    CHECK_INT(r.dones, 1);
    CHECK_INT(r.code, HTTP_EDNS);
    CHECK_STR(r.message, "could not resolve host nonexistent.invalid");
    http_client_free(c);
    teardown();
    rec_free(&r);
}

/* A TLS client talking to a plain-HTTP server: ETLS. */
static void test_tls_failure(void) {
    setup();
    server s;
    server_start(&s);
    script greet = {0};
    sc_send(&greet, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    sc_delay(&greet, 50);
    sc_close(&greet);
    s.greet = &greet;

    http_client *c = http_client_new(&loop);
    rec r = {0};
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", s.port);
    r.t = http_request(c, "POST", url, NULL, "{}", 2, NULL, &rec_cbs, &r);
    WAIT_FOR(r.dones, 5000);
    CHECK_INT(r.code, HTTP_ETLS);
    CHECK(strncmp(r.message, "the TLS handshake with 127.0.0.1 failed: ", 41) == 0);
    CHECK_INT(r.responses, 0);

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&greet);
    rec_free(&r);
}

/* Freeing the client with transfers in flight: no callback, connections closed, and (under
 * valgrind / ASan) nothing leaked. */
static void test_free_in_flight(void) {
    setup();
    server s;
    server_start(&s);
    script sc = {0};
    sc_send(&sc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    sc_chunk(&sc, "hello");
    sc_silent(&sc);
    server_route(&s, "/", &sc);

    http_client *c = http_client_new(&loop);
    rec r[3];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 3; i++)
        start(c, &r[i], &s, "POST", "/", NULL, "x", 1, NULL);
    WAIT_FOR(r[0].datas && r[1].datas && r[2].datas, 5000);
    CHECK_INT(http_client_active(c), 3);
    http_client_free(c);
    WAIT_FOR(s.eofs == 3, 2000);
    CHECK_INT(s.eofs, 3);
    for (int i = 0; i < 3; i++)
        CHECK_INT(r[i].dones, 0);

    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    for (int i = 0; i < 3; i++)
        rec_free(&r[i]);
}

/* A request body over 1 MiB arrives intact (and comes back intact), without libcurl's
 * "Expect: 100-continue" detour (libcurl adds it to bodies over 1 MiB). */
static void test_large_request_body(void) {
    setup();
    server s;
    server_start(&s);
    script sc = {0};
    sc_echo(&sc);
    server_route(&s, "/", &sc);

    size_t n = ((size_t)1 << 20) + 4096;
    char *body = malloc(n);
    CHECK(body != NULL);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + (i * 7 + i / 4096) % 26);

    http_client *c = http_client_new(&loop);
    rec r = {0};
    const char *headers[] = {"Content-Type: application/json", NULL};
    start(c, &r, &s, "POST", "/", headers, body, n, NULL);
    body[0] = '!'; /* the body was copied: changing ours now must not matter */
    WAIT_FOR(r.dones, 10000);
    body[0] = 'a';

    CHECK_INT(r.code, HTTP_OK);
    CHECK_MEM(s.last_body.data, s.last_body.len, body, n);
    CHECK_MEM(r.data.data, r.data.len, body, n);
    CHECK(contains(s.last_head.data, "\r\nContent-Length: 1052672\r\n"));
    CHECK(!contains(s.last_head.data, "Expect:"));

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&sc);
    free(body);
    rec_free(&r);
}

/* 1xx interim heads are skipped; a 3xx is handed over, not followed. */
static void test_interim_and_redirect(void) {
    setup();
    server s;
    server_start(&s);
    script interim = {0}, redirect = {0};
    sc_send(&interim, "HTTP/1.1 100 Continue\r\n\r\n");
    sc_delay(&interim, 10);
    sc_send(&interim,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfinal");
    sc_sendf(&redirect,
             "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/elsewhere\r\n"
             "Content-Length: 5\r\n\r\nmoved",
             s.port);
    server_route(&s, "/interim", &interim);
    server_route(&s, "/redirect", &redirect);

    http_client *c = http_client_new(&loop);
    rec r1 = {0}, r2 = {0};
    start(c, &r1, &s, "POST", "/interim", NULL, "x", 1, NULL);
    start(c, &r2, &s, "POST", "/redirect", NULL, "x", 1, NULL);
    WAIT_FOR(r1.dones && r2.dones, 5000);

    CHECK_INT(r1.code, HTTP_OK);
    CHECK_INT(r1.responses, 1);
    CHECK_INT(r1.resp_status, 200);
    CHECK_STR(r1.resp_ctype, "text/plain");
    CHECK_STR(r1.data.data, "final");
    CHECK_INT(r2.code, HTTP_OK);
    CHECK_INT(r2.status, 302);
    CHECK_STR(r2.data.data, "moved");
    CHECK_INT(s.requests, 2); /* /elsewhere was never asked for */

    http_client_free(c);
    server_stop(&s);
    teardown();
    server_free(&s);
    sc_free(&interim);
    sc_free(&redirect);
    rec_free(&r1);
    rec_free(&r2);
}

/* Requests refused up front return NULL and call nothing. */
static void test_bad_requests(void) {
    setup();
    http_client *c = http_client_new(&loop);
    rec r = {0};
    const char *injected[] = {"X-Ok: 1", "X-Bad: a\r\nX-Injected: b", NULL};
    http_callbacks no_done = {rec_on_response, rec_on_data, NULL};
    CHECK(http_request(c, "PUT", "http://127.0.0.1:1/", NULL, NULL, 0, NULL, &rec_cbs, &r) == NULL);
    CHECK(http_request(c, "POST", "ftp://127.0.0.1/x", NULL, NULL, 0, NULL, &rec_cbs, &r) == NULL);
    CHECK(http_request(c, "POST", "file:///etc/passwd", NULL, NULL, 0, NULL, &rec_cbs, &r) == NULL);
    CHECK(http_request(c, "POST", "not a url", NULL, NULL, 0, NULL, &rec_cbs, &r) == NULL);
    CHECK(http_request(c, "POST", "http://127.0.0.1:1/", injected, NULL, 0, NULL, &rec_cbs, &r) ==
          NULL);
    CHECK(http_request(c, "POST", "http://127.0.0.1:1/", NULL, NULL, 0, NULL, &no_done, &r) ==
          NULL);
    CHECK_INT(http_client_active(c), 0);
    WAIT_FOR(0, 50);
    CHECK_INT(r.responses + r.datas + r.dones, 0);
    http_cancel(NULL);
    CHECK_STR(http_code_name(HTTP_ESTALL), "ESTALL");
    CHECK_STR(http_code_name(HTTP_OK), "OK");
    http_client_free(c);
    teardown();
}

/* libcurl's global state is a client's from its first request (the program's own reference
 * from main() aside): a client that sends nothing, or only requests refused before they start,
 * takes none; one that sends takes one, freed with it. */
static void test_global_with_first_request(void) {
    setup();
    int before = http__global_refs();
    http_client *idle = http_client_new(&loop);
    http_client *c = http_client_new(&loop);
    CHECK_INT(http__global_refs(), before);
    rec r = {0};
    CHECK(http_request(c, "PUT", "http://127.0.0.1:1/", NULL, NULL, 0, NULL, &rec_cbs, &r) == NULL);
    CHECK_INT(http__global_refs(), before);
    r.t = http_request(c, "POST", "http://127.0.0.1:1/", NULL, "{}", 2, NULL, &rec_cbs, &r);
    CHECK(r.t != NULL);
    CHECK_INT(http__global_refs(), before + 1);
    WAIT_FOR(r.dones, 5000);
    CHECK_INT(r.code, HTTP_ECONNECT);
    r.t = http_request(c, "POST", "http://127.0.0.1:1/", NULL, "{}", 2, NULL, &rec_cbs, &r);
    CHECK(r.t != NULL);
    CHECK_INT(http__global_refs(), before + 1);
    WAIT_FOR(r.dones == 2, 5000);
    http_client_free(idle);
    CHECK_INT(http__global_refs(), before + 1);
    http_client_free(c);
    CHECK_INT(http__global_refs(), before);
    teardown();
    rec_free(&r);
}

static void check_redact(const char *in, const char *want) {
    char out[256];
    size_t n = http_redact_credentials(in, strlen(in), out, sizeof out);
    CHECK_STR(out, want);
    CHECK_INT(n, strlen(want));
}

/* Credential values are replaced in header lines and in libcurl's HTTP/2 notes; other
 * headers pass through. */
static void test_redact_credentials(void) {
    check_redact("Authorization: Bearer sk-abc", "Authorization: [redacted]");
    check_redact("authorization:Bearer sk-abc\r\n", "authorization: [redacted]\r\n");
    check_redact("X-API-Key: sk-ant-123", "X-API-Key: [redacted]");
    check_redact("Proxy-Authorization: Basic dXNlcg==", "Proxy-Authorization: [redacted]");
    check_redact("Cookie: a=b; c=d", "Cookie: [redacted]");
    check_redact("h2h3 [authorization: Bearer sk-abc]", "h2h3 [authorization: [redacted]]");
    check_redact("[HTTP/2] [1] [x-api-key: k-1] [content-type: application/json]",
                 "[HTTP/2] [1] [x-api-key: [redacted]] [content-type: application/json]");
    check_redact("Content-Type: application/json", "Content-Type: application/json");
    check_redact("X-Authorization-Hint: none", "X-Authorization-Hint: none");
    check_redact("authorization", "authorization"); /* a word, not a header */
    char small[8];
    CHECK_INT(http_redact_credentials("Authorization: x", 16, small, sizeof small), 7);
    CHECK_STR(small, "Authori");
    CHECK_INT(http_redact_credentials("abc", 3, small, 0), 0);
}

/* AMI_HTTP_TRACE=1 logs headers both ways with credentials replaced by [redacted].  Runs
 * last: it points the log at a file for the rest of the process. */
static void test_trace_redacts(void) {
    char path[] = "/tmp/ami-http-trace-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    setenv("AMI_LOG_FILE", path, 1);
    setenv("AMI_LOG", "debug", 1);
    setenv("AMI_HTTP_TRACE", "1", 1);
    log_init();
    secret_add("registered-secret-42");

    setup();
    server s;
    server_start(&s);
    script sc = {0};
    sc_send(&sc, "HTTP/1.1 200 OK\r\nSet-Cookie: session=server-token-7\r\nContent-Length: 2\r\n"
                 "\r\nok");
    server_route(&s, "/", &sc);
    http_client *c = http_client_new(&loop);
    rec r = {0};
    const char *headers[] = {"Authorization: Bearer tok-live-abc", "x-api-key: key-live-def",
                             "X-Note: registered-secret-42", NULL};
    start(c, &r, &s, "POST", "/trace", headers, "{}", 2, NULL);
    WAIT_FOR(r.dones, 5000);
    CHECK_INT(r.code, HTTP_OK);
    CHECK(contains(s.last_head.data, "x-api-key: key-live-def")); /* sent as given */
    http_client_free(c);
    server_stop(&s);
    teardown();

    unsetenv("AMI_HTTP_TRACE");
    log_set_level(LOG_WARN);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    buf log = {0};
    char line[2048];
    while (f && fgets(line, sizeof line, f))
        buf_append_str(&log, line);
    if (f)
        fclose(f);
    unlink(path);
    CHECK(contains(log.data, "> POST /trace HTTP/1.1"));
    CHECK(contains(log.data, "> Authorization: [redacted]"));
    CHECK(contains(log.data, "> x-api-key: [redacted]"));
    CHECK(contains(log.data, "< HTTP/1.1 200 OK"));
    CHECK(contains(log.data, "< Set-Cookie: [redacted]"));
    CHECK(!contains(log.data, "tok-live-abc"));
    CHECK(!contains(log.data, "key-live-def"));
    CHECK(!contains(log.data, "server-token-7"));
    CHECK(!contains(log.data, "registered-secret-42"));
    secret_clear();

    server_free(&s);
    sc_free(&sc);
    rec_free(&r);
    buf_free(&log);
}

int main(void) {
    /* Requests go to 127.0.0.1 and to a name that must fail to resolve: no proxy may
     * intercept them. */
    const char *proxies[] = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                             "all_proxy",  "ALL_PROXY",   NULL};
    for (int i = 0; proxies[i]; i++)
        unsetenv(proxies[i]);
    unsetenv("AMI_HTTP_TRACE");
    log_set_level(LOG_WARN);
    if (http_global_init() != 0) {
        fprintf(stderr, "http_global_init failed\n");
        return 1;
    }
    RUN(test_chunked_stream);
    RUN(test_status_429);
    RUN(test_retry_after_date);
    RUN(test_connect_refused);
    RUN(test_dropped_mid_body);
    RUN(test_stall);
    RUN(test_total_timeout);
    RUN(test_max_body);
    RUN(test_cancel_in_on_data);
    RUN(test_cancel_from_other_callback);
    RUN(test_concurrent);
    RUN(test_connection_reuse);
    RUN(test_dns_failure);
    RUN(test_tls_failure);
    RUN(test_free_in_flight);
    RUN(test_large_request_body);
    RUN(test_interim_and_redirect);
    RUN(test_bad_requests);
    RUN(test_global_with_first_request);
    RUN(test_redact_credentials);
    RUN(test_trace_redacts);
    http_global_cleanup();
    return check_report("http");
}
