/* secrets_tokens: the token formats and private key blocks, the secrets that their own bytes
 * name ("What is a secret" in include/ami/secrets.h).  A token is a fixed prefix at a word
 * start (sk-, ghp_, glpat-, xoxb-, AKIA, eyJ, ...) and a body that runs as far as its
 * alphabet goes; a key block runs from its -----BEGIN marker to its END line.  The scan loop
 * (src/secrets.c) calls them where the pair table says one may start; they read the text
 * through secrets_internal.h, as that loop does, so that masking stays idempotent.
 */
#include "ami/secrets.h"

#include "ami/buf.h"
#include "secrets_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- character classes ----------------------------------------------------------------- */

static int is_gitlab(unsigned c) {
    return secrets__is_word(c) || c == '.';
}
static int is_slack(unsigned c) {
    return secrets__is_alnum(c) || c == '-';
}

/* ---- bodies ---------------------------------------------------------------------------- */

/* A body whose last 16 letters and digits are one character repeated: a template. */
static int template_tail(const uchar *s, size_t len) {
    size_t seen = 0;
    unsigned c0 = 0;
    for (size_t i = len; i-- > 0 && seen < 16;) {
        if (!secrets__is_alnum(s[i]))
            continue;
        if (seen++ == 0)
            c0 = s[i];
        else if (s[i] != c0)
            return 0;
    }
    return seen > 0;
}

static int has_digit(const uchar *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (secrets__is_digit(s[i]))
            return 1;
    return 0;
}

/* 40 base64 characters with both cases: the shape of an AWS secret access key. */
int secrets__aws_secret_shape(const uchar *s, size_t len) {
    if (len != 40)
        return 0;
    int up = 0, low = 0;
    for (size_t i = 0; i < len; i++) {
        if (!secrets__is_b64(s[i]))
            return 0;
        up |= secrets__is_upper(s[i]);
        low |= secrets__is_lower(s[i]);
    }
    return up && low;
}

/* ---- GitHub's checksum ----------------------------------------------------------------- */

static uint32_t crc32_bytes(const uchar *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* A 36-character body: 30 random characters, then their CRC32 in base62 (0-9A-Za-z). */
static int github_checksum_ok(const uchar *body) {
    uint64_t v = 0;
    for (int i = 30; i < 36; i++) {
        unsigned c = body[i], d = secrets__is_digit(c)   ? c - '0'
                                  : secrets__is_upper(c) ? c - 'A' + 10
                                                         : c - 'a' + 36;
        v = v * 62 + d;
    }
    return v == crc32_bytes(body, 30);
}

/* ---- token formats --------------------------------------------------------------------
 * Each rule returns 1, 0 or -1 as secrets_internal.h says. */

/* A token t[p..e): template bodies are no secrets; found ones become findings. */
static int token_found(scan *sc, size_t p, size_t body, size_t e, int rule, unsigned flags,
                       size_t *next) {
    *next = e;
    if (template_tail(sc->t + body, e - body))
        return 0;
    return secrets__accept(sc, p, e, rule, flags);
}

/* After an AWS access key id ending at e: the first 40-character base64 word within the
 * window is its secret key, to be emitted when the scan gets there. */
static void aws_lookahead(scan *sc, size_t e) {
    const uchar *t = sc->t;
    size_t k = e, lines = 0, lim = sc->n - e > AWS_WINDOW ? e + AWS_WINDOW : sc->n;
    if (sc->pend)
        return;
    while (k < lim) {
        unsigned c = t[k];
        if (c == '\n') {
            if (++lines > 2)
                return;
            k++;
            continue;
        }
        if (secrets__is_b64(c) && (k == e || !secrets__is_b64_eq(t[k - 1]))) {
            size_t r = secrets__run(sc, k, secrets__is_b64);
            if (r - k == 40 && (r == sc->n || !secrets__is_b64_eq(t[r])) &&
                secrets__aws_secret_shape(t + k, 40)) {
                sc->pend = 1;
                sc->pend_start = k;
                sc->pend_end = r;
                return;
            }
            k = r > k ? r : k + 1;
            continue;
        }
        k++;
    }
}

static int rule_sk(scan *sc, size_t p, size_t *next) {
    if (secrets__marker_at(sc, p + 2) || secrets__known_in_prefix(sc, p, p + 3))
        return 0; /* sk-----BEGIN: the marker is looked at on its own */
    size_t a = p + 3, e = secrets__run(sc, a, secrets__is_word), len = e - a;
    const uchar *b = sc->t + a;
    *next = e;
    if (len > 512)
        return 0;
    int rule = R_SK;
    size_t min = 20;
    static const struct {
        const char *prefix;
        int rule;
    } kinds[] = {{"ant-", R_ANTHROPIC},
                 {"or-", R_OPENROUTER},
                 {"proj-", R_OPENAI},
                 {"svcacct-", R_OPENAI},
                 {"admin-", R_OPENAI}};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        size_t m = strlen(kinds[i].prefix);
        if (len >= m && !memcmp(b, kinds[i].prefix, m)) {
            rule = kinds[i].rule;
            min = m + 20;
            break;
        }
    }
    if (rule == R_SK && secrets__contains(b, len, "T3BlbkFJ"))
        rule = R_OPENAI;
    if (len < min || (rule == R_SK && !secrets__looks_random(b, len)))
        return 0;
    return token_found(sc, p, a, e, rule, 0, next);
}

