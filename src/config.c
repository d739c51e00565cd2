/* config: defaults, the JSON schema, validation.  See include/ami/config.h.
 *
 * The schema is a table per JSON object.  Scalar fields are stored at an offset of
 * ami_config; objects either nest a table whose fields are stored flat in ami_config
 * (budget, ledger, carbon) or are checked but not stored (sidebar and quote, read by the Lua
 * layer only).  `providers` and `prices` are maps keyed by the user's names, handled apart.
 */
#include "ami/config.h"

#include "ami/buf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NO_STORE ((size_t)-1)

typedef enum {
    F_STR,      /* string */
    F_STR_NULL, /* string or null */
    F_INT,      /* integral number in [min, max] */
    F_NUM,      /* number in [min, max] */
    F_NUM_NULL, /* number in [min, max], or null (stored as -1) */
    F_BOOL,
    F_ENUM,   /* one of choices */
    F_OBJ,    /* nested object described by sub */
    F_POINTS, /* carbon.points: array of [tokens, grams] pairs */
    F_PROVIDERS,
    F_PRICES,
    F_QUESTIONS, /* an object of name -> non-empty string (questions) */
    F_STRLIST,   /* a list of non-empty strings, stored in a char ** + count (compare.models) */
    F_KEYS,      /* a key: a string, a list of strings, or false (Lua's mappings) */
} field_type;

typedef struct field {
    const char *name;
    field_type type;
    size_t off;
    double min, max;
    const char *const *choices;
    const struct field *sub;
    const char *help; /* what the value should be, for error messages */
} field;

#define OFF(m) offsetof(ami_config, m)

static const char *const position_choices[] = {"right", "left", "top", "bottom", NULL};
static const char *const sidebar_highlight_choices[] = {"ami", "markdown", NULL};
static const char *const kind_choices[] = {"openai", "anthropic", NULL};
static const char *const severity_choices[] = {"error", "warn", "info", "hint", NULL};
static const char *const locale_choices[] = {"en", "fr", NULL};

