/* secrets: find and mask the secrets in outgoing text.  See include/ami/secrets.h.
 *
 * One pass over the text, left to right:
 *
 *     ┌─ a pair of bytes that starts nothing: next byte (eight look-ups at a time) ◄─┐
 *     ▼                                                                              │
 *   [SCAN] ─ a pair that may ──► a known secret starts here? ─ yes ─► finding, jump ─┤
 *     ▲      start something          │ no                                           │
 *     │                               ▼                                              │
 *     │        the rule of that pair: a token prefix at a word start, "-----BEGIN",  │
 *     │        "--name", "-u", ":" (URL or NAME: value), "=", "[secret: …]", ";base64,"
 *     │                               ├─ match ─► finding, jump past it ─────────────┘
 *     │                               ├─ no match, a region read as a unit (a value, a
 *     │                               │  token's body): jump past it, leave it alone
 *     └───────── next byte ◄───────── ┴─ no match
 *
 *     A pending finding (the AWS secret key after an access key id, found ahead) is
 *     emitted when the scan reaches it, dropped if the scan jumps over its start.
 *
 * A pass that registers a new repeat secret is run again (at most MAX_ROUNDS passes), so
 * that an occurrence before the one that revealed it is masked too.
 *
 * Why masking is idempotent (the fuzzer checks it, with every rule below found that way).
 * A second pass sees placeholders where the first found secrets and must decide everything
 * else the same way, so the first pass reads the text as the second will:
 *   - backwards, nothing is read before the end of the last finding (the floor), and the
 *     byte just before the floor reads as "]", the last byte of a placeholder;
 *   - forwards, every scan (a token's body, a value, a URL's authority) stops where a
 *     known secret starts, as it will stop at the "[" of its placeholder; every set of
 *     characters that ends a scan contains "["; no rule jumps over a byte it has not
 *     looked at, and a token rule whose prefix holds the start of a known secret gives up;
 *   - a candidate rejected as a unit (a value that does not look random, a token body of
 *     the wrong length) leaves its region alone: nothing inside it is masked, so the second
 *     pass sees the same region and rejects it again.  Candidates rejected after reading
 *     text that may still hold a secret (a quoted value with spaces, a URL without a
 *     password) are rejected for reasons that stay true when part of the text becomes a
 *     placeholder (it still has a space; a prefix still has no "@");
 *   - no run goes over a "-----BEGIN", so every key marker outside a finding is looked at,
 *     and a key is found from its marker whatever follows: each base64 run of its body is
 *     decided by its own bytes (which also keeps every copy of a key masked);
 *   - user:password is read with known secrets and placeholders as units, and its user
 *     part is scanned as a text that ends at the colon, which will be there on a second
 *     pass while the password will be a placeholder;
 *   - a known secret beats an allow pattern (a key block or a URL password holding one is
 *     masked whole), since its other occurrences are masked; so does a key block masked
 *     earlier (a copy cut short by invalid bytes, say): a block holding it is masked too;
 *   - placeholders are skipped, and no rule's alphabet contains "[" or "]", so no finding
 *     can start, end or grow inside one.
 *
 * The parts (what they share is in secrets_internal.h): this file holds the session (its
 * repeat secrets, their index, the allow patterns), the scan loop, a candidate accepted as a
 * finding, numbering and masking; the rules that decide what is a secret are in
 * secrets_tokens.c (token formats and private key blocks) and secrets_context.c (the values
 * of names that say secret, user:password, and what looks random).
 */
#include "ami/secrets.h"

#include "ami/buf.h"
#include "secrets_internal.h"

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 8
#define HEAD_MAX   32 /* repeat secrets that share their first 8 bytes */

/* ---- rules and labels ------------------------------------------------------------------ */

