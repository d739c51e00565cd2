/* engine: the shared context of the host and the CLI.  See include/ami/engine.h.
 *
 * Model lists (for prices, context lengths and :AmiModel completion) come from memory, else
 * from a day-old-at-most disk cache, else from the provider's /models.  Disk reads, writes
 * and JSON parsing of the lists run on the libuv thread pool, never on the loop.
 *
 *   entry: EMPTY ──load──► LOADING ──cache fresh──► READY
 *                            │  └──cache stale/missing──► fetch ──ok──► READY (+ cache written)
 *                            └──────────────────────────────────fail──► EMPTY (waiters told why)
 */
#include "ami/engine.h"

#include "ami/buf.h"
#include "ami/log.h"
#include "engine_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MODELS_MAX_AGE_S (24 * 3600)
#define MODELS_MAX_BYTES (64 * 1024 * 1024)

typedef struct engine_models_waiter {
    struct engine_models_waiter *next;
    engine_models_fn cb;
    void *ud;
} engine_models_waiter;

engine *engine_new(uv_loop_t *loop, const char *client, ami_config *cfg, const engine_sink *sink,
                   void *sink_ud) {
    engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->loop = loop;
    e->client = strdup(client);
    e->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    e->sink = *sink;
    e->sink_ud = sink_ud;
    e->http = http_client_new(loop);
    e->keys = keys_new(loop);
    e->clock = stream_clock_new(loop, e->cfg.frame_ms, &sink->text, sink_ud);
    if (!e->client || !e->http || !e->keys || !e->clock) {
        if (e->http)
            http_client_free(e->http);
        keys_free(e->keys);
        stream_clock_free(e->clock);
        config_free(&e->cfg);
        free(e->client);
        free(e);
        return NULL;
    }
    return e;
}

static void ledger_closed(void *ud);

void engine_configure(engine *e, ami_config *cfg) {
    config_free(&e->cfg);
    e->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    stream_clock_set_frame(e->clock, e->cfg.frame_ms);
    char *path = config_ledger_path(&e->cfg);
    if (e->ledger && (!e->cfg.ledger_enabled || !path || strcmp(path, e->ledger_path) != 0)) {
        /* Queued rows are still written to the old file; the new one opens on next use. */
        e->pending_closes++;
        ledger_close(e->ledger, ledger_closed, e);
        e->ledger = NULL;
        free(e->ledger_path);
        e->ledger_path = NULL;
        e->ledger_told = 0;
    }
    free(path);
}

const ami_config *engine_config(const engine *e) {
    return &e->cfg;
}

ledger *engine_ledger(engine *e) {
    if (!e->cfg.ledger_enabled || e->closing)
        return NULL;
    if (!e->ledger) {
        e->ledger_path = config_ledger_path(&e->cfg);
        if (!e->ledger_path)
            return NULL;
        e->ledger = ledger_new(e->loop, e->ledger_path, e->cfg.ledger_store_text);
    }
    return e->ledger;
}

void engine_notice(engine *e, request *r, const char *message) {
    log_info("%s", message);
    request_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = REQUEST_EV_NOTICE;
    ev.message = message;
    if (e->sink.event)
        e->sink.event(e->sink_ud, r, &ev);
}

/* ---- providers ----------------------------------------------------------------------------- */

static char *dup0(const char *s) {
    return s ? strdup(s) : NULL;
}

void engine_provider_clear(engine_provider *p) {
    free((char *)p->def.name);
    free((char *)p->def.base_url);
    free((char *)p->def.api_key_env);
    free((char *)p->base_url);
    free((char *)p->api_key);
    free((char *)p->api_key_env);
    free((char *)p->api_key_cmd);
    free((char *)p->app_url);
    free((char *)p->app_title);
    memset(p, 0, sizeof *p);
}

