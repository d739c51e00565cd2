/* config: ami's settings, one schema for the CLI's JSON file and Neovim's setup().
 *
 * Sources, later ones overriding earlier ones field by field:
 *   built-in defaults → the JSON file ($AMI_CONFIG, else $XDG_CONFIG_HOME/ami/config.json,
 *   else ~/.config/ami/config.json) → setup() options (Neovim) or flags (CLI).
 * Every field is checked: a wrong type, a value out of range or an unknown field is an error
 * naming the field by its full path ("budget.monthly_usd"), with a suggestion for a likely
 * misspelling.  The schema is documented in doc/ami.txt (ami-config); lua/ami/config.lua holds
 * the same defaults, and a test keeps the two in step.
 */
#ifndef AMI_CONFIG_H
#define AMI_CONFIG_H

#include <cJSON.h>
#include <stddef.h>

/* A provider as configured: a built-in one (openrouter, openai, …) with overrides, or a
 * user-defined one (then `kind` and `base_url` are required).  NULL strings mean "not set". */
typedef struct config_provider {
    char *name;
    char *kind; /* "openai" (OpenAI-compatible) or "anthropic"; NULL = the built-in's */
    char *base_url;
    char *api_key_env;
    char *api_key_cmd;
    char *api_key; /* discouraged: a key written in the config file itself */
    char *app_url;
    char *app_title;
    long context_tokens;      /* 0 = unknown */
    char *management_key_cmd; /* OpenRouter: a command printing a management key (`ami usage
                                 import openrouter`); never stored */
} config_provider;

typedef struct config_price {
    char *model;
    double prompt;     /* USD per million prompt tokens */
    double completion; /* USD per million completion tokens */
} config_price;

/* A question preset (questions.NAME). */
typedef struct config_question {
    char *name;
    char *text;
} config_question;

typedef struct ami_config {
    char *provider;
    char *model;
    long max_tokens;
    double temperature; /* < 0: not sent */
    char *language;     /* "auto" = the document's language */
    long frame_ms;
    double connect_timeout_s;
    double stall_timeout_s;
    long max_answer_bytes;
    long context_tokens; /* 0 = from the model list */

    config_provider *providers;
    size_t n_providers;
    config_price *prices;
    size_t n_prices;

    double budget_monthly_usd;     /* < 0: no cap */
    double budget_per_request_usd; /* < 0: no cap */

    char *usage_locale; /* "en" or "fr": how the usage report writes numbers */

    int ledger_enabled;
    char *ledger_path; /* NULL: $XDG_STATE_HOME/ami/ledger.sqlite3 */
    int ledger_store_text;

    int notes_enabled; /* critiques are cut into notes anchored on the words */

    config_question *questions; /* the defaults (clarity, reader, concision, argument, tone)
                                   and the user's */
    size_t n_questions;

    int secrets_mask;     /* secrets.mask: mask secrets in every text before sending */
    char **secrets_allow; /* secrets.allow: regexes of values never masked (keep the count
                             right after it) */
    size_t n_secrets_allow;

    char *privacy_data_collection; /* "deny" (the default) or "allow" */
    int privacy_zdr;               /* privacy.zdr */

    char **compare_models; /* compare.models (keep n_compare_models right after it) */
    size_t n_compare_models;
    int compare_blind;
    long compare_min_votes;

    int carbon_enabled;
    double (*carbon_points)[2]; /* (total tokens, grams CO2e) pairs, ascending */
    size_t n_carbon_points;

    /* Where the file came from, and whether it holds a key and is readable by others. */
    char *file;
    int file_has_key;
    int file_too_open;
} ami_config;

/// Sets every field to its default.  The config owns all its strings; free with config_free().
/// Returns 0, or -1 when out of memory.
int config_init(ami_config *c);
void config_free(ami_config *c);

/// Applies the fields present in root (a JSON object) over c.  On error returns -1, writes one
/// sentence naming the field to err, and leaves c valid (possibly partly updated).
int config_apply_json(ami_config *c, const cJSON *root, char *err, size_t errlen);

/// Path of the config file to read: $AMI_CONFIG, else $XDG_CONFIG_HOME/ami/config.json, else
/// $HOME/.config/ami/config.json.  malloc'd; caller frees.  NULL when out of memory.
char *config_default_path(void);

/// Reads and applies the JSON file at path.  A missing file is not an error when optional is
/// set (returns 1: nothing read).  Records in c whether the file holds an API key and is
/// readable by group or others.  Returns 0, 1, or -1 with err set.
int config_load_file(ami_config *c, const char *path, int optional, char *err, size_t errlen);

/// The defaults as a JSON document (what `ami config --defaults` prints); caller frees.
char *config_defaults_json(void);

/// The provider settings for name: the user's entry if any (may be NULL).
const config_provider *config_find_provider(const ami_config *c, const char *name);

/// Price per million tokens for model from the `prices` table; 0 when found, -1 otherwise.
int config_find_price(const ami_config *c, const char *model, double *prompt, double *completion);

/// True when privacy.data_collection is "deny".
int config_deny_data_collection(const ami_config *c);

/// The question of preset name, or NULL when there is none.  Owned by c.
const char *config_question_text(const ami_config *c, const char *name);

/// Path of the ledger: ledger.path, or $XDG_STATE_HOME/ami/ledger.sqlite3, or
/// ~/.local/state/ami/ledger.sqlite3.  malloc'd; caller frees.
char *config_ledger_path(const ami_config *c);

/// Expands a leading "~/" with $HOME.  malloc'd; caller frees.
char *config_expand_home(const char *path);

#endif
