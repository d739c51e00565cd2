/* import: readers for LLM usage exports, on top of jsonsax.  See include/ami/import.h.
 *
 * Each reader is a jsonsax callback that knows where it is from the event's depth and the
 * keys on the path (jsonsax_path), and asks jsonsax to skip every value it does not need, so
 * that message texts, attachments and metadata are parsed but never copied.
 *
 * States of a reader (one per export; what survives from one feed to the next):
 *
 *   [START] ── '[' (conversations) / '{' (OpenRouter) ──► [TOP] ── its end ──► [DONE]
 *      │ anything else: EFORMAT                          │ ▲
 *      ▼                                    element '{'  │ │ its '}': check, deliver
 *    failed                                              ▼ │
 *                                                     [ITEM] ── a message's '{' ──► [MESSAGE]
 *                                                        ▲                             │
 *                                                        └──── its '}': keep or merge ─┘
 *   any state ── a JSON error, a limit, out of memory, a callback's stop ──► failed/stopped
 *   finish ── DONE ──► ok;  START with no byte: EFORMAT (empty);  else ETRUNCATE
 *
 * Where things are (depth = containers around the token; levels count from 0):
 *
 *   ChatGPT    [i] conversation (level 1) .mapping (2) .<node> (3) .message (4) {fields}
 *                  .author.role  .content.{content_type, parts[], text}  .metadata.{...}
 *   Claude     [i] conversation (1) .chat_messages (2) [j] message (3) {uuid, sender, ...}
 *   Open WebUI [i] chat row (1) .chat (2) .messages (3) [j] message (4) {fields, usage{}}
 *                                         .history (3) .messages (4) .<id> message (5)
 *   OpenRouter .data (0) [i] row (2) {fields}
 *
 * A message is built while its object is read and kept at its '}' (or merged with the copy
 * of the same id already kept: Open WebUI's two layouts); a conversation is checked and
 * delivered at its own '}', after which everything it held is cleared but not freed, so
 * the steady state allocates nothing per conversation.
 */
#include "ami/import.h"

#include "ami/buf.h"
#include "ami/jsonsax.h"
#include "ami/utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STRING_CAP 512 /* jsonsax's cap: more than any id, title or model we keep */

/* ---- a set of strings ----------------------------------------------------------------- */

/* Open addressing over entries kept in insertion order; keys live in one buffer.  Cleared in
 * O(entries), not O(capacity), because it is cleared once per conversation. */
typedef struct sent {
    size_t off, len; /* in keys */
    size_t slot;
    uint64_t hash;
    size_t val;
} sent;

typedef struct strset {
    buf keys;
    sent *ents;
    size_t n, ents_cap;
    size_t *slots; /* entry index + 1, 0 = empty */
    size_t cap;    /* a power of two, or 0 */
} strset;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static const char *strset_key(const strset *s, size_t i) {
    return s->keys.data + s->ents[i].off;
}

static int strset_grow(strset *s) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = (size_t)s->ents[i].hash & (cap - 1);
        while (slots[k])
            k = (k + 1) & (cap - 1);
        slots[k] = i + 1;
        s->ents[i].slot = k;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

/* Finds key k or adds it (with val 0).  Returns 1 when found, 0 when added, -1 when out of
 * memory; *idx is the entry's index either way. */
static int strset_get(strset *s, const char *k, size_t n, size_t *idx) {
    if ((s->n + 1) * 2 > s->cap && strset_grow(s))
        return -1;
    uint64_t h = hash_bytes(k, n);
    size_t slot = (size_t)h & (s->cap - 1);
    while (s->slots[slot]) {
        const sent *e = &s->ents[s->slots[slot] - 1];
        if (e->hash == h && e->len == n && memcmp(s->keys.data + e->off, k, n) == 0) {
            *idx = s->slots[slot] - 1;
            return 1;
        }
        slot = (slot + 1) & (s->cap - 1);
    }
    if (s->n == s->ents_cap) {
        size_t c = s->ents_cap ? s->ents_cap * 2 : 16;
        sent *e = realloc(s->ents, c * sizeof *e);
        if (!e)
            return -1;
        s->ents = e;
        s->ents_cap = c;
    }
    size_t off = s->keys.len;
    /* Each key is NUL-terminated in the buffer, so it can be handed out as a C string. */
    if (buf_append(&s->keys, k, n) || buf_append_byte(&s->keys, '\0')) {
        s->keys.len = off;
        return -1;
    }
    sent *e = &s->ents[s->n];
    e->off = off;
    e->len = n;
    e->slot = slot;
    e->hash = h;
    e->val = 0;
    s->slots[slot] = ++s->n;
    *idx = s->n - 1;
    return 0;
}

static void strset_clear(strset *s) {
    for (size_t i = 0; i < s->n; i++)
        s->slots[s->ents[i].slot] = 0;
    s->n = 0;
    buf_clear(&s->keys);
}

static void strset_free(strset *s) {
    buf_free(&s->keys);
    free(s->ents);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* ---- the reader's state ----------------------------------------------------------------- */

typedef struct msg {
    size_t id;      /* entry in the message-id set */
    long model;     /* entry in the model set, or -1 */
    long dmodel;    /* ChatGPT metadata.default_model_slug, or -1 */
    int role;       /* import_role, or -1 when not given */
    long long time; /* IMPORT_UNKNOWN */
    long long tin, tout;
    int tin_rank, tout_rank; /* which usage key gave the value (lower wins) */
    double cost;
    unsigned char hidden, nonempty, ct_seen, ct_answer, layout_b, no_id, dropped;
} msg;

/* The message being read. */
typedef struct cur_msg {
    msg m;
    size_t level;  /* the level of its object */
    size_t offset; /* of its '{' */
    buf id;        /* its own id, if any */
    buf fallback;  /* the id to use without one */
    buf model, dmodel;
    int has_id, has_model, has_dmodel;
} cur_msg;

typedef struct conv {
    buf id, alt_id, title, alt_title, dmodel, listed_model;
    int has_id, has_alt_id, id_too_long, has_dmodel;
    size_t listed_models;
    long long created, updated, ts_fallback;
    int signature;    /* the format's mark was seen (mapping, chat_messages, chat) */
    int history_msgs; /* Open WebUI: messages read from chat.history */
    msg *msgs;
    size_t n_msgs, msgs_cap;
    strset ids;    /* message ids -> index in msgs */
    strset models; /* model names */
} conv;

typedef struct row {
    buf date, model, permaslug, endpoint, provider, workspace;
    double usd, byok;
    long long requests, prompt, completion, reasoning;
} row;

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
     * fail_format), so that the hint does not depend on how the file was split. */
    int fmt_pending;
    int fmt_not_json; /* fmt_what follows "the file is not JSON (what it looks like)" */
    char fmt_what[256];
    size_t fmt_offset;
    long fmt_index;
    buf scratch; /* for messages */

    int in_item;
    size_t item_index, item_offset;
    int in_msg;
    cur_msg cm;
    conv c;
    row a;
    strset item_ids; /* conversation ids (val: 1 once reported repeated) / row keys */

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

/* ---- names ------------------------------------------------------------------------------ */

const char *import_format_name(import_format f) {
    switch (f) {
    case IMPORT_CHATGPT:
        return "chatgpt";
    case IMPORT_CLAUDE:
        return "claude";
    case IMPORT_OPENWEBUI:
        return "openwebui";
    case IMPORT_OPENROUTER:
        return "openrouter";
    default:
        return "unknown";
    }
}

const char *import_format_label(import_format f) {
    switch (f) {
    case IMPORT_CHATGPT:
        return "ChatGPT";
    case IMPORT_CLAUDE:
        return "Claude";
    case IMPORT_OPENWEBUI:
        return "Open WebUI";
    case IMPORT_OPENROUTER:
        return "OpenRouter activity";
    default:
        return "unknown";
    }
}

import_format import_format_from_name(const char *name) {
    static const struct {
        const char *word;
        import_format f;
    } words[] = {{"chatgpt", IMPORT_CHATGPT},
                 {"claude", IMPORT_CLAUDE},
                 {"openwebui", IMPORT_OPENWEBUI},
                 {"open-webui", IMPORT_OPENWEBUI},
                 {"openrouter", IMPORT_OPENROUTER}};
    if (!name)
        return IMPORT_FORMAT_UNKNOWN;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(name, words[i].word) == 0)
            return words[i].f;
    return IMPORT_FORMAT_UNKNOWN;
}

const char *import_role_name(import_role role) {
    switch (role) {
    case IMPORT_ROLE_USER:
        return "user";
    case IMPORT_ROLE_ASSISTANT:
        return "assistant";
    case IMPORT_ROLE_SYSTEM:
        return "system";
    case IMPORT_ROLE_TOOL:
        return "tool";
    default:
        return "other";
    }
}

/* What a conversation file of each format must look like, for error messages. */
static const char *expected(import_format f) {
    switch (f) {
    case IMPORT_CHATGPT:
        return "an array of conversations with a \"mapping\" (conversations.json from a "
               "ChatGPT data export)";
    case IMPORT_CLAUDE:
        return "an array of conversations with \"chat_messages\" (conversations.json from a "
               "Claude data export)";
    case IMPORT_OPENWEBUI:
        return "an array of chats with a \"chat\" object (Open WebUI's chat export)";
    default:
        return "an object with a \"data\" array (the body of OpenRouter's GET /api/v1/activity)";
    }
}

static const char *item_word(const import_reader *r) {
    return r->fmt == IMPORT_OPENROUTER  ? "row"
           : r->fmt == IMPORT_OPENWEBUI ? "chat"
                                        : "conversation";
}

