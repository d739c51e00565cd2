/* jsonsax: a streaming (push) JSON reader whose memory does not grow with the input.
 *
 * It is fed bytes in any pieces and calls back once per token: begin/end of an object or an
 * array, a key, a string, a number, true, false, null.  It knows nothing of files or of what
 * the JSON means, and does no I/O: the unit tests, the fuzzer and the export readers
 * (ami/import.h) feed it directly.  Splitting the input differently never changes the events,
 * the result or the error.
 *
 * What it accepts: exactly RFC 8259 — one JSON value (any type, as RFC 8259 allows) with
 * optional whitespace (space, tab, LF, CR) around it.  No trailing commas, no comments, no
 * single quotes, no leading zeros, no "+1", ".5", "1.", NaN or Infinity, no unescaped control
 * character inside a string, only the escapes \" \\ \/ \b \f \n \r \t \uXXXX.  One UTF-8 BOM
 * (EF BB BF) at the very start is skipped.
 *
 * Text: the input must be UTF-8 (RFC 8259 section 8.1).  A byte sequence that is not
 * well-formed UTF-8 (Unicode Table 3-7: no overlong forms, no encoded surrogates, nothing
 * above U+10FFFF) is rejected as a syntax error, wherever it is.  An *escaped* lone surrogate
 * (\uD800 not followed by \uDC00..\uDFFF, or a \uDC00..\uDFFF on its own) is grammatical
 * JSON that Python's json.dumps and older JavaScript engines write out of broken strings: it
 * is replaced with U+FFFD (EF BF BD), not rejected, so one broken emoji does not lose a whole
 * export.  So every string and key handed out is well-formed UTF-8; it may contain NUL bytes
 * (from \u0000).
 *
 * Limits (what bounds the memory: about string_cap + max_depth * 100 bytes):
 *   - nesting depth: max_depth containers open at once (default 64); one more is
 *     JSONSAX_EDEPTH.
 *   - strings and keys: delivered whole up to string_cap bytes (default 4096, decoded);
 *     a longer one is delivered once, at its end, cut to its first string_cap bytes or fewer
 *     (never inside a code point), with truncated = 1 and its full decoded length.
 *   - numbers: JSONSAX_MAX_NUMBER bytes of text; a longer number is JSONSAX_ELIMIT.
 *   - the path (jsonsax_path): the first JSONSAX_PATH_KEY_CAP bytes of each level's key.
 *   - offsets, lines and columns are size_t and do not wrap before 2^64 bytes.
 *
 * Skipping: from inside a callback, jsonsax_skip() asks for the rest of a value to produce no
 * events (a message's huge text, an attachment's contents).  Skipped content is still parsed
 * and checked exactly as if it were not skipped — skipping never changes whether a document
 * is accepted, nor the error — but its strings are not copied anywhere.
 *
 * Ownership: the parser owns everything it hands out; every pointer given to a callback or
 * returned by a function is borrowed, valid only for the time stated.
 */
#ifndef AMI_JSONSAX_H
#define AMI_JSONSAX_H

#include "ami/buf.h"

#include <stddef.h>

/* Return codes.  STOPPED and every error are final: later feeds and finish return the same
 * code and do nothing. */
#define JSONSAX_OK      0
#define JSONSAX_STOPPED 1    /* a callback returned non-zero */
#define JSONSAX_ENOMEM  (-1) /* out of memory (only jsonsax_new allocates; kept for symmetry) */
#define JSONSAX_ESYNTAX (-2) /* not JSON: bad grammar, bad escape, bad UTF-8, trailing data */
#define JSONSAX_EDEPTH  (-3) /* more than max_depth containers open */
#define JSONSAX_ELIMIT  (-4) /* a number longer than JSONSAX_MAX_NUMBER bytes */
#define JSONSAX_EEOF    (-5) /* finish: the input is empty or ends inside the value */
#define JSONSAX_EBUSY   (-6) /* feed or finish called from inside a callback (not final) */

