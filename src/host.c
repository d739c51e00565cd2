/* host: the msgpack-RPC face of ami.  See include/ami/host.h.
 *
 * This file holds the host's life (stdin/stdout as pipes, SIGTERM, the engine closed before
 * the loop ends, see host_stop()), the method table, and the methods about the engine itself:
 * ping, configure (Lua's settings, a msgpack map, read as cJSON), status, models.  What goes
 * to Lua is src/host_events.c's; the other methods are in src/host_*.c, one group each
 * (src/host_internal.h lists them).
 */
#include "ami/host.h"

#include "ami/config.h"
#include "ami/engine.h"
#include "ami/http.h"
#include "ami/keys.h"
#include "ami/log.h"
#include "ami/rpc.h"
#include "host_internal.h"

#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* ---- msgpack -> cJSON (settings arrive from Lua as a msgpack map) -------------------------- */

static cJSON *to_json(const msgpack_object *o, int depth) {
    if (depth > 64)
        return NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return cJSON_CreateNull();
    case MSGPACK_OBJECT_BOOLEAN:
        return cJSON_CreateBool(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return cJSON_CreateNumber(o->via.f64);
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: {
        char *s = rpc_obj_strdup(o);
        cJSON *j = s ? cJSON_CreateString(s) : NULL;
        free(s);
        return j;
    }
    case MSGPACK_OBJECT_ARRAY: {
        cJSON *a = cJSON_CreateArray();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            cJSON *item = to_json(&o->via.array.ptr[i], depth + 1);
            if (!item) {
                cJSON_Delete(a);
                return NULL;
            }
            cJSON_AddItemToArray(a, item);
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        cJSON *m = cJSON_CreateObject();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            char *key = rpc_obj_strdup(&o->via.map.ptr[i].key);
            cJSON *item = key ? to_json(&o->via.map.ptr[i].val, depth + 1) : NULL;
            if (!item) {
                free(key);
                cJSON_Delete(m);
                return NULL;
            }
            cJSON_AddItemToObject(m, key, item);
            free(key);
        }
        return m;
    }
    default:
        return NULL;
    }
}

/* Builds the settings from scratch: defaults, the JSON file, then the options from setup().
 * On error the host keeps what could be applied and returns the sentence to report. */
static char *host_configure(host *h, const msgpack_object *opts) {
    char err[512] = "";
    ami_config next;
    if (config_init(&next) != 0)
        return strdup("config: out of memory");
    char *path = config_default_path();
    int failed = 0;
    if (path && config_load_file(&next, path, 1, err, sizeof err) < 0)
        failed = 1;
    free(path);
    if (!failed && opts) {
        cJSON *j = to_json(opts, 0);
        if (!j) {
            snprintf(err, sizeof err, "config: the settings could not be read");
            failed = 1;
        } else if (config_apply_json(&next, j, err, sizeof err) != 0) {
            failed = 1;
        }
        cJSON_Delete(j);
    }
    engine_configure(h->eng, &next);
    return failed ? strdup(err) : NULL;
}

typedef struct models_ctx {
    host *h;
    uint32_t token;
    char *provider;
} models_ctx;

static void on_models(void *ud, const provider_model *models, size_t n, const char *err) {
    models_ctx *c = ud;
    host *h = c->h;
    if (!h->stopping) {
        host_ev_begin(h, "models");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "provider", c->provider);
        host_ev_str(h, "error", err);
        msgpack_packer *pk = host_ev_key(h, "models");
        msgpack_pack_array(pk, err ? 0 : (uint32_t)n);
        for (size_t i = 0; !err && i < n; i++) {
            msgpack_pack_map(pk, 5);
            host_kv_str(pk, "id", models[i].id);
            host_kv_str(pk, "name", models[i].name);
            host_kv_int(pk, "context_length", models[i].context_length);
            host_kv_num(pk, "prompt_usd_per_mtok", models[i].prompt_usd_per_mtok);
            host_kv_num(pk, "completion_usd_per_mtok", models[i].completion_usd_per_mtok);
        }
        host_ev_end(h);
    }
    free(c->provider);
    free(c);
}