/* ---- times ------------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, int m, int d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(long long y, int m) {
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/* Reads exactly n digits at s[*i]. */
static int digits(const char *s, size_t len, size_t *i, int n, int *out) {
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

int import_time_iso8601(const char *s, size_t len, long long *out) {
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' || digits(s, len, &i, 2, &mo) ||
        i >= len || s[i++] != '-' || digits(s, len, &i, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    long long off = 0;
    if (i < len) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return -1;
        i++;
        if (digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' || digits(s, len, &i, 2, &mi))
            return -1;
        if (i < len && s[i] == ':') {
            i++;
            if (digits(s, len, &i, 2, &sec))
                return -1;
            if (i < len && (s[i] == '.' || s[i] == ',')) {
                size_t f = ++i;
                while (i < len && s[i] >= '0' && s[i] <= '9')
                    i++;
                if (i == f)
                    return -1;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return -1;
        if (i < len) {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
                if (digits(s, len, &i, 2, &oh))
                    return -1;
                if (i < len && s[i] == ':')
                    i++;
                if (i < len && digits(s, len, &i, 2, &om))
                    return -1;
                if (oh > 23 || om > 59)
                    return -1;
                off = sign * (oh * 3600LL + om * 60LL);
            } else {
                return -1;
            }
        }
        if (i != len)
            return -1;
    }
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + sec - off;
    return 0;
}

int import_time_epoch(double v, long long *out) {
    if (!isfinite(v))
        return -1;
    double a = fabs(v);
    if (a >= 1e17)
        v /= 1e9;
    else if (a >= 1e14)
        v /= 1e6;
    else if (a >= 1e11)
        v /= 1e3;
    v = floor(v);
    if (!(v > -9.2e18 && v < 9.2e18))
        return -1;
    *out = (long long)v;
    return 0;
}

static int plausible(long long t) {
    return t >= IMPORT_TIME_MIN && t < IMPORT_TIME_MAX;
}

/* ---- failures and warnings ------------------------------------------------------------- */

/* " in conversation 3 (which begins at byte 4001)" when inside an item. */
static void item_context(const import_reader *r, char *out, size_t n) {
    if (r->in_item)
        snprintf(out, n, ", in %s %zu (which begins at byte %zu)", item_word(r), r->item_index,
                 r->item_offset);
    else
        out[0] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
fail(import_reader *r, int code, size_t offset, const char *fmt, ...) {
    if (r->status)
        return r->status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->status = code;
    r->err_offset = offset;
    r->err_index = r->in_item ? (long)r->item_index : -1;
    return code;
}

/* EFORMAT, in two steps.  fail_format() notes what was wrong and stops the parsing;
 * format_now() writes the message, naming the format the file looks like: that guess reads
 * the file's first IMPORT_DETECT_BYTES, so it waits until they have all been fed (or the
 * file ended).  Failing at once would make the message depend on where the feeds were cut. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail_format(import_reader *r, size_t offset, const char *fmt, ...) {
    if (r->status || r->fmt_pending)
        return IMPORT_EFORMAT;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fmt_what, sizeof r->fmt_what, fmt, ap);
    va_end(ap);
    r->fmt_pending = 1;
    r->fmt_offset = offset;
    r->fmt_index = r->in_item ? (long)r->item_index : -1;
    return IMPORT_EFORMAT;
}

static int format_now(import_reader *r) {
    char hint[160] = "";
    import_format g = import_detect(r->prefix.data, r->prefix.len);
    if (g == IMPORT_OPENROUTER && r->fmt != g)
        snprintf(hint, sizeof hint,
                 "; it looks like an OpenRouter activity response (format \"openrouter\")");
    else if (g != IMPORT_FORMAT_UNKNOWN && g != r->fmt)
        snprintf(hint, sizeof hint, "; it looks like a%s %s export (format \"%s\")",
                 g == IMPORT_OPENWEBUI ? "n" : "", import_format_label(g), import_format_name(g));
    r->fmt_pending = 0;
    char what[400];
    if (r->fmt_not_json) {
        /* What the bytes look like instead, ahead of the parser's words. */
        const char *like = "";
        if (r->prefix.len >= 4 && memcmp(r->prefix.data, "PK\x03\x04", 4) == 0)
            like = " (it looks like a .zip archive: unzip it and give the conversations.json "
                   "inside)";
        else if (r->prefix.len && r->prefix.data[0] == '<')
            like = " (it looks like HTML or XML)";
        snprintf(what, sizeof what, "the file is not JSON%s%s", like, r->fmt_what);
    } else {
        snprintf(what, sizeof what, "%s", r->fmt_what);
    }
    int rc;
    if (r->fmt == IMPORT_OPENROUTER)
        rc = fail(r, IMPORT_EFORMAT, r->fmt_offset,
                  "this is not an OpenRouter activity response: expected %s; %s%s",
                  expected(r->fmt), what, hint);
    else
        rc = fail(r, IMPORT_EFORMAT, r->fmt_offset, "this is not a%s %s export: expected %s; %s%s",
                  r->fmt == IMPORT_OPENWEBUI ? "n" : "", import_format_label(r->fmt),
                  expected(r->fmt), what, hint);
    r->err_index = r->fmt_index;
    return rc;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
warn(import_reader *r, size_t offset, const char *fmt, ...) {
    r->st.warnings++;
    if (!r->cb.warning || r->warnings_delivered >= IMPORT_MAX_WARNINGS)
        return;
    r->warnings_delivered++;
    char body[400], msgbuf[520];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (r->in_item)
        snprintf(msgbuf, sizeof msgbuf, "%s %zu (byte %zu): %s", item_word(r), r->item_index,
                 r->item_offset, body);
    else
        snprintf(msgbuf, sizeof msgbuf, "%s", body);
    import_warning w = {msgbuf, offset, r->in_item ? (long)r->item_index : -1};
    r->in_cb = 1;
    r->cb.warning(r->ud, &w);
    r->in_cb = 0;
}

/* A short, printable rendering of a token's text for messages (at most 40 bytes). */
static const char *shown(const jsonsax_event *ev, char out[64]) {
    if (ev->kind == JSONSAX_STRING || ev->kind == JSONSAX_NUMBER) {
        size_t n = utf8_cut(ev->str, ev->len, 40);
        size_t k = 0;
        for (size_t i = 0; i < n && k < 60; i++)
            out[k++] = (unsigned char)ev->str[i] < 0x20 ? '?' : ev->str[i];
        out[k] = '\0';
        if (ev->kind == JSONSAX_STRING) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "\"%s%s\"", out, n < ev->len || ev->truncated ? "..." : "");
            memcpy(out, tmp, 64);
        }
        return out;
    }
    switch (ev->kind) {
    case JSONSAX_TRUE:
        return "true";
    case JSONSAX_FALSE:
        return "false";
    case JSONSAX_NULL:
        return "null";
    case JSONSAX_BEGIN_OBJECT:
        return "an object";
    default:
        return "an array";
    }
}

/* ---- values ------------------------------------------------------------------------------ */

static int is(const jsonsax_event *ev, const char *s) {
    return ev->len == strlen(s) && memcmp(ev->str, s, ev->len) == 0 && !ev->truncated;
}

/* The key of path level lv, or "" for an array level or a key cut short. */
static const char *key_at(jsonsax *p, size_t lv) {
    jsonsax_level l;
    if (jsonsax_path(p, lv, &l) != 0 || !l.is_object || l.key_truncated)
        return "";
    return l.key;
}

static int streq(const char *a, const char *b) {
    return strcmp(a, b) == 0;
}

static int is_container(const jsonsax_event *ev) {
    return ev->kind == JSONSAX_BEGIN_OBJECT || ev->kind == JSONSAX_BEGIN_ARRAY;
}

/* A value of the wrong kind for a field: skip a container, warn, keep the field unknown. */
static void wrong_kind(import_reader *r, jsonsax *p, const jsonsax_event *ev, const char *field,
                       const char *want) {
    char s[64];
    /* The END of a container skipped at its BEGIN still comes: it was reported then. */
    if (ev->kind == JSONSAX_END_OBJECT || ev->kind == JSONSAX_END_ARRAY)
        return;
    if (is_container(ev))
        jsonsax_skip(p);
    if (ev->kind != JSONSAX_NULL)
        warn(r, ev->offset, "\"%s\" (byte %zu) is %s, not %s: ignored", field, ev->offset,
             shown(ev, s), want);
}

/* A string field (strings and numbers accepted), cut to max bytes.  Returns 1 when set. */
static int set_str(import_reader *r, jsonsax *p, const jsonsax_event *ev, buf *b, size_t max,
                   const char *field, int *too_long) {
    if (ev->kind != JSONSAX_STRING && ev->kind != JSONSAX_NUMBER) {
        wrong_kind(r, p, ev, field, "a string");
        return 0;
    }
    if (too_long)
        *too_long = ev->full_len > max;
    buf_clear(b);
    if (buf_append(b, ev->str, utf8_cut(ev->str, ev->len, max)) != 0) {
        fail(r, IMPORT_ENOMEM, ev->offset, "out of memory");
        return 0;
    }
    return 1;
}

/* A time field.  Absent/null: unchanged.  Sets *t only to a plausible time. */
static void set_time(import_reader *r, jsonsax *p, const jsonsax_event *ev, long long *t,
                     const char *field) {
    char s[64];
    long long v;
    double d;
    int ok = -1;
    if (ev->kind == JSONSAX_NULL)
        return;
    if (ev->kind == JSONSAX_NUMBER) {
        ok = jsonsax_number_double(ev->str, ev->len, &d) == 0 ? import_time_epoch(d, &v) : -1;
    } else if (ev->kind == JSONSAX_STRING) {
        if (ev->len == 0)
            return;
        ok = import_time_iso8601(ev->str, ev->len, &v);
        if (ok != 0 && jsonsax_number_double(ev->str, ev->len, &d) == 0)
            ok = import_time_epoch(d, &v);
    } else {
        wrong_kind(r, p, ev, field, "a time");
        return;
    }
    if (ok != 0) {
        warn(r, ev->offset, "\"%s\" (byte %zu) is %s, not a time: ignored", field, ev->offset,
             shown(ev, s));
        return;
    }
    if (!plausible(v)) {
        warn(r, ev->offset,
             "\"%s\" (byte %zu) is %s, not a plausible time (outside 2010-2099): ignored", field,
             ev->offset, shown(ev, s));
        return;
    }
    *t = v;
}

/* A count (tokens, requests): a non-negative integer, as a number or a string. */
static void set_count(import_reader *r, jsonsax *p, const jsonsax_event *ev, long long *c,
                      const char *field) {
    char s[64];
    long long v;
    if (ev->kind == JSONSAX_NULL)
        return;
    if (ev->kind != JSONSAX_NUMBER && ev->kind != JSONSAX_STRING) {
        wrong_kind(r, p, ev, field, "a count");
        return;
    }
    if (jsonsax_number_int(ev->str, ev->len, &v) != 0 || v < 0) {
        warn(r, ev->offset, "\"%s\" (byte %zu) is %s, not a count: ignored", field, ev->offset,
             shown(ev, s));
        return;
    }
    *c = v;
}

static void set_usd(import_reader *r, jsonsax *p, const jsonsax_event *ev, double *u,
                    const char *field) {
    char s[64];
    double v;
    if (ev->kind == JSONSAX_NULL)
        return;
    if (ev->kind != JSONSAX_NUMBER && ev->kind != JSONSAX_STRING) {
        wrong_kind(r, p, ev, field, "an amount");
        return;
    }
    if (jsonsax_number_double(ev->str, ev->len, &v) != 0 || v < 0) {
        warn(r, ev->offset, "\"%s\" (byte %zu) is %s, not an amount in USD: ignored", field,
             ev->offset, shown(ev, s));
        return;
    }
    *u = v;
}

/* ---- conversations: state ------------------------------------------------------------------ */

static void conv_reset(conv *c) {
    buf_clear(&c->id);
    buf_clear(&c->alt_id);
    buf_clear(&c->title);
    buf_clear(&c->alt_title);
    buf_clear(&c->dmodel);
    buf_clear(&c->listed_model);
    c->has_id = c->has_alt_id = c->id_too_long = c->has_dmodel = 0;
    c->listed_models = 0;
    c->created = c->updated = c->ts_fallback = IMPORT_UNKNOWN;
    c->signature = 0;
    c->history_msgs = 0;
    c->n_msgs = 0;
    strset_clear(&c->ids);
    strset_clear(&c->models);
}

static void conv_free(conv *c) {
    buf_free(&c->id);
    buf_free(&c->alt_id);
    buf_free(&c->title);
    buf_free(&c->alt_title);
    buf_free(&c->dmodel);
    buf_free(&c->listed_model);
    free(c->msgs);
    strset_free(&c->ids);
    strset_free(&c->models);
}

static int item_begin(import_reader *r, const jsonsax_event *ev) {
    if (r->st.items >= IMPORT_MAX_ITEMS)
        return fail(r, IMPORT_ELIMIT, ev->offset, "more than %d %ss in one file", IMPORT_MAX_ITEMS,
                    item_word(r));
    r->in_item = 1;
    r->item_index = r->st.items++;
    r->item_offset = ev->offset;
    return 0;
}

/* An element of the top-level array that is not an object. */
static int item_not_object(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    char s[64];
    size_t index = r->st.items++;
    if (index == 0)
        return fail_format(r, ev->offset, "element 0 (byte %zu) is %s", ev->offset, shown(ev, s));
    if (is_container(ev))
        jsonsax_skip(p);
    r->st.skipped++;
    warn(r, ev->offset, "%s %zu (byte %zu) is %s, not an object: skipped", item_word(r), index,
         ev->offset, shown(ev, s));
    return 0;
}

/* A message's object begins.  Without an id of its own it will be called fallback (a mapping
 * or history key), else "#<i>", i its position at path level idx_level. */
static void msg_begin(import_reader *r, jsonsax *p, const jsonsax_event *ev, const char *fallback,
                      size_t idx_level, int layout_b) {
    cur_msg *cm = &r->cm;
    memset(&cm->m, 0, sizeof cm->m);
    cm->m.model = cm->m.dmodel = -1;
    cm->m.role = -1;
    cm->m.time = cm->m.tin = cm->m.tout = IMPORT_UNKNOWN;
    cm->m.tin_rank = cm->m.tout_rank = 99;
    cm->m.cost = IMPORT_UNKNOWN_USD;
    cm->m.layout_b = (unsigned char)layout_b;
    cm->level = ev->depth;
    cm->offset = ev->offset;
    cm->has_id = cm->has_model = cm->has_dmodel = 0;
    buf_clear(&cm->id);
    buf_clear(&cm->model);
    buf_clear(&cm->dmodel);
    buf_clear(&cm->fallback);
    if (fallback && fallback[0]) {
        buf_append_str(&cm->fallback, fallback);
    } else {
        /* "#<index in its array>" */
        jsonsax_level l;
        size_t idx = 0;
        if (jsonsax_path(p, idx_level, &l) == 0)
            idx = l.index;
        buf_printf(&cm->fallback, "#%zu", idx);
        cm->m.no_id = 1;
    }
    r->in_msg = 1;
}

/* Interns a model name in the conversation's set; -1 when out of memory. */
static long intern_model(import_reader *r, const buf *name) {
    size_t idx;
    if (strset_get(&r->c.models, name->data ? name->data : "", name->len, &idx) < 0) {
        fail(r, IMPORT_ENOMEM, r->cm.offset, "out of memory");
        return -1;
    }
    return (long)idx;
}

static void merge(msg *into, const msg *from) {
    if (into->role < 0)
        into->role = from->role;
    if (into->model < 0)
        into->model = from->model;
    if (into->dmodel < 0)
        into->dmodel = from->dmodel;
    if (into->time == IMPORT_UNKNOWN)
        into->time = from->time;
    if (from->tin_rank < into->tin_rank) {
        into->tin = from->tin;
        into->tin_rank = from->tin_rank;
    }
    if (from->tout_rank < into->tout_rank) {
        into->tout = from->tout;
        into->tout_rank = from->tout_rank;
    }
    if (into->cost < 0)
        into->cost = from->cost;
    into->hidden |= from->hidden;
    into->nonempty |= from->nonempty;
    if (!into->ct_seen) {
        into->ct_seen = from->ct_seen;
        into->ct_answer = from->ct_answer;
    }
    into->no_id &= from->no_id;
    into->layout_b |= from->layout_b;
}

/* The message object ended: keep it, merge it with its earlier copy, or drop it. */
static int msg_end(import_reader *r) {
    cur_msg *cm = &r->cm;
    conv *c = &r->c;
    msg m = cm->m;
    r->in_msg = 0;
    if (r->fmt == IMPORT_CHATGPT && (m.hidden || (m.role == IMPORT_ROLE_SYSTEM && !m.nonempty))) {
        r->st.hidden_messages++;
        return 0;
    }
    if (cm->has_model && cm->model.len && (m.model = intern_model(r, &cm->model)) < 0)
        return r->status;
    if (cm->has_dmodel && cm->dmodel.len && (m.dmodel = intern_model(r, &cm->dmodel)) < 0)
        return r->status;
    const buf *id = cm->has_id && cm->id.len ? &cm->id : &cm->fallback;
    if (id == &cm->id)
        m.no_id = 0;
    size_t idx;
    int found = strset_get(&c->ids, id->data, id->len, &idx);
    if (found < 0)
        return fail(r, IMPORT_ENOMEM, cm->offset, "out of memory");
    if (m.layout_b)
        c->history_msgs++;
    if (found) {
        merge(&c->msgs[c->ids.ents[idx].val], &m);
        return 0;
    }
    if (c->n_msgs >= IMPORT_MAX_MESSAGES)
        return fail(r, IMPORT_ELIMIT, cm->offset, "more than %d messages in one %s",
                    IMPORT_MAX_MESSAGES, item_word(r));
    if (c->n_msgs == c->msgs_cap) {
        size_t cap = c->msgs_cap ? c->msgs_cap * 2 : 64;
        msg *nm = realloc(c->msgs, cap * sizeof *nm);
        if (!nm)
            return fail(r, IMPORT_ENOMEM, cm->offset, "out of memory");
        c->msgs = nm;
        c->msgs_cap = cap;
    }
    m.id = idx;
    c->ids.ents[idx].val = c->n_msgs;
    c->msgs[c->n_msgs++] = m;
    return 0;
}

static int reserve_out(import_reader *r, size_t n_msgs, size_t n_models) {
    if (n_msgs > r->out_msgs_cap) {
        import_message *m = realloc(r->out_msgs, n_msgs * sizeof *m);
        if (!m)
            return -1;
        r->out_msgs = m;
        r->out_msgs_cap = n_msgs;
    }
    if (n_models > r->out_models_cap) {
        import_model_use *u = realloc(r->out_models, n_models * sizeof *u);
        if (!u)
            return -1;
        r->out_models = u;
        r->out_models_cap = n_models;
    }
    return 0;
}

static void add_known(long long *sum, long long v) {
    if (v == IMPORT_UNKNOWN)
        return;
    *sum = *sum == IMPORT_UNKNOWN ? v : *sum + v;
}

static void add_usd(double *sum, double v) {
    if (v < 0)
        return;
    *sum = *sum < 0 ? v : *sum + v;
}

/* The conversation object ended: check it and deliver it. */
static int conv_end(import_reader *r) {
    conv *c = &r->c;
    const char *word = item_word(r);
    if (!c->signature) {
        if (r->item_index == 0)
            return fail_format(r, r->item_offset, "%s 0 (byte %zu) has no %s", word, r->item_offset,
                               r->fmt == IMPORT_CHATGPT  ? "\"mapping\""
                               : r->fmt == IMPORT_CLAUDE ? "\"chat_messages\""
                                                         : "\"chat\"");
        r->st.skipped++;
        warn(r, r->item_offset, "no %s: not a %s, skipped",
             r->fmt == IMPORT_CHATGPT  ? "\"mapping\""
             : r->fmt == IMPORT_CLAUDE ? "\"chat_messages\""
                                       : "\"chat\"",
             word);
        return 0;
    }
    const buf *id = c->has_id && c->id.len           ? &c->id
                    : c->has_alt_id && c->alt_id.len ? &c->alt_id
                                                     : NULL;
    if (!id) {
        r->st.skipped++;
        warn(r, r->item_offset, "no id (%s): skipped",
             r->fmt == IMPORT_CHATGPT  ? "\"id\" or \"conversation_id\""
             : r->fmt == IMPORT_CLAUDE ? "\"uuid\""
                                       : "\"id\" or \"chat.id\"");
        return 0;
    }
    if (id == &c->id && c->id_too_long) {
        r->st.skipped++;
        warn(r, r->item_offset, "an id longer than %d bytes: skipped", IMPORT_MAX_ID);
        return 0;
    }
    size_t slot;
    int found = strset_get(&r->item_ids, id->data, id->len, &slot);
    if (found < 0)
        return fail(r, IMPORT_ENOMEM, r->item_offset, "out of memory");
    if (found) {
        r->st.duplicates++;
        sent *e = &r->item_ids.ents[slot];
        if (!(e->val & 1)) {
            e->val |= 1;
            warn(r, r->item_offset,
                 "the id \"%.80s\" was already used by %s %zu: this copy and any later one are "
                 "skipped",
                 id->data, word, e->val >> 1);
        }
        return 0;
    }
    r->item_ids.ents[slot].val = r->item_index << 1;

    /* Open WebUI: messages without an id from chat.messages duplicate history's. */
    size_t n = 0;
    for (size_t i = 0; i < c->n_msgs; i++) {
        msg *m = &c->msgs[i];
        m->dropped = r->fmt == IMPORT_OPENWEBUI && c->history_msgs && m->no_id && !m->layout_b;
        n += !m->dropped;
    }

    /* The conversation's default model for assistant messages without one. */
    long conv_model = -1;
    if (r->fmt == IMPORT_CHATGPT && c->has_dmodel && c->dmodel.len)
        conv_model = intern_model(r, &c->dmodel);
    else if (r->fmt == IMPORT_OPENWEBUI && c->listed_models == 1 && c->listed_model.len)
        conv_model = intern_model(r, &c->listed_model);
    if (r->status)
        return r->status;

    if (reserve_out(r, n, c->models.n) != 0)
        return fail(r, IMPORT_ENOMEM, r->item_offset, "out of memory");

    import_conversation out;
    memset(&out, 0, sizeof out);
    out.first_message = out.last_message = IMPORT_UNKNOWN;
    for (size_t i = 0; i < c->n_msgs; i++) {
        const msg *m = &c->msgs[i];
        if (m->dropped || m->time == IMPORT_UNKNOWN)
            continue;
        if (out.first_message == IMPORT_UNKNOWN || m->time < out.first_message)
            out.first_message = m->time;
        if (out.last_message == IMPORT_UNKNOWN || m->time > out.last_message)
            out.last_message = m->time;
    }
    out.created = c->created != IMPORT_UNKNOWN       ? c->created
                  : c->ts_fallback != IMPORT_UNKNOWN ? c->ts_fallback
                                                     : out.first_message;
    out.updated = c->updated != IMPORT_UNKNOWN         ? c->updated
                  : out.last_message != IMPORT_UNKNOWN ? out.last_message
                                                       : out.created;
    out.tokens_in = out.tokens_out = IMPORT_UNKNOWN;
    out.cost_usd = IMPORT_UNKNOWN_USD;

    import_model_use *use = r->out_models;
    for (size_t k = 0; k < c->models.n; k++) {
        use[k].model = strset_key(&c->models, k);
        use[k].messages = 0;
        use[k].tokens_in = use[k].tokens_out = IMPORT_UNKNOWN;
        use[k].cost_usd = IMPORT_UNKNOWN_USD;
    }
    size_t k = 0;
    for (size_t i = 0; i < c->n_msgs; i++) {
        const msg *m = &c->msgs[i];
        if (m->dropped)
            continue;
        import_message *o = &r->out_msgs[k++];
        int role = m->role < 0 ? IMPORT_ROLE_OTHER : m->role;
        if (r->fmt == IMPORT_CHATGPT && role == IMPORT_ROLE_ASSISTANT && m->ct_seen &&
            !m->ct_answer)
            role = IMPORT_ROLE_OTHER;
        long model = m->model;
        if (model < 0 && role == IMPORT_ROLE_ASSISTANT)
            model = m->dmodel >= 0 ? m->dmodel : conv_model;
        o->id = strset_key(&c->ids, m->id);
        o->role = (import_role)role;
        o->model = model >= 0 ? strset_key(&c->models, (size_t)model) : NULL;
        o->time = m->time != IMPORT_UNKNOWN ? m->time : out.created;
        o->time_estimated = m->time == IMPORT_UNKNOWN;
        o->tokens_in = m->tin;
        o->tokens_out = m->tout;
        o->cost_usd = m->cost;
        if (role == IMPORT_ROLE_USER)
            out.user_messages++;
        else if (role == IMPORT_ROLE_ASSISTANT)
            out.assistant_messages++;
        else
            out.other_messages++;
        if (m->tin != IMPORT_UNKNOWN || m->tout != IMPORT_UNKNOWN)
            out.messages_with_tokens++;
        add_known(&out.tokens_in, m->tin);
        add_known(&out.tokens_out, m->tout);
        add_usd(&out.cost_usd, m->cost);
        if (role == IMPORT_ROLE_ASSISTANT && model >= 0) {
            import_model_use *u = &use[model];
            u->messages++;
            add_known(&u->tokens_in, m->tin);
            add_known(&u->tokens_out, m->tout);
            add_usd(&u->cost_usd, m->cost);
        }
    }
    /* Keep the models with answers, in order of first mention. */
    size_t nm = 0;
    for (size_t j = 0; j < c->models.n; j++)
        if (use[j].messages)
            use[nm++] = use[j];

    out.source = r->fmt;
    out.index = r->item_index;
    out.offset = r->item_offset;
    out.id = id->data;
    const buf *title = c->title.len ? &c->title : c->alt_title.len ? &c->alt_title : NULL;
    out.title = title ? title->data : NULL;
    out.models = use;
    out.n_models = nm;
    out.messages = r->out_msgs;
    out.n_messages = n;
    r->st.conversations++;
    r->st.messages += n;
    if (!r->cb.conversation)
        return 0;
    r->in_cb = 1;
    int stop = r->cb.conversation(r->ud, &out);
    r->in_cb = 0;
    if (stop)
        return fail(r, IMPORT_STOPPED, r->item_offset, "stopped by the caller");
    return 0;
}

/* ---- ChatGPT ------------------------------------------------------------------------------ */

static int chatgpt_message(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    cur_msg *cm = &r->cm;
    size_t L = cm->level, d = ev->depth;
    const char *f = key_at(p, L);
    if (d == L + 1) {
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "id") && !is(ev, "author") && !is(ev, "create_time") &&
                !is(ev, "content") && !is(ev, "metadata"))
                jsonsax_skip(p);
            return 0;
        }
        if (streq(f, "id")) {
            cm->has_id = set_str(r, p, ev, &cm->id, IMPORT_MAX_ID, "id", NULL);
        } else if (streq(f, "create_time")) {
            set_time(r, p, ev, &cm->m.time, "create_time");
        } else if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT) {
            if (ev->kind != JSONSAX_END_ARRAY)
                wrong_kind(r, p, ev, f, "an object");
        }
        return 0;
    }
    const char *g = key_at(p, L + 1);
    if (streq(f, "author")) {
        if (d != L + 2)
            return 0;
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "role"))
                jsonsax_skip(p);
        } else if (streq(g, "role")) {
            if (ev->kind != JSONSAX_STRING) {
                wrong_kind(r, p, ev, "role", "a string");
            } else {
                cm->m.role = is(ev, "user")        ? IMPORT_ROLE_USER
                             : is(ev, "assistant") ? IMPORT_ROLE_ASSISTANT
                             : is(ev, "system")    ? IMPORT_ROLE_SYSTEM
                             : is(ev, "tool")      ? IMPORT_ROLE_TOOL
                                                   : IMPORT_ROLE_OTHER;
            }
        }
        return 0;
    }
    if (streq(f, "content")) {
        if (d == L + 2) {
            if (ev->kind == JSONSAX_KEY) {
                if (!is(ev, "content_type") && !is(ev, "parts") && !is(ev, "text"))
                    jsonsax_skip(p);
            } else if (streq(g, "content_type") && ev->kind == JSONSAX_STRING) {
                cm->m.ct_seen = 1;
                cm->m.ct_answer = is(ev, "text") || is(ev, "multimodal_text");
            } else if (streq(g, "text") && ev->kind == JSONSAX_STRING) {
                cm->m.nonempty |= ev->full_len > 0;
            } else if (ev->kind == JSONSAX_BEGIN_OBJECT) {
                jsonsax_skip(p);
            }
        } else if (d == L + 3 && streq(g, "parts")) {
            /* A part: a string, or an object (an image, a file): only emptiness matters. */
            if (ev->kind == JSONSAX_STRING)
                cm->m.nonempty |= ev->full_len > 0;
            else if (is_container(ev))
                cm->m.nonempty = 1;
            if (is_container(ev))
                jsonsax_skip(p);
        }
        return 0;
    }
    if (streq(f, "metadata") && d == L + 2) {
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "model_slug") && !is(ev, "default_model_slug") &&
                !is(ev, "is_visually_hidden_from_conversation"))
                jsonsax_skip(p);
        } else if (streq(g, "model_slug")) {
            cm->has_model = set_str(r, p, ev, &cm->model, IMPORT_MAX_MODEL, "model_slug", NULL);
        } else if (streq(g, "default_model_slug")) {
            cm->has_dmodel =
                set_str(r, p, ev, &cm->dmodel, IMPORT_MAX_MODEL, "default_model_slug", NULL);
        } else if (streq(g, "is_visually_hidden_from_conversation")) {
            cm->m.hidden = ev->kind == JSONSAX_TRUE;
        }
    }
    return 0;
}

