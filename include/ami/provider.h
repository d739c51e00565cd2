/* provider: what each provider's wire format means.
 *
 * Two dialects cover every provider ami speaks to: the OpenAI-compatible chat completions
 * API (OpenRouter, OpenAI, Mistral, Scaleway, Ollama, llama.cpp, vLLM, …) and Anthropic's
 * Messages API.  This module turns a request into a JSON body, a URL and headers, and turns
 * already-parsed server-sent events (ami/sse.h) into one small vocabulary of events: text,
 * model, usage, finish, error, end.  It also reads the providers' error bodies, model lists
 * and OpenRouter's key information.
 *
 * It knows no transport and no editor: no HTTP, no SSE framing, no RPC.  Everything here is
 * synchronous and does no I/O, so the CLI, the host and the tests use it alike.
 *
 * Each function below says which shapes and corners of the wire formats it handles (as the
 * providers document them: OpenRouter's docs, openai-python, Anthropic's streaming docs,
 * Ollama, llama.cpp and vLLM sources).
 */
#ifndef AMI_PROVIDER_H
#define AMI_PROVIDER_H

#include <stddef.h>

/* ---- types ---------------------------------------------------------------------------- */

typedef enum { PROVIDER_OPENAI = 0, PROVIDER_ANTHROPIC = 1 } provider_dialect;

/* A built-in provider.  The registry's entries are static and never freed; a caller that
 * needs a variant (a configured base URL, another dialect) copies one and changes fields. */
typedef struct provider_def {
    const char *name; /* "openrouter" (the default), "openai", "mistral", "scaleway",
                         "ollama", "openai-compatible", "anthropic" */
    provider_dialect dialect;
    const char *base_url;    /* default base URL, without trailing slash; NULL for
                                "openai-compatible" (it must be configured) */
    const char *api_key_env; /* the variable that holds the key by default, or NULL */
    int key_required;        /* 0: a request may go without a key (ollama, openai-compatible) */
    int include_usage;       /* send stream_options.include_usage: openai, scaleway, ollama,
                                openai-compatible.  Not openrouter (deprecated there, usage
                                always comes) nor mistral (usage comes by default, and it
                                rejects unknown fields) */
    int attribution;         /* send OpenRouter's attribution headers (openrouter only) */
    const char *max_tokens_field; /* the body field for the output cap; NULL means
                                     "max_tokens".  OpenAI: "max_completion_tokens", since
                                     its reasoning models reject "max_tokens" */
} provider_def;

/* content_len value that means "content is NUL-terminated: use strlen". */
#define PROVIDER_STRLEN ((size_t)-1)

typedef struct chat_message {
    const char *role;    /* "user" | "assistant" (NULL: "user") */
    const char *content; /* content_len bytes, may hold NUL bytes and invalid UTF-8; NULL: "" */
    size_t content_len;  /* or PROVIDER_STRLEN */
} chat_message;

typedef struct provider_request {
    const char *model;  /* required */
    const char *system; /* system prompt, or NULL / "" for none */
    const chat_message *messages;
    size_t n_messages;
    long max_tokens;    /* <= 0: not sent (OpenAI dialect); Anthropic requires it: 4096 then */
    double temperature; /* < 0 (or not finite): not sent */
    /* OpenRouter's provider routing (def->attribution, i.e. openrouter): what providers may
     * keep of the request.  deny_data_collection: "provider":{"data_collection":"deny"}, only
     * providers that neither store nor train on prompts; zdr: "provider":{"zdr":true}, only
     * zero-data-retention endpoints.  Ignored by other providers. */
    int deny_data_collection;
    int zdr;
} provider_request;

/* Default output cap for Anthropic, which requires one. */
#define PROVIDER_ANTHROPIC_MAX_TOKENS 4096L
/* The anthropic-version header value ami speaks. */
#define PROVIDER_ANTHROPIC_VERSION "2023-06-01"
/* X-OpenRouter-Title / X-Title when no app_title is configured. */
#define PROVIDER_APP_TITLE "ami"