/* models(provider?, refresh?) -> {token = T}; then the event {type = "models", token,
 * provider, models = {...}, error}. */
static void m_models(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *a = msg->params->via.array.ptr;
    uint32_t na = msg->params->via.array.size;
    char *provider = na > 0 ? rpc_obj_strdup(&a[0]) : NULL;
    int refresh = na > 1 && a[1].type == MSGPACK_OBJECT_BOOLEAN && a[1].via.boolean;
    models_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        free(provider);
        rpc_reply_error(ch, msg->msgid, "models: out of memory");
        return;
    }
    c->h = h;
    c->token = ++h->next_token;
    c->provider = provider ? provider : strdup(engine_config(h->eng)->provider);
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_map(pk, 1);
        host_kv_int(pk, "token", c->token);
        rpc_reply_end(ch);
    }
    /* After the reply: the list may be in memory already, and its event must come second. */
    engine_models(h->eng, c->provider, refresh, on_models, c);
}

static void pack_key_status(host *h, msgpack_packer *pk, const ami_config *cfg) {
    engine_provider prov;
    char err[512];
    if (engine_provider_resolve(h->eng, cfg->provider, &prov, err, sizeof err) != 0) {
        msgpack_pack_map(pk, 3);
        host_kv_bool(pk, "present", 0);
        host_kv_bool(pk, "required", 1);
        host_kv_str(pk, "hint", err);
        return;
    }
    keys_spec spec = engine_provider_keys(&prov, -1);
    const char *source = NULL;
    int via_cmd = 0;
    int present = keys_probe(&spec, &source, &via_cmd);
    char hint[512] = "", warning[512] = "";
    if (!present && !via_cmd) {
        if (prov.api_key_env)
            snprintf(hint, sizeof hint,
                     "set %s in the environment Neovim starts from, or providers.%s.api_key_cmd",
                     prov.api_key_env, cfg->provider);
        else
            snprintf(hint, sizeof hint, "set providers.%s.api_key_env or providers.%s.api_key_cmd",
                     cfg->provider, cfg->provider);
    }
    if (cfg->file_has_key && cfg->file_too_open)
        snprintf(warning, sizeof warning,
                 "%s holds an API key and is readable by other users: chmod 600 %s", cfg->file,
                 cfg->file);
    msgpack_pack_map(pk, 5);
    host_kv_bool(pk, "present", present || via_cmd);
    host_kv_bool(pk, "required", prov.def.key_required);
    host_kv_str(pk, "source", source);
    host_kv_str(pk, "hint", *hint ? hint : NULL);
    host_kv_str(pk, "warning", *warning ? warning : NULL);
    engine_provider_clear(&prov);
}

/* ---- methods ------------------------------------------------------------------------------ */

/* ping() -> {version = "X.Y.Z", pid = N} */
static void m_ping(rpc_channel *ch, const rpc_message *msg, void *ud) {
    (void)ud;
    if (msg->kind != RPC_REQUEST)
        return;
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (!pk)
        return;
    msgpack_pack_map(pk, 2);
    rpc_pack_cstr(pk, "version");
    rpc_pack_cstr(pk, AMI_VERSION);
    rpc_pack_cstr(pk, "pid");
    msgpack_pack_int64(pk, (int64_t)getpid());
    rpc_reply_end(ch);
}

/* configure(opts) -> true, or an error naming the bad field.  opts: the table given to
 * require('ami').setup(), in the schema of doc/ami.txt (ami-config). */
static void m_configure(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    const msgpack_object *opts =
        msg->params->via.array.size > 0 ? &msg->params->via.array.ptr[0] : NULL;
    if (opts && opts->type == MSGPACK_OBJECT_NIL)
        opts = NULL;
    free(h->config_error);
    h->config_error = host_configure(h, opts);
    if (msg->kind != RPC_REQUEST)
        return;
    if (h->config_error) {
        rpc_reply_error(ch, msg->msgid, h->config_error);
        return;
    }
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_true(pk);
        rpc_reply_end(ch);
    }
}

