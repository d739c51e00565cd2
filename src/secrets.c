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
 */
#include "ami/secrets.h"

#include "ami/buf.h"

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned char uchar;

/* accept() flag: mask even if an allow pattern matches (the candidate holds a known
 * secret).  Never stored. */
#define FORCE 0x80u

#define MAX_ROUNDS   8
#define VALUE_MAX    1024 /* an assignment's value */
#define NAME_MAX_LEN 64   /* an assignment's name (longer: its last 64 bytes) */
#define AUTH_MAX     256  /* a URL's authority */
#define AWS_WINDOW   256  /* bytes after an access key id where its secret may start */
#define HEAD_MAX     32   /* repeat secrets that share their first 8 bytes */

/* ---- rules and labels ------------------------------------------------------------------ */

enum rule {
    R_OPENAI,
    R_ANTHROPIC,
    R_OPENROUTER,
    R_SK,
    R_GOOGLE,
    R_GITHUB,
    R_NPM,
    R_GITLAB,
    R_SLACK,
    R_STRIPE,
    R_AWS_ID,
    R_AWS_SECRET,
    R_PEM,
    R_JWT,
    R_URL_PASSWORD,
    R_PASSWORD,
    R_TOKEN,
    R_SECRET,
    R_API_KEY,
    R_PRIVATE_KEY,
    R_CREDENTIALS,
    R_COUNT
};

enum label {
    L_OPENAI,
    L_ANTHROPIC,
    L_OPENROUTER,
    L_API_KEY,
    L_GOOGLE,
    L_GITHUB,
    L_NPM,
    L_GITLAB,
    L_SLACK,
    L_STRIPE,
    L_AWS_ID,
    L_AWS_SECRET,
    L_PRIVATE_KEY,
    L_JWT,
    L_PASSWORD,
    L_TOKEN,
    L_SECRET,
    L_CREDENTIALS,
    L_COUNT
};

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

/* ---- character classes ----------------------------------------------------------------- */

