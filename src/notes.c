/* notes: cut a critique answer into notes while it streams.  See include/ami/notes.h.
 *
 * Two machines.  Lines: bytes are gathered into the current line (at most NOTES_LINE_MAX
 * kept, the rest counted) until an LF; a line that lies whole in one feed is read in place.
 * Sections, run once per complete line (and, while a quote is open, on the first bytes of a
 * line still coming, so that the quote ends as soon as they show the line is not a `>` line):
 *
 *                note heading                       `>` line         not `>`
 *   ┌─────────┐ ─────────────► ┌──────┐ ──────────────────► ┌───────┐ ──────► QUOTE event
 *   │ GENERAL │                │ HEAD │                     │ QUOTE │           │
 *   └─────────┘ ◄───┐          └──────┘ ── quoted string ──────────────────────►│
 *        ▲          │             │        alone: QUOTE event                   ▼
 *        │          │             │ other line                ┌─────────┐ ◄─ readable
 *        │          │             ▼                           │ COMMENT │
 *        │          │          ┌──────┐ ◄── unreadable ─────── └─────────┘
 *        │          └───────── │ BODY │    (empty, too long)       │
 *        │   break / other     └──────┘                            │
 *        │   heading: GENERAL                                      │
 *        │   event (FROM_NOTE)                                     │
 *        └──────────────── break / other heading: NOTE event ──────┘
 *   COMMENT, BODY, HEAD ── note heading ──► (their event) HEAD
 *
 *   state     line                          action → next state
 *   GENERAL   note heading                  GENERAL event if not blank → HEAD (with a quote in
 *                                           the heading: QUOTE event → COMMENT)
 *             thematic break                GENERAL event if not blank → GENERAL after it
 *             anything else                 kept in the text
 *   HEAD      blank                         skipped
 *             `>` line                      the quote starts → QUOTE
 *             a quoted string alone         QUOTE event → COMMENT
 *             anything else                 → BODY, where the line is read
 *   QUOTE     `>` line                      joined to the quote
 *             anything else                 QUOTE event → COMMENT, or → BODY when the quote
 *                                           is unreadable; the line is read there
 *   COMMENT   note heading                  NOTE event → HEAD
 *             other heading                 NOTE event → GENERAL, which starts with the line
 *             thematic break                NOTE event → GENERAL after it
 *             anything else                 kept in the comment
 *   BODY      as COMMENT, but the event is GENERAL with NOTES_F_FROM_NOTE
 *   any       the (NOTES_MAX_NOTES + 1)th   OVER_CAP event → OVER: lines are only counted
 *             note heading
 *   any       finish                        the last line is read, the open section's event
 *                                           → DONE
 *   Inside a code fence (GENERAL, COMMENT, BODY), every line is text until the fence closes.
 *
 * Memory: the current line, the current section's text and quote, the heading's kind and
 * title, all capped (see notes.h), and cleared, not freed, between sections.
 *
 * What a line is, from its bytes alone (blank, break, fence, blockquote, heading, a note
 * heading's label, a quoted string) is read in notes_syntax.c, without state; this file
 * holds the two machines, which decide what it means where it comes.
 */
#include "ami/notes.h"

#include "ami/buf.h"
#include "ami/utf8.h"
#include "notes_internal.h"

#include <stdlib.h>
#include <string.h>

enum { S_GENERAL, S_HEAD, S_QUOTE, S_COMMENT, S_BODY, S_OVER };

/* A heading label is read from at most this many bytes of its line. */
#define LABEL_MAX ((size_t)4096)

struct notes_parser {
    notes_event_fn cb;
    void *ud;
    int status; /* NOTES_OK or the final code */
    int in_cb;
    int done;

    /* the current line */
    buf line;          /* its first bytes (NOTES_LINE_MAX + 3 at most) */
    size_t line_start; /* its offset in the answer */
    size_t line_seen;  /* its bytes so far (may pass NOTES_LINE_MAX) */
    size_t pos;        /* bytes fed */