/* Whether the ledger's file can be written: it exists and is writable, or the nearest
 * existing parent directory is. */
static int path_writable(const char *path) {
    if (access(path, W_OK) == 0)
        return 1;
    if (errno != ENOENT)
        return 0;
    char *p = strdup(path);
    int ok = 0;
    while (p) {
        char *slash = strrchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        const char *dir = *p ? p : "/";
        if (access(dir, F_OK) == 0) {
            ok = access(dir, W_OK | X_OK) == 0;
            break;
        }
    }
    free(p);
    return ok;
}

/* status() -> {version, pid, provider, model, config_file, config_error, ledger = {path,
 * enabled, writable}} */
static void m_status(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (!pk)
        return;
    const ami_config *cfg = engine_config(h->eng);
    char *ledger_file = config_ledger_path(cfg);
    msgpack_pack_map(pk, 8);
    rpc_pack_cstr(pk, "version");
    rpc_pack_cstr(pk, AMI_VERSION);
    rpc_pack_cstr(pk, "pid");
    msgpack_pack_int64(pk, (int64_t)getpid());
    rpc_pack_cstr(pk, "provider");
    rpc_pack_cstr(pk, cfg->provider);
    rpc_pack_cstr(pk, "model");
    rpc_pack_cstr(pk, cfg->model);
    rpc_pack_cstr(pk, "config_file");
    rpc_pack_cstr(pk, cfg->file);
    rpc_pack_cstr(pk, "key");
    pack_key_status(h, pk, cfg);
    rpc_pack_cstr(pk, "config_error");
    rpc_pack_cstr(pk, h->config_error);
    rpc_pack_cstr(pk, "ledger");
    msgpack_pack_map(pk, 3);
    rpc_pack_cstr(pk, "path");
    rpc_pack_cstr(pk, ledger_file);
    rpc_pack_cstr(pk, "enabled");
    if (cfg->ledger_enabled)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    rpc_pack_cstr(pk, "writable");
    if (ledger_file && path_writable(ledger_file))
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    free(ledger_file);
    rpc_reply_end(ch);
}

/* Neovim reports a failed notification (e.g. an nvim_exec_lua that raised) this way. */
static void m_nvim_error_event(rpc_channel *ch, const rpc_message *msg, void *ud) {
    (void)ch;
    (void)ud;
    const msgpack_object *p = msg->params;
    if (p->via.array.size >= 2 && p->via.array.ptr[1].type == MSGPACK_OBJECT_STR)
        log_warn("Neovim reported an error: %.*s", (int)p->via.array.ptr[1].via.str.size,
                 p->via.array.ptr[1].via.str.ptr);
}

static const rpc_method host_methods[] = {
    {"ping", m_ping},
    {"configure", m_configure},
    {"status", m_status},
    {"start", host_m_start},
    {"cancel", host_m_cancel},
    {"models", m_models},
    {"document_usage", host_m_document_usage},
    {"usage_report", host_m_usage_report},
    {"thread_history", host_m_thread_history},
    {"models_used", host_m_models_used},
    {"sent", host_m_sent},
    {"compare", host_m_compare},
    {"vote", host_m_vote},
    {"arena_report", host_m_arena_report},
    {"notes_load", host_m_notes_load},
    {"notes_state", host_m_notes_state},
    {"notes_dismiss_all", host_m_notes_dismiss_all},
    {"usage_overview", host_m_usage_overview},
    {"nvim_error_event", m_nvim_error_event},
    {NULL, NULL},
};

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h) {
    (void)h;
}

static void on_engine_closed(void *ud) {
    host *h = ud;
    h->eng = NULL;
    host_sent_free(h);
    log_debug("engine closed");
    uv_signal_stop(&h->sigterm);
    uv_close((uv_handle_t *)&h->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&h->in, on_handle_closed);
    uv_close((uv_handle_t *)&h->out, on_handle_closed);
}