/* Body lengths between lo and hi of class `in`, after a prefix of plen bytes. */
static int rule_plain(scan *sc, size_t p, size_t plen, int (*in)(unsigned), size_t lo, size_t hi,
                      int rule, size_t *next) {
    if (secrets__known_in_prefix(sc, p, p + plen))
        return 0;
    size_t a = p + plen, e = secrets__run(sc, a, in);
    *next = e;
    if (e - a < lo || e - a > hi)
        return 0;
    return token_found(sc, p, a, e, rule, 0, next);
}

/* ghp_… and npm_…: 36 characters whose last 6 are a checksum, or a cut one. */
static int rule_github(scan *sc, size_t p, int rule, size_t *next) {
    if (secrets__known_in_prefix(sc, p, p + 4))
        return 0;
    size_t a = p + 4, e = secrets__run(sc, a, secrets__is_alnum);
    *next = e;
    if (e - a < 20 || e - a > 255)
        return 0;
    unsigned flags = e - a == 36 && github_checksum_ok(sc->t + a) ? SECRETS_CHECKSUM_OK : 0;
    return token_found(sc, p, a, e, rule, flags, next);
}

static int rule_gitlab(scan *sc, size_t p, size_t plen, size_t *next) {
    if (secrets__marker_at(sc, p + plen - 1) || secrets__known_in_prefix(sc, p, p + plen))
        return 0;
    size_t a = p + plen, e = secrets__run(sc, a, is_gitlab), end = e;
    *next = e;
    while (end > a && sc->t[end - 1] == '.')
        end--;
    if (end - a < 20 || end - a > 400)
        return 0;
    return token_found(sc, p, a, end, R_GITLAB, 0, next);
}

static int rule_slack(scan *sc, size_t p, size_t plen, size_t *next) {
    if (secrets__marker_at(sc, p + plen - 1) || secrets__known_in_prefix(sc, p, p + plen))
        return 0;
    size_t a = p + plen, e = secrets__run(sc, a, is_slack);
    *next = e;
    if (e - a < 15 || e - a > 400 || !has_digit(sc->t + a, e - a))
        return 0;
    return token_found(sc, p, a, e, R_SLACK, 0, next);
}

static int rule_aws_id(scan *sc, size_t p, size_t *next) {
    size_t e = secrets__run(sc, p, secrets__is_alnum);
    *next = e > p ? e : p + 1;
    if (e - p != 20)
        return 0;
    for (size_t k = p + 4; k < e; k++)
        if (!secrets__is_upper(sc->t[k]) && !secrets__is_digit(sc->t[k]))
            return 0;
    int r = token_found(sc, p, p + 4, e, R_AWS_ID, 0, next);
    if (r > 0)
        aws_lookahead(sc, e);
    return r;
}

