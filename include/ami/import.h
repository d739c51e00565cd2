/* import: readers for the writer's LLM usage exports, so that the ledger can show what was
 * done elsewhere beside ami's own requests (`ami usage import openwebui|chatgpt|claude FILE`,
 * `ami usage import openrouter`).
 *
 * Bytes of an export in, records out: a reader is fed the file in any pieces (it streams, on
 * top of ami/jsonsax.h, so a 200 MB export costs a few MB) and calls back once per
 * conversation (or per OpenRouter activity row).  No I/O, no SQLite, no clock: the caller
 * reads the file, stores the records and owns the transaction.
 *
 * Formats (the documented shapes; unknown keys are ignored, skipped without being copied):
 *   IMPORT_CHATGPT     conversations.json of a ChatGPT data export: an array of
 *                      {id | conversation_id, title, create_time, update_time (Unix seconds,
 *                      floats or null), default_model_slug, mapping: {node id: {id, parent,
 *                      children, message: null | {id, author: {role}, create_time,
 *                      content: {content_type, parts}, metadata: {model_slug,
 *                      default_model_slug, is_visually_hidden_from_conversation}}}}}.
 *   IMPORT_CLAUDE      conversations.json of a Claude data export: an array of {uuid, name,
 *                      created_at, updated_at (ISO-8601), chat_messages: [{uuid, sender:
 *                      "human" | "assistant", created_at, text, content}]}.  No model is
 *                      recorded: every model is unknown (NULL).
 *   IMPORT_OPENWEBUI   Open WebUI's chat export: an array of {id, user_id, title, created_at,
 *                      updated_at, chat: {id, title, models: [...], timestamp, messages:
 *                      [{id, parentId, childrenIds, role, content, model, timestamp, usage}],
 *                      history: {messages: {id: {...the same...}}, currentId}}}.
 *   IMPORT_OPENROUTER  the body of OpenRouter's GET /api/v1/activity: {"data": [{date,
 *                      model, model_permaslug, endpoint_id, provider_name, usage (USD),
 *                      byok_usage_inference, requests, prompt_tokens, completion_tokens,
 *                      reasoning_tokens}]}: daily totals per model endpoint, UTC days.  The
 *                      camelCase spellings of the SDKs (modelPermaslug...) are accepted too.
 *
 * What counts (the choices, so that the numbers can be explained):
 *   - A conversation is one thread.  Its messages are every message in the export, including
 *     the branches left behind by edits and regenerations (ChatGPT's mapping, Open WebUI's
 *     history): each was a real request.  A message is counted once even when the export
 *     holds it twice (Open WebUI keeps the current branch in chat.messages *and* every
 *     branch in chat.history.messages: both are read, merged by message id).
 *   - ChatGPT: a message with metadata.is_visually_hidden_from_conversation, or a system
 *     message with empty content, is context the service added, not the writer's: skipped
 *     (stats.hidden_messages).  An assistant message whose content_type is not "text" or
 *     "multimodal_text" (a tool call, "thoughts", a reasoning recap, a browsing display) is a
 *     step of an answer, not an answer: role IMPORT_ROLE_OTHER.  The root node's null
 *     message is no message.
 *   - Models: the message's own (ChatGPT metadata.model_slug, Open WebUI model), else for an
 *     assistant message the conversation's default (ChatGPT metadata.default_model_slug,
 *     then the conversation's default_model_slug; Open WebUI chat.models when it names
 *     exactly one), else unknown (NULL).  Per-model counts are over assistant messages.
 *   - Tokens and cost only where the export has them (Open WebUI's usage: prompt_tokens |
 *     input_tokens | prompt_eval_count, completion_tokens | output_tokens | eval_count, cost;
 *     OpenRouter's rows).  Never invented: unknown is IMPORT_UNKNOWN, never 0.
 *   - Times are UTC Unix seconds.  Numbers are seconds, or milliseconds, microseconds or
 *     nanoseconds told apart by magnitude (>= 1e11 is ms, >= 1e14 µs, >= 1e17 ns), floors of
 *     fractions; strings are ISO-8601 (Z, +hh:mm, +hhmm, +hh, fractional seconds; no offset
 *     is read as UTC) or a number in a string.  A time outside [2010-01-01, 2100-01-01) is
 *     absurd: a warning, and the field is treated as absent.  A message without a usable
 *     time gets its conversation's (time_estimated = 1); the caller turns UTC into the
 *     writer's local months.
 *
 * Why messages, not monthly totals: the caller shows *local* months, and the reader knows no
 * time zone; a per-message row (role, model, UTC time, tokens) lets SQL answer "threads,
 * messages and models per month" in any zone, and a newer export of the same conversation
 * simply replaces that conversation's rows (see the SQL below).  No message text is kept.
 *
 * Errors: a reader stops at the first fatal problem and says what and where in one sentence
 * (import_reader_error): invalid JSON (byte offset, line, column), a truncated file, a file
 * of another shape ("this is not a ChatGPT export: expected an array of conversations with a
 * \"mapping\" ..." and, when import_detect() recognises it, which format it looks like), a
 * limit passed, out of memory — always with the conversation's index and starting byte when
 * inside one.  A file of another shape is reported once its first IMPORT_DETECT_BYTES bytes
 * have been fed (or at finish), so that the guess at its format reads the same bytes however
 * the file was split; until then feed returns IMPORT_OK and delivers nothing more.
 * Problems that lose one value or one item are warnings and the import goes on:
 * an absurd time, a negative token count, a conversation without an id, a repeated
 * conversation (same id twice in one file: the first is delivered, the repeats are skipped
 * and reported once per id).  Records are delivered before the end of the file is seen, so
 * the caller should store them in one transaction and roll back when feed or finish fails
 * (a truncated export then imports nothing rather than a part).
 *
 * Limits (past them: IMPORT_ELIMIT, except where said):
 *   IMPORT_MAX_MESSAGES messages in one conversation; IMPORT_MAX_ITEMS conversations or rows
 *   in one file (the repeated-id set holds them all: about 100 bytes each); nesting depth
 *   IMPORT_MAX_DEPTH; ids longer than IMPORT_MAX_ID bytes (a conversation's: a warning, it
 *   is skipped; a message's: cut);
 *   titles cut to IMPORT_MAX_TITLE bytes and model names to IMPORT_MAX_MODEL (never inside a
 *   code point); at most IMPORT_MAX_WARNINGS warnings delivered (all are counted).  Memory:
 *   the messages of one conversation, the id set, and IMPORT_DETECT_BYTES of the file's
 *   start (kept to name the right format in an error).
 *
 * Ownership: every pointer handed to a callback is borrowed and valid only during the call;
 * strings are NUL-terminated, well-formed UTF-8.
 *
 * Typical use:
 *
 *   import_callbacks cb = {on_conversation, on_activity, on_warning};
 *   import_reader *r = import_reader_new(IMPORT_CHATGPT, &cb, ctx);   // NULL: out of memory
 *   int rc = IMPORT_OK;
 *   while (rc == IMPORT_OK && (n = read(fd, chunk, sizeof chunk)) > 0)
 *       rc = import_reader_feed(r, chunk, n);
 *   if (rc == IMPORT_OK)
 *       rc = import_reader_finish(r);
 *   if (rc < 0)
 *       fprintf(stderr, "ami: %s: %s\n", path, import_reader_error(r));   // and roll back
 *   import_reader_free(r);
 */