static int chatgpt_event(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    conv *c = &r->c;
    size_t d = ev->depth;
    const char *f = key_at(p, 1);
    if (d == 2) {
        if (ev->kind == JSONSAX_KEY) {
            if (is(ev, "mapping"))
                c->signature = 1;
            else if (!is(ev, "title") && !is(ev, "create_time") && !is(ev, "update_time") &&
                     !is(ev, "id") && !is(ev, "conversation_id") && !is(ev, "default_model_slug"))
                jsonsax_skip(p);
            return 0;
        }
        if (streq(f, "mapping")) {
            if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                ev->kind != JSONSAX_END_ARRAY)
                wrong_kind(r, p, ev, "mapping", "an object");
        } else if (streq(f, "title")) {
            if (ev->kind != JSONSAX_NULL)
                set_str(r, p, ev, &c->title, IMPORT_MAX_TITLE, "title", NULL);
        } else if (streq(f, "create_time")) {
            set_time(r, p, ev, &c->created, "create_time");
        } else if (streq(f, "update_time")) {
            set_time(r, p, ev, &c->updated, "update_time");
        } else if (streq(f, "id")) {
            c->has_id = set_str(r, p, ev, &c->id, IMPORT_MAX_ID, "id", &c->id_too_long);
        } else if (streq(f, "conversation_id")) {
            int too_long = 0;
            c->has_alt_id =
                set_str(r, p, ev, &c->alt_id, IMPORT_MAX_ID, "conversation_id", &too_long) &&
                !too_long;
        } else if (streq(f, "default_model_slug")) {
            if (ev->kind != JSONSAX_NULL)
                c->has_dmodel =
                    set_str(r, p, ev, &c->dmodel, IMPORT_MAX_MODEL, "default_model_slug", NULL);
        }
        return r->status;
    }
    if (!streq(f, "mapping"))
        return 0;
    if (d == 3) {
        /* A node: an object keyed by its id. */
        if (ev->kind != JSONSAX_KEY && ev->kind != JSONSAX_BEGIN_OBJECT &&
            ev->kind != JSONSAX_END_OBJECT && ev->kind != JSONSAX_END_ARRAY)
            wrong_kind(r, p, ev, "mapping node", "an object");
        return 0;
    }
    if (d == 4) {
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "message"))
                jsonsax_skip(p);
        } else if (streq(key_at(p, 3), "message")) {
            if (ev->kind == JSONSAX_BEGIN_OBJECT)
                msg_begin(r, p, ev, key_at(p, 2), 2, 0);
            else if (ev->kind == JSONSAX_END_OBJECT && r->in_msg)
                return msg_end(r);
            else if (ev->kind != JSONSAX_NULL && ev->kind != JSONSAX_END_ARRAY)
                wrong_kind(r, p, ev, "message", "an object or null");
        }
        return r->status;
    }
    if (r->in_msg)
        chatgpt_message(r, p, ev);
    return r->status;
}