int engine_provider_resolve(const engine *e, const char *name, engine_provider *out, char *err,
                            size_t errlen) {
    memset(out, 0, sizeof *out);
    const provider_def *def = provider_find(name);
    const config_provider *cp = config_find_provider(&e->cfg, name);
    provider_def d;
    memset(&d, 0, sizeof d);
    if (def) {
        d = *def;
    } else if (cp) {
        if (!cp->base_url) {
            snprintf(err, errlen,
                     "provider %s is not built in, so providers.%s needs a base_url (and a kind: "
                     "\"openai\" or \"anthropic\")",
                     name, name);
            return -1;
        }
        d.dialect =
            cp->kind && strcmp(cp->kind, "anthropic") == 0 ? PROVIDER_ANTHROPIC : PROVIDER_OPENAI;
        d.key_required = cp->api_key_env || cp->api_key_cmd || cp->api_key;
        d.include_usage = d.dialect == PROVIDER_OPENAI;
    } else {
        size_t n;
        const provider_def *all = provider_list(&n);
        buf names = {0};
        for (size_t i = 0; i < n; i++)
            buf_printf(&names, "%s%s", i ? ", " : "", all[i].name);
        snprintf(err, errlen,
                 "unknown provider \"%s\" (built in: %s; or define providers.%s with a base_url)",
                 name, names.data ? names.data : "", name);
        buf_free(&names);
        return -1;
    }
    if (cp && cp->kind && def)
        d.dialect = strcmp(cp->kind, "anthropic") == 0 ? PROVIDER_ANTHROPIC : PROVIDER_OPENAI;
    const char *base = cp && cp->base_url ? cp->base_url : d.base_url;
    if (!base) {
        snprintf(err, errlen,
                 "provider %s needs providers.%s.base_url (e.g. http://127.0.0.1:8080/v1)", name,
                 name);
        return -1;
    }
    out->def = d;
    out->def.name = strdup(name);
    out->def.base_url = dup0(d.base_url);
    out->def.api_key_env = dup0(d.api_key_env);
    out->base_url = strdup(base);
    out->api_key = dup0(cp ? cp->api_key : NULL);
    out->api_key_env = dup0(cp && cp->api_key_env ? cp->api_key_env : d.api_key_env);
    out->api_key_cmd = dup0(cp ? cp->api_key_cmd : NULL);
    out->app_url = dup0(cp ? cp->app_url : NULL);
    out->app_title = dup0(cp ? cp->app_title : NULL);
    out->context_tokens = cp ? cp->context_tokens : 0;
    if (!out->def.name || !out->base_url) {
        engine_provider_clear(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

keys_spec engine_provider_keys(const engine_provider *p, int required) {
    keys_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.provider = p->def.name;
    spec.api_key = p->api_key;
    spec.env = p->api_key_env;
    spec.cmd = p->api_key_cmd;
    spec.required = required < 0 ? p->def.key_required : required;
    return spec;
}

/* ---- authenticated GETs ---------------------------------------------------------------------
 *
 *   engine_get ──► key lookup ──► HTTP GET ──► cb(body | error)
 *                       └──────────── engine_close ──► cb("shutting down")
 */

typedef struct engine_get_op {
    struct engine_get_op *next;
    engine *e;
    engine_provider prov;
    char *path;
    keys_request *key_req;
    http_transfer *xfer;
    buf body;
    int key_required; /* engine_get_keyed: no key, no request */
    engine_get_fn cb;
    void *ud;
} engine_get_op;

static void get_unlink(engine_get_op *op) {
    for (engine_get_op **pp = &op->e->gets; *pp; pp = &(*pp)->next)
        if (*pp == op) {
            *pp = op->next;
            return;
        }
}

static void get_finish(engine_get_op *op, long status, const char *err) {
    get_unlink(op);
    op->cb(op->ud, status, err ? NULL : (op->body.data ? op->body.data : ""), op->body.len, err);
    engine_provider_clear(&op->prov);
    free(op->path);
    buf_free(&op->body);
    free(op);
}

static void get_data(void *ud, const char *data, size_t len) {
    engine_get_op *op = ud;
    if (op->body.len + len <= MODELS_MAX_BYTES)
        buf_append(&op->body, data, len);
}

static void get_done(void *ud, const http_result *res) {
    engine_get_op *op = ud;
    op->xfer = NULL;
    char err[600];
    if (res->code == HTTP_OK) {
        get_finish(op, res->status, NULL);
        return;
    }
    if (res->code == HTTP_ESTATUS) {
        char *kind = NULL, *message = NULL;
        provider_parse_error(res->body, res->body_len, res->content_type, &kind, &message);
        snprintf(err, sizeof err, "%s answered HTTP %ld to GET %s%s%s", op->prov.def.name,
                 res->status, op->path, message ? ": " : "", message ? message : "");
        free(kind);
        free(message);
    } else {
        snprintf(err, sizeof err, "cannot GET %s from %s: %s", op->path, op->prov.def.name,
                 res->message ? res->message : "network error");
    }
    secret_redact(err);
    get_finish(op, res->status, err);
}

static void get_with_key(void *ud, const char *key, const char *source, const char *err) {
    (void)source;
    engine_get_op *op = ud;
    op->key_req = NULL;
    if (!key && op->key_required) {
        get_finish(op, 0, err ? err : "no key");
        return;
    }
    /* Otherwise no key: try without one (OpenRouter lists its models to anyone). */
    engine *e = op->e;
    char *url = provider_url(op->prov.base_url, op->path);
    char **headers = provider_auth_headers(&op->prov.def, key);
    if (url && headers) {
        http_options opts;
        memset(&opts, 0, sizeof opts);
        opts.connect_timeout_ms = (long)(e->cfg.connect_timeout_s * 1000);
        opts.total_timeout_ms = 30000;
        opts.max_body = MODELS_MAX_BYTES;
        http_callbacks cbs;
        memset(&cbs, 0, sizeof cbs);
        cbs.on_data = get_data;
        cbs.on_done = get_done;
        op->xfer = http_request(e->http, "GET", url, (const char *const *)headers, NULL, 0, &opts,
                                &cbs, op);
    }
    free(url);
    provider_headers_free(headers);
    if (!op->xfer)
        get_finish(op, 0, "cannot send the request (is the provider's base_url a valid URL?)");
}

static void get_start(engine *e, const char *provider, const char *path, const keys_spec *key,
                      engine_get_fn cb, void *ud) {
    char err[512];
    engine_get_op *op = calloc(1, sizeof *op);
    if (!op) {
        cb(ud, 0, NULL, 0, "out of memory");
        return;
    }
    if (e->closing || engine_provider_resolve(e, provider, &op->prov, err, sizeof err) != 0) {
        free(op);
        cb(ud, 0, NULL, 0, e->closing ? "ami is shutting down" : err);
        return;
    }
    op->e = e;
    op->cb = cb;
    op->ud = ud;
    op->path = strdup(path);
    op->next = e->gets;
    e->gets = op;
    keys_spec spec = key ? *key : engine_provider_keys(&op->prov, 0);
    op->key_required = key && key->required;
    op->key_req = keys_get(e->keys, &spec, get_with_key, op);
}

void engine_get(engine *e, const char *provider, const char *path, engine_get_fn cb, void *ud) {
    get_start(e, provider, path, NULL, cb, ud);
}

void engine_get_keyed(engine *e, const char *provider, const char *path, const keys_spec *key,
                      engine_get_fn cb, void *ud) {
    get_start(e, provider, path, key, cb, ud);
}

static void gets_cancel_all(engine *e) {
    while (e->gets) {
        engine_get_op *op = e->gets;
        if (op->key_req)
            keys_cancel(op->key_req);
        if (op->xfer)
            http_cancel(op->xfer);
        op->key_req = NULL;
        op->xfer = NULL;
        get_finish(op, 0, "ami is shutting down");
    }
}

/* ---- model lists ------------------------------------------------------------------------------
 */

static engine_models_entry *models_entry(engine *e, const char *provider, int create) {
    for (size_t i = 0; i < e->n_models; i++)
        if (strcmp(e->models[i].provider, provider) == 0)
            return &e->models[i];
    if (!create)
        return NULL;
    engine_models_entry *m = realloc(e->models, (e->n_models + 1) * sizeof *m);
    if (!m)
        return NULL;
    e->models = m;
    m = &e->models[e->n_models];
    memset(m, 0, sizeof *m);
    m->provider = strdup(provider);
    if (!m->provider)
        return NULL;
    e->n_models++;
    return m;
}

int engine_model_info(const engine *e, const char *provider, const char *model, long *context,
                      double *prompt_price, double *completion_price) {
    *context = 0;
    *prompt_price = *completion_price = -1;
    int known = 0;
    for (size_t i = 0; i < e->n_models; i++) {
        const engine_models_entry *m = &e->models[i];
        if (strcmp(m->provider, provider) != 0)
            continue;
        for (size_t j = 0; j < m->n; j++) {
            if (strcmp(m->models[j].id, model) == 0) {
                known = 1;
                if (m->models[j].context_length > 0)
                    *context = m->models[j].context_length;
                *prompt_price = m->models[j].prompt_usd_per_mtok;
                *completion_price = m->models[j].completion_usd_per_mtok;
            }
        }
    }
    double pp, cp;
    if (config_find_price(&e->cfg, model, &pp, &cp) == 0) {
        *prompt_price = pp;
        *completion_price = cp;
        known = 1;
    }
    return known;
}

static char *models_cache_path(const char *provider) {
    buf b = {0};
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg)
        buf_printf(&b, "%s/ami/models-", xdg);
    else
        buf_printf(&b, "%s/.cache/ami/models-", getenv("HOME") ? getenv("HOME") : ".");
    for (const char *p = provider; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        buf_append_byte(&b, ok ? c : '_');
    }
    buf_append_str(&b, ".json");
    return buf_steal(&b);
}

typedef struct models_job {
    uv_work_t work;
    engine *e;
    char *provider;
    char *path;
    buf body; /* write: what to save; read: what was read */
    int writing;
    int fresh; /* read: the file is younger than MODELS_MAX_AGE_S */
    provider_model *models;
    size_t n;
    int rc;
} models_job;

static void models_deliver(engine_models_entry *m, const char *err) {
    engine_models_waiter *w = m->waiters;
    m->waiters = NULL;
    m->loading = 0;
    while (w) {
        engine_models_waiter *next = w->next;
        w->cb(w->ud, m->models, m->n, err);
        free(w);
        w = next;
    }
}

static void mkdirs_for(const char *path) {
    char *p = strdup(path);
    if (!p)
        return;
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0700);
            *s = '/';
        }
    }
    free(p);
}