#ifndef AMI_IMPORT_H
#define AMI_IMPORT_H

#include <stddef.h>

/* Return codes.  STOPPED and the errors are final: later calls return the same code. */
#define IMPORT_OK        0
#define IMPORT_STOPPED   1    /* a callback returned non-zero */
#define IMPORT_ENOMEM    (-1) /* out of memory */
#define IMPORT_EJSON     (-2) /* the file is not valid JSON */
#define IMPORT_EFORMAT   (-3) /* valid JSON, but not this export format */
#define IMPORT_ELIMIT    (-4) /* a limit below was passed */
#define IMPORT_ETRUNCATE (-5) /* finish: the file ends before the export does */
#define IMPORT_EBUSY     (-6) /* feed or finish called from a callback (not final) */

#define IMPORT_MAX_MESSAGES 100000
#define IMPORT_MAX_ITEMS    1000000
#define IMPORT_MAX_DEPTH    128
#define IMPORT_MAX_ID       256
#define IMPORT_MAX_TITLE    256
#define IMPORT_MAX_MODEL    128
#define IMPORT_MAX_WARNINGS 100
#define IMPORT_DETECT_BYTES 65536

/* Unknown counts, tokens and times (long long fields), and unknown costs (double fields). */
#define IMPORT_UNKNOWN     (-1)
#define IMPORT_UNKNOWN_USD (-1.0)