static int is_digit(unsigned c) {
    return c - '0' < 10u;
}
static int is_lower(unsigned c) {
    return c - 'a' < 26u;
}
static int is_upper(unsigned c) {
    return c - 'A' < 26u;
}
static int is_alpha(unsigned c) {
    return (c | 32u) - 'a' < 26u;
}
static int is_alnum(unsigned c) {
    return is_digit(c) || is_alpha(c);
}
/* A word byte: a token glued to one of these is part of a longer word.  Also base64url. */
static int is_word(unsigned c) {
    return is_alnum(c) || c == '_' || c == '-';
}
static int is_alnum_us(unsigned c) {
    return is_alnum(c) || c == '_';
}
static int is_b64(unsigned c) {
    return is_alnum(c) || c == '+' || c == '/';
}
static int is_b64_eq(unsigned c) {
    return is_b64(c) || c == '=';
}
static int is_gitlab(unsigned c) {
    return is_word(c) || c == '.';
}
static int is_slack(unsigned c) {
    return is_alnum(c) || c == '-';
}
static int is_space(unsigned c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
static int is_name(unsigned c) {
    return is_word(c) || c == '.';
}
/* What an unquoted value is made of: printable ASCII but for quotes and separators. */
static int is_value(unsigned c) {
    if (c <= ' ' || c >= 0x7f)
        return 0;
    switch (c) {
    case '"':
    case '\'':
    case '`':
    case ',':
    case ';':
    case '&':
    case '<':
    case '>':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '|':
    case '\\':
        return 0;
    default:
        return 1;
    }
}
/* What a URL's authority (user:password@host:port) is made of. */
static int is_authority(unsigned c) {
    if (c <= ' ' || c >= 0x7f)
        return 0;
    switch (c) {
    case '/':
    case '?':
    case '#':
    case '"':
    case '\'':
    case '`':
    case '<':
    case '>':
    case '\\':
    case '[':
    case ']':
    case '(':
    case ')':
    case '{':
    case '}':
    case '|':
    case ',':
    case ';':
        return 0;
    default:
        return 1;
    }
}
static unsigned lower(unsigned c) {
    return is_upper(c) ? c + 32 : c;
}

/* ---- the session ----------------------------------------------------------------------- */

typedef struct entry {
    uchar *val; /* identity: the secret's bytes (a PEM block: 0x01 + its base64 letters) */
    size_t len;
    uint64_t hash; /* of val */
    uint64_t head; /* val's first 8 bytes (repeat entries) */
    uchar rule;    /* the rule that found it first */
    uchar repeat;  /* masked wherever it occurs */
    uchar flags;
    unsigned number; /* 0 until first reported */
    char *ph;        /* its placeholder, once numbered */
    size_t ph_len;
} entry;

struct secrets_session {
    entry *e;
    size_t n, cap;
    uint32_t *byval; /* open addressing on hash: entry index + 1, 0 = empty */
    size_t byval_cap;
    uint32_t *byhead; /* repeat entries by their first 8 bytes (a multimap) */
    size_t byhead_cap;
    size_t nrepeat;
    uchar first[256];  /* first bytes of repeat entries */
    uchar head2[8192]; /* bit set of their first two bytes */
    uchar pair[65536]; /* what may start at each pair of bytes: PAIR_* */
    unsigned counts[L_COUNT];
    size_t reported;
    regex_t allow[SECRETS_MAX_ALLOW];
    size_t nallow;
    /* Key blocks masked while allow patterns are set, as found (owned, wiped when freed):
     * a block holding one is masked even when a pattern spares it. */
    buf *blocks;
    size_t nblocks;
};

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

typedef struct raw {
    size_t start, end;
    uint32_t entry;
    uchar rule;
    uchar flags;
} raw;

typedef struct scan {
    secrets_session *s;
    const uchar *t;
    size_t n;
    size_t floor;     /* nothing before it is read backwards */
    int floor_masked; /* the floor is the end of a finding: the byte before reads as ']' */
    raw *f;
    size_t nf, capf;
    int pend; /* a finding found ahead, emitted when the scan reaches it */
    size_t pend_start, pend_end;
    size_t added; /* repeat entries registered during this pass */
    int err;
} scan;

static unsigned before(const scan *sc, size_t p) {
    if (p == sc->floor && sc->floor_masked)
        return ']';
    return p ? sc->t[p - 1] : ' ';
}

static int lit_at(const scan *sc, size_t p, const char *lit, size_t len) {
    return p <= sc->n && sc->n - p >= len && memcmp(sc->t + p, lit, len) == 0;
}
#define AT(sc, p, lit) lit_at((sc), (p), (lit), sizeof(lit) - 1)

/* Length of the longest known repeat secret starting at i (0 when none); *idx its entry. */
static size_t known_at(const scan *sc, size_t i, uint32_t *idx) {
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

static int known_start(const scan *sc, size_t i) {
    uint32_t idx;
    return sc->s->nrepeat && sc->s->first[sc->t[i]] && known_at(sc, i, &idx) != 0;
}

/* End of the run of bytes of class `in` from `from`, stopping where a known secret starts. */
/* A private key's marker starts at j: no run goes over one. */
static int marker_at(const scan *sc, size_t j) {
    return sc->t[j] == '-' && sc->n - j >= 10 && memcmp(sc->t + j, "-----BEGIN", 10) == 0;
}

/* End of the run of bytes of class `in` from `from`, stopping where a known secret or a
 * private key's marker starts. */
static size_t run(const scan *sc, size_t from, int (*in)(unsigned)) {
    size_t j = from;
    if (sc->s->nrepeat) {
        while (j < sc->n && in(sc->t[j]) && !marker_at(sc, j) && !known_start(sc, j))
            j++;
    } else {
        while (j < sc->n && in(sc->t[j]) && !marker_at(sc, j))
            j++;
    }
    return j;
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
static int accept(scan *sc, size_t a, size_t b, int rule, unsigned flags) {
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
            else if (is_b64_eq(sc->t[i]))
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

/* ---- what looks random ------------------------------------------------------------------ */

/* A body whose last 16 letters and digits are one character repeated: a template. */
static int template_tail(const uchar *s, size_t len) {
    size_t seen = 0;
    unsigned c0 = 0;
    for (size_t i = len; i-- > 0 && seen < 16;) {
        if (!is_alnum(s[i]))
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
        if (is_digit(s[i]))
            return 1;
    return 0;
}

static int contains(const uchar *s, size_t len, const char *lit) {
    size_t m = strlen(lit);
    for (size_t i = 0; i + m <= len; i++)
        if (memcmp(s + i, lit, m) == 0)
            return 1;
    return 0;
}

/* The rule of the header, written out: see "looks random" in secrets.h. */
static int looks_random(const uchar *s, size_t len) {
    if (len < 8 || len > VALUE_MAX)
        return 0;
    unsigned c0 = s[0];
    if (c0 == '$' || c0 == '%' || c0 == '<' || c0 == '{' || c0 == '(' || c0 == '*' || c0 == '/')
        return 0;
    if ((c0 == '~' && s[1] == '/') || (c0 == '.' && (s[1] == '/' || (s[1] == '.' && s[2] == '/'))))
        return 0;
    for (size_t k = 0; k < len; k++)
        if (s[k] <= ' ' || s[k] >= 0x7f)
            return 0;
    size_t i = 1;
    while (i < len && s[i] == c0)
        i++;
    if (i == len || contains(s, len, "://"))
        return 0;
    /* Code, not a secret: a dotted identifier (self.get_auth, base64.b16encode). */
    size_t k = 0;
    int dots = 0;
    for (;;) {
        if (k >= len || !(is_alpha(s[k]) || s[k] == '_'))
            break;
        while (k < len && is_alnum_us(s[k]))
            k++;
        if (k == len) {
            if (dots)
                return 0;
            break;
        }
        if (s[k] != '.')
            break;
        dots++;
        k++;
    }
    size_t alnum = 0, pieces = 0, runs = 0;
    int prev = 0, digit = 0, letter = 0;
    for (i = 0; i < len; i++) {
        unsigned c = s[i];
        int cls = is_lower(c) ? 1 : is_upper(c) ? 2 : is_digit(c) ? 3 : 0;
        if (!cls) {
            prev = 0;
            continue;
        }
        alnum++;
        if (cls == 3)
            digit = 1;
        else
            letter = 1;
        if (!prev)
            runs++;
        if (!prev || (cls == 3) != (prev == 3) || (prev == 1 && cls == 2))
            pieces++;
        prev = cls;
    }
    return letter && (digit || alnum >= 16) && pieces - runs >= 3 && 2 * alnum <= 7 * pieces;
}

/* 40 base64 characters with both cases: the shape of an AWS secret access key. */
static int aws_secret_shape(const uchar *s, size_t len) {
    if (len != 40)
        return 0;
    int up = 0, low = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_b64(s[i]))
            return 0;
        up |= is_upper(s[i]);
        low |= is_lower(s[i]);
    }
    return up && low;
}

static int word_is(const uchar *w, size_t len, const char *lit);

/* A password that is a reference, a mask or a template, not a secret: $VAR, <…>, {…}, %…,
 * ***, xxx, or the word "password" itself (user:password@host in documentation). */
static int placeholder_like(const uchar *s, size_t len) {
    static const char *const words[] = {"password", "passwd",     "pass",        "pwd",
                                        "pw",       "secret",     "motdepasse",  "mdp",
                                        "changeme", "mypassword", "yourpassword"};
    if (!len)
        return 1;
    if (s[0] == '$' || s[0] == '<' || s[0] == '{' || s[0] == '%')
        return 1;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (word_is(s, len, words[i]))
            return 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] != '*' && s[i] != 'x' && s[i] != 'X')
            return 0;
    return 1;
}

/* ---- names that say secret ------------------------------------------------------------- */

static int word_is(const uchar *w, size_t len, const char *lit) {
    size_t i = 0;
    for (; i < len && lit[i]; i++)
        if (lower(w[i]) != (uchar)lit[i])
            return 0;
    return i == len && !lit[i];
}

static const char *const negative_words[] = {
    "tokens",     "tokenizer", "url",     "uri",   "endpoint", "file",    "path",
    "dir",        "cmd",       "command", "env",   "type",     "name",    "hint",
    "length",     "len",       "count",   "size",  "expiry",   "expires", "expire",
    "expiration", "ttl",       "timeout", "limit", "max",      "min",     "id",
};

/* True when one of the words of a name (cut at _ - . and at lower-to-upper changes) is in
 * the list. */
static int any_word(const uchar *s, size_t len, const char *const *list, size_t nlist) {
    size_t a = 0;
    while (a < len) {
        while (a < len && (s[a] == '_' || s[a] == '-' || s[a] == '.'))
            a++;
        size_t b = a;
        while (b < len && s[b] != '_' && s[b] != '-' && s[b] != '.' &&
               !(b > a && is_lower(s[b - 1]) && is_upper(s[b])))
            b++;
        for (size_t i = 0; i < nlist && b > a; i++)
            if (lower(s[a]) == (uchar)list[i][0] && word_is(s + a, b - a, list[i]))
                return 1;
        a = b;
    }
    return 0;
}

/* The rule for a value named s[0..len), or -1 when the name does not say secret. */
static int name_rule(const uchar *s, size_t len) {
    /* Every secret word holds one of these pairs of letters, unbroken by _ - . in practice
     * (password pa, pwd pw, privatekey pr, secret se, token to, jeton je, apikey ap,
     * accesskey ac, auth au, credential cr): most names are rejected here, without a copy. */
    int anchor = 0;
    for (size_t i = 0; i + 1 < len && !anchor; i++) {
        unsigned c1 = lower(s[i + 1]);
        switch (lower(s[i])) {
        case 'p':
            anchor = c1 == 'a' || c1 == 'w' || c1 == 'r';
            break;
        case 's':
        case 'j':
            anchor = c1 == 'e';
            break;
        case 't':
            anchor = c1 == 'o';
            break;
        case 'a':
            anchor = c1 == 'p' || c1 == 'c' || c1 == 'u';
            break;
        case 'c':
            anchor = c1 == 'r';
            break;
        default:
            break;
        }
    }
    if (!anchor)
        return -1;
    /* Lower-case, without _ - ., padded with NULs so that every comparison below may read
     * 10 bytes from any position. */
    char low[NAME_MAX_LEN + 16];
    size_t m = 0;
    for (size_t i = 0; i < len && m < NAME_MAX_LEN; i++)
        if (s[i] != '_' && s[i] != '-' && s[i] != '.')
            low[m++] = (char)lower(s[i]);
    memset(low + m, 0, 16);
#define HAS(p, lit) (memcmp((p), (lit), sizeof(lit) - 1) == 0)
    int pass = 0, maybe_pass = 0, privkey = 0, secret = 0, apikey = 0, token = 0, cred = 0, aws = 0;
    for (size_t i = 0; i < m; i++) {
        const char *p = low + i;
        switch (*p) {
        case 'p':
            if (HAS(p, "pass")) {
                if (HAS(p, "password") || HAS(p, "passwd") || HAS(p, "passphrase"))
                    pass = 1;
                else
                    maybe_pass = 1; /* DB_PASS, but not passenger */
            } else if (p[1] == 'w') {
                if (p[2] == 'd')
                    pass = 1;
                else
                    maybe_pass = 1; /* DB_PW */
            }
            privkey |= HAS(p, "privatekey");
            break;
        case 'm':
            pass |= HAS(p, "motdepasse");
            break;
        case 's':
            secret |= HAS(p, "secret");
            break;
        case 't':
            token |= HAS(p, "token");
            break;
        case 'j':
            token |= HAS(p, "jeton");
            break;
        case 'a':
            apikey |= HAS(p, "apikey") || HAS(p, "accesskey");
            aws |= HAS(p, "aws");
            if (HAS(p, "auth") && (!HAS(p, "author") || HAS(p, "authoriz") || HAS(p, "authoris")))
                token = 1;
            break;
        case 'c':
            cred |= HAS(p, "credential");
            break;
        default:
            break;
        }
    }
#undef HAS
    static const char *const pass_words[] = {"pass", "pw", "passe"};
    if (!pass && maybe_pass && any_word(s, len, pass_words, 3))
        pass = 1;
    if (!(pass || privkey || secret || apikey || token || cred))
        return -1;
    if (any_word(s, len, negative_words, sizeof negative_words / sizeof *negative_words))
        return -1;
    if (privkey)
        return R_PRIVATE_KEY;
    if (aws && secret)
        return R_AWS_SECRET;
    if (pass)
        return R_PASSWORD;
    if (secret)
        return R_SECRET;
    if (apikey)
        return R_API_KEY;
    if (token)
        return R_TOKEN;
    return R_CREDENTIALS;
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
        unsigned c = body[i], d = is_digit(c) ? c - '0' : is_upper(c) ? c - 'A' + 10 : c - 'a' + 36;
        v = v * 62 + d;
    }
    return v == crc32_bytes(body, 30);
}