/* Thread pool: read + parse, or write. */
static void models_work(uv_work_t *w) {
    models_job *j = w->data;
    if (j->writing) {
        mkdirs_for(j->path);
        buf tmp = {0};
        buf_printf(&tmp, "%s.tmp", j->path);
        int fd = tmp.data ? open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
        if (fd >= 0) {
            size_t off = 0;
            while (off < j->body.len) {
                ssize_t n = write(fd, j->body.data + off, j->body.len - off);
                if (n <= 0)
                    break;
                off += (size_t)n;
            }
            close(fd);
            if (off == j->body.len)
                rename(tmp.data, j->path);
            else
                unlink(tmp.data);
        }
        buf_free(&tmp);
        return;
    }
    struct stat st;
    int fd = open(j->path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size > MODELS_MAX_BYTES) {
        if (fd >= 0)
            close(fd);
        j->rc = -1;
        return;
    }
    j->fresh = time(NULL) - st.st_mtime < MODELS_MAX_AGE_S;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        buf_append(&j->body, chunk, (size_t)n);
    close(fd);
    j->rc = provider_parse_models(j->body.data ? j->body.data : "", j->body.len, &j->models, &j->n);
}

static void models_fetch(engine *e, engine_models_entry *m);

static void models_job_free(models_job *j) {
    free(j->provider);
    free(j->path);
    buf_free(&j->body);
    if (j->models)
        provider_models_free(j->models, j->n);
    free(j);
}

