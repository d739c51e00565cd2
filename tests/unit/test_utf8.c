/* Tests for the UTF-8 filter (src/utf8.c).
 *
 * Besides hand-written cases, the filter is compared with a reference built a different
 * way: every scalar value U+0000..U+10FFFF (surrogates excluded) is encoded by plain bit
 * shifting, and every prefix of every encoding is marked in a table.  A maximal subpart is
 * then, by definition, the longest run of bytes found in that table; no range table is
 * shared with the code under test.
 */
#include "ami/buf.h"
#include "ami/utf8.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FFFD   "\xEF\xBF\xBD"
#define S(lit) lit, sizeof(lit) - 1

/* ---- the reference ---------------------------------------------------------------------- */

static unsigned char lead_len[256];  /* encoded length for a lead byte, 0 if none */
static unsigned char prefix2[65536]; /* two bytes that begin some encoding */
static unsigned char *prefix3;       /* bitmap: three bytes that begin some encoding */

static void ref_init(void) {
    prefix3 = calloc((size_t)1 << 21, 1);
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        unsigned char b[4];
        unsigned n;
        if (cp < 0x80) {
            b[0] = (unsigned char)cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | (cp >> 6));
            b[1] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | (cp >> 12));
            b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | (cp >> 18));
            b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        lead_len[b[0]] = (unsigned char)n;
        if (n >= 2)
            prefix2[b[0] << 8 | b[1]] = 1;
        if (n >= 3) {
            uint32_t k = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
            prefix3[k >> 3] |= (unsigned char)(1u << (k & 7));
        }
    }
}

/* Do s[0..m) begin some encoding?  (m <= 4; a fourth byte only has to be 80..BF.) */
static int ref_prefix(const unsigned char *s, size_t m) {
    if (!lead_len[s[0]])
        return 0;
    if (m >= 2 && !prefix2[s[0] << 8 | s[1]])
        return 0;
    if (m >= 3) {
        uint32_t k = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
        if (!(prefix3[k >> 3] & (1u << (k & 7))))
            return 0;
    }
    return m < 4 || (s[3] & 0xC0) == 0x80;
}

/* The whole text through the reference, then finished. */
static void ref_filter(const unsigned char *s, size_t n, buf *out) {
    size_t i = 0;
    while (i < n) {
        size_t m = 1;
        if (!ref_prefix(s + i, 1)) {
            buf_append(out, FFFD, 3);
            i++;
            continue;
        }
        while (m < lead_len[s[i]] && i + m < n && ref_prefix(s + i, m + 1))
            m++;
        if (m == lead_len[s[i]])
            buf_append(out, s + i, m);
        else
            buf_append(out, FFFD, 3);
        i += m;
    }
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* Filters in[0..len) in the pieces that cuts[] delimit, then finishes.  Caller frees. */
static char *filtered(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                      size_t *out_len) {
    utf8_state st = {{0}, 0};
    buf out = {0};
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        if (utf8_filter(&st, in + at, to - at, &out) != 0)
            buf_append_str(&out, "<oom>");
        at = to;
    }
    utf8_finish(&st, &out);
    if (st.pend_len != 0)
        buf_append_str(&out, "<held>");
    *out_len = out.len;
    return buf_steal(&out);
}

/* Checks that in, split every way into up to three pieces, filters to want, that want is
 * valid UTF-8, and that the reference agrees. */
static int check_filter(const char *in, size_t len, const char *want, size_t want_len) {
    int ok = utf8_valid(want, want_len);
    buf ref = {0};
    ref_filter((const unsigned char *)in, len, &ref);
    if (ref.len != want_len || memcmp(ref.data ? ref.data : "", want, want_len) != 0) {
        fprintf(stderr, "  the reference disagrees with the expected output\n");
        ok = 0;
    }
    buf_free(&ref);
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i; j <= len; j++) {
            size_t cuts[2] = {i, j}, n;
            char *got = filtered(in, len, cuts, 2, &n);
            if (n != want_len || memcmp(got, want, n) != 0) {
                if (ok)
                    fprintf(stderr, "  cut at %zu and %zu: got %zu bytes \"%s\"\n", i, j, n, got);
                ok = 0;
            }
            free(got);
        }
    }
    return ok;
}

#define CHECK_FILTER(in, want) CHECK(check_filter(S(in), S(want)))

/* ---- invalid sequences, one class at a time --------------------------------------------- */