/* ---- Claude -------------------------------------------------------------------------------- */

static int claude_event(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    conv *c = &r->c;
    size_t d = ev->depth;
    const char *f = key_at(p, 1);
    if (d == 2) {
        if (ev->kind == JSONSAX_KEY) {
            if (is(ev, "chat_messages"))
                c->signature = 1;
            else if (!is(ev, "uuid") && !is(ev, "name") && !is(ev, "created_at") &&
                     !is(ev, "updated_at"))
                jsonsax_skip(p);
            return 0;
        }
        if (streq(f, "chat_messages")) {
            if (ev->kind != JSONSAX_BEGIN_ARRAY && ev->kind != JSONSAX_END_ARRAY &&
                ev->kind != JSONSAX_END_OBJECT)
                wrong_kind(r, p, ev, "chat_messages", "an array");
        } else if (streq(f, "uuid")) {
            c->has_id = set_str(r, p, ev, &c->id, IMPORT_MAX_ID, "uuid", &c->id_too_long);
        } else if (streq(f, "name")) {
            if (ev->kind != JSONSAX_NULL)
                set_str(r, p, ev, &c->title, IMPORT_MAX_TITLE, "name", NULL);
        } else if (streq(f, "created_at")) {
            set_time(r, p, ev, &c->created, "created_at");
        } else if (streq(f, "updated_at")) {
            set_time(r, p, ev, &c->updated, "updated_at");
        }
        return r->status;
    }
    if (!streq(f, "chat_messages"))
        return 0;
    if (d == 3) {
        if (ev->kind == JSONSAX_BEGIN_OBJECT)
            msg_begin(r, p, ev, NULL, ev->depth - 1, 0);
        else if (ev->kind == JSONSAX_END_OBJECT && r->in_msg)
            return msg_end(r);
        else if (ev->kind != JSONSAX_END_ARRAY)
            wrong_kind(r, p, ev, "chat_messages element", "an object");
        return r->status;
    }
    if (!r->in_msg || d != 4)
        return 0;
    cur_msg *cm = &r->cm;
    const char *g = key_at(p, 3);
    if (ev->kind == JSONSAX_KEY) {
        if (!is(ev, "uuid") && !is(ev, "sender") && !is(ev, "created_at") && !is(ev, "model"))
            jsonsax_skip(p);
    } else if (streq(g, "uuid")) {
        cm->has_id = set_str(r, p, ev, &cm->id, IMPORT_MAX_ID, "uuid", NULL);
    } else if (streq(g, "sender")) {
        if (ev->kind == JSONSAX_STRING)
            cm->m.role = is(ev, "human")       ? IMPORT_ROLE_USER
                         : is(ev, "assistant") ? IMPORT_ROLE_ASSISTANT
                                               : IMPORT_ROLE_OTHER;
        else
            wrong_kind(r, p, ev, "sender", "a string");
    } else if (streq(g, "created_at")) {
        set_time(r, p, ev, &cm->m.time, "created_at");
    } else if (streq(g, "model")) {
        if (ev->kind != JSONSAX_NULL)
            cm->has_model = set_str(r, p, ev, &cm->model, IMPORT_MAX_MODEL, "model", NULL);
    }
    return r->status;
}

