/* libFuzzer target for the secret scanner and masker (src/secrets*.c).
 *
 * Input layout:
 *   byte 0        bit 0: add an allow pattern ("^Zq8|EXAMPLE");
 *                 bit 1: the text is two texts, cut at the position byte 1 gives (modulo
 *                 the length + 1), masked in that order by one session
 *   [byte 1]      the cut (when bit 1)
 *   the rest      the text
 *
 * Checks, aborting on failure:
 *   - every call succeeds; findings are inside their text, non-empty, sorted, do not
 *     overlap, are ASCII only and so start and end on UTF-8 boundaries (never strictly
 *     inside a well-formed multi-byte sequence, whatever invalid bytes surround them);
 *   - the masked copy is the text with each finding replaced by its placeholder, at the
 *     out_start it reports; secrets_scan() reports the same findings as secrets_mask();
 *   - the same bytes always get the same placeholder, across both texts, and one
 *     placeholder always stands for the same bytes (private key blocks aside: the same key
 *     wrapped differently is one secret);
 *   - outside placeholders, a masked copy contains none of the bytes, longer than 8, of the
 *     findings of its text and the texts before it; and when both texts are scanned
 *     before they are masked, of the findings of either;
 *   - masking is idempotent: masking the masked copy, with the same session (right after,
 *     before a later text teaches it more) or a new one with the same allow pattern,
 *     changes nothing and finds nothing;
 *   - a new session gives the same masked copy again (no hidden state).
 * ASan and LSan catch the rest (no crash, no leak).
 *
 * Build and run (from the repository root):
 *   make build/fuzz/fuzz_secrets
 *   cp -r tests/fuzz/corpus/secrets /tmp/corpus_secrets && build/fuzz/fuzz_secrets \
 *     -max_total_time=120 /tmp/corpus_secrets
 */
#include "ami/secrets.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALLOW "^Zq8|EXAMPLE"

static void fail(const char *why) {
    fprintf(stderr, "fuzz_secrets: %s\n", why);
    abort();
}

static secrets_session *session(int allow) {
    secrets_session *s = secrets_session_new();
    if (!s)
        fail("no session");
    if (allow && secrets_allow(s, ALLOW, NULL, 0) != SECRETS_OK)
        fail("allow pattern refused");
    return s;
}

/* False when p lies strictly inside a well-formed multi-byte UTF-8 sequence. */
static int boundary(const char *text, size_t len, size_t p) {
    const unsigned char *t = (const unsigned char *)text;
    if (p == 0 || p >= len)
        return 1;
    for (size_t q = p; q-- > 0 && p - q <= 3;) {
        if ((t[q] & 0xC0) == 0x80)
            continue;
        size_t need = t[q] >= 0xF0 && t[q] <= 0xF4   ? 4
                      : t[q] >= 0xE0 && t[q] <= 0xEF ? 3
                      : t[q] >= 0xC2 && t[q] <= 0xDF ? 2
                                                     : 0;
        if (!need || q + need <= p)
            return 1;
        for (size_t k = q + 1; k <= p && k < len; k++)
            if ((t[k] & 0xC0) != 0x80)
                return 1;
        return 0;
    }
    return 1;
}

static int all_ascii(const char *t, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] >= 0x80)
            return 0;
    return 1;
}

/* The placeholder formats: "[secret: <label>]" and "[secret: <label> <n>]". */
static const char *const labels[] = {
    "OpenAI key",     "Anthropic key", "OpenRouter key",    "API key",
    "Google API key", "GitHub token",  "npm token",         "GitLab token",
    "Slack token",    "Stripe key",    "AWS access key id", "AWS secret key",
    "private key",    "JWT",           "password",          "token",
    "secret",         "credentials",
};