/* ---- the registry, URLs, headers, bodies ----------------------------------------------- */

/// The built-in provider called name (exact, case-sensitive match), or NULL when there is
/// none (or name is NULL).  The result is static: never free it.
const provider_def *provider_find(const char *name);

/// Every built-in provider, in a fixed order (openrouter first).  *count (may be NULL)
/// receives their number.  The array is static: never free it.
const provider_def *provider_list(size_t *count);

/// Joins a base URL and a path with exactly one slash: ("https://x/v1/", "/models") →
/// "https://x/v1/models".  Returns a malloc'd string the caller frees, or NULL when base_url
/// or path is NULL, base_url is empty, or out of memory.
char *provider_url(const char *base_url, const char *path);

/// The streaming endpoint: "<base>/chat/completions" (OpenAI dialect) or "<base>/messages"
/// (Anthropic).  base_url overrides def->base_url when not NULL.  Returns a malloc'd string
/// the caller frees, or NULL when there is no base URL (openai-compatible without one) or
/// out of memory.
char *provider_endpoint(const provider_def *def, const char *base_url);

/// The JSON body of a streaming request ("stream": true) in def's dialect: OpenAI puts the
/// system prompt first in "messages" and adds stream_options.include_usage when
/// def->include_usage; Anthropic puts it in a top-level "system" and always sends
/// max_tokens.  Any content is escaped correctly: quotes, control characters, NUL bytes
/// (\u0000) and invalid UTF-8 (each maximal invalid sequence becomes U+FFFD), so the body is
/// always valid JSON.  Linear time, no per-character allocation: a 10 MB document takes
/// milliseconds.  Returns the NUL-terminated body (malloc'd, the caller frees) and its length
/// in *len (len may be NULL), or NULL when out of memory or def, req or req->model is NULL.
char *provider_build_body(const provider_def *def, const provider_request *req, size_t *len);

/// The headers of a streaming request: a NULL-terminated array of malloc'd "Name: value"
/// strings, in this order: "Content-Type: application/json", "Accept: text/event-stream";
/// then, with a key, "Authorization: Bearer KEY" (OpenAI dialect) or "x-api-key: KEY"
/// (Anthropic); "anthropic-version: 2023-06-01" (Anthropic, always); and when
/// def->attribution, "HTTP-Referer: app_url" (only when app_url is given: ami publishes no
/// URL of its own), "X-OpenRouter-Title: T" and "X-Title: T" with T = app_title or "ami".
/// key NULL or "" sends no auth header.  Returns NULL when out of memory, when def is NULL,
/// or when key, app_url or app_title holds a control byte (CR or LF would inject headers;
/// nothing is logged about the value).  Free with provider_headers_free().
char **provider_headers(const provider_def *def, const char *key, const char *app_url,
                        const char *app_title);

/// The headers of a plain GET (models, key information): only the auth headers (and
/// anthropic-version).  Same ownership and failure rules as provider_headers(); the array may
/// hold no header at all (just the NULL).
char **provider_auth_headers(const provider_def *def, const char *key);

/// Wipes every header string (they may hold the key) and frees them and the array.  NULL is
/// allowed.
void provider_headers_free(char **headers);

/* ---- decoding a stream ----------------------------------------------------------------- */

typedef enum {
    PEV_TEXT,   /* answer text (never reasoning / thinking / refusal / tool calls) */
    PEV_MODEL,  /* the model id the provider answered with: once, again only if it changes */
    PEV_USAGE,  /* token counts (and cost) reported so far */
    PEV_FINISH, /* why generation stopped: "stop", "length", "end_turn", "max_tokens",
                   "content_filter", "tool_calls", "error", … as the provider says it */
    PEV_ERROR,  /* the provider reported an error inside the stream */
    PEV_END     /* the stream ended properly: [DONE] (OpenAI) or message_stop (Anthropic) */
} provider_event_type;