    /* the current section */
    int state;
    size_t sec_start;
    int fence;        /* inside a code fence */
    char fence_ch;    /* ` or ~ */
    size_t fence_len; /* its length */
    buf text;         /* comment, general text, or a note's body */
    int text_cut;     /* text reached NOTES_TEXT_MAX */
    int sec_cut;      /* a line of the section passed NOTES_LINE_MAX */
    buf quote;        /* the quote's lines joined */
    int quote_long;   /* it passed NOTES_QUOTE_MAX */
    size_t quote_start, quote_end;
    unsigned qflags;
    notes_kind kind;
    buf kind_text;
    buf title;
    int title_cut;
    size_t seq; /* the current note's seq (COMMENT) */

    buf scratch; /* a heading's label */

    size_t notes, general, headings, dropped, truncated;
};

/* ---- events ------------------------------------------------------------------------------- */

static int emit(notes_parser *p, notes_event *ev) {
    if (p->status != NOTES_OK)
        return p->status;
    p->in_cb = 1;
    int rc = p->cb(p->ud, ev);
    p->in_cb = 0;
    if (rc)
        p->status = NOTES_STOPPED;
    return p->status;
}

static void base_event(const notes_parser *p, notes_event *ev, notes_event_type type) {
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->kind_text = ev->title = ev->quote = ev->text = "";
    if (type != NOTES_GENERAL) {
        ev->kind = p->kind;
        ev->kind_text = p->kind_text.data ? p->kind_text.data : "";
        ev->kind_text_len = p->kind_text.len;
        ev->title = p->title.data ? p->title.data : "";
        ev->title_len = p->title.len;
    }
    ev->start = p->sec_start;
}

/* The text buffer, trimmed of white space at both ends (in place: it is cleared after). */
static void trimmed_text(notes_parser *p, const char **s, size_t *n) {
    size_t a = 0, b = p->text.len;
    const char *t = p->text.data ? p->text.data : "";
    while (a < b && (notes_is_ws((unsigned char)t[a]) || t[a] == '\n'))
        a++;
    while (b > a && (notes_is_ws((unsigned char)t[b - 1]) || t[b - 1] == '\n'))
        b--;
    if (p->text.data)
        p->text.data[b] = '\0';
    *s = t + a;
    *n = b - a;
}

static unsigned section_flags(const notes_parser *p) {
    unsigned f = 0;
    if (p->text_cut || p->sec_cut || p->title_cut)
        f |= NOTES_F_TRUNCATED;
    if (p->fence)
        f |= NOTES_F_UNCLOSED_FENCE;
    return f;
}

static void clear_section(notes_parser *p, size_t start) {
    buf_clear(&p->text);
    buf_clear(&p->quote);
    buf_clear(&p->kind_text);
    buf_clear(&p->title);
    p->text_cut = p->sec_cut = p->title_cut = p->quote_long = 0;
    p->qflags = 0;
    p->kind = NOTES_KIND_NONE;
    p->sec_start = start;
    p->quote_start = p->quote_end = 0;
    p->fence = 0;
}

/* Appends at most what fits under cap, never cutting a code point; sets *cut when it
 * did not all fit.  Returns 0 or -1 (memory). */
static int append_capped(buf *b, const char *s, size_t n, size_t cap, int *cut) {
    if (*cut)
        return 0;
    size_t room = b->len < cap ? cap - b->len : 0;
    if (n > room) {
        n = utf8_cut(s, n, room);
        *cut = 1;
    }
    return buf_append(b, s, n);
}

static int add_text_line(notes_parser *p, const char *s, size_t n) {
    if (p->text.len == 0 && notes_blank(s, n))
        return 0; /* leading blank lines */
    if (append_capped(&p->text, s, n, NOTES_TEXT_MAX, &p->text_cut) ||
        append_capped(&p->text, "\n", 1, NOTES_TEXT_MAX, &p->text_cut)) {
        p->status = NOTES_ENOMEM;
        return NOTES_ENOMEM;
    }
    return 0;
}

