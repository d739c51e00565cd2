/* libFuzzer target for the quote matcher (src/anchor*.c).
 *
 * Input: a 7-byte header, then the text.
 *   byte 0   flags: 1 = the quote is a piece of the document, 2 = a passage is given
 *   byte 1-2 the quote's length (little-endian, cut to what there is)
 *   byte 3-4 the passage's first and last line (flag 2)
 *   byte 5-6 where the piece starts in the document (flag 1, modulo its length)
 * Without flag 1 the text is the document followed by the quote; with it, the whole text is
 * the document and the quote is the piece doc[start, start + length), moved out to the
 * nearest unit boundaries (never cutting a well-formed UTF-8 sequence).
 *
 * Properties checked (abort on failure):
 *   - a found range lies inside the document, start < end, both on unit boundaries (never
 *     inside a well-formed sequence), and anchor_doc_position() accepts both;
 *   - tier bytes without elision: the range's bytes are the stripped quote;
 *   - status, tier and reason agree; similarity is 1 for exact tiers, in [0.85, 1] for fuzzy;
 *   - a piece of the document is always found when its stripped form has 3 code points or
 *     more: as bytes without a passage, as the same words (tier 1 or 2) with one;
 *   - the same question asked again, or of a second anchor_doc of the same text, gives the
 *     same answer (no hidden state).
 */
#include "ami/anchor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what) {
    fprintf(stderr, "fuzz_anchor: %s\n", what);
    abort();
}

/* The same segmentation as the matcher: a well-formed sequence (Unicode Table 3-7) or one
 * byte. */
static size_t unit(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    if (!len || len > n)
        return 1;
    unsigned lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 1;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return len;
}

/* boundary[i] for i in [0, n]: 1 when i does not cut a unit. */
static unsigned char *boundaries(const unsigned char *s, size_t n) {
    unsigned char *b = calloc(n + 1, 1);
    if (!b)
        abort();
    for (size_t i = 0; i < n; i += unit(s + i, n - i))
        b[i] = 1;
    b[n] = 1;
    return b;
}

static int same_result(const anchor_result *a, const anchor_result *b) {
    return a->status == b->status && a->tier == b->tier && a->reason == b->reason &&
           a->start == b->start && a->end == b->end && a->distance == b->distance &&
           a->flags == b->flags && a->similarity == b->similarity;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 7)
        return 0;
    unsigned flags = data[0];
    size_t qlen = (size_t)data[1] | ((size_t)data[2] << 8);
    long first = 0, last = 0;
    if (flags & 2) {
        first = data[3];
        last = data[4];
    }
    const unsigned char *text = data + 7;
    size_t tlen = size - 7;
    const unsigned char *doc = text, *quote;
    size_t dlen;
    unsigned char *bd;
    int piece = flags & 1;
    if (piece) {
        dlen = tlen;
        bd = boundaries(doc, dlen);
        size_t at = dlen ? ((size_t)data[5] | ((size_t)data[6] << 8)) % (dlen + 1) : 0;
        size_t end = qlen > dlen - at ? dlen : at + qlen;
        while (!bd[at])
            at--;
        while (!bd[end])
            end++;
        quote = doc + at;
        qlen = end - at;
    } else {
        if (qlen > tlen)
            qlen = tlen;
        dlen = tlen - qlen;
        quote = text + dlen;
        bd = boundaries(doc, dlen);
    }

    anchor_doc *d = anchor_doc_new((const char *)doc, dlen);
    if (!d)
        abort();
    if (anchor_doc_length(d) != dlen)
        fail("length");
    anchor_result r, r2;
    if (anchor_find(d, first, last, (const char *)quote, qlen, &r) != ANCHOR_OK)
        fail("anchor_find failed");

    if (r.status == ANCHOR_UNANCHORED) {
        if (r.tier != ANCHOR_TIER_NONE || r.reason == ANCHOR_FOUND || r.start || r.end ||
            r.similarity != 0.0)
            fail("unanchored result with a range or a tier");
    } else {
        if (r.reason != ANCHOR_FOUND || r.tier == ANCHOR_TIER_NONE)
            fail("found without a tier");
        if ((r.status == ANCHOR_APPROXIMATE) != (r.tier == ANCHOR_TIER_FUZZY))
            fail("status and tier disagree");
        if (!(r.start < r.end && r.end <= dlen))
            fail("range outside the document");
        if (!bd[r.start] || !bd[r.end])
            fail("range cuts a UTF-8 sequence");
        long line, col;
        if (anchor_doc_position(d, r.start, &line, &col) != ANCHOR_OK ||
            anchor_doc_position(d, r.end, &line, &col) != ANCHOR_OK || line < 0 || col < 0)
            fail("position");
        if (r.tier == ANCHOR_TIER_FUZZY) {
            /* d may be 0: the quote's bytes occur, but only across a character of the
             * document (seed fuzzy_across_a_character). */
            if (!(r.similarity >= ANCHOR_SIMILARITY - 1e-9 && r.similarity <= 1.0) ||
                (r.distance == 0) != (r.similarity == 1.0))
                fail("fuzzy similarity");
        } else if (r.similarity != 1.0 || r.distance) {
            fail("exact similarity");
        }
        size_t so, sl;
        anchor_strip_quote((const char *)quote, qlen, &so, &sl);
        if (r.tier == ANCHOR_TIER_BYTES && !(r.flags & ANCHOR_F_ELISION) &&
            (r.end - r.start != sl || memcmp(doc + r.start, quote + so, sl) != 0))
            fail("tier bytes but the bytes differ from the stripped quote");
    }
    if (piece) {
        size_t so, sl;
        size_t units = anchor_strip_quote((const char *)quote, qlen, &so, &sl);
        /* With a passage, the same words in it (tier 2) come before bytes elsewhere. */
        if (units >= ANCHOR_SHORT && (flags & 2) && r.status != ANCHOR_EXACT)
            fail("a piece of the document was not found");
        if (units >= ANCHOR_SHORT && !(flags & 2) &&
            (r.tier != ANCHOR_TIER_BYTES || r.end - r.start != sl ||
             memcmp(doc + r.start, quote + so, sl) != 0))
            fail("a piece of the document was not found as bytes");
    }

    /* No hidden state: again, and on a second index of the same text. */
    if (anchor_find(d, first, last, (const char *)quote, qlen, &r2) != ANCHOR_OK ||
        !same_result(&r, &r2))
        fail("a second call differs");
    anchor_doc *d2 = anchor_doc_new((const char *)doc, dlen);
    if (!d2 || anchor_find(d2, first, last, (const char *)quote, qlen, &r2) != ANCHOR_OK ||
        !same_result(&r, &r2))
        fail("a second index differs");
    anchor_doc_free(d2);

    /* The position of every offset is consistent with the lines. */
    long prev_line = 0, prev_col = -1;
    for (size_t i = 0; i <= dlen; i++) {
        long line, col;
        if (anchor_doc_position(d, i, &line, &col) != ANCHOR_OK)
            fail("position refused");
        if (line == prev_line ? col != prev_col + 1 : (line != prev_line + 1 || col != 0))
            fail("positions do not follow the text");
        if (line != prev_line && doc[i - 1] != '\n')
            fail("a line that does not start after an LF");
        prev_line = line;
        prev_col = col;
    }
    anchor_doc_free(d);
    free(bd);
    return 0;
}
