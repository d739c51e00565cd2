/* jsonsax: a streaming JSON reader with bounded memory.  See include/ami/jsonsax.h.
 *
 * One byte-level state machine; what survives from one feed to the next is the state, the
 * container stack and the token being read (a string's first string_cap bytes, a number's
 * text, how much of a literal matched).  Nothing is ever kept from the caller's buffer.
 *
 * Between tokens (the grammar), with the containers on a stack:
 *
 *   [BOM] ── EF BB BF skipped, or any other byte ──► [VALUE_TOP]
 *
 *   a value is expected in VALUE_TOP, VALUE_COLON (after ':'), VALUE_COMMA (after ',' in an
 *   array) and ARRAY_FIRST (after '['); it starts with
 *       '{'  push object, BEGIN_OBJECT ──► [OBJECT_FIRST] ── '}' pop, END ──► after a value
 *                                               │
 *                                               └── '"' key ──► [COLON] ── ':' ──► VALUE_COLON
 *       '['  push array, BEGIN_ARRAY ──► [ARRAY_FIRST] ── ']' pop, END ──► after a value
 *       '"'  ──► STRING     '-' 0-9 ──► NUMBER     t f n ──► LITERAL
 *
 *   after a value: depth 0 ──► [DONE] (whitespace only)
 *                  else    ──► [AFTER] ── ',' ──► VALUE_COMMA (array) | KEY_COMMA (object)
 *                                      ── ']' / '}' matching the top ──► pop, END, after a value
 *   [KEY_COMMA] ── '"' key ──► [COLON]          (a '}' here is a trailing comma: an error)
 *
 * Inside a token:
 *
 *   STRING:  plain bytes (copied while they fit string_cap)
 *            ── '\' ──► ESC ── " \ / b f n r t ──► back
 *                           └─ u ──► HEX(4) ── high surrogate ──► LOW_BS ── '\' ──► LOW_U
 *                                                                   ── 'u' ──► LOW_HEX(4)
 *            a lead byte ≥ 0x80 ──► UTF-8 continuation bytes, checked against Table 3-7
 *            ── '"' ──► the KEY or STRING event, then COLON or after a value
 *            A high surrogate not followed by \u + a low one becomes U+FFFD and the byte that
 *            broke the pair is read again as if nothing were pending; a lone low one too.
 *   NUMBER:  MINUS ZERO INT DOT FRAC E ESIGN EXP (the RFC 8259 grammar); the number ends at
 *            the first byte that cannot continue it, which is then read again in AFTER/DONE
 *            (so "1x" fails there), or at finish.
 *   LITERAL: the bytes of true / false / null, one at a time.
 *
 *   any state ── a callback returns non-zero ──► stopped (final)
 *   any state ── bad byte / too deep / number too long ──► failed (final)
 *   finish ── DONE (or a number just ended at depth 0) ──► finished;  otherwise EEOF
 *
 * Skipping is a mute, not a different parser: the grammar runs unchanged, which is what makes
 * "skipping never changes acceptance" true by construction.  A KEY's skip sets skip_value: the
 * next value is muted (a scalar: its event is dropped and a string is not copied; a container:
 * mute = its depth, mute_own = 1).  A BEGIN's skip mutes what is deeper than the container
 * (mute_own = 0: its END is delivered).  While muted no callback runs, so no new skip can come.
 *
 * Reading a number's text as a value is src/jsonsax_number.c's: it needs none of this state.
 *
 * Speed: the bulk of an export is string content, so a string's runs of printable ASCII are
 * found with a table lookup per byte in a tight loop and copied (or, past the cap or muted,
 * only counted) in one piece; line numbers are counted only in whitespace, the one place an
 * LF can appear in valid JSON.
 */
#include "ami/jsonsax.h"

#include "ami/utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state {
    ST_BOM,
    ST_VALUE_TOP,
    ST_VALUE_COLON,
    ST_VALUE_COMMA,
    ST_ARRAY_FIRST,
    ST_OBJECT_FIRST,
    ST_KEY_COMMA,
    ST_COLON,
    ST_AFTER,
    ST_DONE,
    ST_STRING,
    ST_NUMBER,
    ST_LITERAL,
    ST_FINISHED,
};

/* String sub-states (escapes). */
enum { ESC_NONE, ESC_BS, ESC_HEX, ESC_LOW_BS, ESC_LOW_U, ESC_LOW_HEX };

