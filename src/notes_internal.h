/* The notes parser's parts that its two files share: src/notes_syntax.c reads what a line
 * of the answer is, src/notes.c (the streaming state machine) decides what it means where it
 * comes.  Not for other modules.
 *
 * The few recognisers the state machine asks of every line (blank, indent, thematic break,
 * ATX heading, and of a line still coming whether it is a `>` line) are defined here, static
 * inline, so that they are inlined into it as they were when both lived in one file: as calls
 * into notes_syntax.c they made the parser 5-10 % slower.  They run the rejecting tests first
 * and call notes_syntax.c only for a line that passes them (notes_atx() trims its content).
 * The rest stays in notes_syntax.c.
 */
#ifndef AMI_NOTES_INTERNAL_H
#define AMI_NOTES_INTERNAL_H

#include "ami/notes.h"

#include <stddef.h>

/* A note heading's label, as notes_parse_label() reads it. */
typedef struct notes_heading {
    notes_kind kind;
    const char *kind_text; /* into the label */
    size_t kind_len;
    const char *title;
    size_t title_len;
    const char *quote; /* a quote in the title, or NULL */
    size_t quote_len;
} notes_heading;

/* Text helpers.  Ranges are s[*a, *b). */
/// Trims spaces (and NBSP/NNBSP, and with emph * _) at both ends of s[*a, *b).
void notes_trim(const char *s, size_t *a, size_t *b, int emph);

/// A space or a tab.
static inline int notes_is_ws(unsigned char c) {
    return c == ' ' || c == '\t';
}

/// Nothing but spaces, tabs and CRs (the empty line too).
static inline int notes_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!notes_is_ws((unsigned char)s[i]) && s[i] != '\r')
            return 0;
    return 1;
}

/// Leading spaces (0..4: 4 means "too many").
static inline size_t notes_indent(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && i < 4 && s[i] == ' ')
        i++;
    return i;
}

/* Quotation marks. */
/// When s[*pa, *pb) (spaces trimmed, emphasis removed) is one quoted string and nothing
/// else, sets the range to its inside (trimmed) and returns 1.
int notes_unquote(const char *s, size_t *pa, size_t *pb);
/// True when s[a, b) holds nothing but quotation marks, emphasis, ellipses and spaces.
int notes_only_marks(const char *s, size_t a, size_t b);
/// Cleans a quote in place: quotation marks and emphasis around it, repeatedly.
void notes_clean_quote(const char *s, size_t *a, size_t *b);

/* Line kinds, of a line s[0..n) without its LF. */
/// An opening code fence: sets its character and length.
int notes_fence_open(const char *s, size_t n, char *ch, size_t *len);
/// A line that closes the fence of character ch and length len.
int notes_fence_close(const char *s, size_t n, char ch, size_t len);
/// A blockquote line: sets the content (markers, nesting and spaces removed).
int notes_blockquote(const char *s, size_t n, size_t *ca, size_t *cb);

/// A thematic break: up to 3 spaces, then 3 or more of the same - * or _, spaces between.
static inline int notes_is_break(const char *s, size_t n) {
    size_t i = notes_indent(s, n), count = 0;
    if (i > 3 || i >= n)
        return 0;
    char c = s[i];
    if (c != '-' && c != '*' && c != '_')
        return 0;
    for (; i < n; i++) {
        if (s[i] == c)
            count++;
        else if (!notes_is_ws((unsigned char)s[i]))
            return 0;
    }
    return count >= 3;
}

/// For a line that is still coming: 1 a `>` line, 0 not, -1 cannot tell yet.
static inline int notes_quote_prefix(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && i < 3 && s[i] == ' ')
        i++;
    if (i == n)
        return -1;
    return s[i] == '>';
}

/// An ATX heading: sets its content (trimmed, closing #s removed).
static inline int notes_atx(const char *s, size_t n, size_t *ca, size_t *cb) {
    size_t i = notes_indent(s, n), h = 0;
    if (i > 3)
        return 0;
    while (i + h < n && s[i + h] == '#')
        h++;
    if (h < 1 || h > 6 || (i + h < n && !notes_is_ws((unsigned char)s[i + h])))
        return 0;
    size_t a = i + h, b = n;
    notes_trim(s, &a, &b, 0);
    /* A closing sequence: #s preceded by a space (or the whole content). */
    size_t e = b;
    while (e > a && s[e - 1] == '#')
        e--;
    if (e < b && (e == a || notes_is_ws((unsigned char)s[e - 1]))) {
        b = e;
        notes_trim(s, &a, &b, 0);
    }
    *ca = a;
    *cb = b;
    return 1;
}

/// Reads a note heading's label L[0..n): returns 1 and fills h when it starts with a note
/// word (after an optional number), else 0.
int notes_parse_label(const char *L, size_t n, notes_heading *h);

#endif