static size_t placeholder_at(const char *t, size_t n) {
    if (n < 11 || memcmp(t, "[secret: ", 9) != 0)
        return 0;
    for (size_t l = 0; l < sizeof labels / sizeof *labels; l++) {
        size_t m = strlen(labels[l]), k = 9 + m;
        if (n < k + 1 || memcmp(t + 9, labels[l], m) != 0)
            continue;
        if (t[k] == ']')
            return k + 1;
        if (t[k] != ' ')
            continue;
        size_t d = k + 1;
        while (d < n && d - k <= 10 && t[d] >= '0' && t[d] <= '9')
            d++;
        if (d > k + 1 && d < n && t[d] == ']')
            return d + 1;
    }
    return 0;
}

/* Marks the bytes of out that belong to a placeholder. */
static unsigned char *placeholder_map(const char *out, size_t n) {
    unsigned char *map = calloc(n + 1, 1);
    if (!map)
        fail("oom");
    for (size_t i = 0; i < n; i++) {
        size_t m = out[i] == '[' ? placeholder_at(out + i, n - i) : 0;
        if (m) {
            memset(map + i, 1, m);
            i += m - 1;
        }
    }
    return map;
}

/* Every occurrence of needle in out lies inside a placeholder. */
static void not_outside(const char *out, size_t n, const unsigned char *map, const char *needle,
                        size_t nlen) {
    for (size_t i = 0; i + nlen <= n; i++) {
        if (memcmp(out + i, needle, nlen) != 0)
            continue;
        for (size_t k = i; k < i + nlen; k++)
            if (!map[k])
                fail("a secret's bytes survive in the masked text");
    }
}

typedef struct seen {
    const char *text[2];
    const secrets_finding *f[2];
    size_t n[2];
} seen;

static void check_one(const char *t, size_t len, const char *out, size_t out_len,
                      const secrets_finding *f, size_t nf) {
    size_t at = 0, o = 0;
    for (size_t i = 0; i < nf; i++) {
        if (f[i].len == 0 || f[i].start < at || f[i].start > len || f[i].len > len - f[i].start)
            fail("finding out of order or outside the text");
        if (!boundary(t, len, f[i].start) || !boundary(t, len, f[i].start + f[i].len) ||
            !all_ascii(t + f[i].start, f[i].len))
            fail("finding not ASCII or not on a UTF-8 boundary");
        if (!f[i].rule || !f[i].placeholder || strlen(f[i].placeholder) != f[i].placeholder_len ||
            placeholder_at(f[i].placeholder, f[i].placeholder_len) != f[i].placeholder_len ||
            f[i].number == 0)
            fail("bad placeholder");
        size_t gap = f[i].start - at;
        if (o + gap > out_len || memcmp(out + o, t + at, gap) != 0)
            fail("masked text differs outside the findings");
        o += gap;
        if (f[i].out_start != o || o + f[i].placeholder_len > out_len ||
            memcmp(out + o, f[i].placeholder, f[i].placeholder_len) != 0)
            fail("placeholder not where reported");
        o += f[i].placeholder_len;
        at = f[i].start + f[i].len;
    }
    if (out_len - o != len - at || memcmp(out + o, t + at, len - at) != 0 || out[out_len])
        fail("masked text differs after the last finding");
}

static void same_findings(const secrets_finding *a, size_t na, const secrets_finding *b,
                          size_t nb) {
    if (na != nb)
        fail("scan and mask disagree");
    for (size_t i = 0; i < na; i++)
        if (a[i].start != b[i].start || a[i].len != b[i].len ||
            strcmp(a[i].placeholder, b[i].placeholder) != 0 || strcmp(a[i].rule, b[i].rule) != 0)
            fail("scan and mask disagree");
}

static void consistent(const seen *sn) {
    for (int x = 0; x < 2; x++)
        for (size_t i = 0; i < sn->n[x]; i++)
            for (int y = 0; y < 2; y++)
                for (size_t j = 0; j < sn->n[y]; j++) {
                    const secrets_finding *a = &sn->f[x][i], *b = &sn->f[y][j];
                    int same_bytes =
                        a->len == b->len &&
                        memcmp(sn->text[x] + a->start, sn->text[y] + b->start, a->len) == 0;
                    int same_ph = strcmp(a->placeholder, b->placeholder) == 0;
                    if (same_bytes && !same_ph)
                        fail("one secret, two placeholders");
                    if (same_ph && !same_bytes && strcmp(a->rule, "private key") != 0)
                        fail("one placeholder, two secrets");
                }
}