/* Number sub-states. */
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

typedef struct level {
    size_t count;  /* members or elements begun so far */
    size_t offset; /* of the '{' or '[' */
    unsigned char is_object;
    unsigned char key_len;
    unsigned char key_trunc;
    char key[JSONSAX_PATH_KEY_CAP + 1];
} level;

struct jsonsax {
    jsonsax_fn fn;
    void *ud;
    size_t max_depth;
    size_t cap;
    int status; /* JSONSAX_OK or the final code */
    int in_cb;
    int skip_req; /* jsonsax_skip() called during the current callback */
    enum state state;

    level *stack;
    size_t depth;

    /* position */
    size_t base;     /* offset of the current feed's first byte */
    size_t consumed; /* what jsonsax_offset() reports */
    size_t line;
    size_t line_start;

    /* BOM */
    unsigned bom_n;

    /* the current token */
    size_t tok_offset;
    int tok_muted;
    /* string */
    int str_key;
    int esc;
    unsigned hex_n;
    unsigned hex_val;
    unsigned high; /* pending high surrogate */
    unsigned u8_need;
    unsigned char u8_lo, u8_hi;
    unsigned char u8[4];
    unsigned u8_n;
    char *str;
    size_t str_len;
    size_t str_full;
    int str_trunc;
    /* number */
    int num_state;
    char num[JSONSAX_MAX_NUMBER + 1];
    size_t num_len;
    /* literal */
    const char *lit;
    size_t lit_pos;
    jsonsax_kind lit_kind;

    /* skipping */
    int skip_value;
    int mute;
    int mute_own;
    size_t mute_depth;

    /* error */
    char err[192];
    size_t err_offset;
    size_t err_line;
    size_t err_col;
};

static const unsigned char bom_bytes[3] = {0xEF, 0xBB, 0xBF};

/* 1 for the bytes a string copies as they are: printable ASCII but '"' and '\' (RFC 8259
 * lets 0x7F through unescaped). */