/* A rule's name, reported in findings. */
static const char *const rule_names[R_COUNT] = {
    [R_OPENAI] = "OpenAI key",
    [R_ANTHROPIC] = "Anthropic key",
    [R_OPENROUTER] = "OpenRouter key",
    [R_SK] = "API key (sk-)",
    [R_GOOGLE] = "Google API key",
    [R_GITHUB] = "GitHub token",
    [R_NPM] = "npm token",
    [R_GITLAB] = "GitLab token",
    [R_SLACK] = "Slack token",
    [R_STRIPE] = "Stripe key",
    [R_AWS_ID] = "AWS access key id",
    [R_AWS_SECRET] = "AWS secret key",
    [R_PEM] = "private key",
    [R_JWT] = "JWT",
    [R_URL_PASSWORD] = "password in URL",
    [R_PASSWORD] = "password",
    [R_TOKEN] = "token",
    [R_SECRET] = "secret",
    [R_API_KEY] = "API key",
    [R_PRIVATE_KEY] = "private key",
    [R_CREDENTIALS] = "credentials",
};

/* The label of its placeholders: numbering is per label. */
static const uchar rule_label[R_COUNT] = {
    [R_OPENAI] = L_OPENAI,
    [R_ANTHROPIC] = L_ANTHROPIC,
    [R_OPENROUTER] = L_OPENROUTER,
    [R_SK] = L_API_KEY,
    [R_GOOGLE] = L_GOOGLE,
    [R_GITHUB] = L_GITHUB,
    [R_NPM] = L_NPM,
    [R_GITLAB] = L_GITLAB,
    [R_SLACK] = L_SLACK,
    [R_STRIPE] = L_STRIPE,
    [R_AWS_ID] = L_AWS_ID,
    [R_AWS_SECRET] = L_AWS_SECRET,
    [R_PEM] = L_PRIVATE_KEY,
    [R_JWT] = L_JWT,
    [R_URL_PASSWORD] = L_PASSWORD,
    [R_PASSWORD] = L_PASSWORD,
    [R_TOKEN] = L_TOKEN,
    [R_SECRET] = L_SECRET,
    [R_API_KEY] = L_API_KEY,
    [R_PRIVATE_KEY] = L_PRIVATE_KEY,
    [R_CREDENTIALS] = L_CREDENTIALS,
};

static const char *const label_names[L_COUNT] = {
    [L_OPENAI] = "OpenAI key",
    [L_ANTHROPIC] = "Anthropic key",
    [L_OPENROUTER] = "OpenRouter key",
    [L_API_KEY] = "API key",
    [L_GOOGLE] = "Google API key",
    [L_GITHUB] = "GitHub token",
    [L_NPM] = "npm token",
    [L_GITLAB] = "GitLab token",
    [L_SLACK] = "Slack token",
    [L_STRIPE] = "Stripe key",
    [L_AWS_ID] = "AWS access key id",
    [L_AWS_SECRET] = "AWS secret key",
    [L_PRIVATE_KEY] = "private key",
    [L_JWT] = "JWT",
    [L_PASSWORD] = "password",
    [L_TOKEN] = "token",
    [L_SECRET] = "secret",
    [L_CREDENTIALS] = "credentials",
};

/* What may start at a pair of bytes (the session's pair table, indexed by first << 8 |
 * second): a token prefix that must start a word (PAIR_TOKEN), a rule that needs no word
 * start (PAIR_RULE: ':', '=', "--", "-u", "[s", ";b"), the first two bytes of a known
 * secret (PAIR_KNOWN).  Every other pair costs one look-up. */
#define PAIR_TOKEN 1u
#define PAIR_RULE  2u
#define PAIR_KNOWN 4u
static const char token_pairs[][3] = {"sk", "rk", "gh", "gl", "gi", "np", "xo", "xa",
                                      "AK", "AS", "AI", "ey", "pa", "Pa", "PA"};

/* ---- the session ----------------------------------------------------------------------- */

static void wipe(void *p, size_t n) {
    volatile uchar *v = p;
    while (n--)
        *v++ = 0;
}