/* ---- Open WebUI ---------------------------------------------------------------------------- */

/* Usage keys, best first: the rank decides when a message has several. */
static int usage_rank(const jsonsax_event *ev, int *is_in) {
    static const char *const in[] = {"prompt_tokens", "input_tokens", "prompt_eval_count"};
    static const char *const out[] = {"completion_tokens", "output_tokens", "eval_count"};
    for (int i = 0; i < 3; i++) {
        if (is(ev, in[i])) {
            *is_in = 1;
            return i;
        }
        if (is(ev, out[i])) {
            *is_in = 0;
            return i;
        }
    }
    return -1;
}

static int owui_message(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    cur_msg *cm = &r->cm;
    size_t L = cm->level, d = ev->depth;
    const char *f = key_at(p, L);
    if (d == L + 1) {
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "id") && !is(ev, "role") && !is(ev, "model") && !is(ev, "timestamp") &&
                !is(ev, "usage"))
                jsonsax_skip(p);
        } else if (streq(f, "id")) {
            cm->has_id = set_str(r, p, ev, &cm->id, IMPORT_MAX_ID, "id", NULL);
        } else if (streq(f, "role")) {
            if (ev->kind == JSONSAX_STRING)
                cm->m.role = is(ev, "user")        ? IMPORT_ROLE_USER
                             : is(ev, "assistant") ? IMPORT_ROLE_ASSISTANT
                             : is(ev, "system")    ? IMPORT_ROLE_SYSTEM
                             : is(ev, "tool")      ? IMPORT_ROLE_TOOL
                                                   : IMPORT_ROLE_OTHER;
            else
                wrong_kind(r, p, ev, "role", "a string");
        } else if (streq(f, "model")) {
            if (ev->kind != JSONSAX_NULL)
                cm->has_model = set_str(r, p, ev, &cm->model, IMPORT_MAX_MODEL, "model", NULL);
        } else if (streq(f, "timestamp")) {
            set_time(r, p, ev, &cm->m.time, "timestamp");
        } else if (streq(f, "usage")) {
            if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                ev->kind != JSONSAX_END_ARRAY)
                wrong_kind(r, p, ev, "usage", "an object");
        }
        return r->status;
    }
    if (d != L + 2 || !streq(f, "usage"))
        return 0;
    if (ev->kind == JSONSAX_KEY) {
        int in;
        if (usage_rank(ev, &in) < 0 && !is(ev, "cost"))
            jsonsax_skip(p);
        return 0;
    }
    jsonsax_level l;
    jsonsax_path(p, L + 1, &l);
    jsonsax_event kev = {JSONSAX_KEY, l.key, l.key_len, l.key_len, l.key_truncated, 0, 0};
    int in = 0;
    int rank = usage_rank(&kev, &in);
    if (rank >= 0) {
        long long v = IMPORT_UNKNOWN;
        set_count(r, p, ev, &v, l.key);
        if (v != IMPORT_UNKNOWN) {
            if (in && rank < cm->m.tin_rank) {
                cm->m.tin = v;
                cm->m.tin_rank = rank;
            } else if (!in && rank < cm->m.tout_rank) {
                cm->m.tout = v;
                cm->m.tout_rank = rank;
            }
        }
    } else if (streq(l.key, "cost")) {
        set_usd(r, p, ev, &cm->m.cost, "cost");
    }
    return r->status;
}