/* clang-format off */
static const unsigned char plain_tab[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

static int plain(unsigned char c) {
    return plain_tab[c];
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The length of the run of plain bytes at the start of s[0..n).  Eight bytes at a time: a
 * word passes when none of its bytes has the high bit, is below 0x20, or equals '"' or '\'
 * (the classic "has a zero byte" / "has a byte less than" tests, which can only err by
 * flagging a clean word, never by passing a dirty one; the bytewise loop then decides). */
static size_t plain_run(const char *s, size_t n) {
    size_t i = 0;
    while (i + 8 <= n) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
        uint64_t bad = (v | ((v - ONES * 0x20) & ~v) | ((q - ONES) & ~q) | ((b - ONES) & ~b));
        if (bad & HIGHS)
            break;
        i += 8;
    }
    while (i < n && plain((unsigned char)s[i]))
        i++;
    return i;
}

jsonsax *jsonsax_new(const jsonsax_options *opt, jsonsax_fn fn, void *ud) {
    if (!fn)
        return NULL;
    jsonsax *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fn = fn;
    p->ud = ud;
    p->max_depth = opt && opt->max_depth ? opt->max_depth : JSONSAX_DEFAULT_MAX_DEPTH;
    if (p->max_depth > JSONSAX_MAX_DEPTH_LIMIT)
        p->max_depth = JSONSAX_MAX_DEPTH_LIMIT;
    p->cap = opt && opt->string_cap ? opt->string_cap : JSONSAX_DEFAULT_STRING_CAP;
    if (p->cap < JSONSAX_MIN_STRING_CAP)
        p->cap = JSONSAX_MIN_STRING_CAP;
    if (p->cap > (size_t)-1 / 2)
        p->cap = (size_t)-1 / 2;
    p->stack = malloc(p->max_depth * sizeof *p->stack);
    p->str = malloc(p->cap + 1);
    if (!p->stack || !p->str) {
        jsonsax_free(p);
        return NULL;
    }
    p->line = 1;
    p->state = ST_BOM;
    return p;
}

void jsonsax_free(jsonsax *p) {
    if (!p)
        return;
    free(p->stack);
    free(p->str);
    free(p);
}

void jsonsax_skip(jsonsax *p) {
    if (p && p->in_cb)
        p->skip_req = 1;
}

size_t jsonsax_depth(const jsonsax *p) {
    return p->depth;
}

size_t jsonsax_offset(const jsonsax *p) {
    return p->consumed;
}

const char *jsonsax_error(const jsonsax *p) {
    return p->status < 0 ? p->err : "";
}

size_t jsonsax_error_offset(const jsonsax *p) {
    return p->err_offset;
}

size_t jsonsax_error_line(const jsonsax *p) {
    return p->err_line;
}

size_t jsonsax_error_column(const jsonsax *p) {
    return p->err_col;
}

int jsonsax_path(const jsonsax *p, size_t lv, jsonsax_level *out) {
    if (lv >= p->depth)
        return -1;
    const level *l = &p->stack[lv];
    out->is_object = l->is_object;
    out->index = l->count ? l->count - 1 : 0;
    out->key = l->is_object ? l->key : NULL;
    out->key_len = l->is_object ? l->key_len : 0;
    out->key_truncated = l->is_object ? l->key_trunc : 0;
    out->offset = l->offset;
    return 0;
}

static int plain_name(const char *s, size_t n) {
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

int jsonsax_path_format(const jsonsax *p, buf *out) {
    int rc = buf_append_byte(out, '$');
    for (size_t i = 0; i < p->depth && rc == 0; i++) {
        const level *l = &p->stack[i];
        if (!l->is_object) {
            rc = buf_printf(out, "[%zu]", l->count ? l->count - 1 : 0);
            continue;
        }
        if (plain_name(l->key, l->key_len) && !l->key_trunc) {
            rc = buf_printf(out, ".%s", l->key);
            continue;
        }
        rc = buf_append_str(out, "[\"");
        for (size_t k = 0; k < l->key_len && rc == 0; k++) {
            unsigned char c = (unsigned char)l->key[k];
            if (c == '"' || c == '\\')
                rc = buf_printf(out, "\\%c", c);
            else if (c < 0x20)
                rc = buf_printf(out, "\\u%04x", c);
            else
                rc = buf_append_byte(out, (char)c);
        }
        if (rc == 0)
            rc = buf_append_str(out, l->key_trunc ? "...\"]" : "\"]");
    }
    return rc ? -1 : 0;
}

/* ---- failure ------------------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
fail(jsonsax *p, int code, size_t at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->status = code;
    p->err_offset = at;
    p->err_line = p->line;
    p->err_col = at - p->line_start + 1;
    return code;
}

/* "'x'" for printable ASCII, "byte 0xNN" otherwise. */
static const char *describe(unsigned char c, char out[16]) {
    if (c >= 0x21 && c < 0x7F)
        snprintf(out, 16, "'%c'", c);
    else if (c == ' ')
        snprintf(out, 16, "a space");
    else
        snprintf(out, 16, "byte 0x%02X", c);
    return out;
}

/* ---- events -------------------------------------------------------------------------- */

static int call(jsonsax *p, const jsonsax_event *ev) {
    p->in_cb = 1;
    p->skip_req = 0;
    int rc = p->fn(p->ud, p, ev);
    p->in_cb = 0;
    if (rc) {
        p->status = JSONSAX_STOPPED;
        return JSONSAX_STOPPED;
    }
    if (p->skip_req) {
        p->skip_req = 0;
        if (ev->kind == JSONSAX_KEY) {
            p->skip_value = 1;
        } else if (ev->kind == JSONSAX_BEGIN_OBJECT || ev->kind == JSONSAX_BEGIN_ARRAY) {
            p->mute = 1;
            p->mute_own = 0;
            p->mute_depth = ev->depth;
        }
    }
    return JSONSAX_OK;
}

static int muted_at(const jsonsax *p, size_t depth) {
    return p->mute && depth > p->mute_depth;
}

/* A scalar token (or a key) that just ended; depth is p->depth. */
static int emit_token(jsonsax *p, jsonsax_kind kind, const char *s, size_t len, size_t full,
                      int trunc) {
    if (p->tok_muted || muted_at(p, p->depth)) {
        p->tok_muted = 0;
        return JSONSAX_OK;
    }
    jsonsax_event ev = {kind, s, len, full, trunc, p->tok_offset, p->depth};
    return call(p, &ev);
}

/* ---- values -------------------------------------------------------------------------- */

static void after_value(jsonsax *p) {
    p->state = p->depth == 0 ? ST_DONE : ST_AFTER;
}

/* Counts the value as the top container's next element (arrays; objects count keys). */
static void element_begins(jsonsax *p) {
    if (p->depth && !p->stack[p->depth - 1].is_object)
        p->stack[p->depth - 1].count++;
}

static int open_container(jsonsax *p, int is_object, size_t at) {
    if (p->depth >= p->max_depth)
        return fail(p, JSONSAX_EDEPTH, at, "more than %zu nested objects and arrays", p->max_depth);
    size_t d = p->depth;
    int muted = muted_at(p, d);
    int skip = p->skip_value;
    p->skip_value = 0;
    level *l = &p->stack[p->depth++];
    l->count = 0;
    l->offset = at;
    l->is_object = (unsigned char)is_object;
    l->key_len = 0;
    l->key_trunc = 0;
    l->key[0] = '\0';
    p->state = is_object ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
    if (muted)
        return JSONSAX_OK;
    if (skip) {
        p->mute = 1;
        p->mute_own = 1;
        p->mute_depth = d;
        return JSONSAX_OK;
    }
    jsonsax_event ev = {
        is_object ? JSONSAX_BEGIN_OBJECT : JSONSAX_BEGIN_ARRAY, NULL, 0, 0, 0, at, d};
    p->consumed = at + 1;
    p->depth = d; /* the callback sees the container not yet counted, as the header says */
    int rc = call(p, &ev);
    p->depth = d + 1;
    return rc;
}

static int close_container(jsonsax *p, size_t at) {
    int is_object = p->stack[p->depth - 1].is_object;
    size_t d = --p->depth;
    after_value(p);
    if (p->mute && d == p->mute_depth) {
        p->mute = 0;
        if (p->mute_own)
            return JSONSAX_OK;
    } else if (muted_at(p, d)) {
        return JSONSAX_OK;
    }
    jsonsax_event ev = {is_object ? JSONSAX_END_OBJECT : JSONSAX_END_ARRAY, NULL, 0, 0, 0, at, d};
    p->consumed = at + 1;
    return call(p, &ev);
}

static void begin_string(jsonsax *p, int is_key, size_t at) {
    p->state = ST_STRING;
    p->str_key = is_key;
    p->tok_offset = at;
    p->esc = ESC_NONE;
    p->u8_need = 0;
    p->str_len = 0;
    p->str_full = 0;
    p->str_trunc = 0;
    /* Keys are always kept (they are short, and the path needs them); a skipped value's
     * string is not copied at all. */
    p->tok_muted = !is_key && (p->skip_value || muted_at(p, p->depth));
    if (!is_key)
        p->skip_value = 0;
}

/* What begin_value() returns when c starts no value: not a JSONSAX code (STOPPED is 1). */
#define NOT_A_VALUE 2

/* Starts the value whose first byte is c at offset at.  Returns NOT_A_VALUE when c does not
 * start a value, else a JSONSAX code. */
static int begin_value(jsonsax *p, unsigned char c, size_t at) {
    switch (c) {
    case '{':
    case '[':
        element_begins(p);
        return open_container(p, c == '{', at);
    case '"':
        element_begins(p);
        begin_string(p, 0, at);
        return JSONSAX_OK;
    case 't':
    case 'f':
    case 'n':
        element_begins(p);
        p->state = ST_LITERAL;
        p->tok_offset = at;
        p->lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
        p->lit_kind = c == 't' ? JSONSAX_TRUE : c == 'f' ? JSONSAX_FALSE : JSONSAX_NULL;
        p->lit_pos = 1;
        p->tok_muted = p->skip_value || muted_at(p, p->depth);
        p->skip_value = 0;
        return JSONSAX_OK;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            element_begins(p);
            p->state = ST_NUMBER;
            p->tok_offset = at;
            p->num[0] = (char)c;
            p->num_len = 1;
            p->num_state = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
            p->tok_muted = p->skip_value || muted_at(p, p->depth);
            p->skip_value = 0;
            return JSONSAX_OK;
        }
        return NOT_A_VALUE;
    }
}

/* ---- strings ------------------------------------------------------------------------- */

static void str_put(jsonsax *p, const char *s, size_t n) {
    if (p->tok_muted)
        return;
    p->str_full += n;
    if (p->str_trunc)
        return;
    size_t room = p->cap - p->str_len;
    if (n > room) {
        p->str_trunc = 1;
        return;
    }
    memcpy(p->str + p->str_len, s, n);
    p->str_len += n;
}

/* A run of printable ASCII: it can be cut anywhere. */
static void str_put_ascii(jsonsax *p, const char *s, size_t n) {
    if (p->tok_muted)
        return;
    p->str_full += n;
    if (p->str_trunc)
        return;
    size_t room = p->cap - p->str_len;
    if (n > room) {
        n = room;
        p->str_trunc = 1;
    }
    memcpy(p->str + p->str_len, s, n);
    p->str_len += n;
}

static void put_code_point(jsonsax *p, unsigned cp) {
    char b[4];
    str_put(p, b, utf8_encode(cp, b));
}

static int hex_digit(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A complete \uXXXX value v (p->high holds a pending high surrogate, or 0). */
static void put_escaped_unit(jsonsax *p, unsigned v) {
    if (p->high) {
        if (v >= 0xDC00 && v <= 0xDFFF) {
            put_code_point(p, 0x10000 + ((p->high - 0xD800) << 10) + (v - 0xDC00));
            p->high = 0;
            p->esc = ESC_NONE;
            return;
        }
        put_code_point(p, 0xFFFD); /* the high one was alone; v starts afresh */
        p->high = 0;
    }
    if (v >= 0xD800 && v <= 0xDBFF) {
        p->high = v;
        p->esc = ESC_LOW_BS;
        return;
    }
    put_code_point(p, v >= 0xDC00 && v <= 0xDFFF ? 0xFFFD : v);
    p->esc = ESC_NONE;
}

static int end_string(jsonsax *p, size_t at) {
    p->str[p->str_len] = '\0';
    if (p->str_key) {
        level *l = &p->stack[p->depth - 1];
        size_t n = utf8_cut(p->str, p->str_len, JSONSAX_PATH_KEY_CAP);
        memcpy(l->key, p->str, n);
        l->key[n] = '\0';
        l->key_len = (unsigned char)n;
        l->key_trunc = n < p->str_len || p->str_trunc;
        p->state = ST_COLON;
        p->consumed = at + 1;
        p->tok_muted = 0;
        return emit_token(p, JSONSAX_KEY, p->str, p->str_len, p->str_full, p->str_trunc);
    }
    after_value(p);
    p->consumed = at + 1;
    return emit_token(p, JSONSAX_STRING, p->str, p->str_len, p->str_full, p->str_trunc);
}

/* Reads string bytes from s[*i] on; returns a code, with *i past what was used.  Returns
 * early (JSONSAX_OK, state no longer ST_STRING) when the closing quote was handled. */
static int string_bytes(jsonsax *p, const char *s, size_t len, size_t *ip) {
    size_t i = *ip;
    int rc = JSONSAX_OK;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t at = p->base + i;
        if (p->u8_need) {
            if (c < p->u8_lo || c > p->u8_hi) {
                rc = fail(p, JSONSAX_ESYNTAX, at,
                          "invalid UTF-8: byte 0x%02X cannot continue "
                          "the sequence begun before it",
                          c);
                break;
            }
            p->u8[p->u8_n++] = c;
            p->u8_lo = 0x80;
            p->u8_hi = 0xBF;
            if (--p->u8_need == 0)
                str_put(p, (const char *)p->u8, p->u8_n);
            i++;
            continue;
        }
        switch (p->esc) {
        case ESC_NONE:
            if (plain(c)) {
                size_t j = i + 1 + plain_run(s + i + 1, len - i - 1);
                str_put_ascii(p, s + i, j - i);
                i = j;
                if (i == len)
                    break;
                c = (unsigned char)s[i];
                at = p->base + i;
            }
            if (c == '"') {
                *ip = i + 1;
                return end_string(p, at);
            }
            if (c == '\\') {
                p->esc = ESC_BS;
                i++;
                continue;
            }
            if (c < 0x20) {
                rc = fail(p, JSONSAX_ESYNTAX, at,
                          "unescaped control character 0x%02X in a string (write it as \\u%04X)", c,
                          c);
                break;
            }
            /* c >= 0x80: a UTF-8 lead byte (Table 3-7). */
            unsigned need;
            unsigned char lo = 0x80, hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
                need = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                if (c == 0xE0)
                    lo = 0xA0;
                else if (c == 0xED)
                    hi = 0x9F;
            } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                if (c == 0xF0)
                    lo = 0x90;
                else if (c == 0xF4)
                    hi = 0x8F;
            } else {
                rc = fail(p, JSONSAX_ESYNTAX, at,
                          "invalid UTF-8: byte 0x%02X cannot start a character", c);
                break;
            }
            if (i + need < len) {
                /* The whole sequence is here: check it in place, the same checks as below. */
                size_t k = 1;
                unsigned char d = (unsigned char)s[i + 1];
                if (d >= lo && d <= hi)
                    for (k = 2; k <= need && ((unsigned char)s[i + k] & 0xC0) == 0x80; k++)
                        ;
                if (k <= need) {
                    rc = fail(p, JSONSAX_ESYNTAX, at + k,
                              "invalid UTF-8: byte 0x%02X cannot continue the sequence begun "
                              "before it",
                              (unsigned char)s[i + k]);
                    break;
                }
                str_put(p, s + i, need + 1);
                i += need + 1;
                continue;
            }
            /* Cut by the end of this feed: byte by byte, across feeds. */
            p->u8[0] = c;
            p->u8_n = 1;
            p->u8_lo = lo;
            p->u8_hi = hi;
            p->u8_need = need;
            i++;
            continue;
        case ESC_BS: {
            char out = 0;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                out = (char)c;
                break;
            case 'b':
                out = '\b';
                break;
            case 'f':
                out = '\f';
                break;
            case 'n':
                out = '\n';
                break;
            case 'r':
                out = '\r';
                break;
            case 't':
                out = '\t';
                break;
            case 'u':
                p->esc = ESC_HEX;
                p->hex_n = 0;
                p->hex_val = 0;
                i++;
                continue;
            default: {
                char d[16];
                rc = fail(p, JSONSAX_ESYNTAX, at, "invalid escape: a backslash followed by %s",
                          describe(c, d));
                break;
            }
            }
            if (rc)
                break;
            str_put(p, &out, 1);
            p->esc = ESC_NONE;
            i++;
            continue;
        }
        case ESC_HEX:
        case ESC_LOW_HEX: {
            int h = hex_digit(c);
            if (h < 0) {
                char d[16];
                rc = fail(p, JSONSAX_ESYNTAX, at,
                          "invalid \\u escape: expected a hex digit, "
                          "found %s",
                          describe(c, d));
                break;
            }
            p->hex_val = p->hex_val << 4 | (unsigned)h;
            if (++p->hex_n == 4)
                put_escaped_unit(p, p->hex_val);
            i++;
            continue;
        }
        case ESC_LOW_BS:
            if (c == '\\') {
                p->esc = ESC_LOW_U;
                i++;
                continue;
            }
            put_code_point(p, 0xFFFD); /* lone high surrogate: read c again */
            p->high = 0;
            p->esc = ESC_NONE;
            continue;
        case ESC_LOW_U:
            if (c == 'u') {
                p->esc = ESC_LOW_HEX;
                p->hex_n = 0;
                p->hex_val = 0;
                i++;
                continue;
            }
            put_code_point(p, 0xFFFD); /* lone high surrogate, then another escape */
            p->high = 0;
            p->esc = ESC_BS;
            continue;
        default:
            break;
        }
        break;
    }
    *ip = i;
    return rc;
}