/* Masking the masked text out finds nothing and changes nothing. */
static void unchanged(secrets_session *s, const char *out, size_t out_len) {
    char *again;
    size_t again_len, n;
    secrets_finding *f;
    if (secrets_mask(s, out, out_len, &again, &again_len, &f, &n) != SECRETS_OK)
        fail("mask failed");
    if (n != 0 || again_len != out_len || memcmp(again, out, out_len) != 0)
        fail("masking a masked text changed it");
    free(again);
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    int allow = data[0] & 1, two = (data[0] >> 1) & 1;
    size_t pos = 1, cut_byte = 0;
    if (two) {
        if (size < 2)
            return 0;
        cut_byte = data[1];
        pos = 2;
    }
    const char *text = (const char *)data + pos;
    size_t len = size - pos;
    size_t cut = two ? cut_byte % (len + 1) : len;
    const char *part[2] = {text, text + cut};
    size_t plen[2] = {cut, len - cut};
    int parts = two ? 2 : 1;

    secrets_session *s = session(allow);
    char *out[2] = {NULL, NULL};
    size_t out_len[2] = {0, 0};
    secrets_finding *f[2] = {NULL, NULL};
    size_t nf[2] = {0, 0};
    seen sn = {{part[0], part[1]}, {NULL, NULL}, {0, 0}};
    for (int k = 0; k < parts; k++) {
        if (secrets_mask(s, part[k], plen[k], &out[k], &out_len[k], &f[k], &nf[k]) != SECRETS_OK)
            fail("mask failed");
        check_one(part[k], plen[k], out[k], out_len[k], f[k], nf[k]);
        sn.f[k] = f[k];
        sn.n[k] = nf[k];
        /* Idempotent with the same session, before a later text teaches it more. */
        unchanged(s, out[k], out_len[k]);
    }
    consistent(&sn);

    /* No secret's bytes outside placeholders: in its own masked text and the later ones. */
    for (int k = 0; k < parts; k++) {
        unsigned char *map = placeholder_map(out[k], out_len[k]);
        for (int x = 0; x <= k; x++)
            for (size_t i = 0; i < nf[x]; i++)
                if (f[x][i].len > 8)
                    not_outside(out[k], out_len[k], map, part[x] + f[x][i].start, f[x][i].len);
        free(map);
    }

    /* Idempotent with a new session too. */
    secrets_session *fresh = session(allow);
    for (int k = 0; k < parts; k++)
        unchanged(fresh, out[k], out_len[k]);
    secrets_session_free(fresh);

    /* A new session says the same; secrets_scan agrees with secrets_mask.  Then, masking
     * the texts after scanning them all leaves no secret of any text in any of them. */
    secrets_session *s2 = session(allow);
    secrets_finding *f3[2] = {NULL, NULL};
    size_t n3[2] = {0, 0};
    for (int k = 0; k < parts; k++) {
        if (secrets_scan(s2, part[k], plen[k], &f3[k], &n3[k]) != SECRETS_OK)
            fail("scan failed");
        same_findings(f[k], nf[k], f3[k], n3[k]);
    }
    for (int k = 0; k < parts; k++) {
        char *o2;
        size_t o2_len;
        if (secrets_mask(s2, part[k], plen[k], &o2, &o2_len, NULL, NULL) != SECRETS_OK)
            fail("mask failed");
        unsigned char *map = placeholder_map(o2, o2_len);
        for (int x = 0; x < parts; x++)
            for (size_t i = 0; i < n3[x]; i++)
                if (f3[x][i].len > 8)
                    not_outside(o2, o2_len, map, part[x] + f3[x][i].start, f3[x][i].len);
        free(map);
        free(o2);
    }
    for (int k = 0; k < parts; k++)
        free(f3[k]);
    secrets_session_free(s2);

    for (int k = 0; k < parts; k++) {
        free(out[k]);
        free(f[k]);
    }
    secrets_session_free(s);
    return 0;
}