static int owui_event(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    conv *c = &r->c;
    size_t d = ev->depth;
    const char *f = key_at(p, 1);
    if (d == 2) {
        if (ev->kind == JSONSAX_KEY) {
            if (is(ev, "chat"))
                c->signature = 1;
            else if (!is(ev, "id") && !is(ev, "title") && !is(ev, "created_at") &&
                     !is(ev, "updated_at"))
                jsonsax_skip(p);
            return 0;
        }
        if (streq(f, "chat")) {
            if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                ev->kind != JSONSAX_END_ARRAY)
                wrong_kind(r, p, ev, "chat", "an object");
        } else if (streq(f, "id")) {
            c->has_id = set_str(r, p, ev, &c->id, IMPORT_MAX_ID, "id", &c->id_too_long);
        } else if (streq(f, "title")) {
            if (ev->kind != JSONSAX_NULL)
                set_str(r, p, ev, &c->title, IMPORT_MAX_TITLE, "title", NULL);
        } else if (streq(f, "created_at")) {
            set_time(r, p, ev, &c->created, "created_at");
        } else if (streq(f, "updated_at")) {
            set_time(r, p, ev, &c->updated, "updated_at");
        }
        return r->status;
    }
    if (!streq(f, "chat"))
        return 0;
    const char *g = key_at(p, 2);
    if (d == 3) {
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "id") && !is(ev, "title") && !is(ev, "models") && !is(ev, "messages") &&
                !is(ev, "history") && !is(ev, "timestamp"))
                jsonsax_skip(p);
        } else if (streq(g, "id")) {
            int too_long = 0;
            c->has_alt_id =
                set_str(r, p, ev, &c->alt_id, IMPORT_MAX_ID, "chat.id", &too_long) && !too_long;
        } else if (streq(g, "title")) {
            if (ev->kind != JSONSAX_NULL)
                set_str(r, p, ev, &c->alt_title, IMPORT_MAX_TITLE, "chat.title", NULL);
        } else if (streq(g, "timestamp")) {
            set_time(r, p, ev, &c->ts_fallback, "chat.timestamp");
        } else if (streq(g, "models") || streq(g, "messages")) {
            if (ev->kind != JSONSAX_BEGIN_ARRAY && ev->kind != JSONSAX_END_ARRAY &&
                ev->kind != JSONSAX_END_OBJECT)
                wrong_kind(r, p, ev, g, "an array");
        } else if (streq(g, "history")) {
            if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                ev->kind != JSONSAX_END_ARRAY)
                wrong_kind(r, p, ev, "history", "an object");
        }
        return r->status;
    }
    if (streq(g, "models")) {
        if (d == 4 && ev->kind == JSONSAX_STRING && ev->len) {
            if (c->listed_models++ == 0)
                set_str(r, p, ev, &c->listed_model, IMPORT_MAX_MODEL, "models", NULL);
        } else if (d == 4 && is_container(ev)) {
            jsonsax_skip(p);
        }
        return r->status;
    }
    if (streq(g, "messages")) {
        if (d == 4) {
            if (ev->kind == JSONSAX_BEGIN_OBJECT)
                msg_begin(r, p, ev, NULL, ev->depth - 1, 0);
            else if (ev->kind == JSONSAX_END_OBJECT && r->in_msg)
                return msg_end(r);
            else if (ev->kind != JSONSAX_END_ARRAY)
                wrong_kind(r, p, ev, "messages element", "an object");
            return r->status;
        }
        return r->in_msg ? owui_message(r, p, ev) : 0;
    }
    if (!streq(g, "history"))
        return 0;
    if (d == 4) {
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "messages"))
                jsonsax_skip(p);
        } else if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                   ev->kind != JSONSAX_END_ARRAY) {
            wrong_kind(r, p, ev, "history.messages", "an object");
        }
        return r->status;
    }
    if (!streq(key_at(p, 3), "messages"))
        return 0;
    if (d == 5) {
        if (ev->kind == JSONSAX_BEGIN_OBJECT)
            msg_begin(r, p, ev, key_at(p, 4), 3, 1);
        else if (ev->kind == JSONSAX_END_OBJECT && r->in_msg)
            return msg_end(r);
        else if (ev->kind != JSONSAX_KEY && ev->kind != JSONSAX_END_ARRAY)
            wrong_kind(r, p, ev, "history message", "an object");
        return r->status;
    }
    return r->in_msg ? owui_message(r, p, ev) : 0;
}

/* ---- conversations: the top level ---------------------------------------------------------- */

static int conv_top(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    char s[64];
    if (ev->depth == 0) {
        if (ev->kind == JSONSAX_BEGIN_ARRAY || ev->kind == JSONSAX_END_ARRAY)
            return 0;
        return fail_format(r, ev->offset, "the file holds %s", shown(ev, s));
    }
    if (ev->depth == 1) {
        switch (ev->kind) {
        case JSONSAX_BEGIN_OBJECT:
            if (item_begin(r, ev))
                return r->status;
            conv_reset(&r->c);
            return 0;
        case JSONSAX_END_OBJECT: {
            int rc = conv_end(r);
            r->in_item = 0;
            r->in_msg = 0;
            return rc;
        }
        case JSONSAX_END_ARRAY:
            return 0; /* a skipped element's end */
        default:
            return item_not_object(r, p, ev);
        }
    }
    if (!r->in_item)
        return 0;
    switch (r->fmt) {
    case IMPORT_CHATGPT:
        return chatgpt_event(r, p, ev);
    case IMPORT_CLAUDE:
        return claude_event(r, p, ev);
    default:
        return owui_event(r, p, ev);
    }
}

/* ---- OpenRouter activity ------------------------------------------------------------------- */

static void row_reset(row *a) {
    buf_clear(&a->date);
    buf_clear(&a->model);
    buf_clear(&a->permaslug);
    buf_clear(&a->endpoint);
    buf_clear(&a->provider);
    buf_clear(&a->workspace);
    a->usd = a->byok = IMPORT_UNKNOWN_USD;
    a->requests = a->prompt = a->completion = a->reasoning = IMPORT_UNKNOWN;
}

static void row_free(row *a) {
    buf_free(&a->date);
    buf_free(&a->model);
    buf_free(&a->permaslug);
    buf_free(&a->endpoint);
    buf_free(&a->provider);
    buf_free(&a->workspace);
}

static const char *str_or_empty(const buf *b) {
    return b->data ? b->data : "";
}