static void models_after(uv_work_t *w, int status) {
    models_job *j = w->data;
    engine *e = j->e;
    e->pending_closes--;
    engine_models_entry *m = e->closing ? NULL : models_entry(e, j->provider, 0);
    if (!j->writing && m) {
        if (status == 0 && j->rc == 0 && j->n > 0) {
            if (m->models)
                provider_models_free(m->models, m->n);
            m->models = j->models;
            m->n = j->n;
            j->models = NULL;
            m->fetched_at = (double)time(NULL);
        }
        if (status == 0 && j->rc == 0 && j->n > 0 && j->fresh && !m->refresh)
            models_deliver(m, NULL);
        else
            models_fetch(e, m);
    }
    models_job_free(j);
    if (e->closing && e->pending_closes == 0 && e->close_done)
        engine_request_freed(e);
}

static int models_queue(engine *e, models_job *j) {
    j->work.data = j;
    e->pending_closes++;
    if (uv_queue_work(e->loop, &j->work, models_work, models_after) != 0) {
        e->pending_closes--;
        models_job_free(j);
        return -1;
    }
    return 0;
}

typedef struct models_fetch_ctx {
    engine *e;
    char provider[]; /* the entry is looked up again: it may have moved (realloc) */
} models_fetch_ctx;

static void models_fetched(void *ud, long status, const char *body, size_t len, const char *err) {
    (void)status;
    models_fetch_ctx *c = ud;
    engine *e = c->e;
    engine_models_entry *m = e->closing ? NULL : models_entry(e, c->provider, 0);
    if (m) {
        provider_model *models = NULL;
        size_t n = 0;
        if (!err && provider_parse_models(body, len, &models, &n) == 0 && n > 0) {
            if (m->models)
                provider_models_free(m->models, m->n);
            m->models = models;
            m->n = n;
            m->fetched_at = (double)time(NULL);
            models_job *j = calloc(1, sizeof *j);
            if (j) {
                j->e = e;
                j->writing = 1;
                j->provider = strdup(c->provider);
                j->path = models_cache_path(c->provider);
                buf_append(&j->body, body, len);
                models_queue(e, j);
            }
            m->refresh = 0;
            models_deliver(m, NULL);
        } else {
            if (models)
                provider_models_free(models, n);
            char msg[600];
            if (err)
                snprintf(msg, sizeof msg, "%s", err);
            else
                snprintf(msg, sizeof msg, "the model list from %s could not be read", c->provider);
            m->refresh = 0;
            models_deliver(m, m->n ? NULL : msg);
        }
    }
    free(c);
}

