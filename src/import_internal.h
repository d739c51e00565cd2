/* The import readers' parts that their own files share (src/import*.c); not for other
 * modules.  The public interface is include/ami/import.h.
 *
 *   import.c               the driver (a reader's life, feed and finish), format names and
 *                          detection, failures and warnings, the value readers every format
 *                          uses (strings, times, counts, amounts)
 *   import_conversation.c  what the three conversation formats share: the top-level array,
 *                          messages kept and merged, a conversation checked and delivered
 *   import_chatgpt.c       ChatGPT's conversations.json
 *   import_claude.c        Claude's conversations.json
 *   import_openwebui.c     Open WebUI's chat export
 *   import_openrouter.c    OpenRouter's activity (GET /api/v1/activity)
 *   import_strset.c        the set of strings that ids and models are kept in
 *   import_schema.c        the SQL of the caller's tables
 */
#ifndef AMI_IMPORT_INTERNAL_H
#define AMI_IMPORT_INTERNAL_H

#include "ami/import.h"

#include "ami/buf.h"
#include "ami/jsonsax.h"

#include <stddef.h>
#include <stdint.h>

/* ---- a set of strings (in src/import_strset.c) -------------------------------------------------
 */

/* Open addressing over entries kept in insertion order; keys live in one buffer.  Cleared in
 * O(entries), not O(capacity), because it is cleared once per conversation. */
typedef struct import_strset_ent {
    size_t off, len; /* in keys */
    size_t slot;
    uint64_t hash;
    size_t val;
} import_strset_ent;

typedef struct import_strset {
    buf keys;
    import_strset_ent *ents;
    size_t n, ents_cap;
    size_t *slots; /* entry index + 1, 0 = empty */
    size_t cap;    /* a power of two, or 0 */
} import_strset;

/// Finds key k or adds it (with val 0).  Returns 1 when found, 0 when added, -1 when out of
/// memory; *idx is the entry's index either way.
int import_strset_get(import_strset *s, const char *k, size_t n, size_t *idx);
/// Entry i's key, NUL-terminated.
const char *import_strset_key(const import_strset *s, size_t i);
/// Empties the set, keeping its memory.
void import_strset_clear(import_strset *s);
void import_strset_free(import_strset *s);

/* ---- the reader's state ----------------------------------------------------------------- */

typedef struct import_msg {
    size_t id;      /* entry in the message-id set */
    long model;     /* entry in the model set, or -1 */
    long dmodel;    /* ChatGPT metadata.default_model_slug, or -1 */
    int role;       /* import_role, or -1 when not given */
    long long time; /* IMPORT_UNKNOWN */
    long long tin, tout;
    int tin_rank, tout_rank; /* which usage key gave the value (lower wins) */
    double cost;
    unsigned char hidden, nonempty, ct_seen, ct_answer, layout_b, no_id, dropped;
} import_msg;

/* The message being read. */
typedef struct import_cur_msg {
    import_msg m;
    size_t level;  /* the level of its object */
    size_t offset; /* of its '{' */
    buf id;        /* its own id, if any */
    buf fallback;  /* the id to use without one */
    buf model, dmodel;
    int has_id, has_model, has_dmodel;
} import_cur_msg;

typedef struct import_conv {
    buf id, alt_id, title, alt_title, dmodel, listed_model;
    int has_id, has_alt_id, id_too_long, has_dmodel;
    size_t listed_models;
    long long created, updated, ts_fallback;
    int signature;    /* the format's mark was seen (mapping, chat_messages, chat) */
    int history_msgs; /* Open WebUI: messages read from chat.history */
    import_msg *msgs;
    size_t n_msgs, msgs_cap;
    import_strset ids;    /* message ids -> index in msgs */
    import_strset models; /* model names */
} import_conv;

typedef struct import_activity_row {
    buf date, model, permaslug, endpoint, provider, workspace;
    double usd, byok;
    long long requests, prompt, completion, reasoning;
} import_activity_row;

struct import_reader {
    import_format fmt;
    import_callbacks cb;
    void *ud;
    jsonsax *js;
    int status;
    int in_cb;
    int started; /* the top-level value began */
    import_stats st;
    buf prefix; /* the first IMPORT_DETECT_BYTES bytes */

    char err[640];
    size_t err_offset;
    long err_index;
    /* A file of another shape: reported once the prefix is full or at finish (see
     * import_fail_format), so that the hint does not depend on how the file was split. */
    int fmt_pending;
    int fmt_not_json; /* fmt_what follows "the file is not JSON (what it looks like)" */
    char fmt_what[256];
    size_t fmt_offset;
    long fmt_index;
    buf scratch; /* for messages */

    int in_item;
    size_t item_index, item_offset;
    int in_msg;
    import_cur_msg cm;
    import_conv c;
    import_activity_row a;
    import_strset item_ids; /* conversation ids (val: 1 once reported repeated) / row keys */

    /* OpenRouter */
    int saw_data;
    buf or_error;