static int row_end(import_reader *r) {
    row *a = &r->a;
    long long day;
    if (a->date.len != 10 || import_time_iso8601(a->date.data, 10, &day) != 0 || !plausible(day)) {
        r->st.skipped++;
        if (a->date.len)
            warn(r, r->item_offset, "\"date\" \"%.40s\" is not a plausible YYYY-MM-DD: skipped",
                 a->date.data);
        else
            warn(r, r->item_offset, "no \"date\": skipped");
        return 0;
    }
    /* The row's key, as in the table's UNIQUE constraint; 0x1F cannot appear in the parts
     * (control characters would have been escaped and are allowed, but this is only a
     * repeat detector: a false repeat needs a field holding 0x1F). */
    buf_clear(&r->scratch);
    buf_printf(&r->scratch, "%s\x1f%s\x1f%s\x1f%s\x1f%s", a->date.data, str_or_empty(&a->endpoint),
               str_or_empty(&a->permaslug), str_or_empty(&a->provider),
               str_or_empty(&a->workspace));
    size_t slot;
    int found =
        strset_get(&r->item_ids, r->scratch.data ? r->scratch.data : "", r->scratch.len, &slot);
    if (found < 0)
        return fail(r, IMPORT_ENOMEM, r->item_offset, "out of memory");
    if (found) {
        r->st.duplicates++;
        sent *e = &r->item_ids.ents[slot];
        if (!(e->val & 1)) {
            e->val |= 1;
            warn(r, r->item_offset,
                 "the same day and endpoint as row %zu (%s, %.60s): this copy and any later one "
                 "are skipped",
                 e->val >> 1, a->date.data, str_or_empty(&a->permaslug));
        }
        return 0;
    }
    r->item_ids.ents[slot].val = r->item_index << 1;
    import_activity out;
    out.index = r->item_index;
    out.offset = r->item_offset;
    out.date = a->date.data;
    out.day = day;
    out.model = str_or_empty(&a->model);
    out.permaslug = str_or_empty(&a->permaslug);
    out.endpoint_id = str_or_empty(&a->endpoint);
    out.provider = str_or_empty(&a->provider);
    out.workspace_id = str_or_empty(&a->workspace);
    out.usd = a->usd;
    out.byok_usd = a->byok;
    out.requests = a->requests;
    out.prompt_tokens = a->prompt;
    out.completion_tokens = a->completion;
    out.reasoning_tokens = a->reasoning;
    r->st.activity_rows++;
    if (!r->cb.activity)
        return 0;
    r->in_cb = 1;
    int stop = r->cb.activity(r->ud, &out);
    r->in_cb = 0;
    if (stop)
        return fail(r, IMPORT_STOPPED, r->item_offset, "stopped by the caller");
    return 0;
}

/* Field names: the API's snake_case, and the SDKs' camelCase. */
static int row_field(const char *k, const char *snake, const char *camel) {
    return streq(k, snake) || (camel && streq(k, camel));
}

static int openrouter_event(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    char s[64];
    size_t d = ev->depth;
    if (d == 0) {
        if (ev->kind == JSONSAX_BEGIN_OBJECT || ev->kind == JSONSAX_END_OBJECT)
            return 0;
        return fail_format(r, ev->offset, "the file holds %s", shown(ev, s));
    }
    const char *f = key_at(p, 0);
    if (d == 1) {
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "data") && !is(ev, "error"))
                jsonsax_skip(p);
        } else if (streq(f, "data")) {
            if (ev->kind == JSONSAX_BEGIN_ARRAY)
                r->saw_data = 1;
            else if (ev->kind != JSONSAX_END_ARRAY)
                return fail_format(r, ev->offset, "\"data\" is %s", shown(ev, s));
        } else if (streq(f, "error")) {
            if (ev->kind == JSONSAX_STRING)
                buf_append(&r->or_error, ev->str, utf8_cut(ev->str, ev->len, 200));
            else if (ev->kind == JSONSAX_BEGIN_ARRAY)
                jsonsax_skip(p);
        }
        return r->status;
    }
    if (streq(f, "error")) {
        if (d == 2 && ev->kind == JSONSAX_KEY && !is(ev, "message"))
            jsonsax_skip(p);
        else if (d == 2 && ev->kind == JSONSAX_STRING && streq(key_at(p, 1), "message"))
            buf_append(&r->or_error, ev->str, utf8_cut(ev->str, ev->len, 200));
        return r->status;
    }
    if (!streq(f, "data"))
        return 0;
    if (d == 2) {
        switch (ev->kind) {
        case JSONSAX_BEGIN_OBJECT:
            if (item_begin(r, ev))
                return r->status;
            row_reset(&r->a);
            return 0;
        case JSONSAX_END_OBJECT: {
            int rc = row_end(r);
            r->in_item = 0;
            return rc;
        }
        case JSONSAX_END_ARRAY:
            return 0;
        default:
            return item_not_object(r, p, ev);
        }
    }
    if (d != 3 || !r->in_item)
        return 0;
    if (ev->kind == JSONSAX_KEY) {
        /* clang-format off */
        static const char *const keep[] = {
            "date", "model", "model_permaslug", "modelPermaslug", "endpoint_id", "endpointId",
            "provider_name", "providerName", "workspace_id", "workspaceId", "usage",
            "byok_usage_inference", "byokUsageInference", "requests", "prompt_tokens",
            "promptTokens", "completion_tokens", "completionTokens", "reasoning_tokens",
            "reasoningTokens"};
        /* clang-format on */
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
            if (is(ev, keep[i]))
                return 0;
        jsonsax_skip(p);
        return 0;
    }
    row *a = &r->a;
    const char *k = key_at(p, 2);
    if (streq(k, "date"))
        set_str(r, p, ev, &a->date, 16, "date", NULL);
    else if (streq(k, "model"))
        set_str(r, p, ev, &a->model, IMPORT_MAX_MODEL, "model", NULL);
    else if (row_field(k, "model_permaslug", "modelPermaslug"))
        set_str(r, p, ev, &a->permaslug, IMPORT_MAX_MODEL, k, NULL);
    else if (row_field(k, "endpoint_id", "endpointId"))
        set_str(r, p, ev, &a->endpoint, IMPORT_MAX_ID, k, NULL);
    else if (row_field(k, "provider_name", "providerName"))
        set_str(r, p, ev, &a->provider, IMPORT_MAX_MODEL, k, NULL);
    else if (row_field(k, "workspace_id", "workspaceId"))
        set_str(r, p, ev, &a->workspace, IMPORT_MAX_ID, k, NULL);
    else if (streq(k, "usage"))
        set_usd(r, p, ev, &a->usd, k);
    else if (row_field(k, "byok_usage_inference", "byokUsageInference"))
        set_usd(r, p, ev, &a->byok, k);
    else if (streq(k, "requests"))
        set_count(r, p, ev, &a->requests, k);
    else if (row_field(k, "prompt_tokens", "promptTokens"))
        set_count(r, p, ev, &a->prompt, k);
    else if (row_field(k, "completion_tokens", "completionTokens"))
        set_count(r, p, ev, &a->completion, k);
    else if (row_field(k, "reasoning_tokens", "reasoningTokens"))
        set_count(r, p, ev, &a->reasoning, k);
    return r->status;
}

/* ---- the reader ---------------------------------------------------------------------------- */

static int on_json(void *ud, jsonsax *p, const jsonsax_event *ev) {
    import_reader *r = ud;
    r->started = 1;
    int rc = r->fmt == IMPORT_OPENROUTER ? openrouter_event(r, p, ev) : conv_top(r, p, ev);
    return rc != 0 || r->status != 0 || r->fmt_pending;
}

import_reader *import_reader_new(import_format format, const import_callbacks *cb, void *ud) {
    if (!cb || format < IMPORT_CHATGPT || format > IMPORT_OPENROUTER)
        return NULL;
    import_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->fmt = format;
    r->cb = *cb;
    r->ud = ud;
    r->err_index = -1;
    jsonsax_options o = {IMPORT_MAX_DEPTH, STRING_CAP};
    r->js = jsonsax_new(&o, on_json, r);
    if (!r->js) {
        free(r);
        return NULL;
    }
    return r;
}

void import_reader_free(import_reader *r) {
    if (!r)
        return;
    jsonsax_free(r->js);
    buf_free(&r->prefix);
    buf_free(&r->scratch);
    buf_free(&r->cm.id);
    buf_free(&r->cm.fallback);
    buf_free(&r->cm.model);
    buf_free(&r->cm.dmodel);
    conv_free(&r->c);
    row_free(&r->a);
    strset_free(&r->item_ids);
    buf_free(&r->or_error);
    free(r->out_msgs);
    free(r->out_models);
    free(r);
}

/* Turns a jsonsax failure into the reader's. */
static int json_failed(import_reader *r, int jrc) {
    char ctx[128];
    item_context(r, ctx, sizeof ctx);
    size_t at = jsonsax_error_offset(r->js);
    const char *why = jsonsax_error(r->js);
    switch (jrc) {
    case JSONSAX_ESYNTAX:
        if (!r->started) {
            r->fmt_not_json = 1;
            return fail_format(r, at, ": at byte %zu, %s", at, why);
        }
        return fail(r, IMPORT_EJSON, at, "invalid JSON at byte %zu (line %zu, column %zu)%s: %s",
                    at, jsonsax_error_line(r->js), jsonsax_error_column(r->js), ctx, why);
    case JSONSAX_EDEPTH:
        return fail(r, IMPORT_ELIMIT, at, "the JSON nests more than %d levels at byte %zu%s",
                    IMPORT_MAX_DEPTH, at, ctx);
    case JSONSAX_ELIMIT:
        return fail(r, IMPORT_ELIMIT, at, "%s, at byte %zu%s", why, at, ctx);
    case JSONSAX_EEOF:
        if (!r->started)
            return fail_format(r, at, "the file is empty");
        return fail(r, IMPORT_ETRUNCATE, at,
                    "the file ends at byte %zu in the middle of the export%s: %s; was it cut "
                    "short?",
                    at, ctx, why);
    default:
        return fail(r, IMPORT_ENOMEM, at, "out of memory");
    }
}

int import_reader_feed(import_reader *r, const char *data, size_t len) {
    if (r->in_cb)
        return IMPORT_EBUSY;
    if (r->status)
        return r->status;
    if (len == 0)
        return IMPORT_OK;
    if (r->prefix.len < IMPORT_DETECT_BYTES) {
        size_t n = IMPORT_DETECT_BYTES - r->prefix.len;
        if (buf_append(&r->prefix, data, n < len ? n : len) != 0)
            return fail(r, IMPORT_ENOMEM, r->st.bytes, "out of memory");
    }
    r->st.bytes += len;
    if (!r->fmt_pending) {
        int jrc = jsonsax_feed(r->js, data, len);
        if (r->status)
            return r->status;
        if (jrc < 0 && jrc != JSONSAX_EBUSY)
            json_failed(r, jrc);
        if (r->status)
            return r->status;
    }
    if (r->fmt_pending && r->prefix.len >= IMPORT_DETECT_BYTES)
        return format_now(r);
    return IMPORT_OK;
}

