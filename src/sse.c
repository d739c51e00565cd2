/* sse: incremental text/event-stream parser.  See include/ami/sse.h.
 *
 * Byte-level state machine (what survives from one feed to the next):
 *
 *                  EF BB BF: skipped
 *       [START] ──────────────────────► [LINE_START] ◄──────── LF: skipped ─────┐
 *          │                              │      ▲                             │
 *          │ another byte: the BOM bytes  │ byte │ LF: the line ends           │
 *          │ matched so far start a line  ▼      │                             │
 *          └────────────────────────► [IN_LINE] ─┘                             │
 *                                        │                                     │
 *                                        └──────── CR: the line ends ───► [AFTER_CR]
 *                                                                              │
 *       A line end met in LINE_START ends a blank line.         any other byte:
 *       LINE_START also goes to AFTER_CR on a CR.               read as in LINE_START
 *
 *     any state ── a callback returns non-zero ──► STOPPED    (final)
 *     any state ── out of memory / over the limit ─► FAILED   (final)
 *     finish ── the unterminated line is handled, pending data given back ──► START
 *
 * IN_LINE is "inside a line".  Between feeds it means the line buffer holds the start of a
 * line; within a feed, a line is parsed in place and never enters the line buffer.
 * AFTER_CR exists because a CR at the end of one feed may be half of a CRLF: only the next
 * byte can tell, and it may arrive much later.
 *
 * Event-level machine, run on each complete line:
 *
 *     blank line ─► data buffer empty? ─ yes ─► clear type, nothing dispatched
 *                                      └ no ──► drop one trailing LF, call on_event, clear
 *                                               data and type (the last id stays)
 *     ":…"       ─► comment, ignored
 *     "name:value" / "name" ─► event | data | id | retry | the field callback
 *
 * Why it is shaped like this (the host must spend about 1 µs per ~150-byte event):
 *   - Line ends are found with memchr, never byte by byte.  The positions of the next LF and
 *     the next CR are remembered across the lines of one feed, so a stream that uses only CR
 *     (or only LF) is still scanned once, not once per line.
 *   - A line that lies wholly inside the current feed is parsed in place; only its value is
 *     copied, once, into the data/type/id buffer.  Only a line cut by the end of a feed is
 *     copied into the line buffer first.
 *   - Buffers are cleared, not freed, after each event: in the steady state nothing is
 *     allocated per event.
 *   - The limit is checked against "length of the current line + pending data", which does
 *     not depend on where the feeds were split, so splitting never changes the outcome.
 */
#include "ami/sse.h"

#include "ami/buf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define BOM_DONE 3 /* bom: bytes of the BOM matched so far, BOM_DONE once past the start */

static const unsigned char bom_bytes[3] = {0xEF, 0xBB, 0xBF};

struct sse_parser {
    sse_event_fn on_event;
    sse_field_fn on_field;
    void *ud;
    size_t limit;
    buf line;  /* start of a line begun in an earlier feed (IN_LINE) */
    buf data;  /* data buffer: each data value followed by LF */
    buf type;  /* event type buffer */
    buf id;    /* last event id buffer */
    buf field; /* scratch for the field callback: name NUL value NUL */
    long retry;
    size_t events;
    unsigned bom;
    int after_cr; /* AFTER_CR: an LF first in the next feed is skipped */
    int status;   /* SSE_OK, or the final code */
    int in_cb;    /* inside a callback: feed/finish refuse (SSE_EBUSY) */
    int ended;    /* finish ran: the next feed or finish starts a new stream */
};

sse_parser *sse_parser_new(sse_event_fn on_event, void *ud) {
    if (!on_event)
        return NULL;
    sse_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->on_event = on_event;
    p->ud = ud;
    p->limit = SSE_DEFAULT_LIMIT;
    p->retry = -1;
    return p;
}

void sse_parser_set_field_fn(sse_parser *p, sse_field_fn fn) {
    p->on_field = fn;
}

void sse_parser_set_limit(sse_parser *p, size_t max_bytes) {
    p->limit = max_bytes;
}

long sse_parser_retry(const sse_parser *p) {
    return p->retry;
}

const char *sse_parser_last_id(const sse_parser *p, size_t *len) {
    if (len)
        *len = p->id.len;
    return p->id.data ? p->id.data : "";
}