/* ---- the rules --------------------------------------------------------------------------
 * Each returns 1 (a finding; *next is its end), 0 (none; *next is where the scan goes on,
 * past the region it rejected as a unit) or -1 (error, in sc->err). */

static void pass_range(scan *sc, size_t from, size_t to);

/* True when a known secret starts inside a token's prefix t(p..a): the token rule then
 * leaves the bytes to the main loop. */
static int known_in_prefix(const scan *sc, size_t p, size_t a) {
    for (size_t q = p + 1; sc->s->nrepeat && q < a && q < sc->n; q++)
        if (known_start(sc, q))
            return 1;
    return 0;
}

/* A token t[p..e): template bodies are no secrets; found ones become findings. */
static int token_found(scan *sc, size_t p, size_t body, size_t e, int rule, unsigned flags,
                       size_t *next) {
    *next = e;
    if (template_tail(sc->t + body, e - body))
        return 0;
    return accept(sc, p, e, rule, flags);
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
        if (is_b64(c) && (k == e || !is_b64_eq(t[k - 1]))) {
            size_t r = run(sc, k, is_b64);
            if (r - k == 40 && (r == sc->n || !is_b64_eq(t[r])) && aws_secret_shape(t + k, 40)) {
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
    if (marker_at(sc, p + 2) || known_in_prefix(sc, p, p + 3))
        return 0; /* sk-----BEGIN: the marker is looked at on its own */
    size_t a = p + 3, e = run(sc, a, is_word), len = e - a;
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
    if (rule == R_SK && contains(b, len, "T3BlbkFJ"))
        rule = R_OPENAI;
    if (len < min || (rule == R_SK && !looks_random(b, len)))
        return 0;
    return token_found(sc, p, a, e, rule, 0, next);
}

/* Body lengths between lo and hi of class `in`, after a prefix of plen bytes. */
static int rule_plain(scan *sc, size_t p, size_t plen, int (*in)(unsigned), size_t lo, size_t hi,
                      int rule, size_t *next) {
    if (known_in_prefix(sc, p, p + plen))
        return 0;
    size_t a = p + plen, e = run(sc, a, in);
    *next = e;
    if (e - a < lo || e - a > hi)
        return 0;
    return token_found(sc, p, a, e, rule, 0, next);
}

/* ghp_… and npm_…: 36 characters whose last 6 are a checksum, or a cut one. */
static int rule_github(scan *sc, size_t p, int rule, size_t *next) {
    if (known_in_prefix(sc, p, p + 4))
        return 0;
    size_t a = p + 4, e = run(sc, a, is_alnum);
    *next = e;
    if (e - a < 20 || e - a > 255)
        return 0;
    unsigned flags = e - a == 36 && github_checksum_ok(sc->t + a) ? SECRETS_CHECKSUM_OK : 0;
    return token_found(sc, p, a, e, rule, flags, next);
}

/* password VALUE, as in .netrc: the word, one space, a value that looks random. */
static int rule_value(scan *sc, size_t j, int rule, size_t trig, size_t *next);
static int is_quote(unsigned c);
static int rule_password_word(scan *sc, size_t p, size_t *next) {
    size_t e = p;
    while (e < sc->n && e - p < 12 && is_alpha(sc->t[e]))
        e++;
    if (e + 1 >= sc->n || sc->t[e] != ' ' || !(is_alnum(sc->t[e + 1]) || is_quote(sc->t[e + 1])) ||
        !(word_is(sc->t + p, e - p, "password") || word_is(sc->t + p, e - p, "passwd") ||
          word_is(sc->t + p, e - p, "passphrase")) ||
        known_in_prefix(sc, p, e + 1))
        return 0;
    return rule_value(sc, e + 1, R_PASSWORD, p, next);
}

static int rule_gitlab(scan *sc, size_t p, size_t plen, size_t *next) {
    if (marker_at(sc, p + plen - 1) || known_in_prefix(sc, p, p + plen))
        return 0;
    size_t a = p + plen, e = run(sc, a, is_gitlab), end = e;
    *next = e;
    while (end > a && sc->t[end - 1] == '.')
        end--;
    if (end - a < 20 || end - a > 400)
        return 0;
    return token_found(sc, p, a, end, R_GITLAB, 0, next);
}

static int rule_slack(scan *sc, size_t p, size_t plen, size_t *next) {
    if (marker_at(sc, p + plen - 1) || known_in_prefix(sc, p, p + plen))
        return 0;
    size_t a = p + plen, e = run(sc, a, is_slack);
    *next = e;
    if (e - a < 15 || e - a > 400 || !has_digit(sc->t + a, e - a))
        return 0;
    return token_found(sc, p, a, e, R_SLACK, 0, next);
}

static int rule_aws_id(scan *sc, size_t p, size_t *next) {
    size_t e = run(sc, p, is_alnum);
    *next = e > p ? e : p + 1;
    if (e - p != 20)
        return 0;
    for (size_t k = p + 4; k < e; k++)
        if (!is_upper(sc->t[k]) && !is_digit(sc->t[k]))
            return 0;
    int r = token_found(sc, p, p + 4, e, R_AWS_ID, 0, next);
    if (r > 0)
        aws_lookahead(sc, e);
    return r;
}

static int rule_jwt(scan *sc, size_t p, size_t *next) {
    const uchar *t = sc->t;
    size_t n = sc->n, e1 = run(sc, p, is_word);
    *next = e1 > p ? e1 : p + 1;
    if (e1 - p < 10 || e1 + 4 > n || t[e1] != '.' || !AT(sc, e1 + 1, "eyJ") ||
        known_start(sc, e1 + 1))
        return 0;
    size_t e2 = run(sc, e1 + 1, is_word);
    if (e2 - (e1 + 1) < 10 || e2 >= n || t[e2] != '.')
        return 0;
    size_t e3 = run(sc, e2 + 1, is_word);
    size_t end = e3 > e2 + 1 ? e3 : e2 + 1;
    int r = accept(sc, p, end, R_JWT, 0);
    if (r >= 0)
        *next = end;
    return r;
}

/* Token formats starting at p (a word start). */
static int rule_token(scan *sc, size_t p, size_t *next) {
    const uchar *t = sc->t;
    *next = p + 1;
    if (is_word(before(sc, p)))
        return 0;
    switch (t[p]) {
    case 's':
        if (AT(sc, p, "sk-"))
            return rule_sk(sc, p, next);
        if (AT(sc, p, "sk_live_") || AT(sc, p, "sk_test_"))
            return rule_plain(sc, p, 8, is_alnum, 16, 255, R_STRIPE, next);
        return 0;
    case 'r':
        if (AT(sc, p, "rk_live_") || AT(sc, p, "rk_test_"))
            return rule_plain(sc, p, 8, is_alnum, 16, 255, R_STRIPE, next);
        return 0;
    case 'g':
        if (sc->n - p > 4 && t[p + 1] == 'h' && t[p + 3] == '_' &&
            (t[p + 2] == 'p' || t[p + 2] == 'o' || t[p + 2] == 'u' || t[p + 2] == 's' ||
             t[p + 2] == 'r'))
            return rule_github(sc, p, R_GITHUB, next);
        if (AT(sc, p, "github_pat_"))
            return rule_plain(sc, p, 11, is_alnum_us, 20, 255, R_GITHUB, next);
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
        return rule_password_word(sc, p, next);
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
            return rule_plain(sc, p, 4, is_word, 30, 64, R_GOOGLE, next);
        return 0;
    case 'e':
        if (AT(sc, p, "eyJ"))
            return rule_jwt(sc, p, next);
        return 0;
    default:
        return 0;
    }
}

/* A separator between two words of a PEM body: white space or a \n, \r, \t escape. */
static size_t pem_sep(const scan *sc, size_t k) {
    const uchar *t = sc->t;
    if (is_space(t[k]))
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
    if (len < 2 || len > 32 || s[len - 1] != ':' || !is_alpha(s[0]))
        return 0;
    for (size_t i = 1; i + 1 < len; i++)
        if (!is_alpha(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* -----BEGIN … PRIVATE KEY----- at p, and its body. */
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

static int rule_pem(scan *sc, size_t p, size_t *next) {
    const uchar *t = sc->t;
    size_t n = sc->n;
    *next = p + 1;
    size_t k = p + 11, h = k, lim = n - k > 48 ? k + 48 : n;
    while (h < lim && (is_upper(t[h]) || is_digit(t[h]) || t[h] == ' '))
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
            while (m < mlim && (is_upper(t[m]) || is_digit(t[m]) || t[m] == ' '))
                m++;
            end = AT(sc, m, "-----") ? m + 5 : k + 8;
            break;
        }
        size_t x = k;
        while (x < n && is_b64_eq(t[x]))
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
                    !marker_at(sc, w) && !(sc->s->nrepeat && known_start(sc, w)))
                    w++;
                if (w < n && t[w] != '\n' && t[w] != '\r' && pem_sep(sc, w) != 2)
                    break; /* not text: the block ends before this line */
                size_t v = w;
                while (v > k && (is_space(t[v - 1]) || pem_joiner(t[v - 1])))
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
        force = known_start(sc, q) ? FORCE : 0;
    for (size_t i = 0; sc->s->nallow && i < sc->s->nblocks && !force; i++)
        force = holds(t + p, end - p, sc->s->blocks[i].data, sc->s->blocks[i].len) ? FORCE : 0;
    int r = accept(sc, p, end, R_PEM, force);
    if (r == 1 && sc->s->nallow && pem_remember(sc, p, end) != 0)
        return -1;
    if (r >= 0)
        *next = end;
    return r;
}

/* The length of an Authorization scheme word and its space at s ("Bearer "), or 0. */
static size_t scheme_len(const uchar *s, size_t len) {
    static const char *const schemes[] = {"bearer", "basic", "token", "bot"};
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        size_t m = strlen(schemes[i]);
        if (len > m && s[m] == ' ' && word_is(s, m, schemes[i]))
            return m + 1;
    }
    return 0;
}

static int is_quote(unsigned c) {
    return c == '"' || c == '\'' || c == '`';
}

/* Where the unquoted value from v ends. */
static size_t value_end(const scan *sc, size_t v) {
    size_t lim = sc->n - v > VALUE_MAX + 1 ? v + VALUE_MAX + 1 : sc->n, k = v;
    while (k < lim && is_value(sc->t[k]) && !marker_at(sc, k) &&
           !(sc->s->nrepeat && known_start(sc, k)))
        k++;
    return k;
}

/* Reads the value at j: quoted on one line, or unquoted; a scheme word before it is
 * skipped.  Returns 0 when there is none (*inert untouched), 1 with [*v, *ve) and the end of
 * the region a rejection leaves alone in *inert. */
static int read_value(const scan *sc, size_t j, int schemes, size_t *v, size_t *ve, size_t *inert) {
    const uchar *t = sc->t;
    size_t n = sc->n;
    if (j >= n)
        return 0;
    if (is_quote(t[j])) {
        unsigned q = t[j];
        size_t k = j + 1, lim = n - k > VALUE_MAX + 1 ? k + VALUE_MAX + 1 : n;
        while (k < lim && t[k] != q && t[k] != '\n' && t[k] != '\r' &&
               !(sc->s->nrepeat && known_start(sc, k)))
            k += t[k] == '\\' && k + 1 < n && (t[k + 1] == q || t[k + 1] == '\\') ? 2 : 1;
        if (k >= lim || t[k] != q)
            return 0;
        size_t a = j + 1, b = k, w = a;
        while (w < b && !is_space(t[w]))
            w++;
        if (w < b) {
            size_t sl = schemes ? scheme_len(t + a, b - a) : 0;
            if (!sl)
                return 0;
            a += sl;
            for (w = a; w < b; w++)
                if (is_space(t[w]))
                    return 0;
        }
        *v = a;
        *ve = b;
        *inert = k + 1;
        return 1;
    }
    size_t a = j, b = value_end(sc, a);
    if (schemes && b > a && b < n && t[b] == ' ' && scheme_len(t + a, b - a + 1) == b - a + 1) {
        size_t b2 = value_end(sc, b + 1);
        if (b2 > b + 1) {
            a = b + 1;
            b = b2;
        }
    }
    *inert = b;
    while (b > a && (t[b - 1] == '.' || t[b - 1] == ':' || t[b - 1] == '!' || t[b - 1] == '?'))
        b--;
    *v = a;
    *ve = b;
    return b > a;
}

/* The value of an assignment or option whose name gave rule, starting at j; trig is where
 * the trigger was. */
static int rule_value(scan *sc, size_t j, int rule, size_t trig, size_t *next) {
    size_t v, ve, inert;
    *next = trig + 1;
    if (!read_value(sc, j, 1, &v, &ve, &inert))
        return 0;
    /* A token format at the start of the value names it.  (A key block never starts a
     * value: no value runs over its marker, which the main loop then reaches.) */
    size_t nx;
    int r = rule_token(sc, v, &nx);
    if (r != 0) {
        *next = nx;
        return r;
    }
    *next = inert;
    size_t len = ve - v;
    int ok = looks_random(sc->t + v, len);
    if (rule == R_AWS_SECRET && aws_secret_shape(sc->t + v, len))
        ok = 1;
    if (sc->pend && sc->pend_start == v && sc->pend_end == ve) {
        ok = 1; /* the key of an access key id just before */
        rule = R_AWS_SECRET;
    }
    if (!ok)
        return 0;
    r = accept(sc, v, ve, rule, 0);
    if (r > 0)
        *next = ve;
    return r;
}

static size_t placeholder_at(const uchar *t, size_t n);

/* The length of what a second pass will see as one placeholder at k: one of ami's
 * placeholders, or a known secret; 0 when neither. */
static size_t unit_at(const scan *sc, size_t k) {
    if (sc->t[k] == '[')
        return placeholder_at(sc->t + k, sc->n - k);
    uint32_t idx;
    return sc->s->nrepeat && sc->s->first[sc->t[k]] ? known_at(sc, k, &idx) : 0;
}

/* Reads user:password@ (bytes of class `in`, up to the closing quote if one is given) from
 * a, taking placeholders and known secrets as units, so that the user part and
 * the password are split the same way whether the secrets in them are still bytes or
 * already placeholders.  Returns where it stopped; *colon is the first ':' and *at the last
 * '@' outside units (SIZE_MAX when none). */
static size_t userinfo(const scan *sc, size_t a, size_t lim, int (*in)(unsigned), unsigned quote,
                       size_t *colon, size_t *at) {
    const uchar *t = sc->t;
    size_t k = a;
    *colon = *at = SIZE_MAX;
    while (k < lim) {
        size_t u = unit_at(sc, k);
        /* A private key's marker stops the scan, and so does its placeholder. */
        if (u && !(u > 20 && !memcmp(t + k, "[secret: private key", 20))) {
            k += u;
            continue;
        }
        unsigned c = t[k];
        if ((quote && c == quote) || !in(c) || marker_at(sc, k))
            break;
        if (c == ':' && *colon == SIZE_MAX)
            *colon = k;
        if (c == '@')
            *at = k;
        k++;
    }
    return k < sc->n ? k : sc->n;
}

/* Scans the user part t[a..colon) of user:password as a text of its own: nothing found in
 * it may reach into the password, which will be a placeholder on a second pass. */
static void user_part(scan *sc, size_t a, size_t colon) {
    size_t n = sc->n;
    sc->n = colon;
    pass_range(sc, a, colon);
    sc->n = n;
}

/* The password t[a..b) of user:password: 1 when it holds a known secret (it is then masked
 * whole, whatever it looks like), 0 when it holds none, -1 when it holds a placeholder
 * (masked already: nothing to do). */
static int password_units(const scan *sc, size_t a, size_t b) {
    int known = 0;
    for (size_t k = a; k < b; k++) {
        if (sc->t[k] == '[' && placeholder_at(sc->t + k, sc->n - k))
            return -1;
        known |= unit_at(sc, k) != 0;
    }
    return known;
}

/* user:password at j (curl -u, --user): the password, if it looks random, after scanning
 * the user part. */
static int rule_userpass(scan *sc, size_t j, size_t trig, size_t *next) {
    const uchar *t = sc->t;
    size_t colon, at, v = j, ve, lim;
    *next = trig + 1;
    if (j >= sc->n)
        return 0;
    unsigned quote = is_quote(t[j]) ? t[j] : 0;
    if (quote)
        v = j + 1;
    lim = sc->n - v > VALUE_MAX ? v + VALUE_MAX : sc->n;
    ve = userinfo(sc, v, lim, is_value, quote, &colon, &at);
    if (quote && (ve >= sc->n || t[ve] != quote))
        return 0;
    if (colon == SIZE_MAX || colon == v || colon + 1 >= ve)
        return 0;
    int units = password_units(sc, colon + 1, ve);
    if (units < 0 || (!units && !looks_random(t + colon + 1, ve - colon - 1)))
        return 0;
    user_part(sc, v, colon);
    if (sc->err)
        return -1;
    int r = accept(sc, colon + 1, ve, R_PASSWORD, units ? FORCE : 0);
    *next = r >= 0 ? ve : trig + 1;
    return r;
}

/* scheme://user:password@host at the ':' of "://". */
static int rule_url(scan *sc, size_t i, size_t *next) {
    const uchar *t = sc->t;
    *next = i + 1;
    if (!is_alnum(before(sc, i)))
        return 0;
    size_t a = i + 3, colon, at, lim = sc->n - a > AUTH_MAX ? a + AUTH_MAX : sc->n;
    userinfo(sc, a, lim, is_authority, 0, &colon, &at);
    if (at == SIZE_MAX || colon == SIZE_MAX || colon >= at || colon == a || colon + 1 >= at ||
        placeholder_like(t + colon + 1, at - colon - 1))
        return 0;
    int units = password_units(sc, colon + 1, at);
    if (units < 0)
        return 0;
    /* Secrets in the user part (a token used as the user name) come first. */
    user_part(sc, a, colon);
    if (sc->err)
        return -1;
    int r = accept(sc, colon + 1, at, R_URL_PASSWORD, units ? FORCE : 0);
    *next = r >= 0 ? at : i + 1;
    return r;
}

/* NAME <sep> value: i is the separator, j the first byte after it. */
static int rule_assign(scan *sc, size_t i, size_t j, size_t *next) {
    const uchar *t = sc->t;
    size_t k = i, sp = 0;
    *next = i + 1;
    while (k > sc->floor && (t[k - 1] == ' ' || t[k - 1] == '\t') && sp < 8)
        k--, sp++;
    unsigned quote = 0;
    if (k > sc->floor && (t[k - 1] == '"' || t[k - 1] == '\''))
        quote = t[--k];
    size_t ne = k;
    while (k > sc->floor && ne - k < NAME_MAX_LEN && is_name(t[k - 1]))
        k--;
    if (ne - k < 2 || (quote && !(k > sc->floor && t[k - 1] == quote)))
        return 0; /* no secret word is shorter than "pw" */
    int rule = name_rule(t + k, ne - k);
    if (rule < 0)
        return 0;
    sp = 0;
    while (j < sc->n && (t[j] == ' ' || t[j] == '\t') && sp < 16)
        j++, sp++;
    return rule_value(sc, j, rule, i, next);
}

static int rule_colon(scan *sc, size_t i, size_t *next) {
    *next = i + 1;
    if (AT(sc, i + 1, "//"))
        return rule_url(sc, i, next);
    if (AT(sc, i + 1, ":"))
        return 0; /* "::" (the next byte is looked at on its own: it may start a secret) */
    return rule_assign(sc, i, AT(sc, i + 1, "=") ? i + 2 : i + 1, next);
}

static int rule_equals(scan *sc, size_t i, size_t *next) {
    *next = i + 1;
    if (AT(sc, i + 1, "="))
        return 0; /* "==" */
    unsigned b = before(sc, i);
    if (b == '=' || b == '!' || b == '<' || b == '>' || b == ':' || b == '+' || b == '*' ||
        b == '/' || b == '%' || b == '&' || b == '|' || b == '^' || b == '~')
        return 0;
    return rule_assign(sc, i, AT(sc, i + 1, ">") ? i + 2 : i + 1, next);
}

/* "-----BEGIN", "--name value", "-u user:password". */
static int rule_dash(scan *sc, size_t i, size_t *next) {
    const uchar *t = sc->t;
    *next = i + 1;
    if (AT(sc, i, "-----BEGIN "))
        return rule_pem(sc, i, next);
    if (is_word(before(sc, i)))
        return 0;
    if (AT(sc, i, "-u "))
        return rule_userpass(sc, i + 3, i, next);
    if (!AT(sc, i, "--") || marker_at(sc, i + 1) || known_in_prefix(sc, i, i + 2))
        return 0;
    size_t a = i + 2, e = run(sc, a, is_word);
    if (e - a < 2 || e - a > NAME_MAX_LEN || e >= sc->n || t[e] != ' ')
        return 0;
    size_t j = e;
    while (j < sc->n && t[j] == ' ' && j - e < 8)
        j++;
    if (j >= sc->n || t[j] == '-')
        return 0;
    if (word_is(t + a, e - a, "user"))
        return rule_userpass(sc, j, i, next);
    int rule = name_rule(t + a, e - a);
    if (rule < 0)
        return 0;
    return rule_value(sc, j, rule, i, next);
}

/* The length of one of ami's placeholders at p, or 0. */
static size_t placeholder_at(const uchar *t, size_t n) {
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
        while (d < n && d - k <= 10 && is_digit(t[d]))
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
        size_t len = known_at(sc, i, &idx);
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
        rule_token(sc, i, &next);
        break;
    case '-':
        rule_dash(sc, i, &next);
        break;
    case ':':
        rule_colon(sc, i, &next);
        break;
    case '=':
        rule_equals(sc, i, &next);
        break;
    case '[': {
        size_t len = placeholder_at(t + i, sc->n - i);
        if (len) {
            next = i + len;
            sc->floor = next;
            sc->floor_masked = 1;
        }
        break;
    }
    case ';':
        if (AT(sc, i, ";base64,")) {
            size_t e = run(sc, i + 8, is_b64_eq);
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
static void pass_range(scan *sc, size_t from, size_t to) {
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
            int r = accept(sc, sc->pend_start, sc->pend_end, R_AWS_SECRET, 0);
            if (r < 0)
                return;
            i = sc->pend_end;
            continue;
        }
        if (i >= lim || i + 1 >= sc->n)
            break;
        /* A token prefix inside a word starts nothing. */
        if (what == PAIR_TOKEN && i > 0 && !(i == sc->floor && sc->floor_masked) &&
            is_word(t[i - 1])) {
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
        pass_range(sc, 0, sc->n);
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
