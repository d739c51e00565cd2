/* utf8: keep text UTF-8-whole on its way to the editor.
 *
 * A model's text arrives in deltas that may cut a code point in two, and a misbehaving
 * server may send bytes that are not UTF-8 at all.  utf8_filter() turns any byte stream,
 * split anywhere, into well-formed UTF-8: a code point cut by the end of a piece is held
 * until its remaining bytes come, and every ill-formed sequence becomes U+FFFD (EF BF BD),
 * following the Unicode Standard's "substitution of maximal subparts" (chapter 3, U+FFFD
 * substitution; the same practice as the WHATWG Encoding Standard's decoder).  The output
 * does not depend on how the input was split.
 *
 * Well-formed means Unicode Table 3-7: no overlong forms, no surrogates (U+D800..U+DFFF), no
 * code point above U+10FFFF.  NUL bytes are valid (U+0000) and pass through.
 */
#ifndef AMI_UTF8_H
#define AMI_UTF8_H

#include "ami/buf.h"

#include <stddef.h>

/* Bytes of a sequence cut by the end of the last piece.  Zero-initialised = nothing held.
 * Owns no memory. */
typedef struct utf8_state {
    unsigned char pend[4];
    unsigned pend_len; /* 0..3 */
} utf8_state;

/// Appends to out the well-formed UTF-8 of the held bytes followed by in[0..len): a
/// sequence left incomplete at the end of in is held in st for the next call, each
/// ill-formed subpart is replaced by U+FFFD.  in may be NULL when len is 0.  out keeps
/// ownership of its memory (the caller frees it).  Returns 0, or -1 when out of memory: out
/// may then hold part of this call's text and the rest is lost (st stays usable).
int utf8_filter(utf8_state *st, const char *in, size_t len, buf *out);

/// End of text: a sequence still held in st becomes one U+FFFD appended to out, and st is
/// emptied.  Returns 0, or -1 when out of memory (st is emptied all the same).
int utf8_finish(utf8_state *st, buf *out);

/// Returns the length of the longest prefix of s[0..len), at most max bytes, that does not
/// cut a code point (or an ill-formed subpart) in two: for truncating text to a byte budget.
/// When max >= len the answer is len.  Never reads past s[len - 1].
size_t utf8_cut(const char *s, size_t len, size_t max);

/// Returns 1 when s[0..len) is well-formed UTF-8 (the empty string is), 0 otherwise.
int utf8_valid(const char *s, size_t len);

/// Writes code point cp (at most 0x10FFFF; the caller maps surrogates) as UTF-8 into out and
/// returns its length, 1 to 4.
size_t utf8_encode(unsigned cp, char out[4]);

#endif