static int rule_jwt(scan *sc, size_t p, size_t *next) {
    const uchar *t = sc->t;
    size_t n = sc->n, e1 = secrets__run(sc, p, secrets__is_word);
    *next = e1 > p ? e1 : p + 1;
    if (e1 - p < 10 || e1 + 4 > n || t[e1] != '.' || !AT(sc, e1 + 1, "eyJ") ||
        secrets__known_start(sc, e1 + 1))
        return 0;
    size_t e2 = secrets__run(sc, e1 + 1, secrets__is_word);
    if (e2 - (e1 + 1) < 10 || e2 >= n || t[e2] != '.')
        return 0;
    size_t e3 = secrets__run(sc, e2 + 1, secrets__is_word);
    size_t end = e3 > e2 + 1 ? e3 : e2 + 1;
    int r = secrets__accept(sc, p, end, R_JWT, 0);
    if (r >= 0)
        *next = end;
    return r;
}

/* Token formats starting at p (a word start). */
int secrets__rule_token(scan *sc, size_t p, size_t *next) {
    const uchar *t = sc->t;
    *next = p + 1;
    if (secrets__is_word(secrets__before(sc, p)))
        return 0;
    switch (t[p]) {
    case 's':
        if (AT(sc, p, "sk-"))
            return rule_sk(sc, p, next);
        if (AT(sc, p, "sk_live_") || AT(sc, p, "sk_test_"))
            return rule_plain(sc, p, 8, secrets__is_alnum, 16, 255, R_STRIPE, next);
        return 0;
    case 'r':
        if (AT(sc, p, "rk_live_") || AT(sc, p, "rk_test_"))
            return rule_plain(sc, p, 8, secrets__is_alnum, 16, 255, R_STRIPE, next);
        return 0;
    case 'g':
        if (sc->n - p > 4 && t[p + 1] == 'h' && t[p + 3] == '_' &&
            (t[p + 2] == 'p' || t[p + 2] == 'o' || t[p + 2] == 'u' || t[p + 2] == 's' ||
             t[p + 2] == 'r'))
            return rule_github(sc, p, R_GITHUB, next);
        if (AT(sc, p, "github_pat_"))
            return rule_plain(sc, p, 11, secrets__is_alnum_us, 20, 255, R_GITHUB, next);
        if (AT(sc, p, "glpat-") || AT(sc, p, "glptt-") || AT(sc, p, "glcbt-"))
            return rule_gitlab(sc, p, 6, next);
        if (AT(sc, p, "gldt-") || AT(sc, p, "glrt-"))
            return rule_gitlab(sc, p, 5, next);
        if (AT(sc, p, "glsoat-"))
            return rule_gitlab(sc, p, 7, next);
        return 0;
    case 'n':
        if (AT(sc, p, "npm_"))
            return rule_github(sc, p, R_NPM, next);
        return 0;
    case 'p':
    case 'P':
        return secrets__rule_password_word(sc, p, next);
    case 'x':
        if (AT(sc, p, "xapp-"))
            return rule_slack(sc, p, 5, next);
        if (sc->n - p > 5 && AT(sc, p, "xox") && t[p + 4] == '-' && memchr("abeoprs", t[p + 3], 7))
            return rule_slack(sc, p, 5, next);
        return 0;
    case 'A':
        if (AT(sc, p, "AKIA") || AT(sc, p, "ASIA"))
            return rule_aws_id(sc, p, next);
        if (AT(sc, p, "AIza"))
            return rule_plain(sc, p, 4, secrets__is_word, 30, 64, R_GOOGLE, next);
        return 0;
    case 'e':
        if (AT(sc, p, "eyJ"))
            return rule_jwt(sc, p, next);
        return 0;
    default:
        return 0;
    }
}

