/* The engine's insides, shared by src/engine.c and src/request*.c only. */
#ifndef AMI_ENGINE_INTERNAL_H
#define AMI_ENGINE_INTERNAL_H

#include "ami/engine.h"
#include "ami/http.h"
#include "ami/keys.h"
#include "ami/ledger.h"

typedef struct engine_models_entry {
    char *provider;
    provider_model *models;
    size_t n;
    double fetched_at; /* unix seconds */
    int loading;       /* a fetch or a cache read is under way */
    int refresh;       /* the network must be asked, whatever the cache says */
    struct engine_models_waiter *waiters;
} engine_models_entry;

struct engine {
    uv_loop_t *loop;
    char *client;
    ami_config cfg;
    engine_sink sink;
    void *sink_ud;
    http_client *http;
    keys *keys;
    stream_clock *clock;
    ledger *ledger; /* opened on first use; NULL when disabled */
    char *ledger_path;
    int ledger_told; /* the user was told the ledger is unusable */
    request *requests;
    uint32_t next_id;
    engine_models_entry *models;
    size_t n_models;
    struct engine_get_op *gets; /* authenticated GETs under way */
    int closing;
    int warned_plain_http;
    void (*close_done)(void *ud);
    void *close_ud;
    int pending_closes;
};

/* request.c */
void request_cancel_all(engine *e, const char *why);

/* engine.c, for request.c */
void engine_notice(engine *e, request *r, const char *message);
/* Drops a waiter added by engine_models() (its request ended first). */
void engine_models_forget(engine *e, const char *provider, engine_models_fn cb, void *ud);
/* A request's memory was released (its timer closed): engine_close may be waiting on it. */
void engine_request_freed(engine *e);

#endif