static uint64_t hash_bytes(const uchar *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static uint64_t load8(const uchar *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

secrets_session *secrets_session_new(void) {
    secrets_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (unsigned c = 0; c < 256; c++) {
        s->pair[':' << 8 | c] = PAIR_RULE;
        s->pair['=' << 8 | c] = PAIR_RULE;
    }
    s->pair['-' << 8 | '-'] = PAIR_RULE;
    s->pair['-' << 8 | 'u'] = PAIR_RULE;
    s->pair['[' << 8 | 's'] = PAIR_RULE;
    s->pair[';' << 8 | 'b'] = PAIR_RULE;
    for (size_t i = 0; i < sizeof token_pairs / sizeof *token_pairs; i++)
        s->pair[(uchar)token_pairs[i][0] << 8 | (uchar)token_pairs[i][1]] |= PAIR_TOKEN;
    return s;
}

void secrets_session_free(secrets_session *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        wipe(s->e[i].val, s->e[i].len);
        free(s->e[i].val);
        free(s->e[i].ph);
    }
    free(s->e);
    free(s->byval);
    free(s->byhead);
    for (size_t i = 0; i < s->nallow; i++)
        regfree(&s->allow[i]);
    for (size_t i = 0; i < s->nblocks; i++) {
        wipe(s->blocks[i].data, s->blocks[i].len);
        buf_free(&s->blocks[i]);
    }
    free(s->blocks);
    wipe(s, sizeof *s);
    free(s);
}

size_t secrets_count(const secrets_session *s) {
    return s ? s->reported : 0;
}

const char *secrets_strerror(int rc) {
    switch (rc) {
    case SECRETS_OK:
        return "ok";
    case SECRETS_ENOMEM:
        return "out of memory";
    case SECRETS_EINVAL:
        return "invalid argument";
    case SECRETS_ETOOBIG:
        return "text too long to scan for secrets";
    case SECRETS_ETOOMANY:
        return "too many secrets";
    default:
        return "unknown error";
    }
}

int secrets_allow(secrets_session *s, const char *regex, char *err, size_t errlen) {
    int rc;
    char why[160] = "";
    if (!s || !regex) {
        rc = SECRETS_EINVAL;
        snprintf(why, sizeof why, "no pattern");
    } else if (s->nallow >= SECRETS_MAX_ALLOW) {
        rc = SECRETS_ETOOMANY;
        snprintf(why, sizeof why, "more than %d allow patterns", SECRETS_MAX_ALLOW);
    } else {
        int r = regcomp(&s->allow[s->nallow], regex, REG_EXTENDED | REG_NOSUB);
        if (r == 0) {
            s->nallow++;
            return SECRETS_OK;
        }
        regerror(r, &s->allow[s->nallow], why, sizeof why);
        rc = r == REG_ESPACE ? SECRETS_ENOMEM : SECRETS_EINVAL;
    }
    if (err && errlen)
        snprintf(err, errlen, "secrets: allow pattern \"%s\": %s", regex ? regex : "(null)", why);
    return rc;
}

/* Rebuilds an index (which: 0 byval, 1 byhead) at twice the needed size. */
static int index_rebuild(secrets_session *s, int which, size_t want) {
    size_t cap = 64;
    while (cap < 2 * want)
        cap *= 2;
    uint32_t *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return SECRETS_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        const entry *e = &s->e[i];
        if (which && !e->repeat)
            continue;
        size_t slot = (size_t)(which ? mix64(e->head) : e->hash) & (cap - 1);
        while (tab[slot])
            slot = (slot + 1) & (cap - 1);
        tab[slot] = (uint32_t)i + 1;
    }
    if (which) {
        free(s->byhead);
        s->byhead = tab;
        s->byhead_cap = cap;
    } else {
        free(s->byval);
        s->byval = tab;
        s->byval_cap = cap;
    }
    return SECRETS_OK;
}

static long entry_find(const secrets_session *s, const uchar *id, size_t len, uint64_t h) {
    if (!s->byval_cap)
        return -1;
    size_t mask = s->byval_cap - 1, slot = (size_t)h & mask;
    while (s->byval[slot]) {
        const entry *e = &s->e[s->byval[slot] - 1];
        if (e->hash == h && e->len == len && memcmp(e->val, id, len) == 0)
            return (long)s->byval[slot] - 1;
        slot = (slot + 1) & mask;
    }
    return -1;
}

