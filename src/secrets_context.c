/* secrets_context: the secrets that what stands before them names ("Secrets by context" in
 * include/ami/secrets.h): the value of a name that says secret (NAME=value, "name": "value",
 * --name value, password VALUE), user:password in a URL and after -u or --user, and the test
 * such a value must pass, "looks random".  The scan loop (src/secrets.c) calls the rules at a
 * ':', an '=' and a '-'; a value that starts with a token format is left to that format's
 * rule (src/secrets_tokens.c).
 */
#include "ami/secrets.h"

#include "secrets_internal.h"

#include <stdint.h>
#include <string.h>

/* ---- character classes ----------------------------------------------------------------- */

static int is_name(unsigned c) {
    return secrets__is_word(c) || c == '.';
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
    return secrets__is_upper(c) ? c + 32 : c;
}

static int is_quote(unsigned c) {
    return c == '"' || c == '\'' || c == '`';
}

/* ---- what looks random ----------------------------------------------------------------- */

int secrets__contains(const uchar *s, size_t len, const char *lit) {
    size_t m = strlen(lit);
    for (size_t i = 0; i + m <= len; i++)
        if (memcmp(s + i, lit, m) == 0)
            return 1;
    return 0;
}

/* The rule of the header, written out: see "looks random" in secrets.h. */
int secrets__looks_random(const uchar *s, size_t len) {
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
    if (i == len || secrets__contains(s, len, "://"))
        return 0;
    /* Code, not a secret: a dotted identifier (self.get_auth, base64.b16encode). */
    size_t k = 0;
    int dots = 0;
    for (;;) {
        if (k >= len || !(secrets__is_alpha(s[k]) || s[k] == '_'))
            break;
        while (k < len && secrets__is_alnum_us(s[k]))
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
        int cls = secrets__is_lower(c)   ? 1
                  : secrets__is_upper(c) ? 2
                  : secrets__is_digit(c) ? 3
                                         : 0;
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
               !(b > a && secrets__is_lower(s[b - 1]) && secrets__is_upper(s[b])))
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

/* ---- values ---------------------------------------------------------------------------
 * Each rule returns 1, 0 or -1 as secrets_internal.h says. */

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

/* Where the unquoted value from v ends. */
static size_t value_end(const scan *sc, size_t v) {
    size_t lim = sc->n - v > VALUE_MAX + 1 ? v + VALUE_MAX + 1 : sc->n, k = v;
    while (k < lim && is_value(sc->t[k]) && !secrets__marker_at(sc, k) &&
           !(sc->s->nrepeat && secrets__known_start(sc, k)))
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
               !(sc->s->nrepeat && secrets__known_start(sc, k)))
            k += t[k] == '\\' && k + 1 < n && (t[k + 1] == q || t[k + 1] == '\\') ? 2 : 1;
        if (k >= lim || t[k] != q)
            return 0;
        size_t a = j + 1, b = k, w = a;
        while (w < b && !secrets__is_space(t[w]))
            w++;
        if (w < b) {
            size_t sl = schemes ? scheme_len(t + a, b - a) : 0;
            if (!sl)
                return 0;
            a += sl;
            for (w = a; w < b; w++)
                if (secrets__is_space(t[w]))
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
    int r = secrets__rule_token(sc, v, &nx);
    if (r != 0) {
        *next = nx;
        return r;
    }
    *next = inert;
    size_t len = ve - v;
    int ok = secrets__looks_random(sc->t + v, len);
    if (rule == R_AWS_SECRET && secrets__aws_secret_shape(sc->t + v, len))
        ok = 1;
    if (sc->pend && sc->pend_start == v && sc->pend_end == ve) {
        ok = 1; /* the key of an access key id just before */
        rule = R_AWS_SECRET;
    }
    if (!ok)
        return 0;
    r = secrets__accept(sc, v, ve, rule, 0);
    if (r > 0)
        *next = ve;
    return r;
}

/* password VALUE, as in .netrc: the word, one space, a value that looks random. */
int secrets__rule_password_word(scan *sc, size_t p, size_t *next) {
    size_t e = p;
    while (e < sc->n && e - p < 12 && secrets__is_alpha(sc->t[e]))
        e++;
    if (e + 1 >= sc->n || sc->t[e] != ' ' ||
        !(secrets__is_alnum(sc->t[e + 1]) || is_quote(sc->t[e + 1])) ||
        !(word_is(sc->t + p, e - p, "password") || word_is(sc->t + p, e - p, "passwd") ||
          word_is(sc->t + p, e - p, "passphrase")) ||
        secrets__known_in_prefix(sc, p, e + 1))
        return 0;
    return rule_value(sc, e + 1, R_PASSWORD, p, next);
}

/* The length of what a second pass will see as one placeholder at k: one of ami's
 * placeholders, or a known secret; 0 when neither. */
static size_t unit_at(const scan *sc, size_t k) {
    if (sc->t[k] == '[')
        return secrets__placeholder_at(sc->t + k, sc->n - k);
    uint32_t idx;
    return sc->s->nrepeat && sc->s->first[sc->t[k]] ? secrets__known_at(sc, k, &idx) : 0;
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
        if ((quote && c == quote) || !in(c) || secrets__marker_at(sc, k))
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
    secrets__pass_range(sc, a, colon);
    sc->n = n;
}

/* The password t[a..b) of user:password: 1 when it holds a known secret (it is then masked
 * whole, whatever it looks like), 0 when it holds none, -1 when it holds a placeholder
 * (masked already: nothing to do). */
static int password_units(const scan *sc, size_t a, size_t b) {
    int known = 0;
    for (size_t k = a; k < b; k++) {
        if (sc->t[k] == '[' && secrets__placeholder_at(sc->t + k, sc->n - k))
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
    if (units < 0 || (!units && !secrets__looks_random(t + colon + 1, ve - colon - 1)))
        return 0;
    user_part(sc, v, colon);
    if (sc->err)
        return -1;
    int r = secrets__accept(sc, colon + 1, ve, R_PASSWORD, units ? FORCE : 0);
    *next = r >= 0 ? ve : trig + 1;
    return r;
}

/* scheme://user:password@host at the ':' of "://". */
static int rule_url(scan *sc, size_t i, size_t *next) {
    const uchar *t = sc->t;
    *next = i + 1;
    if (!secrets__is_alnum(secrets__before(sc, i)))
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
    int r = secrets__accept(sc, colon + 1, at, R_URL_PASSWORD, units ? FORCE : 0);
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

int secrets__rule_colon(scan *sc, size_t i, size_t *next) {
    *next = i + 1;
    if (AT(sc, i + 1, "//"))
        return rule_url(sc, i, next);
    if (AT(sc, i + 1, ":"))
        return 0; /* "::" (the next byte is looked at on its own: it may start a secret) */
    return rule_assign(sc, i, AT(sc, i + 1, "=") ? i + 2 : i + 1, next);
}

int secrets__rule_equals(scan *sc, size_t i, size_t *next) {
    *next = i + 1;
    if (AT(sc, i + 1, "="))
        return 0; /* "==" */
    unsigned b = secrets__before(sc, i);
    if (b == '=' || b == '!' || b == '<' || b == '>' || b == ':' || b == '+' || b == '*' ||
        b == '/' || b == '%' || b == '&' || b == '|' || b == '^' || b == '~')
        return 0;
    return rule_assign(sc, i, AT(sc, i + 1, ">") ? i + 2 : i + 1, next);
}

/* "-----BEGIN", "--name value", "-u user:password". */
int secrets__rule_dash(scan *sc, size_t i, size_t *next) {
    const uchar *t = sc->t;
    *next = i + 1;
    if (AT(sc, i, "-----BEGIN "))
        return secrets__rule_pem(sc, i, next);
    if (secrets__is_word(secrets__before(sc, i)))
        return 0;
    if (AT(sc, i, "-u "))
        return rule_userpass(sc, i + 3, i, next);
    if (!AT(sc, i, "--") || secrets__marker_at(sc, i + 1) || secrets__known_in_prefix(sc, i, i + 2))
        return 0;
    size_t a = i + 2, e = secrets__run(sc, a, secrets__is_word);
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