typedef struct provider_usage {
    long prompt_tokens;     /* -1 = not in this event.  Anthropic: input + cache writes +
                               cache reads */
    long completion_tokens; /* -1 = not in this event.  Anthropic: cumulative output */
    double cost;            /* USD, as OpenRouter charged it (usage.cost) */
    int has_cost;           /* 0 when cost is absent, null or not a finite number */
    long cached_tokens;     /* prompt tokens read from cache, -1 = not reported */
    long reasoning_tokens;  /* completion tokens spent reasoning, -1 = not reported */
} provider_usage;

/* One decoded event.  Every pointer is borrowed and valid only during the callback. */
typedef struct provider_event {
    provider_event_type type;
    const char *text; /* TEXT, MODEL, FINISH: the bytes (len > 0; not NUL-terminated) */
    size_t len;
    provider_usage usage;   /* USAGE: a snapshot of the values this event reports, the others
                               -1 (the consumer merges them).  All -1 in other events */
    const char *error_kind; /* ERROR: the provider's error type or code as a string
                               ("rate_limit_exceeded", "overloaded_error", "429",
                               "server_error", …), or NULL when it gave none */
    const char *message;    /* ERROR: the provider's own message, one line, valid UTF-8,
                               registered secrets masked; never NULL (maybe "") */
    long code;              /* ERROR: the numeric code when there is one, else 0 */
} provider_event;

typedef struct provider_decoder provider_decoder;

/// Receives each event.  It may read the decoder (provider_decoder_ended(), …) but must not
/// feed or free it.
typedef void (*provider_event_fn)(void *ud, const provider_event *ev);

/// A decoder for one stream in the given dialect, calling fn (must not be NULL) with ud for
/// each event.  Returns NULL when out of memory or fn is NULL.  The caller owns the decoder
/// and frees it with provider_decoder_free().
provider_decoder *provider_decoder_new(provider_dialect dialect, provider_event_fn fn, void *ud);

/// Decodes one SSE event.  type is the event type ("message" when the stream gave none;
/// NULL or empty means "message"); data must be NUL-terminated (data[len] == 0) and may
/// hold NUL bytes.  Calls fn for each resulting event, in this order: MODEL, TEXT, ERROR,
/// FINISH, USAGE, END.  Data that is not JSON, or JSON that says nothing the dialect knows,
/// counts in provider_decoder_ignored().  Once the stream has ended (END), later events are
/// ignored (and counted).
///
/// OpenAI dialect: `[DONE]` → END; `event: error`, a truthy top-level "error" or
/// "object":"error" → ERROR; "model" → MODEL; choices[0].delta.content, a string or an
/// array of parts (the "text" parts) → TEXT; choices[0].finish_reason → FINISH; a non-null
/// "usage" object → USAGE (with or without choices).  Anthropic: message_start → MODEL +
/// USAGE; text deltas → TEXT; message_delta → FINISH + USAGE; message_stop → END;
/// `event: error` or "type":"error" → ERROR; ping and unknown events ignored.
///
/// Common chunks are read by a hand-written scanner that allocates nothing; anything
/// unusual goes through cJSON.  Both paths give the same events for every input (see
/// provider_decoder_set_fast()).  Input of any size or nesting depth is safe.
void provider_decoder_event(provider_decoder *d, const char *type, size_t type_len,
                            const char *data, size_t len);

/// A non-standard SSE field.  Only "error" means something: llama.cpp's older servers send
/// `error: {...}` lines; the value becomes an ERROR.  value must be NUL-terminated at len.
void provider_decoder_field(provider_decoder *d, const char *name, size_t name_len,
                            const char *value, size_t len);

/// The byte stream ended.  pending is the data the SSE parser was still holding (not
/// followed by a blank line; NULL when none): it is decoded like an event, so that
/// llama.cpp's final `data: [DONE]` without a blank line still ends the stream properly
/// (a last line "[DONE]" after other data lines also counts).  Nothing else is emitted:
/// whether the stream ended properly is provider_decoder_ended().
void provider_decoder_eof(provider_decoder *d, const char *pending, size_t len);