/* ---- numbers and literals ------------------------------------------------------------- */

/* 1 when the number state may end the number. */
static int number_complete(int st) {
    return st == N_ZERO || st == N_INT || st == N_FRAC || st == N_EXP;
}

static int end_number(jsonsax *p) {
    p->num[p->num_len] = '\0';
    after_value(p);
    return emit_token(p, JSONSAX_NUMBER, p->num, p->num_len, p->num_len, 0);
}

/* Returns 1 when c continues the number (consumed), 0 when the number ends before c, or a
 * negative code. */
static int number_byte(jsonsax *p, unsigned char c, size_t at) {
    int digit = c >= '0' && c <= '9';
    int next = -1;
    const char *want = NULL;
    switch (p->num_state) {
    case N_MINUS:
        if (digit)
            next = c == '0' ? N_ZERO : N_INT;
        else
            want = "a digit after '-'";
        break;
    case N_ZERO:
        if (digit)
            return fail(p, JSONSAX_ESYNTAX, at,
                        "a number cannot start with 0 followed by a "
                        "digit");
        next = c == '.' ? N_DOT : (c == 'e' || c == 'E') ? N_E : -1;
        break;
    case N_INT:
        next = digit ? N_INT : c == '.' ? N_DOT : (c == 'e' || c == 'E') ? N_E : -1;
        break;
    case N_DOT:
        if (digit)
            next = N_FRAC;
        else
            want = "a digit after the decimal point";
        break;
    case N_FRAC:
        next = digit ? N_FRAC : (c == 'e' || c == 'E') ? N_E : -1;
        break;
    case N_E:
        if (digit)
            next = N_EXP;
        else if (c == '+' || c == '-')
            next = N_ESIGN;
        else
            want = "a digit or a sign after the exponent's 'e'";
        break;
    case N_ESIGN:
        if (digit)
            next = N_EXP;
        else
            want = "a digit in the exponent";
        break;
    default: /* N_EXP */
        next = digit ? N_EXP : -1;
        break;
    }
    if (want) {
        char d[16];
        return fail(p, JSONSAX_ESYNTAX, at, "invalid number: expected %s, found %s", want,
                    describe(c, d));
    }
    if (next < 0)
        return 0;
    if (p->num_len >= JSONSAX_MAX_NUMBER)
        return fail(p, JSONSAX_ELIMIT, at, "a number longer than %d bytes", JSONSAX_MAX_NUMBER);
    p->num[p->num_len++] = (char)c;
    p->num_state = next;
    return 1;
}