size_t sse_parser_events(const sse_parser *p) {
    return p->events;
}

void sse_parser_free(sse_parser *p) {
    if (!p)
        return;
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->type);
    buf_free(&p->id);
    buf_free(&p->field);
    free(p);
}

/* Back to START for a new stream; the last id, retry and event count survive (sse.h). */
static void restart(sse_parser *p) {
    buf_clear(&p->line);
    buf_clear(&p->data);
    buf_clear(&p->type);
    p->bom = 0;
    p->after_cr = 0;
    p->ended = 0;
}

/* True when a line of n bytes, plus the data already pending, fits the limit.  Written so
 * that it cannot overflow even after the limit was lowered below what is already held. */
static int fits(const sse_parser *p, size_t held, size_t n) {
    return held <= p->limit && n <= p->limit - held;
}

/* Adds n bytes to the line buffer (a line that the end of a feed cut). */
static int line_append(sse_parser *p, const void *s, size_t n) {
    if (!fits(p, p->line.len + p->data.len, n))
        return SSE_ETOOBIG;
    return buf_append(&p->line, s, n) == 0 ? SSE_OK : SSE_ENOMEM;
}

static int dispatch(sse_parser *p) {
    if (p->data.len == 0) {
        buf_clear(&p->type);
        return SSE_OK;
    }
    /* The data buffer always ends with the LF of its last data line: drop it (in place, so
     * data stays NUL-terminated at its length without a copy). */
    p->data.data[--p->data.len] = '\0';
    sse_event ev;
    ev.type = p->type.len ? p->type.data : "message";
    ev.type_len = p->type.len ? p->type.len : 7;
    ev.data = p->data.data;
    ev.data_len = p->data.len;
    ev.id = p->id.data ? p->id.data : "";
    ev.id_len = p->id.len;
    p->events++;
    p->in_cb = 1;
    int rc = p->on_event(p->ud, &ev);
    p->in_cb = 0;
    buf_clear(&p->data);
    buf_clear(&p->type);
    return rc ? SSE_STOPPED : SSE_OK;
}

static int set_retry(sse_parser *p, const char *v, size_t n) {
    if (n == 0)
        return SSE_OK;
    long r = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)v[i] - '0';
        if (d > 9)
            return SSE_OK; /* not all ASCII digits: the whole field is ignored */
        if (r > (LONG_MAX - (long)d) / 10)
            r = LONG_MAX; /* saturate; keep checking that the rest are digits */
        else
            r = r * 10 + (long)d;
    }
    p->retry = r;
    return SSE_OK;
}

static int other_field(sse_parser *p, const char *name, size_t nlen, const char *v, size_t vlen) {
    if (!p->on_field)
        return SSE_OK;
    /* The callback gets NUL-terminated strings; the line may sit in the caller's read-only
     * feed buffer, so copy.  Unknown fields are rare, so the copy costs nothing in practice. */
    buf_clear(&p->field);
    if (buf_append(&p->field, name, nlen) || buf_append_byte(&p->field, '\0') ||
        buf_append(&p->field, v, vlen))
        return SSE_ENOMEM;
    p->in_cb = 1;
    int rc = p->on_field(p->ud, p->field.data, nlen, p->field.data + nlen + 1, vlen);
    p->in_cb = 0;
    return rc ? SSE_STOPPED : SSE_OK;
}

/* One complete line (without its line end), wherever it lives. */
static int handle_line(sse_parser *p, const char *s, size_t n) {
    if (!fits(p, p->data.len, n))
        return SSE_ETOOBIG;
    if (n == 0)
        return dispatch(p);
    if (s[0] == ':')
        return SSE_OK;
    const char *colon = memchr(s, ':', n);
    size_t nlen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = colon ? n - nlen - 1 : 0;
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }
    switch (nlen) {
    case 4:
        if (memcmp(s, "data", 4) == 0) {
            /* One reserve, one copy: this is the hot path of every stream. */
            if (buf_reserve(&p->data, vlen + 1))
                return SSE_ENOMEM;
            memcpy(p->data.data + p->data.len, v, vlen);
            p->data.len += vlen;
            p->data.data[p->data.len++] = '\n';
            p->data.data[p->data.len] = '\0';
            return SSE_OK;
        }
        break;
    case 5:
        if (memcmp(s, "event", 5) == 0) {
            buf_clear(&p->type);
            return buf_append(&p->type, v, vlen) == 0 ? SSE_OK : SSE_ENOMEM;
        }
        if (memcmp(s, "retry", 5) == 0)
            return set_retry(p, v, vlen);
        break;
    case 2:
        if (memcmp(s, "id", 2) == 0) {
            if (memchr(v, '\0', vlen))
                return SSE_OK;
            buf_clear(&p->id);
            return buf_append(&p->id, v, vlen) == 0 ? SSE_OK : SSE_ENOMEM;
        }
        break;
    default:
        break;
    }
    return other_field(p, s, nlen, v, vlen);
}