/* Adds a secret (not yet numbered).  Returns its index, or a negative code. */
static long entry_add(secrets_session *s, const uchar *id, size_t len, uint64_t h, int rule,
                      unsigned flags, int repeat) {
    if (s->n >= SECRETS_MAX_SECRETS)
        return SECRETS_ETOOMANY;
    if (repeat && s->byhead_cap) {
        /* Bounded look-ups: past HEAD_MAX secrets sharing their first 8 bytes, the others
         * are masked in context only. */
        uint64_t head = load8(id);
        size_t same = 0, mask = s->byhead_cap - 1, slot = (size_t)mix64(head) & mask;
        for (; s->byhead[slot]; slot = (slot + 1) & mask)
            same += s->e[s->byhead[slot] - 1].head == head;
        if (same >= HEAD_MAX)
            repeat = 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        entry *e = realloc(s->e, cap * sizeof *e);
        if (!e)
            return SECRETS_ENOMEM;
        s->e = e;
        s->cap = cap;
    }
    /* Grow the indexes first: they then hold only the existing entries. */
    if (2 * (s->n + 1) > s->byval_cap && index_rebuild(s, 0, s->n + 1) != 0)
        return SECRETS_ENOMEM;
    if (repeat && 2 * (s->nrepeat + 1) > s->byhead_cap && index_rebuild(s, 1, s->nrepeat + 1) != 0)
        return SECRETS_ENOMEM;
    uchar *val = malloc(len);
    if (!val)
        return SECRETS_ENOMEM;
    memcpy(val, id, len);
    entry *e = &s->e[s->n];
    memset(e, 0, sizeof *e);
    e->val = val;
    e->len = len;
    e->hash = h;
    e->rule = (uchar)rule;
    e->flags = (uchar)flags;
    e->repeat = (uchar)repeat;
    if (repeat)
        e->head = load8(val);
    s->n++;
    size_t mask = s->byval_cap - 1, slot = (size_t)h & mask;
    while (s->byval[slot])
        slot = (slot + 1) & mask;
    s->byval[slot] = (uint32_t)s->n;
    if (repeat) {
        mask = s->byhead_cap - 1;
        slot = (size_t)mix64(e->head) & mask;
        while (s->byhead[slot])
            slot = (slot + 1) & mask;
        s->byhead[slot] = (uint32_t)s->n;
        s->nrepeat++;
        s->first[val[0]] = 1;
        unsigned h2 = (unsigned)val[0] << 5 | (unsigned)val[1] >> 3;
        s->head2[h2] |= (uchar)(1u << (val[1] & 7));
        s->pair[(unsigned)val[0] << 8 | val[1]] |= PAIR_KNOWN;
    }
    return (long)s->n - 1;
}

/* ---- a scan ---------------------------------------------------------------------------- */

/* (The scan itself, and the readers the rules share with this loop, are in
 * secrets_internal.h.) */

/* Length of the longest known repeat secret starting at i (0 when none); *idx its entry. */
size_t secrets__known_at(const scan *sc, size_t i, uint32_t *idx) {
    const secrets_session *s = sc->s;
    if (!s->nrepeat || sc->n - i < SECRETS_REPEAT_MIN)
        return 0;
    const uchar *p = sc->t + i;
    if (!s->first[p[0]])
        return 0;
    unsigned h2 = (unsigned)p[0] << 5 | (unsigned)p[1] >> 3;
    if (!(s->head2[h2] & (1u << (p[1] & 7))))
        return 0;
    uint64_t head = load8(p);
    size_t mask = s->byhead_cap - 1, slot = (size_t)mix64(head) & mask, best = 0;
    while (s->byhead[slot]) {
        const entry *e = &s->e[s->byhead[slot] - 1];
        if (e->head == head && e->len > best && e->len <= sc->n - i &&
            memcmp(e->val, p, e->len) == 0) {
            best = e->len;
            *idx = s->byhead[slot] - 1;
        }
        slot = (slot + 1) & mask;
    }
    return best;
}

/* True when a known secret starts inside a token's prefix t(p..a): the token rule then
 * leaves the bytes to the main loop. */