    /* delivery scratch */
    import_message *out_msgs;
    size_t out_msgs_cap;
    import_model_use *out_models;
    size_t out_models_cap;
    size_t warnings_delivered;
};

/* ---- shared by the readers (in src/import.c) ------------------------------------------- */

/// "row", "chat" or "conversation": what one item of r's format is called in messages.
const char *import_item_word(const import_reader *r);
/// t lies in [IMPORT_TIME_MIN, IMPORT_TIME_MAX).
int import_plausible(long long t);

/// Fails r with code (unless it failed already) and the message; returns r's status.
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int import_fail(import_reader *r, int code, size_t offset, const char *fmt, ...);
/// A file of another shape: notes what was wrong and stops the parsing; the EFORMAT message
/// is written later (see src/import.c).  Returns IMPORT_EFORMAT.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int import_fail_format(import_reader *r, size_t offset, const char *fmt, ...);
/// A warning, named after the current item; counted always, delivered up to the limit.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void import_warn(import_reader *r, size_t offset, const char *fmt, ...);
/// A short, printable rendering of a token's text for messages (at most 40 bytes).
const char *import_shown(const jsonsax_event *ev, char out[64]);

/// The token is the string s (not cut short).
int import_is(const jsonsax_event *ev, const char *s);
/// The key of path level lv, or "" for an array level or a key cut short.
const char *import_key_at(jsonsax *p, size_t lv);
int import_streq(const char *a, const char *b);
int import_is_container(const jsonsax_event *ev);
/// A value of the wrong kind for a field: skip a container, warn, keep the field unknown.
void import_wrong_kind(import_reader *r, jsonsax *p, const jsonsax_event *ev, const char *field,
                       const char *want);
/// A string field (strings and numbers accepted), cut to max bytes.  Returns 1 when set.
int import_set_str(import_reader *r, jsonsax *p, const jsonsax_event *ev, buf *b, size_t max,
                   const char *field, int *too_long);
/// A time field.  Absent/null: unchanged.  Sets *t only to a plausible time.
void import_set_time(import_reader *r, jsonsax *p, const jsonsax_event *ev, long long *t,
                     const char *field);
/// A count (tokens, requests): a non-negative integer, as a number or a string.
void import_set_count(import_reader *r, jsonsax *p, const jsonsax_event *ev, long long *c,
                      const char *field);
/// An amount in USD: a non-negative number, as a number or a string.
void import_set_usd(import_reader *r, jsonsax *p, const jsonsax_event *ev, double *u,
                    const char *field);
/// A "role" field: a string, "user", "assistant", "system" or "tool" (any other is
/// IMPORT_ROLE_OTHER); another kind of value is warned about and leaves *role unchanged.
void import_set_role(import_reader *r, jsonsax *p, const jsonsax_event *ev, int *role);

/// An item (an element of the top-level array, or of "data") begins; ELIMIT past the limit.
int import_item_begin(import_reader *r, const jsonsax_event *ev);
/// An element of the top-level array that is not an object.
int import_item_not_object(import_reader *r, jsonsax *p, const jsonsax_event *ev);
/// Whether the current item's key (a conversation's id, an activity row's day and endpoint)
/// came earlier in the file: 0 no (it is now remembered), 1 yes and for the first time (warn:
/// *first is the index of the item that had it), 2 yes again (warned already); a repeat is
/// counted in stats.duplicates.  -1: out of memory (r failed; return r->status).
int import_item_repeated(import_reader *r, const char *key, size_t len, size_t *first);

/* ---- conversations (in src/import_conversation.c) --------------------------------------- */

/// The conversation formats' jsonsax events (ChatGPT, Claude, Open WebUI): the top-level
/// array and its items, each item's events handed to its format's reader below.
int import_conv_top(import_reader *r, jsonsax *p, const jsonsax_event *ev);
void import_conv_free(import_conv *c);
/// A message's object begins.  Without an id of its own it will be called fallback (a
/// mapping or history key), else "#<i>", i its position at path level idx_level.
void import_msg_begin(import_reader *r, jsonsax *p, const jsonsax_event *ev, const char *fallback,
                      size_t idx_level, int layout_b);
/// The message object ended: keep it, merge it with its earlier copy, or drop it.
int import_msg_end(import_reader *r);

/* ---- one reader per format ----------------------------------------------------------- */

/// An item's events below its top level, for the format of each file: src/import_chatgpt.c,
/// src/import_claude.c, src/import_openwebui.c.
int import_chatgpt_event(import_reader *r, jsonsax *p, const jsonsax_event *ev);
int import_claude_event(import_reader *r, jsonsax *p, const jsonsax_event *ev);
int import_owui_event(import_reader *r, jsonsax *p, const jsonsax_event *ev);
/// OpenRouter's whole object, every event (src/import_openrouter.c).
int import_openrouter_event(import_reader *r, jsonsax *p, const jsonsax_event *ev);
void import_activity_row_free(import_activity_row *a);

#endif
