/* The secret scanner's parts that its own files share (src/secrets*.c); not for other modules.
 * Nothing here is API: every function's name starts with secrets__.
 *
 *   src/secrets.c          the session (its repeat secrets, their index, the allow patterns),
 *                          the scan loop, with the state diagram and why masking is idempotent
 *                          at its top, a candidate accepted as a finding, numbering, masking;
 *   src/secrets_tokens.c   the token formats, found by their prefix at a word start, and
 *                          private key blocks, by their marker ("What is a secret" in
 *                          ami/secrets.h);
 *   src/secrets_context.c  the secrets found by their context: the value of a name that says
 *                          secret, user:password in a URL or after -u ("Secrets by context"),
 *                          and what looks random.
 */
#ifndef AMI_SECRETS_INTERNAL_H
#define AMI_SECRETS_INTERNAL_H

#include "ami/buf.h"
#include "ami/secrets.h"

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef unsigned char uchar;

/* secrets__accept() flag: mask even if an allow pattern matches (the candidate holds a known
 * secret).  Never stored. */
#define FORCE 0x80u

#define VALUE_MAX    1024 /* an assignment's value */
#define NAME_MAX_LEN 64   /* an assignment's name (longer: its last 64 bytes) */
#define AUTH_MAX     256  /* a URL's authority */
#define AWS_WINDOW   256  /* bytes after an access key id where its secret may start */

/* ---- rules and labels (their names and placeholders: src/secrets.c) -------------------- */

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

/* ---- character classes ----------------------------------------------------------------- */

static inline int secrets__is_digit(unsigned c) {
    return c - '0' < 10u;
}
static inline int secrets__is_lower(unsigned c) {
    return c - 'a' < 26u;
}
static inline int secrets__is_upper(unsigned c) {
    return c - 'A' < 26u;
}
static inline int secrets__is_alpha(unsigned c) {
    return (c | 32u) - 'a' < 26u;
}
static inline int secrets__is_alnum(unsigned c) {
    return secrets__is_digit(c) || secrets__is_alpha(c);
}
/* A word byte: a token glued to one of these is part of a longer word.  Also base64url. */
static inline int secrets__is_word(unsigned c) {
    return secrets__is_alnum(c) || c == '_' || c == '-';
}
static inline int secrets__is_alnum_us(unsigned c) {
    return secrets__is_alnum(c) || c == '_';
}
static inline int secrets__is_b64(unsigned c) {
    return secrets__is_alnum(c) || c == '+' || c == '/';
}
static inline int secrets__is_b64_eq(unsigned c) {
    return secrets__is_b64(c) || c == '=';
}
static inline int secrets__is_space(unsigned c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* ---- reading the text (the functions not inline here: src/secrets.c) ----------------- */

static inline unsigned secrets__before(const scan *sc, size_t p) {
    if (p == sc->floor && sc->floor_masked)
        return ']';
    return p ? sc->t[p - 1] : ' ';
}

static inline int secrets__lit_at(const scan *sc, size_t p, const char *lit, size_t len) {
    return p <= sc->n && sc->n - p >= len && memcmp(sc->t + p, lit, len) == 0;
}
#define AT(sc, p, lit) secrets__lit_at((sc), (p), (lit), sizeof(lit) - 1)

/* The longest known repeat secret at i: its length (0 when none), its entry in *idx. */
size_t secrets__known_at(const scan *sc, size_t i, uint32_t *idx);

static inline int secrets__known_start(const scan *sc, size_t i) {
    uint32_t idx;
    return sc->s->nrepeat && sc->s->first[sc->t[i]] && secrets__known_at(sc, i, &idx) != 0;
}

/* A private key's marker starts at j: no run goes over one. */
static inline int secrets__marker_at(const scan *sc, size_t j) {
    return sc->t[j] == '-' && sc->n - j >= 10 && memcmp(sc->t + j, "-----BEGIN", 10) == 0;
}

/* End of the run of bytes of class `in` from `from`, stopping where a known secret or a
 * private key's marker starts. */
static inline size_t secrets__run(const scan *sc, size_t from, int (*in)(unsigned)) {
    size_t j = from;
    if (sc->s->nrepeat) {
        while (j < sc->n && in(sc->t[j]) && !secrets__marker_at(sc, j) &&
               !secrets__known_start(sc, j))
            j++;
    } else {
        while (j < sc->n && in(sc->t[j]) && !secrets__marker_at(sc, j))
            j++;
    }
    return j;
}

/* Whether a known secret starts inside the prefix t(p..a) of a token. */
int secrets__known_in_prefix(const scan *sc, size_t p, size_t a);

/* The candidate t[a..b) of rule: 1 a finding, 0 spared by an allow pattern, -1 an error. */
int secrets__accept(scan *sc, size_t a, size_t b, int rule, unsigned flags);

/* The main loop over [from, to). */
void secrets__pass_range(scan *sc, size_t from, size_t to);

/* The length of one of ami's placeholders at t[0..n), or 0. */
size_t secrets__placeholder_at(const uchar *t, size_t n);

/* ---- the rules --------------------------------------------------------------------------
 * Each returns 1 (a finding; *next is its end), 0 (none; *next is where the scan goes on,
 * past the region it rejected as a unit) or -1 (error, in sc->err). */

/* Token formats starting at p (a word start).  (src/secrets_tokens.c) */
int secrets__rule_token(scan *sc, size_t p, size_t *next);
/* A private key block at its "-----BEGIN " p. */
int secrets__rule_pem(scan *sc, size_t p, size_t *next);
/* Whether s[0..len) has the shape of an AWS secret access key. */
int secrets__aws_secret_shape(const uchar *s, size_t len);

/* At a ':' (a URL's "://", or NAME: value), an '=' (NAME=value, NAME => value) and a '-'
 * ("-----BEGIN", "--name value", "-u user:password"): i is where.  (src/secrets_context.c) */
int secrets__rule_colon(scan *sc, size_t i, size_t *next);
int secrets__rule_equals(scan *sc, size_t i, size_t *next);
int secrets__rule_dash(scan *sc, size_t i, size_t *next);
/* "password VALUE" (.netrc) at p. */
int secrets__rule_password_word(scan *sc, size_t p, size_t *next);
/* Whether s[0..len) looks random ("looks random" in ami/secrets.h). */
int secrets__looks_random(const uchar *s, size_t len);
/* Whether s[0..len) holds the string lit. */
int secrets__contains(const uchar *s, size_t len, const char *lit);

#endif