int secrets__known_in_prefix(const scan *sc, size_t p, size_t a) {
    for (size_t q = p + 1; sc->s->nrepeat && q < a && q < sc->n; q++)
        if (secrets__known_start(sc, q))
            return 1;
    return 0;
}

static int push(scan *sc, size_t a, size_t b, uint32_t idx, int rule, unsigned flags) {
    if (sc->nf == sc->capf) {
        size_t cap = sc->capf ? 2 * sc->capf : 16;
        raw *f = realloc(sc->f, cap * sizeof *f);
        if (!f) {
            sc->err = SECRETS_ENOMEM;
            return -1;
        }
        sc->f = f;
        sc->capf = cap;
    }
    sc->f[sc->nf++] = (raw){a, b, idx, (uchar)rule, (uchar)flags};
    sc->floor = b;
    sc->floor_masked = 1;
    return 1;
}

/* True when an allow pattern matches t[a..b). */
static int allowed(scan *sc, size_t a, size_t b) {
    secrets_session *s = sc->s;
    char *copy = malloc(b - a + 1);
    if (!copy) {
        sc->err = SECRETS_ENOMEM;
        return -1;
    }
    memcpy(copy, sc->t + a, b - a);
    copy[b - a] = 0;
    int hit = 0;
    for (size_t i = 0; i < s->nallow && !hit; i++)
        hit = regexec(&s->allow[i], copy, 0, NULL, 0) == 0;
    wipe(copy, b - a);
    free(copy);
    return hit;
}

/* A candidate t[a..b) found by rule: returns 1 when it became a finding (the floor moves to
 * b), 0 when an allow pattern spares it, -1 on error (sc->err). */
int secrets__accept(scan *sc, size_t a, size_t b, int rule, unsigned flags) {
    secrets_session *s = sc->s;
    if (s->nallow && !(flags & FORCE)) {
        int hit = allowed(sc, a, b);
        if (hit)
            return hit < 0 ? -1 : 0;
    }
    const uchar *id = sc->t + a;
    size_t idlen = b - a;
    uchar *norm = NULL;
    if (rule == R_PEM) {
        /* The same key hard-wrapped or JSON-escaped is the same secret: keep its letters. */
        norm = malloc(idlen + 1);
        if (!norm) {
            sc->err = SECRETS_ENOMEM;
            return -1;
        }
        size_t m = 0;
        norm[m++] = 1;
        for (size_t i = a; i < b; i++) {
            if (sc->t[i] == '\\' && i + 1 < b)
                i++;
            else if (secrets__is_b64_eq(sc->t[i]))
                norm[m++] = sc->t[i];
        }
        id = norm;
        idlen = m;
    }
    flags &= ~FORCE;
    uint64_t h = hash_bytes(id, idlen);
    long idx = entry_find(s, id, idlen, h);
    if (idx < 0) {
        int repeat = rule != R_PEM && idlen >= SECRETS_REPEAT_MIN;
        idx = entry_add(s, id, idlen, h, rule, flags, repeat);
        if (idx >= 0 && repeat)
            sc->added++;
    }
    if (norm) {
        wipe(norm, idlen);
        free(norm);
    }
    if (idx < 0) {
        sc->err = (int)idx;
        return -1;
    }
    return push(sc, a, b, (uint32_t)idx, rule, flags);
}

/* The length of one of ami's placeholders at t, or 0. */
size_t secrets__placeholder_at(const uchar *t, size_t n) {
    if (n < 11 || memcmp(t, "[secret: ", 9) != 0)
        return 0;
    for (size_t l = 0; l < L_COUNT; l++) {
        size_t m = strlen(label_names[l]), k = 9 + m;
        if (n < k + 1 || memcmp(t + 9, label_names[l], m) != 0)
            continue;
        if (t[k] == ']')
            return k + 1;
        if (t[k] != ' ')
            continue;
        size_t d = k + 1;
        while (d < n && d - k <= 10 && secrets__is_digit(t[d]))
            d++;
        if (d > k + 1 && d < n && t[d] == ']')
            return d + 1;
    }
    return 0;
}