/* ---- the grammar ---------------------------------------------------------------------- */

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int unexpected(jsonsax *p, unsigned char c, size_t at) {
    char d[16];
    const char *found = describe(c, d);
    switch (p->state) {
    case ST_VALUE_TOP:
        return fail(p, JSONSAX_ESYNTAX, at, "expected a JSON value, found %s", found);
    case ST_VALUE_COLON:
        return fail(p, JSONSAX_ESYNTAX, at, "expected a value after ':', found %s", found);
    case ST_VALUE_COMMA:
        if (c == ']')
            return fail(p, JSONSAX_ESYNTAX, at, "trailing comma before ']'");
        return fail(p, JSONSAX_ESYNTAX, at, "expected a value after ',', found %s", found);
    case ST_ARRAY_FIRST:
        return fail(p, JSONSAX_ESYNTAX, at, "expected a value or ']' after '[', found %s", found);
    case ST_OBJECT_FIRST:
        return fail(p, JSONSAX_ESYNTAX, at, "expected a string key or '}' after '{', found %s",
                    found);
    case ST_KEY_COMMA:
        if (c == '}')
            return fail(p, JSONSAX_ESYNTAX, at, "trailing comma before '}'");
        return fail(p, JSONSAX_ESYNTAX, at, "expected a string key after ',', found %s", found);
    case ST_COLON:
        return fail(p, JSONSAX_ESYNTAX, at, "expected ':' after an object key, found %s", found);
    case ST_AFTER:
        if (p->stack[p->depth - 1].is_object)
            return fail(p, JSONSAX_ESYNTAX, at,
                        "expected ',' or '}' after an object member, found %s", found);
        return fail(p, JSONSAX_ESYNTAX, at, "expected ',' or ']' after an array element, found %s",
                    found);
    default:
        return fail(p, JSONSAX_ESYNTAX, at, "unexpected %s after the end of the JSON value", found);
    }
}