static const field budget_fields[] = {
    {"monthly_usd", F_NUM_NULL, OFF(budget_monthly_usd), 0, 1e9, NULL, NULL,
     "a number of US dollars, or null"},
    {"per_request_usd", F_NUM_NULL, OFF(budget_per_request_usd), 0, 1e9, NULL, NULL,
     "a number of US dollars, or null"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const field usage_fields[] = {
    {"locale", F_ENUM, OFF(usage_locale), 0, 0, locale_choices, NULL,
     "\"en\" ($1,234.56) or \"fr\" (1 234,56 $)"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const field ledger_fields[] = {
    {"enabled", F_BOOL, OFF(ledger_enabled), 0, 0, NULL, NULL, "true or false"},
    {"path", F_STR_NULL, OFF(ledger_path), 0, 0, NULL, NULL, "a file path, or null"},
    {"store_text", F_BOOL, OFF(ledger_store_text), 0, 0, NULL, NULL, "true or false"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const field carbon_fields[] = {
    {"enabled", F_BOOL, OFF(carbon_enabled), 0, 0, NULL, NULL, "true or false"},
    {"points", F_POINTS, 0, 0, 0, NULL, NULL,
     "a list of [total tokens, grams CO2e] pairs with increasing token counts"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* Read by lua/ami/sidebar.lua; checked here so the shared file is validated everywhere. */
static const field sidebar_fields[] = {
    {"position", F_ENUM, NO_STORE, 0, 0, position_choices, NULL, "right, left, top or bottom"},
    {"width", F_NUM, NO_STORE, 0.05, 1000, NULL, NULL,
     "columns, or a fraction of the editor's width between 0 and 1"},
    {"height", F_NUM, NO_STORE, 0.05, 1000, NULL, NULL,
     "lines, or a fraction of the editor's height between 0 and 1"},
    {"wrap", F_BOOL, NO_STORE, 0, 0, NULL, NULL, "true or false"},
    {"highlight", F_ENUM, NO_STORE, 0, 0, sidebar_highlight_choices, NULL, "ami or markdown"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* Margin notes: `enabled` is the engine's (cut critiques into notes); the rest is
 * lua/ami/notes.lua's. */
static const field notes_fields[] = {
    {"enabled", F_BOOL, OFF(notes_enabled), 0, 0, NULL, NULL, "true or false"},
    {"severity", F_ENUM, NO_STORE, 0, 0, severity_choices, NULL, "error, warn, info or hint"},
    {"virtual_text", F_BOOL, NO_STORE, 0, 0, NULL, NULL, "true or false"},
    {"signs", F_BOOL, NO_STORE, 0, 0, NULL, NULL, "true or false"},
    {"highlight", F_BOOL, NO_STORE, 0, 0, NULL, NULL, "true or false"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* What is masked before sending (`:help ami-secrets`). */
static const field secrets_fields[] = {
    {"mask", F_BOOL, OFF(secrets_mask), 0, 0, NULL, NULL, "true or false"},
    {"allow", F_STRLIST, OFF(secrets_allow), 0, 0, NULL, NULL,
     "a list of regular expressions (POSIX extended)"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* What the provider may keep (`:help ami-privacy`). */
static const char *const collection_choices[] = {"deny", "allow", NULL};
static const field privacy_fields[] = {
    {"data_collection", F_ENUM, OFF(privacy_data_collection), 0, 0, collection_choices, NULL,
     "\"deny\" or \"allow\""},
    {"zdr", F_BOOL, OFF(privacy_zdr), 0, 0, NULL, NULL, "true or false"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The personal arena (`:help ami-arena`). */
static const field compare_fields[] = {
    {"models", F_STRLIST, OFF(compare_models), 0, 0, NULL, NULL, "a list of model ids"},
    {"blind", F_BOOL, OFF(compare_blind), 0, 0, NULL, NULL, "true or false"},
    {"min_votes", F_INT, OFF(compare_min_votes), 1, 1e6, NULL, NULL, "a number of votes"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The thread's keys, read by lua/ami/input.lua (`:help ami-thread-keys`). */
static const field keys_fields[] = {
    {"open", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"send", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"send_insert", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"close", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"close_insert", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"history_prev", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"history_next", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"stop", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"vote_a", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"vote_b", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"vote_tie", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {"vote_bad", F_KEYS, NO_STORE, 0, 0, NULL, NULL, "a key, a list of keys, or false"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* Read by lua/ami/quote.lua. */
static const field quote_fields[] = {
    {"format", F_STR, NO_STORE, 0, 0, NULL, NULL,
     "\"markdown\", \"plain\", or a template using {text}, {model} and {date}"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const field provider_fields[] = {
    {"kind", F_ENUM, offsetof(config_provider, kind), 0, 0, kind_choices, NULL,
     "\"openai\" (any OpenAI-compatible server) or \"anthropic\""},
    {"base_url", F_STR, offsetof(config_provider, base_url), 0, 0, NULL, NULL,
     "a URL such as https://openrouter.ai/api/v1"},
    {"api_key_env", F_STR_NULL, offsetof(config_provider, api_key_env), 0, 0, NULL, NULL,
     "the name of an environment variable"},
    {"api_key_cmd", F_STR_NULL, offsetof(config_provider, api_key_cmd), 0, 0, NULL, NULL,
     "a shell command that prints the key"},
    {"api_key", F_STR_NULL, offsetof(config_provider, api_key), 0, 0, NULL, NULL,
     "the key itself (prefer api_key_env or api_key_cmd)"},
    {"app_url", F_STR_NULL, offsetof(config_provider, app_url), 0, 0, NULL, NULL, "a URL"},
    {"app_title", F_STR_NULL, offsetof(config_provider, app_title), 0, 0, NULL, NULL,
     "a short name"},
    {"context_tokens", F_INT, offsetof(config_provider, context_tokens), 0, 1e9, NULL, NULL,
     "a number of tokens"},
    {"management_key_cmd", F_STR_NULL, offsetof(config_provider, management_key_cmd), 0, 0, NULL,
     NULL, "a shell command that prints a management key"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const field price_fields[] = {
    {"prompt", F_NUM, offsetof(config_price, prompt), 0, 1e6, NULL, NULL,
     "US dollars per million prompt tokens"},
    {"completion", F_NUM, offsetof(config_price, completion), 0, 1e6, NULL, NULL,
     "US dollars per million completion tokens"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const field top_fields[] = {
    {"provider", F_STR, OFF(provider), 0, 0, NULL, NULL, "a provider name such as \"openrouter\""},
    {"model", F_STR, OFF(model), 0, 0, NULL, NULL,
     "a model id such as \"anthropic/claude-sonnet-4\""},
    {"max_tokens", F_INT, OFF(max_tokens), 1, 1e7, NULL, NULL, "a whole number of tokens"},
    {"temperature", F_NUM_NULL, OFF(temperature), 0, 2, NULL, NULL,
     "a number between 0 and 2, or null for the model's default"},
    {"language", F_STR, OFF(language), 0, 0, NULL, NULL,
     "\"auto\" (the document's language) or a language such as \"French\""},
    {"frame_ms", F_INT, OFF(frame_ms), 1, 1000, NULL, NULL, "milliseconds between text updates"},
    {"connect_timeout_s", F_NUM, OFF(connect_timeout_s), 0.1, 600, NULL, NULL, "seconds"},
    {"stall_timeout_s", F_NUM, OFF(stall_timeout_s), 1, 3600, NULL, NULL, "seconds"},
    {"max_answer_bytes", F_INT, OFF(max_answer_bytes), 1024, 1e9, NULL, NULL, "bytes"},
    {"context_tokens", F_INT, OFF(context_tokens), 0, 1e9, NULL, NULL,
     "a number of tokens (0: from the model list)"},
    {"providers", F_PROVIDERS, 0, 0, 0, NULL, provider_fields, "an object of providers"},
    {"prices", F_PRICES, 0, 0, 0, NULL, price_fields, "an object of model prices"},
    {"budget", F_OBJ, NO_STORE, 0, 0, NULL, budget_fields, "an object"},
    {"usage", F_OBJ, NO_STORE, 0, 0, NULL, usage_fields, "an object"},
    {"ledger", F_OBJ, NO_STORE, 0, 0, NULL, ledger_fields, "an object"},
    {"carbon", F_OBJ, NO_STORE, 0, 0, NULL, carbon_fields, "an object"},
    {"sidebar", F_OBJ, NO_STORE, 0, 0, NULL, sidebar_fields, "an object"},
    {"quote", F_OBJ, NO_STORE, 0, 0, NULL, quote_fields, "an object"},
    {"notes", F_OBJ, NO_STORE, 0, 0, NULL, notes_fields, "an object"},
    {"compare", F_OBJ, NO_STORE, 0, 0, NULL, compare_fields, "an object"},
    {"privacy", F_OBJ, NO_STORE, 0, 0, NULL, privacy_fields, "an object"},
    {"secrets", F_OBJ, NO_STORE, 0, 0, NULL, secrets_fields, "an object"},
    {"questions", F_QUESTIONS, 0, 0, 0, NULL, NULL,
     "an object of preset names and their questions"},
    {"keys", F_OBJ, NO_STORE, 0, 0, NULL, keys_fields, "an object"},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* The question presets (`:Critique clarity`, `ami critique FILE --preset clarity`): questions
 * a friend would ask, never instructions to rewrite; the expert-friend stance stays in the
 * system prompt whatever a preset says.  lua/ami/config.lua holds the same. */
static const char *const default_questions[][2] = {
    {"clarity", "Is this passage clear and explicit? What could a reader misunderstand? Point at "
                "the specific words."},
    {"reader", "How would a reader who does not know the subject read this passage? Where would "
               "they get lost, and what would they need to know first?"},
    {"concision", "What in this passage adds nothing or says the same thing twice? Point at the "
                  "words or sentences, and say why."},
    {"argument", "Does the reasoning of this passage hold? Where is a step missing, a claim "
                 "unsupported, or a conclusion stronger than what leads to it?"},
    {"tone", "What tone does this passage take, and does it suit its reader and its purpose? "
             "Point at the words that set it."},
};
#define N_DEFAULT_QUESTIONS (sizeof default_questions / sizeof default_questions[0])

/* Published per-request figures for a Claude Sonnet-class model: about 0.4 g for 100 tokens
 * in and 100 out, 1 g for 1k/1k, 2 g for 10k/10k (see doc/ami.txt, ami-carbon). */
static const double default_carbon[][2] = {{200, 0.4}, {2000, 1.0}, {20000, 2.0}};

/* ---- helpers ---------------------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    return s ? strdup(s) : NULL;
}

static void set_str(char **slot, const char *v) {
    char *copy = xstrdup(v);
    free(*slot);
    *slot = copy;
}

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *type_name(const cJSON *v) {
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "a list";
    if (cJSON_IsObject(v))
        return "an object";
    return "an unknown value";
}

/* An empty Lua table reaches us as an empty list: accept it where an object is expected. */
static int is_object_like(const cJSON *v) {
    return cJSON_IsObject(v) || (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0);
}

/* A field's full path ("budget.monthly_usd"); a path too long for out is cut, which only
 * shortens an error message. */
static void join_path(char *out, size_t n, const char *prefix, const char *name) {
    int w =
        prefix && *prefix ? snprintf(out, n, "%s.%s", prefix, name) : snprintf(out, n, "%s", name);
    if (w < 0 || (size_t)w >= n)
        out[n - 1] = '\0';
}

/* ---- validation ------------------------------------------------------------------------- */

static int apply_object(const field *fields, void *base, const cJSON *obj, const char *prefix,
                        ami_config *c, char *err, size_t errlen);

static int apply_points(ami_config *c, const cJSON *v, const char *path, char *err, size_t errlen) {
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
        snprintf(err, errlen, "config: %s must be a non-empty list of [total tokens, grams] pairs",
                 path);
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    double(*pts)[2] = calloc(n, sizeof *pts);
    if (!pts) {
        snprintf(err, errlen, "config: out of memory");
        return -1;
    }
    size_t i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, v) {
        const cJSON *t = cJSON_GetArrayItem(p, 0), *g = cJSON_GetArrayItem(p, 1);
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 || !cJSON_IsNumber(t) ||
            !cJSON_IsNumber(g) || t->valuedouble <= 0 || g->valuedouble < 0 ||
            (i > 0 && t->valuedouble <= pts[i - 1][0])) {
            snprintf(err, errlen,
                     "config: %s[%zu] must be a pair [total tokens, grams] with tokens > 0 and "
                     "greater than the previous pair's",
                     path, i + 1);
            free(pts);
            return -1;
        }
        pts[i][0] = t->valuedouble;
        pts[i][1] = g->valuedouble;
        i++;
    }
    free(c->carbon_points);
    c->carbon_points = pts;
    c->n_carbon_points = n;
    return 0;
}

static config_provider *provider_slot(ami_config *c, const char *name) {
    for (size_t i = 0; i < c->n_providers; i++)
        if (strcmp(c->providers[i].name, name) == 0)
            return &c->providers[i];
    config_provider *p = realloc(c->providers, (c->n_providers + 1) * sizeof *p);
    if (!p)
        return NULL;
    c->providers = p;
    p = &c->providers[c->n_providers];
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    if (!p->name)
        return NULL;
    c->n_providers++;
    return p;
}

static config_price *price_slot(ami_config *c, const char *model) {
    for (size_t i = 0; i < c->n_prices; i++)
        if (strcmp(c->prices[i].model, model) == 0)
            return &c->prices[i];
    config_price *p = realloc(c->prices, (c->n_prices + 1) * sizeof *p);
    if (!p)
        return NULL;
    c->prices = p;
    p = &c->prices[c->n_prices];
    memset(p, 0, sizeof *p);
    p->prompt = p->completion = -1;
    p->model = strdup(model);
    if (!p->model)
        return NULL;
    c->n_prices++;
    return p;
}

static int apply_map(const field *f, const cJSON *v, const char *path, ami_config *c, char *err,
                     size_t errlen) {
    if (!is_object_like(v)) {
        snprintf(err, errlen, "config: %s must be %s, not %s", path, f->help, type_name(v));
        return -1;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, v) {
        char sub[256];
        join_path(sub, sizeof sub, path, entry->string ? entry->string : "?");
        if (!entry->string || !*entry->string) {
            snprintf(err, errlen, "config: %s has an entry without a name", path);
            return -1;
        }
        if (!is_object_like(entry)) {
            snprintf(err, errlen, "config: %s must be an object, not %s", sub, type_name(entry));
            return -1;
        }
        void *slot = f->type == F_PROVIDERS ? (void *)provider_slot(c, entry->string)
                                            : (void *)price_slot(c, entry->string);
        if (!slot) {
            snprintf(err, errlen, "config: out of memory");
            return -1;
        }
        if (apply_object(f->sub, slot, entry, sub, c, err, errlen) != 0)
            return -1;
        if (f->type == F_PRICES) {
            config_price *pr = slot;
            if (pr->prompt < 0 || pr->completion < 0) {
                snprintf(err, errlen, "config: %s needs both prompt and completion prices", sub);
                return -1;
            }
        }
    }
    return 0;
}

static int set_question(ami_config *c, const char *name, const char *text) {
    for (size_t i = 0; i < c->n_questions; i++)
        if (strcmp(c->questions[i].name, name) == 0) {
            char *t = strdup(text);
            if (!t)
                return -1;
            free(c->questions[i].text);
            c->questions[i].text = t;
            return 0;
        }
    config_question *q = realloc(c->questions, (c->n_questions + 1) * sizeof *q);
    if (!q)
        return -1;
    c->questions = q;
    q[c->n_questions].name = strdup(name);
    q[c->n_questions].text = strdup(text);
    if (!q[c->n_questions].name || !q[c->n_questions].text) {
        free(q[c->n_questions].name);
        free(q[c->n_questions].text);
        return -1;
    }
    c->n_questions++;
    return 0;
}

static int apply_questions(const cJSON *v, const char *path, ami_config *c, char *err,
                           size_t errlen) {
    if (!is_object_like(v)) {
        snprintf(err, errlen,
                 "config: %s must be an object of preset names and their questions, "
                 "not %s",
                 path, type_name(v));
        return -1;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        char sub[256];
        join_path(sub, sizeof sub, path, e->string ? e->string : "?");
        if (!e->string || !*e->string || strchr(e->string, ' ')) {
            snprintf(err, errlen, "config: %s: a preset's name is one word", sub);
            return -1;
        }
        if (!cJSON_IsString(e) || !*e->valuestring) {
            snprintf(err, errlen, "config: %s must be a question (a string), not %s", sub,
                     type_name(e));
            return -1;
        }
        if (set_question(c, e->string, e->valuestring) != 0) {
            snprintf(err, errlen, "config: out of memory");
            return -1;
        }
    }
    return 0;
}

static int apply_strlist(const cJSON *v, char *slot, const char *path, char *err, size_t errlen) {
    if (!cJSON_IsArray(v)) {
        snprintf(err, errlen, "config: %s must be a list of strings, not %s", path, type_name(v));
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
    char **list = calloc(n + 1, sizeof *list);
    if (!list) {
        snprintf(err, errlen, "config: out of memory");
        return -1;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsString(e) || !*e->valuestring || !(list[i] = strdup(e->valuestring))) {
            snprintf(err, errlen, "config: %s[%zu] must be a non-empty string, not %s", path, i + 1,
                     cJSON_IsString(e) ? "an empty string" : type_name(e));
            for (size_t k = 0; k < i; k++)
                free(list[k]);
            free(list);
            return -1;
        }
        i++;
    }
    /* The slot is a char ** followed by its count (see ami_config.compare_models). */
    char ***lp = (char ***)(void *)slot;
    size_t *np = (size_t *)(void *)(slot + sizeof(char **));
    for (size_t k = 0; *lp && k < *np; k++)
        free((*lp)[k]);
    free(*lp);
    *lp = list;
    *np = n;
    return 0;
}

static int valid_keys(const cJSON *v) {
    if (cJSON_IsFalse(v) || (cJSON_IsString(v) && *v->valuestring))
        return 1;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, v) {
        if (!cJSON_IsString(k) || !*k->valuestring)
            return 0;
    }
    return 1;
}

/* Stores a value at a field's offset (memcpy: the offset's type is the field's own). */
static void store(char *slot, const void *value, size_t size) {
    if (slot)
        memcpy(slot, value, size);
}

static int apply_field(const field *f, void *base, const cJSON *v, const char *path, ami_config *c,
                       char *err, size_t errlen) {
    char *slot = f->off == NO_STORE ? NULL : (char *)base + f->off;
    switch (f->type) {
    case F_STR:
    case F_STR_NULL:
        if (cJSON_IsNull(v) && f->type == F_STR_NULL) {
            if (slot)
                set_str((char **)slot, NULL);
            return 0;
        }
        if (!cJSON_IsString(v) || (f->type == F_STR && !*v->valuestring))
            break;
        if (slot)
            set_str((char **)slot, v->valuestring);
        return 0;
    case F_ENUM:
        if (!cJSON_IsString(v))
            break;
        for (const char *const *ch = f->choices; *ch; ch++)
            if (strcmp(*ch, v->valuestring) == 0) {
                if (slot)
                    set_str((char **)slot, v->valuestring);
                return 0;
            }
        snprintf(err, errlen, "config: %s must be %s, not \"%s\"", path, f->help, v->valuestring);
        return -1;
    case F_INT:
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
            break;
        if (v->valuedouble < f->min || v->valuedouble > f->max) {
            snprintf(err, errlen, "config: %s must be between %g and %g, not %g", path, f->min,
                     f->max, v->valuedouble);
            return -1;
        }
        {
            long l = (long)v->valuedouble;
            store(slot, &l, sizeof l);
        }
        return 0;
    case F_NUM:
    case F_NUM_NULL:
        if (cJSON_IsNull(v) && f->type == F_NUM_NULL) {
            double none = -1;
            store(slot, &none, sizeof none);
            return 0;
        }
        if (!cJSON_IsNumber(v))
            break;
        if (!(v->valuedouble >= f->min && v->valuedouble <= f->max)) {
            snprintf(err, errlen, "config: %s must be between %g and %g, not %g", path, f->min,
                     f->max, v->valuedouble);
            return -1;
        }
        store(slot, &v->valuedouble, sizeof v->valuedouble);
        return 0;
    case F_BOOL:
        if (!cJSON_IsBool(v))
            break;
        {
            int b = cJSON_IsTrue(v);
            store(slot, &b, sizeof b);
        }
        return 0;
    case F_OBJ:
        if (!is_object_like(v))
            break;
        return apply_object(f->sub, base, v, path, c, err, errlen);
    case F_POINTS:
        return apply_points(c, v, path, err, errlen);
    case F_PROVIDERS:
    case F_PRICES:
        return apply_map(f, v, path, c, err, errlen);
    case F_QUESTIONS:
        return apply_questions(v, path, c, err, errlen);
    case F_STRLIST:
        return apply_strlist(v, slot, path, err, errlen);
    case F_KEYS:
        if (valid_keys(v))
            return 0;
        break;
    }
    snprintf(err, errlen, "config: %s must be %s, not %s", path, f->help, type_name(v));
    return -1;
}

static int apply_object(const field *fields, void *base, const cJSON *obj, const char *prefix,
                        ami_config *c, char *err, size_t errlen) {
    const cJSON *v;
    cJSON_ArrayForEach(v, obj) {
        char path[256];
        join_path(path, sizeof path, prefix, v->string ? v->string : "?");
        const field *f = NULL;
        for (const field *g = fields; g->name; g++)
            if (v->string && strcmp(g->name, v->string) == 0)
                f = g;
        if (!f) {
            const field *best = NULL;
            size_t best_d = 3;
            for (const field *g = fields; g->name && v->string; g++) {
                size_t d = edit_distance(g->name, v->string);
                if (d < best_d) {
                    best_d = d;
                    best = g;
                }
            }
            if (best) {
                char want[256];
                join_path(want, sizeof want, prefix, best->name);
                snprintf(err, errlen, "config: unknown field %s (did you mean %s?)", path, want);
            } else {
                snprintf(err, errlen, "config: unknown field %s", path);
            }
            return -1;
        }
        if (apply_field(f, base, v, path, c, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* ---- public --------------------------------------------------------------------------- */

int config_init(ami_config *c) {
    memset(c, 0, sizeof *c);
    c->provider = strdup("openrouter");
    c->model = strdup("anthropic/claude-sonnet-4");
    c->language = strdup("auto");
    c->usage_locale = strdup("en");
    c->max_tokens = 2048;
    c->temperature = -1;
    c->frame_ms = 16;
    c->connect_timeout_s = 10;
    c->stall_timeout_s = 60;
    c->max_answer_bytes = 4 * 1024 * 1024;
    c->budget_monthly_usd = -1;
    c->budget_per_request_usd = -1;
    c->ledger_enabled = 1;
    c->ledger_store_text = 1;
    c->carbon_enabled = 1;
    c->notes_enabled = 1;
    c->compare_blind = 1;
    c->privacy_data_collection = strdup("deny");
    c->secrets_mask = 1;
    c->compare_min_votes = 5;
    static const char *const default_compare[] = {"anthropic/claude-sonnet-4",
                                                  "google/gemini-2.5-flash"};
    c->compare_models = calloc(3, sizeof *c->compare_models);
    for (size_t i = 0; c->compare_models && i < 2; i++)
        if ((c->compare_models[i] = strdup(default_compare[i])) != NULL)
            c->n_compare_models = i + 1;
    size_t n = sizeof default_carbon / sizeof default_carbon[0];
    c->carbon_points = malloc(sizeof default_carbon);
    if (c->carbon_points) {
        memcpy(c->carbon_points, default_carbon, sizeof default_carbon);
        c->n_carbon_points = n;
    }
    int ok = c->provider && c->model && c->language && c->usage_locale && c->carbon_points &&
             c->privacy_data_collection && c->n_compare_models == 2;
    for (size_t i = 0; ok && i < N_DEFAULT_QUESTIONS; i++)
        ok = set_question(c, default_questions[i][0], default_questions[i][1]) == 0;
    if (!ok) {
        config_free(c);
        return -1;
    }
    return 0;
}

int config_deny_data_collection(const ami_config *c) {
    return !c->privacy_data_collection || strcmp(c->privacy_data_collection, "allow") != 0;
}

const char *config_question_text(const ami_config *c, const char *name) {
    for (size_t i = 0; name && i < c->n_questions; i++)
        if (strcmp(c->questions[i].name, name) == 0)
            return c->questions[i].text;
    return NULL;
}

void config_free(ami_config *c) {
    free(c->provider);
    free(c->model);
    free(c->language);
    for (size_t i = 0; i < c->n_providers; i++) {
        config_provider *p = &c->providers[i];
        free(p->name);
        free(p->kind);
        free(p->base_url);
        free(p->api_key_env);
        free(p->api_key_cmd);
        free(p->management_key_cmd);
        if (p->api_key) {
            volatile char *k = p->api_key;
            while (*k)
                *k++ = 0;
        }
        free(p->api_key);
        free(p->app_url);
        free(p->app_title);
    }
    free(c->providers);
    for (size_t i = 0; i < c->n_prices; i++)
        free(c->prices[i].model);
    free(c->prices);
    for (size_t i = 0; i < c->n_questions; i++) {
        free(c->questions[i].name);
        free(c->questions[i].text);
    }
    free(c->questions);
    for (size_t i = 0; c->compare_models && i < c->n_compare_models; i++)
        free(c->compare_models[i]);
    free(c->compare_models);
    free(c->privacy_data_collection);
    for (size_t i = 0; c->secrets_allow && i < c->n_secrets_allow; i++)
        free(c->secrets_allow[i]);
    free(c->secrets_allow);
    free(c->ledger_path);
    free(c->usage_locale);
    free(c->carbon_points);
    free(c->file);
    memset(c, 0, sizeof *c);
}

int config_apply_json(ami_config *c, const cJSON *root, char *err, size_t errlen) {
    if (!is_object_like(root)) {
        snprintf(err, errlen, "config: the settings must be a JSON object, not %s",
                 type_name(root));
        return -1;
    }
    return apply_object(top_fields, c, root, "", c, err, errlen);
}

char *config_default_path(void) {
    const char *env = getenv("AMI_CONFIG");
    if (env && *env)
        return strdup(env);
    buf b = {0};
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && *xdg)
        buf_printf(&b, "%s/ami/config.json", xdg);
    else
        buf_printf(&b, "%s/.config/ami/config.json", getenv("HOME") ? getenv("HOME") : ".");
    return buf_steal(&b);
}

char *config_expand_home(const char *path) {
    if (path[0] == '~' && path[1] == '/') {
        buf b = {0};
        buf_printf(&b, "%s%s", getenv("HOME") ? getenv("HOME") : "", path + 1);
        return buf_steal(&b);
    }
    return strdup(path);
}

int config_load_file(ami_config *c, const char *path, int optional, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (optional && errno == ENOENT)
            return 1;
        snprintf(err, errlen, "config: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int too_open = fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0;
    buf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len > 16 * 1024 * 1024 || buf_append(&b, chunk, n) != 0) {
            fclose(f);
            buf_free(&b);
            snprintf(err, errlen, "config: %s is too large", path);
            return -1;
        }
    }
    fclose(f);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(b.data ? b.data : "", b.len, &end, 0);
    if (!root) {
        size_t off = end && b.data ? (size_t)(end - b.data) : 0;
        size_t line = 1;
        for (size_t i = 0; i < off && i < b.len; i++)
            line += b.data[i] == '\n';
        snprintf(err, errlen, "config: %s is not valid JSON (near line %zu)", path, line);
        buf_free(&b);
        return -1;
    }
    buf_free(&b);
    int rc = config_apply_json(c, root, err, errlen);
    cJSON_Delete(root);
    if (rc != 0) {
        /* Say which file, keeping the sentence: "config: <path>: <what>". */
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err + (strncmp(err, "config: ", 8) == 0 ? 8 : 0));
        if (snprintf(err, errlen, "config: %s: %s", path, tmp) >= (int)errlen)
            err[errlen - 1] = '\0';
        return -1;
    }
    set_str(&c->file, path);
    for (size_t i = 0; i < c->n_providers; i++)
        if (c->providers[i].api_key)
            c->file_has_key = 1;
    c->file_too_open = too_open;
    return 0;
}

char *config_defaults_json(void) {
    ami_config c;
    if (config_init(&c) != 0)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "provider", c.provider);
    cJSON_AddStringToObject(o, "model", c.model);
    cJSON_AddNumberToObject(o, "max_tokens", (double)c.max_tokens);
    cJSON_AddNullToObject(o, "temperature");
    cJSON_AddStringToObject(o, "language", c.language);
    cJSON_AddNumberToObject(o, "frame_ms", (double)c.frame_ms);
    cJSON_AddNumberToObject(o, "connect_timeout_s", c.connect_timeout_s);
    cJSON_AddNumberToObject(o, "stall_timeout_s", c.stall_timeout_s);
    cJSON_AddNumberToObject(o, "max_answer_bytes", (double)c.max_answer_bytes);
    cJSON_AddNumberToObject(o, "context_tokens", (double)c.context_tokens);
    cJSON_AddObjectToObject(o, "providers");
    cJSON_AddObjectToObject(o, "prices");
    cJSON *b = cJSON_AddObjectToObject(o, "budget");
    cJSON_AddNullToObject(b, "monthly_usd");
    cJSON_AddNullToObject(b, "per_request_usd");
    cJSON *u = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddStringToObject(u, "locale", c.usage_locale);
    cJSON *l = cJSON_AddObjectToObject(o, "ledger");
    cJSON_AddBoolToObject(l, "enabled", c.ledger_enabled);
    cJSON_AddNullToObject(l, "path");
    cJSON_AddBoolToObject(l, "store_text", c.ledger_store_text);
    cJSON *cb = cJSON_AddObjectToObject(o, "carbon");
    cJSON_AddBoolToObject(cb, "enabled", c.carbon_enabled);
    cJSON *pts = cJSON_AddArrayToObject(cb, "points");
    for (size_t i = 0; i < c.n_carbon_points; i++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(c.carbon_points[i][0]));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(c.carbon_points[i][1]));
        cJSON_AddItemToArray(pts, pair);
    }
    cJSON *s = cJSON_AddObjectToObject(o, "sidebar");
    cJSON_AddStringToObject(s, "position", "right");
    cJSON_AddNumberToObject(s, "width", 0.4);
    cJSON_AddNumberToObject(s, "height", 0.35);
    cJSON_AddBoolToObject(s, "wrap", 1);
    cJSON_AddStringToObject(s, "highlight", "ami");
    cJSON *q = cJSON_AddObjectToObject(o, "quote");
    cJSON_AddStringToObject(q, "format", "markdown");
    cJSON *sc = cJSON_AddObjectToObject(o, "secrets");
    cJSON_AddBoolToObject(sc, "mask", c.secrets_mask);
    cJSON_AddArrayToObject(sc, "allow");
    cJSON *pv = cJSON_AddObjectToObject(o, "privacy");
    cJSON_AddStringToObject(pv, "data_collection", "deny");
    cJSON_AddBoolToObject(pv, "zdr", 0);
    cJSON *cmp = cJSON_AddObjectToObject(o, "compare");
    cJSON *cm = cJSON_AddArrayToObject(cmp, "models");
    for (size_t i = 0; i < c.n_compare_models; i++)
        cJSON_AddItemToArray(cm, cJSON_CreateString(c.compare_models[i]));
    cJSON_AddBoolToObject(cmp, "blind", c.compare_blind);
    cJSON_AddNumberToObject(cmp, "min_votes", (double)c.compare_min_votes);
    cJSON *qs = cJSON_AddObjectToObject(o, "questions");
    for (size_t i = 0; i < c.n_questions; i++)
        cJSON_AddStringToObject(qs, c.questions[i].name, c.questions[i].text);
    cJSON *ks = cJSON_AddObjectToObject(o, "keys");
    /* The defaults of lua/ami/config.lua's keys (each a list of keys). */
    static const char *const key_defaults[][4] = {{"open", "i", "a", "<CR>"},
                                                  {"send", "<CR>", NULL, NULL},
                                                  {"send_insert", "<C-s>", NULL, NULL},
                                                  {"close", "q", NULL, NULL},
                                                  {"close_insert", "<Esc><Esc>", NULL, NULL},
                                                  {"history_prev", "<Up>", "<C-p>", NULL},
                                                  {"history_next", "<Down>", "<C-n>", NULL},
                                                  {"stop", "<C-c>", NULL, NULL},
                                                  {"vote_a", "a", NULL, NULL},
                                                  {"vote_b", "b", NULL, NULL},
                                                  {"vote_tie", "t", NULL, NULL},
                                                  {"vote_bad", "x", NULL, NULL}};
    for (size_t i = 0; i < sizeof key_defaults / sizeof key_defaults[0]; i++) {
        cJSON *list = cJSON_AddArrayToObject(ks, key_defaults[i][0]);
        for (int k = 1; k < 4; k++)
            if (key_defaults[i][k])
                cJSON_AddItemToArray(list, cJSON_CreateString(key_defaults[i][k]));
    }
    cJSON *nt = cJSON_AddObjectToObject(o, "notes");
    cJSON_AddBoolToObject(nt, "enabled", c.notes_enabled);
    cJSON_AddStringToObject(nt, "severity", "hint");
    cJSON_AddBoolToObject(nt, "virtual_text", 0);
    cJSON_AddBoolToObject(nt, "signs", 1);
    cJSON_AddBoolToObject(nt, "highlight", 1);
    char *out = cJSON_Print(o);
    cJSON_Delete(o);
    config_free(&c);
    return out;
}

const config_provider *config_find_provider(const ami_config *c, const char *name) {
    for (size_t i = 0; i < c->n_providers; i++)
        if (strcmp(c->providers[i].name, name) == 0)
            return &c->providers[i];
    return NULL;
}

int config_find_price(const ami_config *c, const char *model, double *prompt, double *completion) {
    for (size_t i = 0; i < c->n_prices; i++)
        if (strcmp(c->prices[i].model, model) == 0) {
            *prompt = c->prices[i].prompt;
            *completion = c->prices[i].completion;
            return 0;
        }
    return -1;
}

char *config_ledger_path(const ami_config *c) {
    if (c->ledger_path)
        return config_expand_home(c->ledger_path);
    buf b = {0};
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && *xdg)
        buf_printf(&b, "%s/ami/ledger.sqlite3", xdg);
    else
        buf_printf(&b, "%s/.local/state/ami/ledger.sqlite3", getenv("HOME") ? getenv("HOME") : ".");
    return buf_steal(&b);
}