static int start_general(notes_parser *p, size_t start) {
    clear_section(p, start);
    p->state = S_GENERAL;
    return p->status;
}

static int end_general(notes_parser *p, size_t end) {
    const char *t;
    size_t n;
    trimmed_text(p, &t, &n);
    if (n == 0)
        return p->status;
    notes_event ev;
    base_event(p, &ev, NOTES_GENERAL);
    ev.seq = p->general++;
    ev.text = t;
    ev.text_len = n;
    ev.end = end;
    ev.flags = section_flags(p);
    return emit(p, &ev);
}

/* The quote is complete: QUOTE and on to COMMENT, or BODY when it cannot be read. */
static int finish_quote(notes_parser *p) {
    size_t a = 0, b = p->quote.len;
    const char *q = p->quote.data ? p->quote.data : "";
    if (!p->quote_long)
        notes_clean_quote(q, &a, &b);
    if (p->quote_long || b <= a || notes_only_marks(q, a, b)) {
        p->state = S_BODY;
        return p->status;
    }
    /* Keep the cleaned quote at the start of the buffer, for the NOTE event too. */
    memmove(p->quote.data, q + a, b - a);
    p->quote.len = b - a;
    p->quote.data[p->quote.len] = '\0';
    p->seq = p->notes++;
    p->state = S_COMMENT;
    buf_clear(&p->text); /* the body held the quote's lines */
    p->text_cut = 0;
    notes_event ev;
    base_event(p, &ev, NOTES_QUOTE);
    ev.seq = p->seq;
    ev.quote = p->quote.data;
    ev.quote_len = p->quote.len;
    ev.end = p->quote_end;
    ev.quote_start = p->quote_start;
    ev.quote_end = p->quote_end;
    ev.flags = p->qflags;
    return emit(p, &ev);
}

static int end_note(notes_parser *p, size_t end) {
    if (p->state == S_QUOTE && finish_quote(p) != NOTES_OK)
        return p->status;
    const char *t;
    size_t n;
    trimmed_text(p, &t, &n);
    notes_event ev;
    if (p->state == S_COMMENT) {
        base_event(p, &ev, NOTES_NOTE);
        ev.seq = p->seq;
        ev.quote = p->quote.data;
        ev.quote_len = p->quote.len;
        ev.quote_start = p->quote_start;
        ev.quote_end = p->quote_end;
        ev.flags = p->qflags | section_flags(p);
    } else {
        base_event(p, &ev, NOTES_GENERAL);
        ev.kind = p->kind;
        ev.kind_text = p->kind_text.data ? p->kind_text.data : "";
        ev.kind_text_len = p->kind_text.len;
        ev.title = p->title.data ? p->title.data : "";
        ev.title_len = p->title.len;
        ev.seq = p->general++;
        ev.flags =
            NOTES_F_FROM_NOTE | section_flags(p) | (p->quote_long ? NOTES_F_QUOTE_TOO_LONG : 0);
    }
    ev.text = t;
    ev.text_len = n;
    ev.end = end;
    return emit(p, &ev);
}

/* Ends whatever section is open at offset end. */
static int end_section(notes_parser *p, size_t end) {
    if (p->state == S_GENERAL)
        return end_general(p, end);
    if (p->state == S_OVER)
        return p->status;
    return end_note(p, end);
}

static int start_note(notes_parser *p, const notes_heading *h, size_t start, size_t line_end) {
    p->headings++;
    if (p->headings > NOTES_MAX_NOTES) {
        p->dropped++;
        clear_section(p, start);
        p->state = S_OVER;
        notes_event ev;
        base_event(p, &ev, NOTES_OVER_CAP);
        ev.seq = NOTES_MAX_NOTES;
        ev.end = start;
        return emit(p, &ev);
    }
    clear_section(p, start);
    p->kind = h->kind;
    if (append_capped(&p->kind_text, h->kind_text, h->kind_len, NOTES_KIND_TEXT_MAX,
                      &p->title_cut) ||
        append_capped(&p->title, h->title, h->title_len, NOTES_TITLE_MAX, &p->title_cut))
        return p->status = NOTES_ENOMEM;
    if (h->quote) {
        if (h->quote_len > NOTES_QUOTE_MAX) {
            p->quote_long = 1;
            p->state = S_BODY;
            return p->status;
        }
        if (buf_append(&p->quote, h->quote, h->quote_len))
            return p->status = NOTES_ENOMEM;
        p->quote_start = start;
        p->quote_end = line_end;
        p->qflags = NOTES_F_QUOTE_HEADING;
        p->state = S_QUOTE;
        return finish_quote(p);
    }
    p->state = S_HEAD;
    return p->status;
}