int jsonsax_feed(jsonsax *p, const char *s, size_t len) {
    if (p->in_cb)
        return JSONSAX_EBUSY;
    if (p->status)
        return p->status;
    if (len == 0)
        return JSONSAX_OK;
    if (p->state == ST_FINISHED)
        return fail(p, JSONSAX_ESYNTAX, p->base, "data after the end of the input");
    size_t i = 0;
    int rc = JSONSAX_OK;
    while (i < len && rc == JSONSAX_OK) {
        unsigned char c = (unsigned char)s[i];
        size_t at = p->base + i;
        switch (p->state) {
        case ST_BOM:
            if (c == bom_bytes[p->bom_n]) {
                if (++p->bom_n == 3)
                    p->state = ST_VALUE_TOP;
                i++;
                continue;
            }
            if (p->bom_n) {
                char d[16];
                rc = fail(p, JSONSAX_ESYNTAX, at, "a broken byte order mark: %s after EF%s",
                          describe(c, d), p->bom_n == 2 ? " BB" : "");
                continue;
            }
            p->state = ST_VALUE_TOP;
            continue; /* read c again */
        case ST_STRING:
            rc = string_bytes(p, s, len, &i);
            continue;
        case ST_NUMBER: {
            int r = number_byte(p, c, at);
            if (r < 0) {
                rc = r;
            } else if (r == 1) {
                i++;
            } else {
                p->consumed = at;
                rc = end_number(p); /* c is read again after the number */
            }
            continue;
        }
        case ST_LITERAL:
            if (c != (unsigned char)p->lit[p->lit_pos]) {
                char d[16];
                rc = fail(p, JSONSAX_ESYNTAX, at, "invalid literal: expected '%s', found %s",
                          p->lit, describe(c, d));
                continue;
            }
            i++;
            if (p->lit[++p->lit_pos] == '\0') {
                after_value(p);
                p->consumed = at + 1;
                rc = emit_token(p, p->lit_kind, NULL, 0, 0, 0);
            }
            continue;
        default:
            break;
        }

        /* Between tokens. */
        if (is_space(c)) {
            i++;
            if (c == '\n') {
                p->line++;
                p->line_start = at + 1;
            }
            continue;
        }
        switch (p->state) {
        case ST_VALUE_TOP:
        case ST_VALUE_COLON:
        case ST_VALUE_COMMA:
        case ST_ARRAY_FIRST:
            if (p->state == ST_ARRAY_FIRST && c == ']') {
                rc = close_container(p, at);
                i++;
                continue;
            }
            rc = begin_value(p, c, at);
            if (rc == NOT_A_VALUE)
                rc = unexpected(p, c, at);
            else
                i++;
            continue;
        case ST_OBJECT_FIRST:
        case ST_KEY_COMMA:
            if (c == '"') {
                level *l = &p->stack[p->depth - 1];
                l->count++;
                l->key_len = 0;
                l->key_trunc = 0;
                l->key[0] = '\0';
                begin_string(p, 1, at);
                i++;
            } else if (c == '}' && p->state == ST_OBJECT_FIRST) {
                rc = close_container(p, at);
                i++;
            } else {
                rc = unexpected(p, c, at);
            }
            continue;
        case ST_COLON:
            if (c == ':') {
                p->state = ST_VALUE_COLON;
                i++;
            } else {
                rc = unexpected(p, c, at);
            }
            continue;
        case ST_AFTER: {
            int obj = p->stack[p->depth - 1].is_object;
            if (c == ',') {
                p->state = obj ? ST_KEY_COMMA : ST_VALUE_COMMA;
                i++;
            } else if (c == (obj ? '}' : ']')) {
                rc = close_container(p, at);
                i++;
            } else {
                rc = unexpected(p, c, at);
            }
            continue;
        }
        default: /* ST_DONE */
            rc = unexpected(p, c, at);
            continue;
        }
    }
    p->base += i;
    if (p->status)
        return p->status;
    p->consumed = p->base;
    return rc;
}