/* Neovim quit (or the input failed): answers in progress are cancelled (their ledger rows say
 * so), then the handles close and the loop ends.  The SIGTERM watcher stays until the engine
 * has closed: Neovim closes our stdin and then sends SIGTERM, and that signal must not kill
 * the process while the ledger is still being written (Neovim waits 2 s before SIGKILL). */
static void host_stop(host *h) {
    if (h->stopping)
        return;
    h->stopping = 1;
    engine_close(h->eng, on_engine_closed, h);
}

static void on_channel_closed(rpc_channel *ch, int reason, const char *message, void *ud) {
    (void)ch;
    host *h = ud;
    if (reason == RPC_OK) {
        log_debug("input ended; stopping");
    } else if (reason == RPC_EMALFORMED || reason == RPC_EINVALID) {
        log_error("%s; stopping", message);
        h->exit_code = 1;
    } else {
        log_error("cannot read from Neovim: %s; stopping", message);
        h->exit_code = 1;
    }
    host_stop(h);
}

static void on_sigterm(uv_signal_t *s, int signum) {
    (void)signum;
    host *h = s->data;
    log_debug("SIGTERM; stopping");
    host_stop(h);
}

static int open_stdio(host *h) {
    if (uv_guess_handle(0) != UV_NAMED_PIPE || uv_guess_handle(1) != UV_NAMED_PIPE) {
        log_error("`ami rpc` speaks msgpack-RPC on stdin/stdout, which must be pipes; Neovim "
                  "starts it with jobstart({'ami', 'rpc'}, {rpc = true})");
        return -1;
    }
    int rc;
    if ((rc = uv_pipe_init(h->loop, &h->in, 0)) || (rc = uv_pipe_open(&h->in, 0)) ||
        (rc = uv_pipe_init(h->loop, &h->out, 0)) || (rc = uv_pipe_open(&h->out, 1))) {
        log_error("cannot open stdin/stdout: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

int host_main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    host h;
    memset(&h, 0, sizeof h);
    h.loop = uv_default_loop();
    signal(SIGPIPE, SIG_IGN);
    if (open_stdio(&h) != 0)
        return 2;
    /* libcurl and OpenSSL start with the first request (the engine's client does it) when
     * libcurl allows it with threads running: a host that only anchors, masks or reads the
     * ledger never maps their pages in (idle RSS 11.2 -> 8.8 MiB).  Otherwise now, before the
     * pool's threads exist. */
    int curl_now = !http_global_lazy_ok();
    if (curl_now && http_global_init() != 0) {
        log_error("cannot initialise libcurl");
        return 1;
    }
    msgpack_sbuffer_init(&h.outbox);
    msgpack_packer_init(&h.opk, &h.outbox, msgpack_sbuffer_write);
    ami_config cfg;
    if (config_init(&cfg) != 0) {
        log_error("out of memory");
        return 1;
    }
    h.eng = engine_new(h.loop, "nvim", &cfg, &host_sink, &h);
    if (!h.eng) {
        config_free(&cfg);
        log_error("out of memory");
        return 1;
    }
    free(host_configure(&h, NULL)); /* reported again by the configure call from Lua */
    uv_signal_init(h.loop, &h.sigterm);
    h.sigterm.data = &h;
    uv_signal_start(&h.sigterm, on_sigterm, SIGTERM);
    h.ch = rpc_channel_new((uv_stream_t *)&h.in, (uv_stream_t *)&h.out, host_methods,
                           on_channel_closed, &h);
    if (!h.ch) {
        log_error("out of memory");
        return 1;
    }
    uv_run(h.loop, UV_RUN_DEFAULT);
    rpc_channel_free(h.ch);
    uv_run(h.loop, UV_RUN_DEFAULT);
    log_debug("exiting with status %d", h.exit_code);
    uv_loop_close(h.loop);
    msgpack_sbuffer_destroy(&h.outbox);
    free(h.config_error);
    if (curl_now)
        http_global_cleanup();
    secret_clear();
    return h.exit_code;
}