/* ---- private key blocks --------------------------------------------------------------- */

/* A separator between two words of a PEM body: white space or a \n, \r, \t escape. */
static size_t pem_sep(const scan *sc, size_t k) {
    const uchar *t = sc->t;
    if (secrets__is_space(t[k]))
        return 1;
    if (t[k] == '\\' && k + 1 < sc->n && (t[k + 1] == 'n' || t[k + 1] == 'r' || t[k + 1] == 't'))
        return 2;
    return 0;
}

/* What joins the lines of a key in code: quotes, +, ',', ';', a line-continuing backslash. */
static int pem_joiner(unsigned c) {
    return c == '"' || c == '\'' || c == '+' || c == ',' || c == ';' || c == '\\';
}

/* What follows a body word that ends at k: 0 more on its line, 1 the end of its line, 2 the
 * end of the text or an END marker (perhaps on the next line). */
static int pem_next(const scan *sc, size_t k) {
    const uchar *t = sc->t;
    size_t n = sc->n;
    while (k < n && (t[k] == ' ' || t[k] == '\t' || (pem_joiner(t[k]) && pem_sep(sc, k) != 2)))
        k++;
    if (k >= n)
        return 2;
    int line_ends = t[k] == '\n' || t[k] == '\r' || pem_sep(sc, k) == 2;
    size_t sl;
    while (k < n && ((sl = pem_sep(sc, k)) != 0 || pem_joiner(t[k])))
        k += sl ? sl : 1;
    if (k >= n || AT(sc, k, "-----END"))
        return 2;
    return line_ends;
}