/* The plausible range of a time, UTC Unix seconds: [2010-01-01, 2100-01-01). */
#define IMPORT_TIME_MIN 1262304000LL
#define IMPORT_TIME_MAX 4102444800LL

typedef enum import_format {
    IMPORT_FORMAT_UNKNOWN = 0,
    IMPORT_CHATGPT,
    IMPORT_CLAUDE,
    IMPORT_OPENWEBUI,
    IMPORT_OPENROUTER,
} import_format;

typedef enum import_role {
    IMPORT_ROLE_USER,      /* the writer (Claude: "human") */
    IMPORT_ROLE_ASSISTANT, /* an answer */
    IMPORT_ROLE_SYSTEM,    /* a visible system message */
    IMPORT_ROLE_TOOL,      /* a tool's output */
    IMPORT_ROLE_OTHER,     /* any other role; ChatGPT's assistant steps that are not answers */
} import_role;

/* One message.  For the messages table; no text. */
typedef struct import_message {
    const char *id; /* external id, unique within its conversation; never NULL nor "" (the
                       export's id, else the node's/key's id, else "#<index>") */
    import_role role;
    const char *model;    /* NULL = unknown */
    long long time;       /* UTC Unix seconds; IMPORT_UNKNOWN when neither the message nor its
                             conversation has a usable time */
    int time_estimated;   /* 1: the export gave this message no usable time: time is its
                             conversation's created time */
    long long tokens_in;  /* prompt tokens, IMPORT_UNKNOWN unless the export says */
    long long tokens_out; /* completion tokens, IMPORT_UNKNOWN unless the export says */
    double cost_usd;      /* IMPORT_UNKNOWN_USD unless the export says */
} import_message;

/* One model's share of a conversation's assistant messages. */
typedef struct import_model_use {
    const char *model; /* never NULL: messages of unknown model are not listed */
    long long messages;
    long long tokens_in; /* sum over its messages whose tokens are known; IMPORT_UNKNOWN when
                            none are */
    long long tokens_out;
    double cost_usd; /* the same for cost; IMPORT_UNKNOWN_USD when none is known */
} import_model_use;

/* One conversation (thread).  Counts are of the delivered messages. */
typedef struct import_conversation {
    import_format source;
    size_t index;            /* 0-based position in the file's top-level array */
    size_t offset;           /* byte offset of its '{' */
    const char *id;          /* external id: with source, the key that makes re-imports update */
    const char *title;       /* NULL when absent or empty; cut to IMPORT_MAX_TITLE bytes */
    long long created;       /* UTC; the export's, else the first message's; IMPORT_UNKNOWN */
    long long updated;       /* UTC; the export's, else the last message's, else created */
    long long first_message; /* UTC of the earliest message with its own time; IMPORT_UNKNOWN */
    long long last_message;
    long long user_messages;
    long long assistant_messages;
    long long other_messages;       /* system, tool and other roles */
    long long messages_with_tokens; /* messages whose tokens the export gives */
    long long tokens_in;            /* sums over those; IMPORT_UNKNOWN when there are none */
    long long tokens_out;
    double cost_usd; /* sum of the known costs; IMPORT_UNKNOWN_USD when none is known */
    const import_model_use *models; /* n_models entries, in order of first use */
    size_t n_models;
    const import_message *messages; /* n_messages entries, in file order */
    size_t n_messages;
} import_conversation;

/* One OpenRouter activity row: one model endpoint's totals for one UTC day. */
typedef struct import_activity {
    size_t index;          /* position in "data" */
    size_t offset;         /* byte offset of its '{' */
    const char *date;      /* "YYYY-MM-DD", as given (checked) */
    long long day;         /* UTC Unix seconds of that day's 00:00 */
    const char *model;     /* "" when absent (never NULL), like the four below */
    const char *permaslug; /* model_permaslug */
    const char *endpoint_id;
    const char *provider;     /* provider_name */
    const char *workspace_id; /* only with group_by=workspace */
    double usd;               /* "usage": OpenRouter credits spent; IMPORT_UNKNOWN_USD */
    double byok_usd;          /* "byok_usage_inference": spent on the writer's own keys */
    long long requests;       /* IMPORT_UNKNOWN when absent or invalid, like the tokens */
    long long prompt_tokens;
    long long completion_tokens;
    long long reasoning_tokens;
} import_activity;