#define JSONSAX_DEFAULT_MAX_DEPTH  64
#define JSONSAX_MAX_DEPTH_LIMIT    4096 /* a larger max_depth is lowered to this */
#define JSONSAX_DEFAULT_STRING_CAP 4096
#define JSONSAX_MIN_STRING_CAP     16 /* a smaller string_cap is raised to this */
#define JSONSAX_MAX_NUMBER         128
#define JSONSAX_PATH_KEY_CAP       64

typedef enum jsonsax_kind {
    JSONSAX_BEGIN_OBJECT,
    JSONSAX_END_OBJECT,
    JSONSAX_BEGIN_ARRAY,
    JSONSAX_END_ARRAY,
    JSONSAX_KEY,    /* an object member's name; its value's events follow */
    JSONSAX_STRING, /* a string value */
    JSONSAX_NUMBER, /* str holds the number's text exactly as written ("-1.5e3") */
    JSONSAX_TRUE,
    JSONSAX_FALSE,
    JSONSAX_NULL,
} jsonsax_kind;

/* One token.  Borrowed: valid only during the callback. */
typedef struct jsonsax_event {
    jsonsax_kind kind;
    /* KEY, STRING: the decoded text, well-formed UTF-8, NUL-terminated at len (it may also
     * hold NULs from \u0000).  NUMBER: the number's text, NUL-terminated.  Others: NULL. */
    const char *str;
    size_t len;
    size_t full_len; /* KEY, STRING: the decoded length before any cut (== len unless
                        truncated); NUMBER: len; others: 0 */
    int truncated;   /* KEY, STRING: 1 when str holds only the first bytes (string_cap) */
    size_t offset;   /* byte offset of the token's first byte in the input (a BOM counts) */
    /* The number of containers around the token: 0 for the top value, 1 for the keys and
     * values of a top-level object or array...  A container's BEGIN and END events carry the
     * depth of the container itself (its keys and values are one deeper). */
    size_t depth;
} jsonsax_event;

typedef struct jsonsax jsonsax;

/// Called once per token, in input order.  Return 0 to go on; non-zero stops: the feed (or
/// finish) in progress returns JSONSAX_STOPPED at once and so does every later call.  The
/// callback may call jsonsax_skip() and the read-only functions below (path, offset), but
/// must not feed, finish or free the parser (feed and finish return JSONSAX_EBUSY then).
typedef int (*jsonsax_fn)(void *ud, jsonsax *p, const jsonsax_event *ev);

typedef struct jsonsax_options {
    size_t max_depth;  /* 0 = JSONSAX_DEFAULT_MAX_DEPTH */
    size_t string_cap; /* 0 = JSONSAX_DEFAULT_STRING_CAP */
} jsonsax_options;

/* One level of the path to the current token (see jsonsax_path). */
typedef struct jsonsax_level {
    int is_object;   /* 1: an object, 0: an array */
    size_t index;    /* the current member's (object) or element's (array) 0-based position */
    const char *key; /* objects: the current member's key, its first JSONSAX_PATH_KEY_CAP
                        bytes at most (never cut inside a code point), NUL-terminated; "" before
                        the first key; arrays: NULL */
    size_t key_len;
    int key_truncated; /* the key was longer than what key holds */
    size_t offset;     /* byte offset of the container's '{' or '[' */
} jsonsax_level;

/// Returns a parser that calls fn (must not be NULL) with ud for each token, or NULL when out
/// of memory or fn is NULL.  opt may be NULL (defaults); it is copied.  This is the only
/// allocation: feeding never allocates.  Free with jsonsax_free().
jsonsax *jsonsax_new(const jsonsax_options *opt, jsonsax_fn fn, void *ud);