static void test_valid_passes_through(void) {
    CHECK_FILTER("", "");
    CHECK_FILTER("hello", "hello");
    CHECK_FILTER("Ça a été déjà l'été à Noël, œuvre", "Ça a été déjà l'été à Noël, œuvre");
    CHECK_FILTER("\xF0\x9F\x98\x80 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
                 "\xF0\x9F\x98\x80 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD");
    /* The edges of every range in Table 3-7. */
    CHECK_FILTER("\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEC\xBF\xBF\xED\x80\x80\xED\x9F\xBF"
                 "\xEE\x80\x80\xEF\xBF\xBF",
                 "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEC\xBF\xBF\xED\x80\x80\xED\x9F\xBF"
                 "\xEE\x80\x80\xEF\xBF\xBF");
    CHECK_FILTER("\xF0\x90\x80\x80\xF3\xBF\xBF\xBF\xF4\x8F\xBF\xBF",
                 "\xF0\x90\x80\x80\xF3\xBF\xBF\xBF\xF4\x8F\xBF\xBF");
}

static void test_nul_preserved(void) {
    CHECK(check_filter(S("a\0b\0\xC3\xA9\0"), S("a\0b\0\xC3\xA9\0")));
}

static void test_stray_bytes(void) {
    CHECK_FILTER("\x80", FFFD);
    CHECK_FILTER("a\x80\xBF"
                 "b",
                 "a" FFFD FFFD "b");
    CHECK_FILTER("\xFE\xFF", FFFD FFFD);
    CHECK_FILTER("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD);
    CHECK_FILTER("\xF8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD);
}

static void test_overlongs(void) {
    CHECK_FILTER("\xC0\xAF", FFFD FFFD);
    CHECK_FILTER("\xC1\xBF", FFFD FFFD);
    CHECK_FILTER("\xE0\x80\xAF", FFFD FFFD FFFD);
    CHECK_FILTER("\xE0\x9F\xBF", FFFD FFFD FFFD);
    CHECK_FILTER("\xF0\x80\x80\xAF", FFFD FFFD FFFD FFFD);
    CHECK_FILTER("\xF0\x8F\xBF\xBF", FFFD FFFD FFFD FFFD);
}

static void test_surrogates_and_too_high(void) {
    CHECK_FILTER("\xED\xA0\x80", FFFD FFFD FFFD);
    CHECK_FILTER("\xED\xBF\xBF", FFFD FFFD FFFD);
    CHECK_FILTER("\xED\xA0\xBD\xED\xB8\x80", FFFD FFFD FFFD FFFD FFFD FFFD); /* CESU-8 😀 */
    CHECK_FILTER("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD);
    CHECK_FILTER("\xF4\xBF\xBF\xBF", FFFD FFFD FFFD FFFD);
}

static void test_truncated(void) {
    /* A well-formed prefix cut by a non-continuation byte is ONE U+FFFD, and the byte that
     * cut it is read afresh. */
    CHECK_FILTER("\xC3"
                 "A",
                 FFFD "A");
    CHECK_FILTER("\xE2\x82"
                 "A",
                 FFFD "A");
    CHECK_FILTER("\xF0\x9F\x98"
                 "A",
                 FFFD "A");
    CHECK_FILTER("\xF0\x9F\x98\xC3\xA9", FFFD "\xC3\xA9");
    CHECK_FILTER("\xE2\x82\xE2\x82\xAC", FFFD "\xE2\x82\xAC");
    /* And at the end of the text (utf8_finish). */
    CHECK_FILTER("ab\xF0\x9F\x98", "ab" FFFD);
    CHECK_FILTER("\xC3", FFFD);
    /* A bad second byte ends the subpart at the lead. */
    CHECK_FILTER("\xF0\x9F\x98\x80\xF0"
                 "x",
                 "\xF0\x9F\x98\x80" FFFD "x");
}

static void test_unicode_table_3_8(void) {
    /* The example the Unicode Standard gives for maximal subparts (Table 3-8). */
    CHECK_FILTER("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
                 "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d");
}

/* ---- splits -------------------------------------------------------------------------------- */

static void test_held_across_calls(void) {
    utf8_state st = {{0}, 0};
    buf out = {0};
    /* 😀 one byte per call: nothing comes out until the fourth. */
    static const char emoji[] = "\xF0\x9F\x98\x80";
    for (int i = 0; i < 3; i++) {
        CHECK_INT(utf8_filter(&st, emoji + i, 1, &out), 0);
        CHECK_INT(out.len, 0);
        CHECK_INT(st.pend_len, (unsigned)i + 1);
    }
    CHECK_INT(utf8_filter(&st, emoji + 3, 1, &out), 0);
    CHECK_MEM(out.data, out.len, emoji, 4);
    CHECK_INT(st.pend_len, 0);
    /* An empty call changes nothing. */
    CHECK_INT(utf8_filter(&st, NULL, 0, &out), 0);
    CHECK_INT(out.len, 4);
    /* Held bytes, then a byte that cannot continue them. */
    buf_clear(&out);
    CHECK_INT(utf8_filter(&st, "\xF0\x9F", 2, &out), 0);
    CHECK_INT(utf8_filter(&st, "\x98", 1, &out), 0);
    CHECK_INT(utf8_filter(&st, "A\xC3", 2, &out), 0);
    CHECK_STR(out.data, FFFD "A");
    CHECK_INT(st.pend_len, 1);
    CHECK_INT(utf8_finish(&st, &out), 0);
    CHECK_STR(out.data, FFFD "A" FFFD);
    CHECK_INT(st.pend_len, 0);
    /* Finishing with nothing held adds nothing. */
    CHECK_INT(utf8_finish(&st, &out), 0);
    CHECK_STR(out.data, FFFD "A" FFFD);
    /* A held lead, then a continuation byte that its range refuses: two replacements. */
    buf_clear(&out);
    CHECK_INT(utf8_filter(&st, "\xF0", 1, &out), 0);
    CHECK_INT(utf8_filter(&st, "\x80", 1, &out), 0);
    CHECK_STR(out.data, FFFD FFFD);
    CHECK_INT(st.pend_len, 0);
    buf_free(&out);
}

static void test_every_split_of_multibyte_text(void) {
    /* check_filter already cuts in every place; this text has every length of sequence
     * next to each other and next to ASCII. */
    CHECK_FILTER("é€😀aé😀€x", "é€😀aé😀€x");
}

static void test_ascii_fast_path_boundaries(void) {
    /* Put a multibyte character, or an invalid byte, at every offset around the 16-byte
     * blocks the fast path reads, and a long ASCII tail after it. */
    for (size_t i = 0; i < 40; i++) {
        buf in = {0}, want = {0};
        for (size_t k = 0; k < i; k++)
            buf_append_byte(&in, (char)('a' + k % 26));
        buf_append(&want, in.data ? in.data : "", in.len);
        buf_append_str(&in, "\xC3\xA9");
        buf_append_str(&want, "\xC3\xA9");
        buf_append_str(&in, "\xFF");
        buf_append_str(&want, FFFD);
        for (size_t k = 0; k < 37; k++) {
            buf_append_byte(&in, (char)('A' + k % 26));
            buf_append_byte(&want, (char)('A' + k % 26));
        }
        size_t n;
        char *got = filtered(in.data, in.len, NULL, 0, &n);
        CHECK_MEM(got, n, want.data, want.len);
        CHECK(utf8_valid(in.data, in.len) == 0);
        CHECK(utf8_valid(want.data, want.len) == 1);
        free(got);
        buf_free(&in);
        buf_free(&want);
    }
}

/* Random texts from bytes that make interesting sequences, in random pieces, against the
 * reference; plus the promise utf8_cut makes: cutting never splits a unit, so the output of
 * the cut prefix is a prefix of the output of the whole. */
static void test_random_against_reference(void) {
    static const unsigned char alphabet[] = {'a',  0x00, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xA9,
                                             0xBF, 0xC0, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED,
                                             0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x82, 0x98, 0xAC};
    uint64_t seed = 12345;
    int bad = 0;
    for (int iter = 0; iter < 20000 && !bad; iter++) {
        unsigned char in[24];
        size_t len = 0, cuts[24], ncuts = 0;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t want_len = (size_t)(seed >> 59) % 24;
        for (size_t i = 0; i < want_len; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            in[len++] = alphabet[(seed >> 33) % sizeof alphabet];
            if ((seed >> 20) % 3 == 0)
                cuts[ncuts++] = len;
        }
        buf ref = {0};
        ref_filter(in, len, &ref);
        size_t n;
        char *got = filtered((const char *)in, len, cuts, ncuts, &n);
        if (n != ref.len || memcmp(got, ref.data ? ref.data : "", n) != 0 || !utf8_valid(got, n))
            bad = 1;
        /* Valid exactly when the reference changes nothing. */
        int same = ref.len == len && (len == 0 || memcmp(ref.data, in, len) == 0);
        CHECK(utf8_valid((const char *)in, len) == same);
        for (size_t max = 0; max <= len && !bad; max++) {
            size_t c = utf8_cut((const char *)in, len, max), pn;
            char *pre = filtered((const char *)in, c, NULL, 0, &pn);
            if (c > max || pn > n || memcmp(pre, got, pn) != 0)
                bad = 2;
            free(pre);
        }
        if (bad)
            fprintf(stderr, "  iteration %d failed (%d)\n", iter, bad);
        free(got);
        buf_free(&ref);
    }
    CHECK(!bad);
}

/* ---- utf8_cut and utf8_valid ------------------------------------------------------------ */

static void test_cut(void) {
    static const char s[] = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"; /* a é € 😀 z */
    static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11, 11, 11};
    for (size_t max = 0; max < sizeof want / sizeof *want; max++)
        CHECK_INT(utf8_cut(s, 11, max), want[max]);
    CHECK_INT(utf8_cut(s, 0, 5), 0);
    CHECK_INT(utf8_cut(NULL, 0, 0), 0);
    /* Ill-formed text: stray continuation bytes are one unit each... */
    CHECK_INT(utf8_cut("\x80\x80\x80\x80\x80", 5, 2), 2);
    CHECK_INT(utf8_cut("a\x80\x80\x80\x80\x80", 6, 5), 5);
    /* ...a truncated sequence is one unit... */
    CHECK_INT(utf8_cut("\xE2\x82"
                       "A",
                       3, 1),
              0);
    CHECK_INT(utf8_cut("\xE2\x82"
                       "A",
                       3, 2),
              2);
    /* ...and a sequence cut by the end of the text is kept whole or not at all. */
    CHECK_INT(utf8_cut("A\xF0\x9F\x98", 4, 3), 1);
    CHECK_INT(utf8_cut("A\xF0\x9F\x98", 4, 4), 4);
    /* A lead whose second byte is out of range is a unit by itself. */
    CHECK_INT(utf8_cut("\xE0\x80\x80", 3, 1), 1);
    CHECK_INT(utf8_cut("\xC3\xA9\x80", 3, 2), 2);
}

static void test_valid(void) {
    CHECK(utf8_valid(NULL, 0));
    CHECK(utf8_valid(S("plain ascii, long enough to take the sixteen-byte path")));
    CHECK(utf8_valid(S("Noël 😀 €")));
    CHECK(utf8_valid(S("\0")));
    CHECK(!utf8_valid(S("Noël \xF0\x9F\x98")));
    CHECK(!utf8_valid(S("\xC0\x80")));
    CHECK(!utf8_valid(S("\xED\xA0\x80")));
    CHECK(!utf8_valid(S("\xF4\x90\x80\x80")));
    CHECK(!utf8_valid(S("0123456789abcdef0123456789\x80")));
}

/* utf8_encode: the shortest form at each length's bounds, well-formed and decoding back. */
static void test_encode(void) {
    static const struct {
        unsigned cp;
        const char *want;
    } cases[] = {{0x00, "\x00"},
                 {0x41, "A"},
                 {0x7F, "\x7F"},
                 {0x80, "\xC2\x80"},
                 {0xE9, "\xC3\xA9"},
                 {0x7FF, "\xDF\xBF"},
                 {0x800, "\xE0\xA0\x80"},
                 {0xFFFD, "\xEF\xBF\xBD"},
                 {0xFFFF, "\xEF\xBF\xBF"},
                 {0x10000, "\xF0\x90\x80\x80"},
                 {0x1F600, "\xF0\x9F\x98\x80"},
                 {0x10FFFF, "\xF4\x8F\xBF\xBF"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[4];
        size_t n = utf8_encode(cases[i].cp, out);
        size_t want = cases[i].cp == 0 ? 1 : strlen(cases[i].want);
        CHECK_INT(n, want);
        CHECK(memcmp(out, cases[i].want, want) == 0);
        CHECK(utf8_valid(out, n));
    }
}

int main(void) {
    ref_init();
    RUN(test_valid_passes_through);
    RUN(test_encode);
    RUN(test_nul_preserved);
    RUN(test_stray_bytes);
    RUN(test_overlongs);
    RUN(test_surrogates_and_too_high);
    RUN(test_truncated);
    RUN(test_unicode_table_3_8);
    RUN(test_held_across_calls);
    RUN(test_every_split_of_multibyte_text);
    RUN(test_ascii_fast_path_boundaries);
    RUN(test_random_against_reference);
    RUN(test_cut);
    RUN(test_valid);
    free(prefix3);
    return check_report("utf8");
}
