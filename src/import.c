/* import: readers for LLM usage exports, on top of jsonsax.  See include/ami/import.h.
 *
 * Each reader is a jsonsax callback that knows where it is from the event's depth and the
 * keys on the path (jsonsax_path), and asks jsonsax to skip every value it does not need, so
 * that message texts, attachments and metadata are parsed but never copied.
 *
 * This file is the driver and what every reader uses; each format's reader is a file of its
 * own (src/import_<format>.c), and the conversation formats share src/import_conversation.c
 * (the files are listed in src/import_internal.h).
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
#include "import_internal.h"

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

const char *import_item_word(const import_reader *r) {
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

int import_plausible(long long t) {
    return t >= IMPORT_TIME_MIN && t < IMPORT_TIME_MAX;
}

/* ---- failures and warnings ------------------------------------------------------------- */

/* " in conversation 3 (which begins at byte 4001)" when inside an item. */
static void item_context(const import_reader *r, char *out, size_t n) {
    if (r->in_item)
        snprintf(out, n, ", in %s %zu (which begins at byte %zu)", import_item_word(r),
                 r->item_index, r->item_offset);
    else
        out[0] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int
import_fail(import_reader *r, int code, size_t offset, const char *fmt, ...) {
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

/* EFORMAT, in two steps.  import_fail_format() notes what was wrong and stops the parsing;
 * format_now() writes the message, naming the format the file looks like: that guess reads
 * the file's first IMPORT_DETECT_BYTES, so it waits until they have all been fed (or the
 * file ended).  Failing at once would make the message depend on where the feeds were cut. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int
import_fail_format(import_reader *r, size_t offset, const char *fmt, ...) {
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
        rc = import_fail(r, IMPORT_EFORMAT, r->fmt_offset,
                         "this is not an OpenRouter activity response: expected %s; %s%s",
                         expected(r->fmt), what, hint);
    else
        rc = import_fail(r, IMPORT_EFORMAT, r->fmt_offset,
                         "this is not a%s %s export: expected %s; %s%s",
                         r->fmt == IMPORT_OPENWEBUI ? "n" : "", import_format_label(r->fmt),
                         expected(r->fmt), what, hint);
    r->err_index = r->fmt_index;
    return rc;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void
import_warn(import_reader *r, size_t offset, const char *fmt, ...) {
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
        snprintf(msgbuf, sizeof msgbuf, "%s %zu (byte %zu): %s", import_item_word(r), r->item_index,
                 r->item_offset, body);
    else
        snprintf(msgbuf, sizeof msgbuf, "%s", body);
    import_warning w = {msgbuf, offset, r->in_item ? (long)r->item_index : -1};
    r->in_cb = 1;
    r->cb.warning(r->ud, &w);
    r->in_cb = 0;
}

/* A short, printable rendering of a token's text for messages (at most 40 bytes). */
const char *import_shown(const jsonsax_event *ev, char out[64]) {
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

int import_is(const jsonsax_event *ev, const char *s) {
    return ev->len == strlen(s) && memcmp(ev->str, s, ev->len) == 0 && !ev->truncated;
}

/* The key of path level lv, or "" for an array level or a key cut short. */
const char *import_key_at(jsonsax *p, size_t lv) {
    jsonsax_level l;
    if (jsonsax_path(p, lv, &l) != 0 || !l.is_object || l.key_truncated)
        return "";
    return l.key;
}

int import_streq(const char *a, const char *b) {
    return strcmp(a, b) == 0;
}

int import_is_container(const jsonsax_event *ev) {
    return ev->kind == JSONSAX_BEGIN_OBJECT || ev->kind == JSONSAX_BEGIN_ARRAY;
}

/* A value of the wrong kind for a field: skip a container, warn, keep the field unknown. */
void import_wrong_kind(import_reader *r, jsonsax *p, const jsonsax_event *ev, const char *field,
                       const char *want) {
    char s[64];
    /* The END of a container skipped at its BEGIN still comes: it was reported then. */
    if (ev->kind == JSONSAX_END_OBJECT || ev->kind == JSONSAX_END_ARRAY)
        return;
    if (import_is_container(ev))
        jsonsax_skip(p);
    if (ev->kind != JSONSAX_NULL)
        import_warn(r, ev->offset, "\"%s\" (byte %zu) is %s, not %s: ignored", field, ev->offset,
                    import_shown(ev, s), want);
}

/* A string field (strings and numbers accepted), cut to max bytes.  Returns 1 when set. */
int import_set_str(import_reader *r, jsonsax *p, const jsonsax_event *ev, buf *b, size_t max,
                   const char *field, int *too_long) {
    if (ev->kind != JSONSAX_STRING && ev->kind != JSONSAX_NUMBER) {
        import_wrong_kind(r, p, ev, field, "a string");
        return 0;
    }
    if (too_long)
        *too_long = ev->full_len > max;
    buf_clear(b);
    if (buf_append(b, ev->str, utf8_cut(ev->str, ev->len, max)) != 0) {
        import_fail(r, IMPORT_ENOMEM, ev->offset, "out of memory");
        return 0;
    }
    return 1;
}

/* A time field.  Absent/null: unchanged.  Sets *t only to a plausible time. */
void import_set_time(import_reader *r, jsonsax *p, const jsonsax_event *ev, long long *t,
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
        import_wrong_kind(r, p, ev, field, "a time");
        return;
    }
    if (ok != 0) {
        import_warn(r, ev->offset, "\"%s\" (byte %zu) is %s, not a time: ignored", field,
                    ev->offset, import_shown(ev, s));
        return;
    }
    if (!import_plausible(v)) {
        import_warn(r, ev->offset,
                    "\"%s\" (byte %zu) is %s, not a plausible time (outside 2010-2099): ignored",
                    field, ev->offset, import_shown(ev, s));
        return;
    }
    *t = v;
}

/* A count (tokens, requests): a non-negative integer, as a number or a string. */
void import_set_count(import_reader *r, jsonsax *p, const jsonsax_event *ev, long long *c,
                      const char *field) {
    char s[64];
    long long v;
    if (ev->kind == JSONSAX_NULL)
        return;
    if (ev->kind != JSONSAX_NUMBER && ev->kind != JSONSAX_STRING) {
        import_wrong_kind(r, p, ev, field, "a count");
        return;
    }
    if (jsonsax_number_int(ev->str, ev->len, &v) != 0 || v < 0) {
        import_warn(r, ev->offset, "\"%s\" (byte %zu) is %s, not a count: ignored", field,
                    ev->offset, import_shown(ev, s));
        return;
    }
    *c = v;
}

void import_set_usd(import_reader *r, jsonsax *p, const jsonsax_event *ev, double *u,
                    const char *field) {
    char s[64];
    double v;
    if (ev->kind == JSONSAX_NULL)
        return;
    if (ev->kind != JSONSAX_NUMBER && ev->kind != JSONSAX_STRING) {
        import_wrong_kind(r, p, ev, field, "an amount");
        return;
    }
    if (jsonsax_number_double(ev->str, ev->len, &v) != 0 || v < 0) {
        import_warn(r, ev->offset, "\"%s\" (byte %zu) is %s, not an amount in USD: ignored", field,
                    ev->offset, import_shown(ev, s));
        return;
    }
    *u = v;
}

/* A role field, as ChatGPT's author.role and Open WebUI's role give it. */
void import_set_role(import_reader *r, jsonsax *p, const jsonsax_event *ev, int *role) {
    if (ev->kind != JSONSAX_STRING) {
        import_wrong_kind(r, p, ev, "role", "a string");
        return;
    }
    *role = import_is(ev, "user")        ? IMPORT_ROLE_USER
            : import_is(ev, "assistant") ? IMPORT_ROLE_ASSISTANT
            : import_is(ev, "system")    ? IMPORT_ROLE_SYSTEM
            : import_is(ev, "tool")      ? IMPORT_ROLE_TOOL
                                         : IMPORT_ROLE_OTHER;
}

/* ---- items -------------------------------------------------------------------------------- */

int import_item_begin(import_reader *r, const jsonsax_event *ev) {
    if (r->st.items >= IMPORT_MAX_ITEMS)
        return import_fail(r, IMPORT_ELIMIT, ev->offset, "more than %d %ss in one file",
                           IMPORT_MAX_ITEMS, import_item_word(r));
    r->in_item = 1;
    r->item_index = r->st.items++;
    r->item_offset = ev->offset;
    return 0;
}

/* An element of the top-level array that is not an object. */
int import_item_not_object(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    char s[64];
    size_t index = r->st.items++;
    if (index == 0)
        return import_fail_format(r, ev->offset, "element 0 (byte %zu) is %s", ev->offset,
                                  import_shown(ev, s));
    if (import_is_container(ev))
        jsonsax_skip(p);
    r->st.skipped++;
    import_warn(r, ev->offset, "%s %zu (byte %zu) is %s, not an object: skipped",
                import_item_word(r), index, ev->offset, import_shown(ev, s));
    return 0;
}

/* The repeat detector: each key of r->item_ids holds the index of the item that had it
 * first, shifted left once, and bit 0 set once a repeat of it has been reported. */
int import_item_repeated(import_reader *r, const char *key, size_t len, size_t *first) {
    size_t slot;
    int found = import_strset_get(&r->item_ids, key, len, &slot);
    if (found < 0) {
        import_fail(r, IMPORT_ENOMEM, r->item_offset, "out of memory");
        return -1;
    }
    if (!found) {
        r->item_ids.ents[slot].val = r->item_index << 1;
        return 0;
    }
    r->st.duplicates++;
    import_strset_ent *e = &r->item_ids.ents[slot];
    if (e->val & 1)
        return 2;
    e->val |= 1;
    *first = e->val >> 1;
    return 1;
}

/* ---- the reader ---------------------------------------------------------------------------- */

static int on_json(void *ud, jsonsax *p, const jsonsax_event *ev) {
    import_reader *r = ud;
    r->started = 1;
    int rc =
        r->fmt == IMPORT_OPENROUTER ? import_openrouter_event(r, p, ev) : import_conv_top(r, p, ev);
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
    import_conv_free(&r->c);
    import_activity_row_free(&r->a);
    import_strset_free(&r->item_ids);
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
            return import_fail_format(r, at, ": at byte %zu, %s", at, why);
        }
        return import_fail(r, IMPORT_EJSON, at,
                           "invalid JSON at byte %zu (line %zu, column %zu)%s: %s", at,
                           jsonsax_error_line(r->js), jsonsax_error_column(r->js), ctx, why);
    case JSONSAX_EDEPTH:
        return import_fail(r, IMPORT_ELIMIT, at, "the JSON nests more than %d levels at byte %zu%s",
                           IMPORT_MAX_DEPTH, at, ctx);
    case JSONSAX_ELIMIT:
        return import_fail(r, IMPORT_ELIMIT, at, "%s, at byte %zu%s", why, at, ctx);
    case JSONSAX_EEOF:
        if (!r->started)
            return import_fail_format(r, at, "the file is empty");
        return import_fail(
            r, IMPORT_ETRUNCATE, at,
            "the file ends at byte %zu in the middle of the export%s: %s; was it cut "
            "short?",
            at, ctx, why);
    default:
        return import_fail(r, IMPORT_ENOMEM, at, "out of memory");
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
            return import_fail(r, IMPORT_ENOMEM, r->st.bytes, "out of memory");
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
            return import_fail(r, IMPORT_EFORMAT, 0,
                               "OpenRouter answered with an error instead of activity: %s",
                               r->or_error.data);
        import_fail_format(r, 0, "the object has no \"data\"");
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
            if (import_is(ev, "mapping"))
                dt->found = IMPORT_CHATGPT;
            else if (import_is(ev, "chat_messages"))
                dt->found = IMPORT_CLAUDE;
            else if (import_is(ev, "chat"))
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
            if (!import_is(ev, "data"))
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
        if (import_is(ev, "model_permaslug") || import_is(ev, "endpoint_id") ||
            import_is(ev, "modelPermaslug") || import_is(ev, "endpointId") ||
            import_is(ev, "byok_usage_inference")) {
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