static void models_fetch(engine *e, engine_models_entry *m) {
    size_t n = strlen(m->provider);
    models_fetch_ctx *c = malloc(sizeof *c + n + 1);
    if (!c) {
        models_deliver(m, "out of memory");
        return;
    }
    c->e = e;
    memcpy(c->provider, m->provider, n + 1);
    engine_get(e, m->provider, "models", models_fetched, c);
}

void engine_models(engine *e, const char *provider, int refresh, engine_models_fn cb, void *ud) {
    engine_models_entry *m = models_entry(e, provider, 1);
    if (!m) {
        cb(ud, NULL, 0, "out of memory");
        return;
    }
    int fresh = m->n > 0 && (double)time(NULL) - m->fetched_at < MODELS_MAX_AGE_S;
    if (fresh && !refresh && !m->loading) {
        cb(ud, m->models, m->n, NULL);
        return;
    }
    if (cb) {
        engine_models_waiter *w = calloc(1, sizeof *w);
        if (!w) {
            cb(ud, NULL, 0, "out of memory");
            return;
        }
        w->cb = cb;
        w->ud = ud;
        w->next = m->waiters;
        m->waiters = w;
    }
    if (m->loading)
        return;
    m->loading = 1;
    m->refresh = refresh;
    if (refresh) {
        models_fetch(e, m);
        return;
    }
    models_job *j = calloc(1, sizeof *j);
    if (!j || !(j->provider = strdup(provider)) || !(j->path = models_cache_path(provider))) {
        if (j)
            models_job_free(j);
        models_fetch(e, m);
        return;
    }
    j->e = e;
    if (models_queue(e, j) != 0)
        models_fetch(e, m);
}

void engine_models_forget(engine *e, const char *provider, engine_models_fn cb, void *ud) {
    engine_models_entry *m = models_entry(e, provider, 0);
    if (!m)
        return;
    for (engine_models_waiter **pp = &m->waiters; *pp; pp = &(*pp)->next) {
        if ((*pp)->cb == cb && (*pp)->ud == ud) {
            engine_models_waiter *w = *pp;
            *pp = w->next;
            free(w);
            return;
        }
    }
}

/* ---- closing ------------------------------------------------------------------------------------
 */

static void ledger_closed(void *ud) {
    engine *e = ud;
    log_debug("ledger closed");
    e->pending_closes--;
    engine_request_freed(e);
}

void engine_request_freed(engine *e) {
    if (!e->closing || e->pending_closes > 0 || request_count(e) > 0 || !e->close_done)
        return;
    void (*done)(void *) = e->close_done;
    void *ud = e->close_ud;
    e->close_done = NULL;
    for (size_t i = 0; i < e->n_models; i++) {
        engine_models_entry *m = &e->models[i];
        engine_models_waiter *w = m->waiters;
        while (w) {
            engine_models_waiter *next = w->next;
            free(w);
            w = next;
        }
        if (m->models)
            provider_models_free(m->models, m->n);
        free(m->provider);
    }
    free(e->models);
    http_client_free(e->http);
    keys_free(e->keys);
    stream_clock_free(e->clock);
    config_free(&e->cfg);
    free(e->ledger_path);
    free(e->client);
    free(e);
    done(ud);
}

static void close_done_nothing(void *ud) {
    (void)ud;
}

void engine_close(engine *e, void (*done)(void *ud), void *ud) {
    e->closing = 1;
    e->close_done = done ? done : close_done_nothing; /* set: the engine frees itself */
    e->close_ud = ud;
    /* Answers in progress end as "cancelled", and their rows reach the ledger first. */
    e->closing = 0;
    request_cancel_all(e, "ami is shutting down");
    e->closing = 1;
    gets_cancel_all(e);
    for (size_t i = 0; i < e->n_models; i++) {
        engine_models_entry *m = &e->models[i];
        models_deliver(m, "ami is shutting down");
    }
    if (e->ledger) {
        e->pending_closes++;
        ledger_close(e->ledger, ledger_closed, e);
        e->ledger = NULL;
    }
    engine_request_freed(e);
}