static size_t step(scan *sc, size_t i) {
    const uchar *t = sc->t;
    unsigned c = t[i];
    size_t next = i + 1;
    if (sc->s->first[c]) {
        uint32_t idx;
        size_t len = secrets__known_at(sc, i, &idx);
        if (len) {
            const entry *e = &sc->s->e[idx];
            push(sc, i, i + len, idx, e->rule, e->flags);
            return i + len;
        }
    }
    switch (c) {
    case 's':
    case 'r':
    case 'g':
    case 'n':
    case 'p':
    case 'P':
    case 'x':
    case 'A':
    case 'e':
        secrets__rule_token(sc, i, &next);
        break;
    case '-':
        secrets__rule_dash(sc, i, &next);
        break;
    case ':':
        secrets__rule_colon(sc, i, &next);
        break;
    case '=':
        secrets__rule_equals(sc, i, &next);
        break;
    case '[': {
        size_t len = secrets__placeholder_at(t + i, sc->n - i);
        if (len) {
            next = i + len;
            sc->floor = next;
            sc->floor_masked = 1;
        }
        break;
    }
    case ';':
        if (AT(sc, i, ";base64,")) {
            size_t e = secrets__run(sc, i + 8, secrets__is_b64_eq);
            if (e - (i + 8) >= 16)
                next = e;
        }
        break;
    default:
        break;
    }
    return next > i ? next : i + 1;
}

/* The main loop over [from, to). */
void secrets__pass_range(scan *sc, size_t from, size_t to) {
    const uchar *t = sc->t, *pair = sc->s->pair;
    size_t i = from;
    while (i < to && !sc->err) {
        if (sc->pend && sc->pend_start < i)
            sc->pend = 0; /* a finding of a nested scan covers it */
        size_t lim = sc->pend && sc->pend_start < to ? sc->pend_start : to;
        /* Skip pairs that start nothing: a lone last byte starts nothing either (every
         * rule needs two bytes, every known secret eight). */
        unsigned what = 0;
        size_t end = lim < sc->n - 1 ? lim : sc->n - 1;
        /* Eight independent look-ups at a time, then the exact place. */
        while (
            i + 8 <= end &&
            !(pair[(unsigned)t[i] << 8 | t[i + 1]] | pair[(unsigned)t[i + 1] << 8 | t[i + 2]] |
              pair[(unsigned)t[i + 2] << 8 | t[i + 3]] | pair[(unsigned)t[i + 3] << 8 | t[i + 4]] |
              pair[(unsigned)t[i + 4] << 8 | t[i + 5]] | pair[(unsigned)t[i + 5] << 8 | t[i + 6]] |
              pair[(unsigned)t[i + 6] << 8 | t[i + 7]] | pair[(unsigned)t[i + 7] << 8 | t[i + 8]]))
            i += 8;
        while (i < end && !(what = pair[(unsigned)t[i] << 8 | t[i + 1]]))
            i++;
        if (sc->pend && i == sc->pend_start) {
            sc->pend = 0;
            int r = secrets__accept(sc, sc->pend_start, sc->pend_end, R_AWS_SECRET, 0);
            if (r < 0)
                return;
            i = sc->pend_end;
            continue;
        }
        if (i >= lim || i + 1 >= sc->n)
            break;
        /* A token prefix inside a word starts nothing. */
        if (what == PAIR_TOKEN && i > 0 && !(i == sc->floor && sc->floor_masked) &&
            secrets__is_word(t[i - 1])) {
            i++;
            continue;
        }
        size_t next = step(sc, i);
        if (sc->pend && next > sc->pend_start)
            sc->pend = 0; /* jumped over it: something else covers it */
        i = next;
    }
}

/* Scans the whole text, as many times as it teaches the session new repeat secrets. */
static int scan_text(scan *sc) {
    for (int round = 0;; round++) {
        sc->nf = 0;
        sc->floor = 0;
        sc->floor_masked = 0;
        sc->pend = 0;
        sc->added = 0;
        secrets__pass_range(sc, 0, sc->n);
        if (sc->err)
            return sc->err;
        if (!sc->added || round == MAX_ROUNDS - 1)
            return SECRETS_OK;
    }
}

