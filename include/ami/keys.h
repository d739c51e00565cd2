/* keys: finding a provider's API key without blocking the loop.
 *
 * Sources, first found wins:
 *   1. providers.<name>.api_key in the config (discouraged; warned about when the file is
 *      readable by others);
 *   2. the environment variable providers.<name>.api_key_env, else the provider's default
 *      (OPENROUTER_API_KEY, ...);
 *   3. providers.<name>.api_key_cmd, run with /bin/sh -c asynchronously: the first line of
 *      its output, within 10 s.  Its result is cached for an hour.
 * Every key found is registered with secret_add(), so it is masked in any log line or error
 * message.  A key is never put in argv, a log, an error message or a file.
 */
#ifndef AMI_KEYS_H
#define AMI_KEYS_H

#include <uv.h>

typedef struct keys keys;
typedef struct keys_request keys_request;

/// key: the key (borrowed for the call) or NULL when there is none.  err: NULL, or one
/// sentence saying why there is no key (missing while required, command failed).  source:
/// where the key came from ("OPENROUTER_API_KEY", "api_key_cmd", "the config file").
typedef void (*keys_fn)(void *ud, const char *key, const char *source, const char *err);

typedef struct keys_spec {
    const char *provider; /* name, for messages and the cache */
    const char *api_key;  /* from the config, or NULL */
    const char *env;      /* variable name, or NULL */
    const char *cmd;      /* shell command, or NULL */
    int required;
    const char *cmd_name; /* the setting that holds cmd, for messages (a static string);
                             NULL: "api_key_cmd" */
} keys_spec;

keys *keys_new(uv_loop_t *loop);
/// Kills commands still running (their callbacks do not run), closes handles (run the loop
/// once more), wipes cached keys.
void keys_free(keys *k);

/// Sets the time an api_key_cmd may take (default 10 s).
void keys_set_timeout(keys *k, unsigned ms);

/// Looks the key up.  cb runs exactly once, synchronously when no command must run, else
/// later from the loop, unless the request is cancelled.  Returns the pending request (NULL
/// when cb already ran).
keys_request *keys_get(keys *k, const keys_spec *spec, keys_fn cb, void *ud);
void keys_cancel(keys_request *r);

/// Describes where the key would come from without running anything (for :checkhealth):
/// fills source/hint; returns 1 when a key is available now (config or environment), 0
/// when only a command could provide it (*via_cmd = 1) or nothing can.
int keys_probe(const keys_spec *spec, const char **source, int *via_cmd);

#endif