/* ---- one line ----------------------------------------------------------------------------- */

/* 1: a note heading (h filled), 2: another ATX heading, 0: neither.
 *
 * A line that starts with bold is a note heading only when the bold text starts with a note
 * word and what follows the bold is nothing, a kind, or a quoted string: `**Note:** style`
 * is a heading, `**Note:** this matters because…` in a comment is text. */
static int classify_heading(notes_parser *p, const char *s, size_t n, notes_heading *h) {
    size_t a, b;
    int is_atx = notes_atx(s, n, &a, &b);
    if (!is_atx) {
        size_t i = notes_indent(s, n);
        if (i > 3 || i + 2 > n ||
            !((s[i] == '*' && s[i + 1] == '*') || (s[i] == '_' && s[i + 1] == '_')))
            return 0;
        a = i;
        b = n;
    }
    if (b - a > LABEL_MAX)
        b = a + utf8_cut(s + a, b - a, LABEL_MAX);
    const char *L = s + a;
    size_t ln = b - a;
    if (ln < 2 || !((L[0] == '*' && L[1] == '*') || (L[0] == '_' && L[1] == '_')))
        return is_atx ? (notes_parse_label(L, ln, h) ? 1 : 2) : 0;
    /* The label is what is inside the first ** … ** followed by the rest of the line. */
    const char *close = NULL;
    for (size_t i = 2; i + 1 < ln; i++)
        if (L[i] == L[0] && L[i + 1] == L[0]) {
            close = L + i;
            break;
        }
    if (!close)
        return is_atx ? 2 : 0;
    size_t in = (size_t)(close - L) - 2, ta = in + 4, tb = ln;
    notes_trim(L, &ta, &tb, 1);
    buf_clear(&p->scratch);
    if (buf_append(&p->scratch, L + 2, in) || buf_append(&p->scratch, close + 2, ln - in - 4)) {
        p->status = NOTES_ENOMEM;
        return 0;
    }
    if (!notes_parse_label(p->scratch.data, p->scratch.len, h))
        return is_atx ? 2 : 0;
    if (!is_atx && tb > ta && h->kind == NOTES_KIND_NONE && !h->quote)
        return 0;
    return 1;
}

/* A line in GENERAL, COMMENT or BODY. */
static int section_line(notes_parser *p, const char *s, size_t n, size_t lstart, size_t cend,
                        size_t lend) {
    if (p->fence) {
        if (notes_fence_close(s, n, p->fence_ch, p->fence_len))
            p->fence = 0;
        return add_text_line(p, s, n);
    }
    notes_heading h;
    int kind = classify_heading(p, s, n, &h);
    if (p->status != NOTES_OK)
        return p->status;
    if (kind == 1) {
        if (end_section(p, lstart) != NOTES_OK)
            return p->status;
        return start_note(p, &h, lstart, cend);
    }
    if (kind == 2 && p->state != S_GENERAL) {
        if (end_section(p, lstart) != NOTES_OK || start_general(p, lstart) != NOTES_OK)
            return p->status;
        return add_text_line(p, s, n);
    }
    if (notes_is_break(s, n)) {
        if (end_section(p, lstart) != NOTES_OK)
            return p->status;
        return start_general(p, lend);
    }
    if (notes_fence_open(s, n, &p->fence_ch, &p->fence_len))
        p->fence = 1;
    return add_text_line(p, s, n);
}

