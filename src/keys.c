/* keys: API keys from the config, the environment, or a command.  See include/ami/keys.h.
 *
 * A command's life:
 *
 *   spawn ──► RUNNING ── exit + stdout/stderr EOF ──► DONE: cb(first line | error)
 *                │
 *                ├── 10 s timer ──► kill ──► (exit) ──► DONE: cb(timeout error)
 *                └── keys_cancel / keys_free ──► kill, no callback; freed when every handle
 *                                                 has closed
 */
#include "ami/keys.h"

#include "ami/buf.h"
#include "ami/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD_TIMEOUT_MS 10000
#define CMD_MAX_OUTPUT 65536
#define CACHE_SECS     3600
#define CACHE_MAX      8

typedef struct cached {
    char *provider;
    char *cmd;
    char *key;
    time_t at;
} cached;

struct keys_request {
    keys *k;
    keys_request *next;
    char *provider;
    char *cmd;
    const char *cmd_name; /* static */
    keys_fn cb;
    void *ud;
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    buf out_buf, err_buf;
    int open_handles; /* handles not yet closed; the request is freed at 0 */
    int out_eof, err_eof;
    int exited;
    int64_t exit_status;
    int term_signal;
    int timed_out;
    int cancelled;
    int reported;
};

struct keys {
    uv_loop_t *loop;
    unsigned timeout_ms;
    keys_request *running;
    cached cache[CACHE_MAX];
};

static void wipe(char *s) {
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = 0;
}

keys *keys_new(uv_loop_t *loop) {
    keys *k = calloc(1, sizeof *k);
    if (k) {
        k->loop = loop;
        k->timeout_ms = CMD_TIMEOUT_MS;
    }
    return k;
}

void keys_set_timeout(keys *k, unsigned ms) {
    k->timeout_ms = ms;
}

static void unlink_request(keys_request *r) {
    for (keys_request **pp = &r->k->running; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            return;
        }
}

static void request_free(keys_request *r) {
    wipe(r->out_buf.data);
    buf_free(&r->out_buf);
    buf_free(&r->err_buf);
    free(r->provider);
    free(r->cmd);
    free(r);
}

static void on_closed(uv_handle_t *h) {
    keys_request *r = h->data;
    if (--r->open_handles == 0)
        request_free(r);
}

/* The command runs in its own process group: stop it and whatever it started. */
static void kill_group(keys_request *r) {
    if (r->proc.pid > 0)
        uv_kill(-r->proc.pid, SIGKILL);
}

static void close_all(keys_request *r) {
    uv_handle_t *hs[] = {(uv_handle_t *)&r->proc, (uv_handle_t *)&r->out, (uv_handle_t *)&r->err,
                         (uv_handle_t *)&r->timer};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], on_closed);
}

void keys_free(keys *k) {
    if (!k)
        return;
    while (k->running) {
        keys_request *r = k->running;
        k->running = r->next;
        r->cancelled = 1;
        kill_group(r);
        close_all(r);
    }
    for (int i = 0; i < CACHE_MAX; i++) {
        wipe(k->cache[i].key);
        free(k->cache[i].key);
        free(k->cache[i].provider);
        free(k->cache[i].cmd);
    }
    free(k);
}

static cached *cache_find(keys *k, const char *provider, const char *cmd) {
    time_t now = time(NULL);
    for (int i = 0; i < CACHE_MAX; i++) {
        cached *c = &k->cache[i];
        if (c->key && strcmp(c->provider, provider) == 0 && strcmp(c->cmd, cmd) == 0 &&
            now - c->at < CACHE_SECS)
            return c;
    }
    return NULL;
}

static void cache_put(keys *k, const char *provider, const char *cmd, const char *key) {
    int slot = 0;
    for (int i = 0; i < CACHE_MAX; i++) {
        if (!k->cache[i].key) {
            slot = i;
            break;
        }
        if (k->cache[i].at < k->cache[slot].at)
            slot = i;
    }
    cached *c = &k->cache[slot];
    wipe(c->key);
    free(c->key);
    free(c->provider);
    free(c->cmd);
    c->key = strdup(key);
    c->provider = strdup(provider);
    c->cmd = strdup(cmd);
    c->at = time(NULL);
}

/* The first line of s, trimmed, in place. */
static char *first_line(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    char *end = s + strcspn(s, "\r\n");
    *end = '\0';
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

/* Reports once the command has exited and both pipes reached EOF, then closes everything. */
static void finish(keys_request *r) {
    if (r->reported || r->cancelled || !r->exited || !r->out_eof || !r->err_eof)
        return;
    r->reported = 1;
    uv_timer_stop(&r->timer);
    unlink_request(r);
    char msg[512];
    char *key = r->out_buf.data ? first_line(r->out_buf.data) : NULL;
    char *why = r->err_buf.data ? first_line(r->err_buf.data) : NULL;
    if (r->timed_out) {
        snprintf(msg, sizeof msg, "%s for %s did not finish within %.1f s", r->cmd_name,
                 r->provider, r->k->timeout_ms / 1000.0);
    } else if (r->term_signal) {
        snprintf(msg, sizeof msg, "%s for %s was killed by signal %d", r->cmd_name, r->provider,
                 r->term_signal);
    } else if (r->exit_status != 0) {
        snprintf(msg, sizeof msg, "%s for %s failed (exit status %lld)%s%.300s", r->cmd_name,
                 r->provider, (long long)r->exit_status, why && *why ? ": " : "",
                 why && *why ? why : "");
    } else if (!key || !*key) {
        snprintf(msg, sizeof msg, "%s for %s printed no key", r->cmd_name, r->provider);
    } else {
        secret_add(key);
        cache_put(r->k, r->provider, r->cmd, key);
        r->cb(r->ud, key, r->cmd_name, NULL);
        close_all(r);
        return;
    }
    secret_redact(msg); /* a failing command might echo the key */
    r->cb(r->ud, NULL, NULL, msg);
    close_all(r);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)h;
    (void)suggested;
    static char scratch[4096];
    *b = uv_buf_init(scratch, sizeof scratch);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    keys_request *r = s->data;
    int is_out = s == (uv_stream_t *)&r->out;
    buf *into = is_out ? &r->out_buf : &r->err_buf;
    if (n > 0) {
        if (into->len + (size_t)n <= CMD_MAX_OUTPUT)
            buf_append(into, b->base, (size_t)n);
        memset(b->base, 0, (size_t)n); /* the scratch buffer held the key */
        return;
    }
    if (n < 0) {
        uv_read_stop(s);
        if (is_out)
            r->out_eof = 1;
        else
            r->err_eof = 1;
        finish(r);
    }
}