static int fail(sse_parser *p, int rc) {
    p->status = rc;
    return rc;
}

int sse_parser_feed(sse_parser *p, const char *in, size_t len) {
    if (p->in_cb)
        return SSE_EBUSY;
    if (p->status)
        return p->status;
    if (len == 0)
        return SSE_OK;
    if (p->ended)
        restart(p);
    const char *s = in;
    const char *end = in + len;
    int rc;

    if (p->bom < BOM_DONE) {
        while (s < end && p->bom < BOM_DONE && (unsigned char)*s == bom_bytes[p->bom]) {
            p->bom++;
            s++;
        }
        if (p->bom < BOM_DONE) {
            if (s == end)
                return SSE_OK; /* a BOM so far: the next feed decides */
            /* Not a BOM after all: what matched is the start of the first line. */
            if ((rc = line_append(p, bom_bytes, p->bom)) != SSE_OK)
                return fail(p, rc);
        }
        p->bom = BOM_DONE;
    }
    if (p->after_cr && s < end) {
        p->after_cr = 0;
        if (*s == '\n')
            s++;
    }

    const char *lf = s < end ? memchr(s, '\n', (size_t)(end - s)) : NULL;
    const char *cr = s < end ? memchr(s, '\r', (size_t)(end - s)) : NULL;
    if (!lf)
        lf = end;
    if (!cr)
        cr = end;
    while (s < end) {
        if (lf < s && !(lf = memchr(s, '\n', (size_t)(end - s))))
            lf = end;
        if (cr < s && !(cr = memchr(s, '\r', (size_t)(end - s))))
            cr = end;
        const char *eol = lf < cr ? lf : cr;
        if (eol == end)
            break;
        if (p->line.len) {
            if ((rc = line_append(p, s, (size_t)(eol - s))) == SSE_OK)
                rc = handle_line(p, p->line.data, p->line.len);
            buf_clear(&p->line);
        } else {
            rc = handle_line(p, s, (size_t)(eol - s));
        }
        if (rc != SSE_OK)
            return fail(p, rc);
        s = eol + 1;
        if (*eol == '\r') {
            if (s == end)
                p->after_cr = 1;
            else if (*s == '\n')
                s++;
        }
    }
    if (s < end && (rc = line_append(p, s, (size_t)(end - s))) != SSE_OK)
        return fail(p, rc);
    return SSE_OK;
}

void sse_parser_finish(sse_parser *p, const char **pending_data, size_t *pending_len) {
    if (pending_data)
        *pending_data = NULL;
    if (pending_len)
        *pending_len = 0;
    if (p->in_cb)
        return;
    if (p->ended)
        restart(p); /* finish twice in a row: the second stream was empty */
    p->ended = 1;
    if (p->status)
        return;
    int rc = SSE_OK;
    if (p->bom > 0 && p->bom < BOM_DONE)
        rc = line_append(p, bom_bytes, p->bom); /* a stream of one or two BOM bytes */
    p->bom = BOM_DONE;
    if (rc == SSE_OK && p->line.len)
        rc = handle_line(p, p->line.data, p->line.len);
    buf_clear(&p->line);
    p->after_cr = 0;
    if (rc != SSE_OK) {
        p->status = rc;
        return;
    }
    if (p->data.len == 0)
        return;
    p->data.data[--p->data.len] = '\0';
    if (pending_data)
        *pending_data = p->data.data;
    if (pending_len)
        *pending_len = p->data.len;
}