/* A problem that lost a value or an item; the import goes on. */
typedef struct import_warning {
    const char *message; /* one sentence naming the item ("conversation 3 (byte 1234): ...") */
    size_t offset;       /* byte offset of the offending value */
    long index;          /* the item's index, or -1 */
} import_warning;

/* Any callback may be NULL.  conversation and activity return 0 to go on, non-zero to stop
 * (feed/finish return IMPORT_STOPPED).  They must not feed, finish or free the reader. */
typedef struct import_callbacks {
    int (*conversation)(void *ud, const import_conversation *c);
    int (*activity)(void *ud, const import_activity *a);
    void (*warning)(void *ud, const import_warning *w);
} import_callbacks;

typedef struct import_stats {
    size_t bytes;           /* fed so far */
    size_t items;           /* elements of the top-level array (or of "data") begun */
    size_t conversations;   /* delivered */
    size_t activity_rows;   /* delivered */
    size_t messages;        /* delivered, over all conversations */
    size_t hidden_messages; /* skipped as hidden context (ChatGPT) */
    size_t duplicates;      /* items skipped because their id came earlier in the file */
    size_t skipped;         /* items skipped for another reason (no id, not an object...) */
    size_t warnings;        /* all warnings, delivered or not */
} import_stats;

typedef struct import_reader import_reader;

/// Returns a reader for format (any but IMPORT_FORMAT_UNKNOWN) that calls cb's functions with
/// ud, or NULL when out of memory or given a bad format or a NULL cb.  cb is copied.  Free
/// with import_reader_free().
import_reader *import_reader_new(import_format format, const import_callbacks *cb, void *ud);

/// Reads len more bytes of the export (data may be NULL when len is 0), calling back for
/// every record completed.  Returns IMPORT_OK, or STOPPED, EJSON, EFORMAT, ELIMIT, ENOMEM
/// (final; import_reader_error() says why), or EBUSY from a callback.
int import_reader_feed(import_reader *r, const char *data, size_t len);

/// Ends the export: IMPORT_OK when it was complete (an empty array is a complete export of
/// nothing), IMPORT_ETRUNCATE when the file ends early, EFORMAT when what was read is not
/// this format (an empty file too), or the final code of an earlier failure.
int import_reader_finish(import_reader *r);

/// After a failure: one sentence saying what was wrong and where, e.g. "invalid JSON at byte
/// 5123 (line 1, column 5124), in conversation 3 (which begins at byte 4001): expected ','
/// or '}' after an object member, found ']'".  "" when there was none.  Owned by r.
const char *import_reader_error(const import_reader *r);
/// The failure's byte offset, and the index of the item it happened in (-1: none).
size_t import_reader_error_offset(const import_reader *r);
long import_reader_error_index(const import_reader *r);

/// Counts so far (borrowed; valid until r is freed).
const import_stats *import_reader_stats(const import_reader *r);

/// Frees the reader.  NULL is allowed.
void import_reader_free(import_reader *r);

/// Guesses the format from the first bytes of a file (any length; IMPORT_DETECT_BYTES is
/// plenty): an array whose first elements have "mapping" (ChatGPT), "chat_messages"
/// (Claude) or "chat" (Open WebUI); an object whose "data" array holds activity rows
/// (OpenRouter).  IMPORT_FORMAT_UNKNOWN when it cannot tell (not JSON, another shape, or not
/// enough bytes).  For a helpful message when the wrong format is named.
import_format import_detect(const char *bytes, size_t len);

/// "chatgpt", "claude", "openwebui", "openrouter" (the CLI's words), "unknown".
const char *import_format_name(import_format f);
/// "ChatGPT", "Claude", "Open WebUI", "OpenRouter activity", "unknown" (for people).
const char *import_format_label(import_format f);
/// The format named by a CLI word (case-insensitive; "open-webui" too), or UNKNOWN.
import_format import_format_from_name(const char *name);
/// "user", "assistant", "system", "tool", "other" (the role column's values).
const char *import_role_name(import_role role);

/* ---- times ------------------------------------------------------------------------------ */