static int add_quote_line(notes_parser *p, const char *s, size_t n, size_t ca, size_t cb,
                          size_t lstart, size_t lend) {
    if (p->quote.len == 0)
        p->quote_start = lstart;
    p->quote_end = lend;
    if (cb > ca && !p->quote_long) {
        size_t add = cb - ca + (p->quote.len ? 1 : 0);
        if (p->quote.len + add > NOTES_QUOTE_MAX) {
            p->quote_long = 1;
        } else if ((p->quote.len && buf_append_byte(&p->quote, ' ')) ||
                   buf_append(&p->quote, s + ca, cb - ca)) {
            return p->status = NOTES_ENOMEM;
        }
    }
    return add_text_line(p, s, n); /* the body, in case the quote cannot be read */
}

/* One complete line s[0..n) (LF and one CR before it removed), starting at lstart, its bytes
 * ending at cend (before its LF); the next line starts at lend.  cut: the line passed
 * NOTES_LINE_MAX. */
static int read_line(notes_parser *p, const char *s, size_t n, size_t lstart, size_t cend,
                     size_t lend) {
    size_t ca, cb;
    if (p->state == S_QUOTE && !notes_blockquote(s, n, &ca, &cb) && finish_quote(p) != NOTES_OK)
        return p->status;
    switch (p->state) {
    case S_OVER: {
        if (p->fence) {
            if (notes_fence_close(s, n, p->fence_ch, p->fence_len))
                p->fence = 0;
            return p->status;
        }
        notes_heading h;
        if (classify_heading(p, s, n, &h) == 1) {
            p->headings++;
            p->dropped++;
        } else if (notes_fence_open(s, n, &p->fence_ch, &p->fence_len)) {
            p->fence = 1;
        }
        return p->status;
    }
    case S_HEAD:
        if (notes_blank(s, n))
            return p->status;
        if (notes_blockquote(s, n, &ca, &cb)) {
            p->state = S_QUOTE;
            return add_quote_line(p, s, n, ca, cb, lstart, cend);
        }
        ca = 0;
        cb = n;
        if (notes_unquote(s, &ca, &cb)) {
            if (cb - ca > NOTES_QUOTE_MAX)
                p->quote_long = 1;
            else if (buf_append(&p->quote, s + ca, cb - ca))
                return p->status = NOTES_ENOMEM;
            p->quote_start = lstart;
            p->quote_end = cend;
            p->qflags = NOTES_F_QUOTE_LINE;
            p->state = S_QUOTE;
            if (finish_quote(p) != NOTES_OK || p->state == S_COMMENT)
                return p->status;
            return add_text_line(p, s, n); /* too long: the line is the body */
        }
        p->state = S_BODY;
        return section_line(p, s, n, lstart, cend, lend);
    case S_QUOTE:
        notes_blockquote(s, n, &ca, &cb);
        return add_quote_line(p, s, n, ca, cb, lstart, cend);
    default:
        return section_line(p, s, n, lstart, cend, lend);
    }
}

static int handle_line(notes_parser *p, const char *s, size_t n, size_t lstart, size_t cend,
                       size_t lend, int cut) {
    read_line(p, s, n, lstart, cend, lend);
    if (cut) {
        /* The section the line went to says so (not the one it may have ended). */
        p->truncated++;
        if (p->state != S_OVER)
            p->sec_cut = 1;
    }
    return p->status;
}

/* ---- feeding ------------------------------------------------------------------------------ */

notes_parser *notes_parser_new(notes_event_fn on_event, void *ud) {
    if (!on_event)
        return NULL;
    notes_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cb = on_event;
    p->ud = ud;
    p->state = S_GENERAL;
    return p;
}

void notes_parser_free(notes_parser *p) {
    if (!p)
        return;
    buf_free(&p->line);
    buf_free(&p->text);
    buf_free(&p->quote);
    buf_free(&p->kind_text);
    buf_free(&p->title);
    buf_free(&p->scratch);
    free(p);
}

