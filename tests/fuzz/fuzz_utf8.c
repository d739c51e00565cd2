/* libFuzzer target for the UTF-8 filter (src/utf8.c).
 *
 * Input layout: byte 0 and byte 1 pick two cut points (modulo the text length + 1), byte 2
 * a byte budget for utf8_cut; the rest is the text.  Checks, aborting on failure:
 *   - the output is well-formed UTF-8, by a checker written here with code-point
 *     arithmetic (not the range table the filter uses), and by utf8_valid();
 *   - filtering whole, in three pieces and byte by byte gives the same output;
 *   - well-formed input comes out unchanged, and utf8_valid() says so exactly then;
 *   - utf8_cut() stays within the budget and never splits a unit: the output of the cut
 *     prefix is a prefix of the output of the whole.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_DEFAULT_SOURCE \
 *     -D_POSIX_C_SOURCE=200809L -Iinclude tests/fuzz/fuzz_utf8.c src/utf8.c src/buf.c \
 *     src/log.c -o /tmp/fuzz_utf8
 *   cp -r tests/fuzz/corpus/utf8 /tmp/corpus_utf8 && /tmp/fuzz_utf8 -max_total_time=60 \
 *     /tmp/corpus_utf8
 */
#include "ami/buf.h"
#include "ami/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Well-formed by decoding: the code point must need exactly as many bytes as it used, and
 * be neither a surrogate nor above U+10FFFF. */
static int well_formed(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static buf filtered(const char *s, size_t len, const size_t *cuts, size_t ncuts) {
    utf8_state st = {{0}, 0};
    buf out = {0};
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        if (utf8_filter(&st, s + at, to - at, &out) != 0)
            abort();
        if (st.pend_len > 3)
            abort();
        at = to;
    }
    if (utf8_finish(&st, &out) != 0 || st.pend_len != 0)
        abort();
    if (!out.data)
        buf_append(&out, "", 0);
    return out;
}

static void same(const buf *a, const buf *b) {
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3)
        return 0;
    const char *s = (const char *)data + 3;
    size_t len = size - 3;
    size_t c1 = data[0] % (len + 1), c2 = data[1] % (len + 1);
    size_t cuts[2] = {c1 < c2 ? c1 : c2, c1 < c2 ? c2 : c1};
    size_t budget = data[2] % (len + 2);

    buf whole = filtered(s, len, NULL, 0);
    if (!well_formed((const unsigned char *)whole.data, whole.len) ||
        !utf8_valid(whole.data, whole.len))
        abort();
    int valid = well_formed((const unsigned char *)s, len);
    if (utf8_valid(s, len) != valid)
        abort();
    if (valid && (whole.len != len || memcmp(whole.data, s, len) != 0))
        abort();

    buf split = filtered(s, len, cuts, 2);
    same(&whole, &split);
    buf_free(&split);

    size_t *each = malloc((len ? len : 1) * sizeof *each);
    if (!each)
        abort();
    for (size_t i = 0; i + 1 < len; i++)
        each[i] = i + 1;
    buf bytes = filtered(s, len, each, len ? len - 1 : 0);
    same(&whole, &bytes);
    buf_free(&bytes);
    free(each);

    size_t cut = utf8_cut(s, len, budget);
    if (cut > budget || cut > len || (budget >= len && cut != len))
        abort();
    buf pre = filtered(s, cut, NULL, 0);
    if (pre.len > whole.len || memcmp(pre.data, whole.data, pre.len) != 0)
        abort();
    /* In well-formed text a cut backs off by at most three bytes (one code point). */
    if (valid && (!utf8_valid(s, cut) || (budget < len && cut + 3 < budget)))
        abort();
    buf_free(&pre);
    buf_free(&whole);
    return 0;
}