static void on_cmd_exit(uv_process_t *p, int64_t status, int sig) {
    keys_request *r = p->data;
    r->exited = 1;
    r->exit_status = status;
    r->term_signal = sig;
    finish(r);
}

/* Also covers a command that exited but left a background child holding its output open. */
static void on_timeout(uv_timer_t *t) {
    keys_request *r = t->data;
    r->timed_out = 1;
    kill_group(r);
    uv_read_stop((uv_stream_t *)&r->out);
    uv_read_stop((uv_stream_t *)&r->err);
    r->out_eof = r->err_eof = 1;
    finish(r);
}

int keys_probe(const keys_spec *spec, const char **source, int *via_cmd) {
    *via_cmd = 0;
    if (spec->api_key && *spec->api_key) {
        *source = "the config file";
        return 1;
    }
    const char *v = spec->env ? getenv(spec->env) : NULL;
    if (v && *v) {
        *source = spec->env;
        return 1;
    }
    if (spec->cmd && *spec->cmd) {
        *source = spec->cmd_name ? spec->cmd_name : "api_key_cmd";
        *via_cmd = 1;
        return 0;
    }
    *source = NULL;
    return 0;
}

keys_request *keys_get(keys *k, const keys_spec *spec, keys_fn cb, void *ud) {
    const char *source;
    int via_cmd;
    if (keys_probe(spec, &source, &via_cmd)) {
        const char *key = spec->api_key && *spec->api_key ? spec->api_key : getenv(spec->env);
        secret_add(key);
        cb(ud, key, source, NULL);
        return NULL;
    }
    if (!via_cmd) {
        if (!spec->required) {
            cb(ud, NULL, NULL, NULL);
            return NULL;
        }
        char msg[512];
        if (spec->env)
            snprintf(msg, sizeof msg,
                     "no API key for %s: set %s in the environment ami starts from, or "
                     "providers.%s.api_key_cmd",
                     spec->provider, spec->env, spec->provider);
        else
            snprintf(msg, sizeof msg,
                     "no API key for %s: set providers.%s.api_key_env or providers.%s.api_key_cmd",
                     spec->provider, spec->provider, spec->provider);
        cb(ud, NULL, NULL, msg);
        return NULL;
    }
    cached *c = cache_find(k, spec->provider, spec->cmd);
    if (c) {
        cb(ud, c->key, spec->cmd_name ? spec->cmd_name : "api_key_cmd", NULL);
        return NULL;
    }
    keys_request *r = calloc(1, sizeof *r);
    if (!r || !(r->provider = strdup(spec->provider)) || !(r->cmd = strdup(spec->cmd))) {
        if (r)
            request_free(r);
        cb(ud, NULL, NULL, "out of memory");
        return NULL;
    }
    r->k = k;
    r->cmd_name = spec->cmd_name ? spec->cmd_name : "api_key_cmd";
    r->cb = cb;
    r->ud = ud;
    uv_pipe_init(k->loop, &r->out, 0);
    uv_pipe_init(k->loop, &r->err, 0);
    uv_timer_init(k->loop, &r->timer);
    r->out.data = r->err.data = r->timer.data = r->proc.data = r;
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&r->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&r->err;
    char *args[] = {"/bin/sh", "-c", r->cmd, NULL};
    uv_process_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.file = "/bin/sh";
    opts.args = args;
    opts.exit_cb = on_cmd_exit;
    opts.stdio = stdio;
    opts.stdio_count = 3;
    /* Its own process group, so a timeout or a cancel also stops what it started. */
    opts.flags = UV_PROCESS_DETACHED;
    r->open_handles = 4;
    int rc = uv_spawn(k->loop, &r->proc, &opts);
    if (rc != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s for %s could not start: %s", r->cmd_name, spec->provider,
                 uv_strerror(rc));
        r->cancelled = 1;
        uv_close((uv_handle_t *)&r->proc, on_closed);
        uv_close((uv_handle_t *)&r->out, on_closed);
        uv_close((uv_handle_t *)&r->err, on_closed);
        uv_close((uv_handle_t *)&r->timer, on_closed);
        cb(ud, NULL, NULL, msg);
        return NULL;
    }
    uv_read_start((uv_stream_t *)&r->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&r->err, on_alloc, on_read);
    uv_timer_start(&r->timer, on_timeout, k->timeout_ms, 0);
    r->next = k->running;
    k->running = r;
    return r;
}

void keys_cancel(keys_request *r) {
    if (!r || r->reported)
        return;
    r->cancelled = 1;
    unlink_request(r);
    kill_group(r);
    close_all(r);
}