void notes_parser_stats(const notes_parser *p, notes_stats *st) {
    memset(st, 0, sizeof *st);
    st->notes = p->notes;
    st->general = p->general;
    st->headings = p->headings;
    st->dropped = p->dropped;
    st->bytes = p->pos;
    st->truncated = p->truncated;
}

#define LINE_KEEP (NOTES_LINE_MAX + 3) /* 3 more bytes, so the cut can see a whole code point */

/* Ends the current line (in s[0..n), of line_seen bytes in all). */
static int line_done(notes_parser *p, const char *s, size_t n, size_t lend) {
    int cut = p->line_seen > NOTES_LINE_MAX;
    if (cut)
        n = utf8_cut(s, n, NOTES_LINE_MAX);
    else if (n && s[n - 1] == '\r')
        n--;
    return handle_line(p, s, n, p->line_start, p->line_start + p->line_seen, lend, cut);
}

int notes_parser_feed(notes_parser *p, const char *text, size_t len) {
    if (p->in_cb)
        return NOTES_EBUSY;
    if (p->status != NOTES_OK)
        return p->status;
    if (p->done)
        return NOTES_EDONE;
    size_t i = 0;
    while (i < len && p->status == NOTES_OK) {
        if (p->line_seen == 0)
            p->line_start = p->pos;
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        if (p->line_seen == 0 && nl) {
            /* The whole line is here: read it in place. */
            size_t keep = n < LINE_KEEP ? n : LINE_KEEP;
            p->line_seen = n;
            p->pos += n + 1;
            line_done(p, text + i, keep, p->pos);
            p->line_seen = 0;
            i += n + 1;
            continue;
        }
        size_t room = p->line.len < LINE_KEEP ? LINE_KEEP - p->line.len : 0;
        if (buf_append(&p->line, text + i, n < room ? n : room))
            return p->status = NOTES_ENOMEM;
        p->line_seen += n;
        p->pos += n;
        i += n;
        if (!nl) {
            /* A quote ends as soon as the next line shows it is not a `>` line. */
            if (p->state == S_QUOTE && notes_quote_prefix(p->line.data, p->line.len) == 0)
                finish_quote(p);
            break;
        }
        p->pos++;
        i++;
        line_done(p, p->line.data, p->line.len, p->pos);
        buf_clear(&p->line);
        p->line_seen = 0;
    }
    return p->status;
}

int notes_parser_finish(notes_parser *p) {
    if (p->in_cb)
        return NOTES_EBUSY;
    if (p->status != NOTES_OK)
        return p->status;
    if (p->done)
        return NOTES_EDONE;
    p->done = 1;
    if (p->line_seen) {
        line_done(p, p->line.data, p->line.len, p->pos);
        buf_clear(&p->line);
        p->line_seen = 0;
    }
    if (p->status == NOTES_OK)
        end_section(p, p->pos);
    return p->status;
}

/* ---- the prompt --------------------------------------------------------------------------- */

static const char prompt_rules[] =
    "Write your remarks as notes, one remark per note, each in exactly this form:\n"
    "\n"
    "## Note: <kind>\n"
    "> <the exact words of the document the remark is about>\n"
    "<your remark>\n"
    "\n"
    "- <kind> is one of: clarity, ambiguity, question, argument, structure, style, praise "
    "(in English, lower case, whatever the document's language).\n"
    "- The line that starts with \"> \" quotes the document's own words, copied character for "
    "character: the same spelling, accents, case, punctuation and apostrophes. Quote briefly: "
    "a few words, at most one sentence, on one line. No quotation marks around them, no "
    "ellipsis, no words left out or added; quote only words that are in the document.\n"
    "- The remark follows on the next lines, in the document's language: a comment or a "
    "question about those words. Never a rewritten passage, never a replacement text, not even "
    "for part of a sentence.\n"
    "- One remark per note: two remarks on the same words are two notes.\n"
    "- A remark about the passage as a whole, not about particular words, goes before the "
    "first note, as plain text without a heading.\n"
    "- No other headings, and no text after the last note.";

const char *notes_prompt_rules(void) {
    return prompt_rules;
}