int import_reader_finish(import_reader *r) {
    if (r->in_cb)
        return IMPORT_EBUSY;
    if (r->status)
        return r->status;
    if (r->fmt_pending)
        return format_now(r);
    int jrc = jsonsax_finish(r->js);
    if (r->status)
        return r->status;
    if (jrc < 0 && jrc != JSONSAX_STOPPED)
        json_failed(r, jrc);
    if (r->fmt_pending)
        return format_now(r);
    if (r->status)
        return r->status;
    if (r->fmt == IMPORT_OPENROUTER && !r->saw_data) {
        if (r->or_error.len)
            return fail(r, IMPORT_EFORMAT, 0,
                        "OpenRouter answered with an error instead of activity: %s",
                        r->or_error.data);
        fail_format(r, 0, "the object has no \"data\"");
        return format_now(r);
    }
    if (r->st.warnings > r->warnings_delivered && r->cb.warning &&
        r->warnings_delivered == IMPORT_MAX_WARNINGS) {
        char m[96];
        snprintf(m, sizeof m, "and %zu more warnings not shown",
                 r->st.warnings - r->warnings_delivered);
        import_warning w = {m, r->st.bytes, -1};
        r->warnings_delivered++;
        r->in_cb = 1;
        r->cb.warning(r->ud, &w);
        r->in_cb = 0;
    }
    return IMPORT_OK;
}

const char *import_reader_error(const import_reader *r) {
    return r->status < 0 ? r->err : "";
}

size_t import_reader_error_offset(const import_reader *r) {
    return r->err_offset;
}

long import_reader_error_index(const import_reader *r) {
    return r->status < 0 ? r->err_index : -1;
}

const import_stats *import_reader_stats(const import_reader *r) {
    return &r->st;
}

/* ---- detection ---------------------------------------------------------------------------- */

typedef struct detect {
    import_format found;
    int top; /* 1: array, 2: object */
} detect;

static int on_detect(void *ud, jsonsax *p, const jsonsax_event *ev) {
    detect *dt = ud;
    if (ev->depth == 0) {
        if (ev->kind == JSONSAX_BEGIN_ARRAY)
            dt->top = 1;
        else if (ev->kind == JSONSAX_BEGIN_OBJECT)
            dt->top = 2;
        return dt->top == 0 ||
               (ev->kind != JSONSAX_BEGIN_ARRAY && ev->kind != JSONSAX_BEGIN_OBJECT);
    }
    if (dt->top == 1) {
        jsonsax_level l;
        if (jsonsax_path(p, 0, &l) == 0 && l.index >= 4)
            return 1; /* the first elements told nothing */
        if (ev->depth == 2 && ev->kind == JSONSAX_KEY) {
            if (is(ev, "mapping"))
                dt->found = IMPORT_CHATGPT;
            else if (is(ev, "chat_messages"))
                dt->found = IMPORT_CLAUDE;
            else if (is(ev, "chat"))
                dt->found = IMPORT_OPENWEBUI;
            else
                jsonsax_skip(p);
            return dt->found != IMPORT_FORMAT_UNKNOWN;
        }
        return 0;
    }
    /* An object: {"data": [ {activity row}, ... ]}.  Skipped values give no events, so
     * the only non-key events at depth 1 are those of "data" itself. */
    if (ev->depth == 1) {
        if (ev->kind == JSONSAX_KEY) {
            if (!is(ev, "data"))
                jsonsax_skip(p);
            return 0;
        }
        if (ev->kind == JSONSAX_BEGIN_ARRAY)
            return 0;
        if (ev->kind == JSONSAX_END_ARRAY)
            dt->found = IMPORT_OPENROUTER; /* {"data": []}: no activity in the period */
        return 1;
    }
    if (ev->depth == 2)
        return ev->kind != JSONSAX_BEGIN_OBJECT; /* a row's end without the marks: unknown */
    if (ev->depth == 3 && ev->kind == JSONSAX_KEY) {
        if (is(ev, "model_permaslug") || is(ev, "endpoint_id") || is(ev, "modelPermaslug") ||
            is(ev, "endpointId") || is(ev, "byok_usage_inference")) {
            dt->found = IMPORT_OPENROUTER;
            return 1;
        }
        jsonsax_skip(p);
    }
    return 0;
}

import_format import_detect(const char *bytes, size_t len) {
    detect dt = {IMPORT_FORMAT_UNKNOWN, 0};
    if (!bytes || len == 0)
        return IMPORT_FORMAT_UNKNOWN;
    jsonsax_options o = {IMPORT_MAX_DEPTH, STRING_CAP};
    jsonsax *p = jsonsax_new(&o, on_detect, &dt);
    if (!p)
        return IMPORT_FORMAT_UNKNOWN;
    jsonsax_feed(p, bytes, len);
    jsonsax_free(p);
    return dt.found;
}

/* ---- SQL ---------------------------------------------------------------------------------- */

const char import_schema_sql[] =
    "CREATE TABLE imported_conversations (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source TEXT NOT NULL,\n"
    "  external_id TEXT NOT NULL,\n"
    "  title TEXT,\n"
    "  created_unix INTEGER,\n"
    "  updated_unix INTEGER,\n"
    "  first_message_unix INTEGER,\n"
    "  last_message_unix INTEGER,\n"
    "  user_messages INTEGER NOT NULL,\n"
    "  assistant_messages INTEGER NOT NULL,\n"
    "  other_messages INTEGER NOT NULL,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  cost_usd REAL,\n"
    "  imported_unix INTEGER NOT NULL,\n"
    "  UNIQUE (source, external_id)\n"
    ");\n"
    "CREATE TABLE imported_messages (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  conversation INTEGER NOT NULL REFERENCES imported_conversations (id) ON DELETE CASCADE,\n"
    "  source TEXT NOT NULL,\n"
    "  external_id TEXT NOT NULL,\n"
    "  role TEXT NOT NULL,\n"
    "  model TEXT,\n"
    "  at_unix INTEGER,\n"
    "  at_estimated INTEGER NOT NULL DEFAULT 0,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  cost_usd REAL,\n"
    "  UNIQUE (conversation, external_id)\n"
    ");\n"
    "CREATE INDEX imported_messages_at ON imported_messages (at_unix);\n"
    "CREATE TABLE imported_activity (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source TEXT NOT NULL,\n"
    "  day TEXT NOT NULL,\n"
    "  day_unix INTEGER NOT NULL,\n"
    "  model TEXT NOT NULL,\n"
    "  model_permaslug TEXT NOT NULL,\n"
    "  endpoint_id TEXT NOT NULL,\n"
    "  provider TEXT NOT NULL,\n"
    "  workspace_id TEXT NOT NULL DEFAULT '',\n"
    "  usd REAL,\n"
    "  byok_usd REAL,\n"
    "  requests INTEGER,\n"
    "  prompt_tokens INTEGER,\n"
    "  completion_tokens INTEGER,\n"
    "  reasoning_tokens INTEGER,\n"
    "  imported_unix INTEGER NOT NULL,\n"
    "  UNIQUE (source, day, endpoint_id, model_permaslug, provider, workspace_id)\n"
    ");\n";

const char import_sql_upsert_conversation[] =
    "INSERT INTO imported_conversations (source, external_id, title, created_unix, "
    "updated_unix, first_message_unix, last_message_unix, user_messages, assistant_messages, "
    "other_messages, prompt_tokens, completion_tokens, cost_usd, imported_unix) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
    "ON CONFLICT (source, external_id) DO UPDATE SET title = excluded.title, "
    "created_unix = excluded.created_unix, updated_unix = excluded.updated_unix, "
    "first_message_unix = excluded.first_message_unix, "
    "last_message_unix = excluded.last_message_unix, user_messages = excluded.user_messages, "
    "assistant_messages = excluded.assistant_messages, "
    "other_messages = excluded.other_messages, prompt_tokens = excluded.prompt_tokens, "
    "completion_tokens = excluded.completion_tokens, cost_usd = excluded.cost_usd, "
    "imported_unix = excluded.imported_unix "
    "WHERE excluded.updated_unix IS NULL OR imported_conversations.updated_unix IS NULL "
    "OR excluded.updated_unix >= imported_conversations.updated_unix "
    "RETURNING id";

const char import_sql_delete_messages[] = "DELETE FROM imported_messages WHERE conversation = ?1";

const char import_sql_insert_message[] =
    "INSERT INTO imported_messages (conversation, source, external_id, role, model, at_unix, "
    "at_estimated, prompt_tokens, completion_tokens, cost_usd) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const char import_sql_upsert_activity[] =
    "INSERT INTO imported_activity (source, day, day_unix, model, model_permaslug, endpoint_id, "
    "provider, workspace_id, usd, byok_usd, requests, prompt_tokens, completion_tokens, "
    "reasoning_tokens, imported_unix) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
    "ON CONFLICT (source, day, endpoint_id, model_permaslug, provider, workspace_id) "
    "DO UPDATE SET model = excluded.model, day_unix = excluded.day_unix, usd = excluded.usd, "
    "byok_usd = excluded.byok_usd, requests = excluded.requests, "
    "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, "
    "reasoning_tokens = excluded.reasoning_tokens, imported_unix = excluded.imported_unix";
