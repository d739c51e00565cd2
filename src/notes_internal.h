/* The notes parser's parts that its two files share: src/notes_syntax.c reads what a line
 * of the answer is, src/notes.c (the streaming state machine) decides what it means where it
 * comes.  Not for other modules. */
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
/// A space or a tab.
int notes_is_ws(unsigned char c);
/// Nothing but spaces, tabs and CRs (the empty line too).
int notes_blank(const char *s, size_t n);
/// Leading spaces (0..4: 4 means "too many").
size_t notes_indent(const char *s, size_t n);
/// Trims spaces (and NBSP/NNBSP, and with emph * _) at both ends of s[*a, *b).
void notes_trim(const char *s, size_t *a, size_t *b, int emph);

/* Quotation marks. */
/// When s[*pa, *pb) (spaces trimmed, emphasis removed) is one quoted string and nothing
/// else, sets the range to its inside (trimmed) and returns 1.
int notes_unquote(const char *s, size_t *pa, size_t *pb);
/// True when s[a, b) holds nothing but quotation marks, emphasis, ellipses and spaces.
int notes_only_marks(const char *s, size_t a, size_t b);
/// Cleans a quote in place: quotation marks and emphasis around it, repeatedly.
void notes_clean_quote(const char *s, size_t *a, size_t *b);

/* Line kinds, of a line s[0..n) without its LF. */
/// A thematic break.
int notes_is_break(const char *s, size_t n);
/// An opening code fence: sets its character and length.
int notes_fence_open(const char *s, size_t n, char *ch, size_t *len);
/// A line that closes the fence of character ch and length len.
int notes_fence_close(const char *s, size_t n, char ch, size_t len);
/// A blockquote line: sets the content (markers, nesting and spaces removed).
int notes_blockquote(const char *s, size_t n, size_t *ca, size_t *cb);
/// For a line that is still coming: 1 a `>` line, 0 not, -1 cannot tell yet.
int notes_quote_prefix(const char *s, size_t n);
/// An ATX heading: sets its content (trimmed, closing #s removed).
int notes_atx(const char *s, size_t n, size_t *ca, size_t *cb);

/// Reads a note heading's label L[0..n): returns 1 and fills h when it starts with a note
/// word (after an optional number), else 0.
int notes_parse_label(const char *L, size_t n, notes_heading *h);

#endif