int jsonsax_finish(jsonsax *p) {
    if (p->in_cb)
        return JSONSAX_EBUSY;
    if (p->status)
        return p->status;
    if (p->state == ST_FINISHED)
        return JSONSAX_OK;
    size_t at = p->base;
    /* Only the top value can end with the input: a number inside a container that the
     * input cuts ("[1") is not delivered, since its digits may have gone on. */
    if (p->state == ST_NUMBER && p->depth == 0 && number_complete(p->num_state)) {
        p->consumed = at;
        int rc = end_number(p);
        if (rc)
            return rc;
    }
    switch (p->state) {
    case ST_DONE:
        p->state = ST_FINISHED;
        return JSONSAX_OK;
    case ST_BOM:
    case ST_VALUE_TOP:
        return fail(p, JSONSAX_EEOF, at, "the input holds no JSON value");
    case ST_STRING:
        return fail(p, JSONSAX_EEOF, at, "the input ends inside a %s that began at byte %zu",
                    p->str_key ? "key" : "string", p->tok_offset);
    case ST_NUMBER:
        return fail(p, JSONSAX_EEOF, at, "the input ends inside a number that began at byte %zu",
                    p->tok_offset);
    case ST_LITERAL:
        return fail(p, JSONSAX_EEOF, at, "the input ends inside '%s' (byte %zu)", p->lit,
                    p->tok_offset);
    default: {
        const level *l = &p->stack[p->depth - 1];
        return fail(p, JSONSAX_EEOF, at,
                    "the input ends inside the %s that began at byte %zu (%zu level%s open)",
                    l->is_object ? "object" : "array", l->offset, p->depth,
                    p->depth == 1 ? "" : "s");
    }
    }
}