/// Parses len bytes (buf may be NULL when len is 0), calling fn for every token completed, in
/// order, before returning.  Tokens may span any number of feeds.  Returns JSONSAX_OK, or
/// STOPPED, ESYNTAX, EDEPTH, ELIMIT (final; jsonsax_error() says why and where), or EBUSY when
/// called from a callback.  The parser does not keep buf.
int jsonsax_feed(jsonsax *p, const char *buf, size_t len);

/// Ends the input: a top-level number at the very end (the document "42") is delivered (one
/// inside a container, as in "[4", is not: the input was cut), then the document must be
/// complete.  Returns JSONSAX_OK; JSONSAX_EEOF when the input was
/// empty (or only whitespace) or ends inside the value (jsonsax_error() names what was left
/// open and where it began); the final code of an earlier failure or stop; EBUSY from a
/// callback.  After it, feeding more is JSONSAX_ESYNTAX ("data after the end").
int jsonsax_finish(jsonsax *p);

/// From inside a callback, asks to skip: after a KEY event, its value produces no event at
/// all (a container: not even its BEGIN and END); after a BEGIN event, the container's content
/// produces no events but its END is still delivered (so the caller's own depth bookkeeping
/// stays balanced).  After any other event, or outside a callback, it does nothing.  Skipped
/// content is parsed and checked all the same (see the top of this file).
void jsonsax_skip(jsonsax *p);

/// The number of containers open around the current position: during a callback, ev->depth
/// (for a BEGIN event, the container is not counted yet; for an END, no longer).
size_t jsonsax_depth(const jsonsax *p);

/// Fills *out with level `level` (0 = the outermost container) of the path to the current
/// token; during a callback, levels 0..ev->depth-1 are the containers around the token.
/// Returns 0, or -1 when level >= jsonsax_depth(p) (*out untouched).  out->key is borrowed
/// until the parser moves on (the end of the callback, or the next feed).
int jsonsax_path(const jsonsax *p, size_t level, jsonsax_level *out);

/// Appends the path to the current token to out in a JSONPath-like form: $ then [3] for array
/// elements, .name for keys made of ASCII letters, digits and _, ["..."] (escaped) for others,
/// ... after a cut key, e.g. $[3].mapping["a1-b2"].message.  Returns 0, or -1 when out of
/// memory.
int jsonsax_path_format(const jsonsax *p, buf *out);

/// Bytes consumed so far (during a callback: up to the end of the token being reported, or
/// a little past it for a number, whose end is only seen at the next byte).
size_t jsonsax_offset(const jsonsax *p);

/// After a failure (any negative code but EBUSY): a short description of what was wrong, in
/// English, e.g. "expected ',' or ']' after an array element, found '}'"; "" otherwise.
/// Borrowed until the parser is freed.
const char *jsonsax_error(const jsonsax *p);
/// Where: the byte offset of the offending byte (for EEOF, the input's length), its line
/// (1-based, counting LF) and column (1-based, in bytes).
size_t jsonsax_error_offset(const jsonsax *p);
size_t jsonsax_error_line(const jsonsax *p);
size_t jsonsax_error_column(const jsonsax *p);

/// Frees the parser.  NULL is allowed.  Not from inside a callback.
void jsonsax_free(jsonsax *p);

/* ---- helpers for NUMBER (and numeric string) values ----------------------------------- */

/// Converts a number's text (JSON grammar; surrounding spaces are not allowed) to a double,
/// whatever the C locale.  Returns 0, or -1 when s[0..len) is not a JSON number or does not
/// fit a finite double.  *out is set only on success.
int jsonsax_number_double(const char *s, size_t len, double *out);

/// Converts a number's text to an integer: "42", "-7", also "42.0" or "4.2e1" when the value
/// is integral.  Returns 0, or -1 when it is not a JSON number, not integral, or outside
/// [-2^63 + 1, 2^63 - 1].  *out is set only on success.
int jsonsax_number_int(const char *s, size_t len, long long *out);

#endif