/* "Proc-Type:", "DEK-Info:", "Version:": a PEM header's name, before its value. */
static int pem_header_name(const uchar *s, size_t len) {
    if (len < 2 || len > 32 || s[len - 1] != ':' || !secrets__is_alpha(s[0]))
        return 0;
    for (size_t i = 1; i + 1 < len; i++)
        if (!secrets__is_alpha(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* Whether s[0..n) holds needle[0..m). */
static int holds(const uchar *s, size_t n, const char *needle, size_t m) {
    for (size_t i = 0; m && i + m <= n; i++)
        if (s[i] == (uchar)needle[0] && memcmp(s + i, needle, m) == 0)
            return 1;
    return 0;
}

/* Keeps the masked block t[p..end) (allow patterns are set) unless already kept; a new one
 * runs the pass again, so a copy spared earlier in the text is masked too.  0 or -1. */
static int pem_remember(scan *sc, size_t p, size_t end) {
    secrets_session *s = sc->s;
    for (size_t i = 0; i < s->nblocks; i++)
        if (s->blocks[i].len == end - p && memcmp(s->blocks[i].data, sc->t + p, end - p) == 0)
            return 0;
    buf *nb = realloc(s->blocks, (s->nblocks + 1) * sizeof *nb);
    if (!nb) {
        sc->err = SECRETS_ENOMEM;
        return -1;
    }
    s->blocks = nb;
    memset(&nb[s->nblocks], 0, sizeof *nb);
    if (buf_append(&nb[s->nblocks], (const char *)sc->t + p, end - p)) {
        sc->err = SECRETS_ENOMEM;
        return -1;
    }
    s->nblocks++;
    sc->added++;
    return 0;
}

/* -----BEGIN … PRIVATE KEY----- at p, and its body. */
int secrets__rule_pem(scan *sc, size_t p, size_t *next) {
    const uchar *t = sc->t;
    size_t n = sc->n;
    *next = p + 1;
    size_t k = p + 11, h = k, lim = n - k > 48 ? k + 48 : n;
    while (h < lim && (secrets__is_upper(t[h]) || secrets__is_digit(t[h]) || t[h] == ' '))
        h++;
    if (!AT(sc, h, "-----"))
        return 0;
    int ok = 0;
    if (h - k >= 11 && !memcmp(t + h - 11, "PRIVATE KEY", 11))
        ok = 1;
    else if (h - k >= 17 && !memcmp(t + h - 17, "PRIVATE KEY BLOCK", 17))
        ok = 1;
    if (!ok)
        return 0;
    /* The body: runs of base64, each decided by its own bytes (so that every copy of a key
     * is masked from its marker on, whatever follows), between separators and the quotes,
     * commas and "+" that join string pieces in code. */
    size_t last = h + 5, end = 0;
    int seen_b64 = 0, prev_long = 0;
    k = last;
    for (;;) {
        size_t sl;
        while (k < n && ((sl = pem_sep(sc, k)) != 0 || pem_joiner(t[k])))
            k += sl ? sl : 1;
        if (k >= n)
            break;
        if (AT(sc, k, "-----END")) {
            /* The rest of the END line: upper-case words, then the closing dashes. */
            size_t m = k + 8, mlim = n - m > 80 ? m + 80 : n;
            while (m < mlim && (secrets__is_upper(t[m]) || secrets__is_digit(t[m]) || t[m] == ' '))
                m++;
            end = AT(sc, m, "-----") ? m + 5 : k + 8;
            break;
        }
        size_t x = k;
        while (x < n && secrets__is_b64_eq(t[x]))
            x++;
        if (!seen_b64 && x - k < 16) {
            /* Proc-Type: 4,ENCRYPTED and the like: the rest of the line is its value.  (A
             * long base64 run is body whatever follows it.) */
            size_t w = k;
            while (w < n && !pem_sep(sc, w))
                w++;
            if (w < n && (t[w] == ' ' || t[w] == '\t') && pem_header_name(t + k, w - k)) {
                while (
                    w < n && t[w] != '\n' && t[w] != '\r' && pem_sep(sc, w) != 2 &&
                    (t[w] == '\t' || (t[w] >= ' ' && t[w] < 0x7f && t[w] != '[' && t[w] != ']')) &&
                    !secrets__marker_at(sc, w) && !(sc->s->nrepeat && secrets__known_start(sc, w)))
                    w++;
                if (w < n && t[w] != '\n' && t[w] != '\r' && pem_sep(sc, w) != 2)
                    break; /* not text: the block ends before this line */
                size_t v = w;
                while (v > k && (secrets__is_space(t[v - 1]) || pem_joiner(t[v - 1])))
                    v--;
                last = v;
                k = w;
                continue;
            }
        }
        if (x == k)
            break; /* something else: the block ends (or was cut off) here */
        size_t y = k;
        while (y < x && t[y] == '+')
            y++;
        if (y == x) {
            k = x; /* a "+" joining two strings */
            continue;
        }
        if (x - k >= 16) {
            seen_b64 = 1;
            prev_long = 1;
        } else if (prev_long && pem_next(sc, x) != 0) {
            prev_long = 0; /* a short last line */
        } else {
            break;
        }
        last = x;
        k = x;
        if (k < n && !pem_sep(sc, k) && !pem_joiner(t[k]) && !AT(sc, k, "-----END"))
            break; /* glued to something that is not base64 */
    }
    if (!seen_b64)
        return 0; /* a marker in code, no key */
    if (!end)
        end = last;
    /* A block is the one scan that does not stop where a known secret starts: if it holds
     * one, it is masked even when an allow pattern spares it. */
    unsigned force = 0;
    for (size_t q = p; sc->s->nallow && sc->s->nrepeat && q < end && !force; q++)
        force = secrets__known_start(sc, q) ? FORCE : 0;
    for (size_t i = 0; sc->s->nallow && i < sc->s->nblocks && !force; i++)
        force = holds(t + p, end - p, sc->s->blocks[i].data, sc->s->blocks[i].len) ? FORCE : 0;
    int r = secrets__accept(sc, p, end, R_PEM, force);
    if (r == 1 && sc->s->nallow && pem_remember(sc, p, end) != 0)
        return -1;
    if (r >= 0)
        *next = end;
    return r;
}
