/* utf8: well-formed UTF-8 out of any byte stream.  See include/ami/utf8.h.
 *
 * The input is cut into units: a well-formed sequence, or an ill-formed "maximal subpart"
 * (the longest prefix of a well-formed sequence, or else one byte), each of which becomes
 * one U+FFFD.  Every unit but a stray byte starts at a lead byte, and every byte after the
 * lead is a continuation byte (10xxxxxx): so each non-continuation byte starts a unit, which
 * is what lets utf8_cut() find a unit boundary by looking at most three bytes back.
 *
 * Well-formed sequences (Unicode Table 3-7); the second byte's range is the only special one:
 *
 *     lead     second   then
 *     00..7F   -        -
 *     C2..DF   80..BF   -
 *     E0       A0..BF   80..BF           (E0 80..9F would be overlong)
 *     E1..EC   80..BF   80..BF
 *     ED       80..9F   80..BF           (ED A0..BF would be a surrogate)
 *     EE..EF   80..BF   80..BF
 *     F0       90..BF   80..BF 80..BF    (F0 80..8F would be overlong)
 *     F1..F3   80..BF   80..BF 80..BF
 *     F4       80..8F   80..BF 80..BF    (F4 90.. would be above U+10FFFF)
 *
 * 80..C1 and F5..FF never start a sequence.
 *
 * Speed: text is mostly ASCII, so runs of ASCII are skipped sixteen bytes at a time (two
 * 64-bit loads tested against the high bits), and well-formed text is copied to the output
 * in one piece per run between replacements, never byte by byte.
 */
#include "ami/utf8.h"

#include <stdint.h>
#include <string.h>

#define HIGH_BITS 0x8080808080808080ULL

static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};

enum { SEQ_VALID, SEQ_INVALID, SEQ_SHORT };

/* Classifies the unit that starts at s, with avail >= 1 bytes readable.  SEQ_VALID: *n is
 * its length.  SEQ_INVALID: *n is the length of the maximal subpart that one U+FFFD replaces
 * (at least 1).  SEQ_SHORT: all avail bytes are a well-formed prefix that the end of the
 * input cut; *n == avail. */
static inline int seq_check(const unsigned char *s, size_t avail, size_t *n) {
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need;
    if (c < 0x80) {
        *n = 1;
        return SEQ_VALID;
    }
    if (c < 0xC2 || c > 0xF4) {
        *n = 1;
        return SEQ_INVALID;
    }
    if (c < 0xE0) {
        need = 2;
    } else if (c < 0xF0) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    }
    if (avail < 2) {
        *n = avail;
        return SEQ_SHORT;
    }
    if (s[1] < lo || s[1] > hi) {
        *n = 1;
        return SEQ_INVALID;
    }
    for (size_t i = 2; i < need; i++) {
        if (i >= avail) {
            *n = avail;
            return SEQ_SHORT;
        }
        if ((s[i] & 0xC0) != 0x80) {
            *n = i;
            return SEQ_INVALID;
        }
    }
    *n = need;
    return SEQ_VALID;
}

/* Skips the ASCII bytes at s (stops at end or at the first byte >= 0x80). */
static inline const unsigned char *skip_ascii(const unsigned char *s, const unsigned char *end) {
    while (end - s >= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + 8, 8);
        if ((a | b) & HIGH_BITS)
            break;
        s += 16;
    }
    while (s < end && *s < 0x80)
        s++;
    return s;
}

int utf8_filter(utf8_state *st, const char *in, size_t len, buf *out) {
    if (len == 0)
        return 0;
    const unsigned char *s = (const unsigned char *)in;
    const unsigned char *end = s + len;
    size_t n;

    /* Most calls produce about as many bytes as they take: one reservation up front saves
     * the appends below from growing the buffer step by step. */
    if (buf_reserve(out, len + st->pend_len) != 0)
        return -1;

    if (st->pend_len) {
        /* Finish the held sequence with the first bytes of in.  A sequence is at most four
         * bytes, so four bytes always decide; fewer may leave it still incomplete. */
        unsigned char tmp[4];
        size_t k = st->pend_len;
        size_t take = len < 4 - k ? len : 4 - k;
        memcpy(tmp, st->pend, k);
        memcpy(tmp + k, s, take);
        int cls = seq_check(tmp, k + take, &n);
        if (cls == SEQ_SHORT) {
            memcpy(st->pend + k, s, take); /* take == len here */
            st->pend_len = (unsigned)(k + take);
            return 0;
        }
        st->pend_len = 0;
        /* The held bytes were a well-formed prefix, so the unit ends at or after them:
         * n >= k, and n - k bytes of in belong to it. */
        if (buf_append(out, cls == SEQ_VALID ? (const char *)tmp : replacement,
                       cls == SEQ_VALID ? n : 3) != 0)
            return -1;
        s += n - k;
    }

    const unsigned char *run = s; /* start of the well-formed bytes not yet copied */
    while (s < end) {
        s = skip_ascii(s, end);
        if (s == end)
            break;
        int cls = seq_check(s, (size_t)(end - s), &n);
        if (cls == SEQ_VALID) {
            s += n;
            continue;
        }
        if (buf_append(out, run, (size_t)(s - run)) != 0)
            return -1;
        if (cls == SEQ_SHORT) {
            memcpy(st->pend, s, n);
            st->pend_len = (unsigned)n;
            return 0;
        }
        if (buf_append(out, replacement, 3) != 0)
            return -1;
        s += n;
        run = s;
    }
    return buf_append(out, run, (size_t)(s - run));
}

int utf8_finish(utf8_state *st, buf *out) {
    if (st->pend_len == 0)
        return 0;
    st->pend_len = 0;
    return buf_append(out, replacement, 3);
}

size_t utf8_cut(const char *str, size_t len, size_t max) {
    if (max >= len)
        return len;
    const unsigned char *s = (const unsigned char *)str;
    if ((s[max] & 0xC0) != 0x80)
        return max; /* a non-continuation byte always starts a unit */
    /* s[max] continues something: find the non-continuation byte that starts its unit (at
     * most three bytes back) and see whether that unit reaches past the cut. */
    size_t k = max;
    while (k > 0 && max - k < 3) {
        k--;
        if ((s[k] & 0xC0) != 0x80) {
            size_t n;
            seq_check(s + k, len - k, &n);
            return k + n > max ? k : max;
        }
    }
    return max; /* only continuation bytes behind: stray bytes, one unit each */
}

int utf8_valid(const char *str, size_t len) {
    if (len == 0)
        return 1; /* str may be NULL */
    const unsigned char *s = (const unsigned char *)str;
    const unsigned char *end = s + len;
    size_t n;
    while (s < end) {
        s = skip_ascii(s, end);
        if (s == end)
            break;
        if (seq_check(s, (size_t)(end - s), &n) != SEQ_VALID)
            return 0;
        s += n;
    }
    return 1;
}

size_t utf8_encode(unsigned cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