/* Gives every entry that the findings show for the first time its number and placeholder. */
static int number_findings(scan *sc) {
    secrets_session *s = sc->s;
    for (size_t i = 0; i < sc->nf; i++) {
        entry *e = &s->e[sc->f[i].entry];
        if (e->number)
            continue;
        int label = rule_label[e->rule];
        char ph[64];
        unsigned num = s->counts[label] + 1;
        int m = num > 1 ? snprintf(ph, sizeof ph, "[secret: %s %u]", label_names[label], num)
                        : snprintf(ph, sizeof ph, "[secret: %s]", label_names[label]);
        e->ph = malloc((size_t)m + 1);
        if (!e->ph)
            return SECRETS_ENOMEM;
        memcpy(e->ph, ph, (size_t)m + 1);
        e->ph_len = (size_t)m;
        e->number = num;
        s->counts[label] = num;
        s->reported++;
    }
    return SECRETS_OK;
}

static int scan_and_report(secrets_session *s, const char *text, size_t len, char **out,
                           size_t *out_len, secrets_finding **findings, size_t *n_findings) {
    if (findings)
        *findings = NULL;
    if (n_findings)
        *n_findings = 0;
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!s || (!text && len) || (!!findings != !!n_findings) || (out && !out_len))
        return SECRETS_EINVAL;
    if (len > SECRETS_MAX_TEXT)
        return SECRETS_ETOOBIG;
    scan sc;
    memset(&sc, 0, sizeof sc);
    sc.s = s;
    sc.t = (const uchar *)(text ? text : "");
    sc.n = len;
    int rc = scan_text(&sc);
    if (rc == SECRETS_OK)
        rc = number_findings(&sc);
    secrets_finding *fs = NULL;
    char *copy = NULL;
    size_t copy_len = 0;
    if (rc == SECRETS_OK && findings && sc.nf) {
        fs = malloc(sc.nf * sizeof *fs);
        if (!fs)
            rc = SECRETS_ENOMEM;
    }
    if (rc == SECRETS_OK && out) {
        size_t total = len;
        for (size_t i = 0; i < sc.nf; i++)
            total = total - (sc.f[i].end - sc.f[i].start) + s->e[sc.f[i].entry].ph_len;
        copy = malloc(total + 1);
        if (!copy)
            rc = SECRETS_ENOMEM;
        copy_len = total;
    }
    if (rc != SECRETS_OK) {
        free(fs);
        free(copy);
        free(sc.f);
        return rc;
    }
    size_t at = 0, o = 0;
    for (size_t i = 0; i < sc.nf; i++) {
        const raw *r = &sc.f[i];
        const entry *e = &s->e[r->entry];
        if (copy) {
            memcpy(copy + o, text + at, r->start - at);
            o += r->start - at;
        }
        if (fs)
            fs[i] =
                (secrets_finding){r->start, r->end - r->start, copy ? o : 0, rule_names[r->rule],
                                  e->ph,    e->ph_len,         e->number,    r->flags};
        if (copy) {
            memcpy(copy + o, e->ph, e->ph_len);
            o += e->ph_len;
        }
        at = r->end;
    }
    if (copy) {
        if (len > at)
            memcpy(copy + o, text + at, len - at);
        copy[copy_len] = 0;
        *out = copy;
        *out_len = copy_len;
    }
    if (findings) {
        *findings = fs;
        *n_findings = sc.nf;
    }
    free(sc.f);
    return SECRETS_OK;
}

int secrets_scan(secrets_session *s, const char *text, size_t len, secrets_finding **findings,
                 size_t *n_findings) {
    if (!findings || !n_findings)
        return SECRETS_EINVAL;
    return scan_and_report(s, text, len, NULL, NULL, findings, n_findings);
}

int secrets_mask(secrets_session *s, const char *text, size_t len, char **out, size_t *out_len,
                 secrets_finding **findings, size_t *n_findings) {
    if (!out || !out_len)
        return SECRETS_EINVAL;
    return scan_and_report(s, text, len, out, out_len, findings, n_findings);
}
