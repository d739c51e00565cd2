/* engine: what the Neovim host and the CLI share: the settings, the HTTP client, API keys,
 * the delivery clock, the ledger, the model lists, and the requests in progress.
 *
 * Both faces create one engine on their loop, give it a sink, and start requests; neither
 * knows of the other.  The engine knows no editor.
 */
#ifndef AMI_ENGINE_H
#define AMI_ENGINE_H

#include "ami/config.h"
#include "ami/keys.h"
#include "ami/provider.h"
#include "ami/request.h"
#include "ami/stream.h"

#include <uv.h>

typedef struct engine engine;

typedef struct engine_sink {
    stream_sink text; /* answer_ud of each text call is the request (request_ud() for its tag) */
    void (*event)(void *sink_ud, request *r, const request_event *ev);
} engine_sink;

/// A new engine for client ("nvim" or "cli"), with cfg's settings (the engine takes over
/// cfg's contents; cfg is left empty).  NULL when out of memory.
engine *engine_new(uv_loop_t *loop, const char *client, ami_config *cfg, const engine_sink *sink,
                   void *sink_ud);

/// Replaces the settings (takes over cfg's contents).  Requests in progress keep theirs.
void engine_configure(engine *e, ami_config *cfg);
const ami_config *engine_config(const engine *e);

struct ledger;
/// The usage ledger, opened (in the background) on first use; NULL when ledger.enabled is
/// false or the engine is closing.  Owned by the engine.
struct ledger *engine_ledger(engine *e);

/// Cancels every request (their end events run, as "cancelled"), writes what the ledger
/// still has to write, closes every handle, then calls done and frees the engine.  The
/// loop must keep running until done is called (done may be NULL).
void engine_close(engine *e, void (*done)(void *ud), void *ud);

/* ---- providers and models --------------------------------------------------------------- */

/* A provider with the user's settings applied.  Every string is owned (a copy): the settings
 * may change while a request that resolved them is still running.  Free with
 * engine_provider_clear(). */
typedef struct engine_provider {
    provider_def def; /* def.name, def.base_url, def.api_key_env: owned copies */
    const char *base_url;
    const char *api_key;
    const char *api_key_env;
    const char *api_key_cmd;
    const char *app_url;
    const char *app_title;
    long context_tokens;
} engine_provider;

/// Resolves a provider name against the built-ins and the config.  0, or -1 with err (out is
/// then empty).  On success the caller frees out with engine_provider_clear().
int engine_provider_resolve(const engine *e, const char *name, engine_provider *out, char *err,
                            size_t errlen);
void engine_provider_clear(engine_provider *p);

/// Where p's key comes from, for keys_get()/keys_probe(): borrows p's strings.  required: 1
/// to fail without a key, 0 to go on without one; -1 as the provider says.
keys_spec engine_provider_keys(const engine_provider *p, int required);

typedef void (*engine_get_fn)(void *ud, long status, const char *body, size_t len, const char *err);
/// GET <base_url>/<path> of a provider, with its key when it has one (found as for a request,
/// without requiring it).  cb runs exactly once from the loop: err NULL and the body of a 2xx
/// answer, or err set (one sentence).  When the engine closes first, cb runs with an error.
void engine_get(engine *e, const char *provider, const char *path, engine_get_fn cb, void *ud);
/// The same GET with another key than the provider's own (OpenRouter's management key for
/// GET /activity): key says where it comes from, as for keys_get() (borrowed for the call;
/// key->provider names it in messages and in the key cache).  With key->required, no key
/// means no request: cb gets why.
void engine_get_keyed(engine *e, const char *provider, const char *path, const keys_spec *key,
                      engine_get_fn cb, void *ud);

typedef void (*engine_models_fn)(void *ud, const provider_model *models, size_t n, const char *err);
/// The provider's model list: from memory, the disk cache ($XDG_CACHE_HOME/ami/models-<name>
/// .json, a day old at most) or the network.  refresh forces the network.
void engine_models(engine *e, const char *provider, int refresh, engine_models_fn cb, void *ud);

/// What is known of a model from the lists loaded so far: context length and prices (USD per
/// million tokens, < 0 unknown).  Prices from the config win.  Returns 1 when the model is known.
int engine_model_info(const engine *e, const char *provider, const char *model, long *context,
                      double *prompt_price, double *completion_price);

#endif