/// 1 once the stream ended properly ([DONE] or message_stop), else 0.
int provider_decoder_ended(const provider_decoder *d);

/// The number of data events that were not JSON, not understood, or came after the end.
size_t provider_decoder_ignored(const provider_decoder *d);

/// The number of events that were read with cJSON rather than the fast scanner (errors,
/// usage, unusual chunks).  For diagnostics and tests.
size_t provider_decoder_slow(const provider_decoder *d);

/// For tests and fuzzing: enabled = 0 sends every event through cJSON instead of the fast
/// scanner (the default is 1).  The events must not change.
void provider_decoder_set_fast(provider_decoder *d, int enabled);

/// Frees the decoder.  NULL is allowed.
void provider_decoder_free(provider_decoder *d);

/* ---- errors before streaming, model lists, key information ----------------------------- */

/// Extracts the provider's own words from an error body (HTTP status >= 400): OpenRouter /
/// OpenAI {"error":{"code","message","type","metadata"}} (pretty-printed or not; for a 403
/// moderation error the reasons and a short flagged input are added; for an upstream error
/// the upstream provider's message), Anthropic {"type":"error","error":{"type","message"}},
/// Mistral's flat {"object":"error","message","type","code"} (a 422 message object becomes
/// "loc: msg" of its first detail), vLLM, Ollama ({"error":"…"}), FastAPI {"detail":…}; an
/// HTML page → the text of its <title> (or first heading); plain text → its first non-empty
/// line.  Messages are one line of valid UTF-8 with registered secrets masked, at most 1000
/// bytes from JSON and 300 otherwise, cut on a character boundary.  content_type may be
/// NULL (the body is sniffed).  *kind receives the error type / code as a string, or NULL;
/// *message the message, or NULL when the body is empty.  Both are malloc'd; the caller
/// frees them.  Returns 0, or -1 when out of memory (both NULL).
int provider_parse_error(const char *body, size_t len, const char *content_type, char **kind,
                         char **message);

typedef struct provider_model {
    char *id;                       /* never NULL */
    char *name;                     /* display name, or NULL */
    long context_length;            /* tokens, -1 unknown */
    double prompt_usd_per_mtok;     /* USD per million tokens, < 0 unknown */
    double completion_usd_per_mtok; /* USD per million tokens, < 0 unknown */
} provider_model;

/// Parses a GET <base>/models body: the {"data":[…]} lists of OpenRouter (prices in USD per
/// token, as strings: converted to per million), OpenAI, Mistral (max_context_length),
/// vLLM (max_model_len), Anthropic (display_name), Ollama's OpenAI list and its native
/// {"models":[…]}.  Entries without an id are skipped.  On success *out is a malloc'd array
/// of *count models (NULL when there are none) that the caller frees with
/// provider_models_free().  Returns 0; -1 when out of memory; -2 when the body is not such
/// a list.  On failure *out = NULL and *count = 0.
int provider_parse_models(const char *body, size_t len, provider_model **out, size_t *count);

/// Frees an array from provider_parse_models().  NULL is allowed.
void provider_models_free(provider_model *m, size_t count);

typedef struct provider_key_info {
    char *label;                                         /* malloc'd, or NULL */
    double limit, limit_remaining, usage, usage_monthly; /* USD; NAN when null or absent */
    int is_free_tier;
} provider_key_info;

/// Parses OpenRouter's GET <base>/key body {"data":{"label","limit","limit_remaining",
/// "usage","usage_monthly","is_free_tier",…}}.  Returns 0; -1 when out of memory; -2 when the
/// body is not that shape.  *out is always initialised (NANs, NULL label on failure) and
/// must be released with provider_key_info_free().
int provider_parse_key_info(const char *body, size_t len, provider_key_info *out);

/// Frees the label and resets *k.  NULL is allowed.
void provider_key_info_free(provider_key_info *k);

#endif