/// Parses an ISO-8601 date or date-time into UTC Unix seconds: YYYY-MM-DD, then optionally
/// T (or a space) hh:mm[:ss[.fraction]] and Z, z, +hh:mm, +hhmm or +hh (no offset: UTC).
/// Fractions are dropped (floor).  Returns 0, or -1 when s[0..len) is not such a time or a
/// field is out of range (month 13, February 30, hour 24...).
int import_time_iso8601(const char *s, size_t len, long long *out);

/// Converts an epoch number to UTC Unix seconds, telling seconds, milliseconds, microseconds
/// and nanoseconds apart by magnitude (see the top).  Returns 0, or -1 when v is not finite
/// or out of range for the result.
int import_time_epoch(double v, long long *out);

/* ---- storage: the caller's SQLite tables ------------------------------------------------ */

/* The CREATE TABLE statements (one migration), in one string for sqlite3_exec():
 *
 *   imported_conversations  one row per (source, external_id): the conversation record
 *   imported_messages       one row per (conversation, external_id): role, model, at_unix,
 *                           at_estimated, tokens, cost (no text)
 *   imported_activity       one row per (source, day, endpoint_id, model_permaslug,
 *                           provider, workspace_id): OpenRouter's daily totals
 *
 * Times are INTEGER UTC Unix seconds; every unknown value (IMPORT_UNKNOWN,
 * IMPORT_UNKNOWN_USD, a NULL model or title) is stored as NULL, never 0; source holds
 * import_format_name(); role holds import_role_name().
 *
 * A (re-)import, inside one transaction:
 *   1. import_sql_upsert_conversation, bound ?1 source, ?2 external id, ?3 title (or NULL),
 *      ?4 created, ?5 updated, ?6 first_message, ?7 last_message, ?8 user_messages,
 *      ?9 assistant_messages, ?10 other_messages, ?11 tokens_in, ?12 tokens_out,
 *      ?13 cost_usd, ?14 the import's time.  RETURNING gives the row id; no row comes back
 *      when the stored copy is newer (its updated_unix is later): skip steps 2-3.
 *   2. import_sql_delete_messages, ?1 the row id (a newer export replaces the messages).
 *   3. import_sql_insert_message for each message, ?1 the row id, ?2 source, ?3 its id,
 *      ?4 role, ?5 model (or NULL), ?6 time, ?7 time_estimated, ?8 tokens_in, ?9 tokens_out,
 *      ?10 cost_usd.
 *   OpenRouter rows: import_sql_upsert_activity, ?1 source ("openrouter"), ?2 date, ?3 day,
 *   ?4 model, ?5 permaslug, ?6 endpoint_id, ?7 provider, ?8 workspace_id, ?9 usd,
 *   ?10 byok_usd, ?11 requests, ?12 prompt_tokens, ?13 completion_tokens,
 *   ?14 reasoning_tokens, ?15 the import's time (the last fetch of a day wins).
 * Never INSERT OR REPLACE: it would give a conversation a new row id behind its messages.
 * RETURNING needs SQLite 3.35 (2021); with an older one, SELECT the id by (source,
 * external_id) and compare updated_unix first.
 *
 * Per local month (the question the CLI answers; 'localtime' or any offset):
 *   SELECT strftime('%Y-%m', at_unix, 'unixepoch', 'localtime') AS month, source,
 *          COUNT(DISTINCT conversation) AS threads,   -- a thread counts in each month it
 *          SUM(role = 'user') AS user_messages,        --   had messages in
 *          SUM(role = 'assistant') AS assistant_messages
 *     FROM imported_messages WHERE at_unix IS NOT NULL GROUP BY month, source;
 *   SELECT strftime('%Y-%m', at_unix, 'unixepoch', 'localtime') AS month, source,
 *          COALESCE(model, '(unknown)') AS model, COUNT(*) AS answers,
 *          SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd)
 *     FROM imported_messages WHERE role = 'assistant' GROUP BY month, source, model;
 *   SELECT substr(day, 1, 7) AS month, model, SUM(requests), SUM(prompt_tokens),
 *          SUM(completion_tokens), SUM(usd), SUM(byok_usd)    -- UTC days, as OpenRouter
 *     FROM imported_activity GROUP BY month, model;             --   counts them
 */
extern const char import_schema_sql[];
extern const char import_sql_upsert_conversation[];
extern const char import_sql_delete_messages[];
extern const char import_sql_insert_message[];
extern const char import_sql_upsert_activity[];

#endif
