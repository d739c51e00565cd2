/* secrets: find the secrets in a text that is about to leave the machine, and mask them.
 *
 * Before a request is built, the host passes every text it will send (the document, the
 * passage, the question, the earlier turns) through one session.  Each secret is replaced by
 * a readable placeholder, "[secret: GitHub token]", the same secret by the same placeholder
 * in every text of the session, and two different secrets of one kind by different ones
 * ("[secret: GitHub token 2]"), numbered in order of first appearance.  Pure: bytes in, a
 * masked copy and findings out; no I/O, no global state.  A finding holds offsets, never the
 * secret's bytes, so nothing can log a secret by accident.
 *
 * What is a secret.  Token formats, each a fixed prefix that must start a word (the byte
 * before it is not [A-Za-z0-9_-]) and a body that runs as far as its alphabet goes:
 *   OpenAI key        sk-proj-, sk-svcacct-, sk-admin- + 20 or more [A-Za-z0-9_-], or sk-
 *                     + a body holding "T3BlbkFJ" (the legacy format)
 *   Anthropic key     sk-ant- + 20 or more [A-Za-z0-9_-]
 *   OpenRouter key    sk-or- + 20 or more [A-Za-z0-9_-]
 *   API key           any other sk- + 20 or more [A-Za-z0-9_-] that looks random (below)
 *   Google API key    AIza + 30 to 64 [A-Za-z0-9_-] (the format has 35)
 *   GitHub token      ghp_, gho_, ghu_, ghs_, ghr_ + 20 to 255 [A-Za-z0-9]; github_pat_ +
 *                     20 to 255 [A-Za-z0-9_].  A body of exactly 36 carries a CRC32
 *                     checksum (its last 6 characters, base62): when it checks out the
 *                     finding has SECRETS_CHECKSUM_OK.  Tokens whose checksum fails or that
 *                     are shorter are masked all the same, since people paste cut ones.
 *   npm token         npm_ + 20 to 255 [A-Za-z0-9], the same checksum as GitHub's
 *   GitLab token      glpat-, glptt-, gldt-, glrt-, glcbt-, glsoat- + 20 to 400
 *                     [A-Za-z0-9_.-] (trailing dots are left out: they end sentences)
 *   Slack token       xoxa-, xoxb-, xoxe-, xoxo-, xoxp-, xoxr-, xoxs-, xapp- + 15 or more
 *                     [A-Za-z0-9-] holding a digit
 *   Stripe key        sk_live_, sk_test_, rk_live_, rk_test_ + 16 to 255 [A-Za-z0-9]
 *   AWS access key id AKIA or ASIA + 16 [A-Z0-9], not followed by another [A-Za-z0-9]
 *   AWS secret key    40 [A-Za-z0-9+/] with both cases, starting within 256 bytes and two
 *                     line breaks after an access key id; or any value named with both
 *                     "aws" and "secret" (aws_secret_access_key) that is 40 such characters
 *   JWT               eyJ… . eyJ… . signature: base64url parts of 10 or more characters
 *                     (the signature may be empty), masked whole
 *   private key       -----BEGIN [any upper-case words ]PRIVATE KEY[ BLOCK]----- and its
 *                     body to the end of the -----END …----- line, masked whole.  The body
 *                     may be hard-wrapped, indented, on one line with spaces, or JSON with
 *                     \n escapes (a Google service-account file); quotes, "+" and "," that
 *                     join string pieces in code are allowed around its lines.  The body
 *                     starts with a line of 16 base64 characters or more (a marker with no
 *                     body, a string constant in code, is not a key); a shorter line may
 *                     only end it.  A block cut off (by the end of the text, or by anything
 *                     that is not base64) is masked up to its last base64 line.  The marker
 *                     is found wherever it is, even glued to a word: no token or value
 *                     runs over a "-----BEGIN".
 * Bodies made of one repeated character (ghp_xxxxxxxx…) are templates, not secrets.
 *
 * Secrets by context:
 *   password in URL   scheme://user:password@host: only the password (between the first
 *                     ":" of a non-empty user part and the last "@" of the authority, known
 *                     secrets and placeholders in it read as units), whatever it looks
 *                     like, unless it is a reference ($VAR, <…>, {…}, %…), only "*" or "x",
 *                     or a word documentation uses for one (password, pass, pwd, pw,
 *                     secret, mdp, motdepasse, changeme, mypassword, yourpassword).  A token
 *                     used as the user name is found too.  Also -u user:password and --user
 *                     user:password (curl), when the password looks random (below), since
 *                     -u means other things elsewhere; and password VALUE (.netrc: the word
 *                     password, passwd or passphrase, one space, a value that starts with
 *                     a letter, a digit or a quote and looks random).
 *   assignments       NAME=value, NAME: value, NAME := value, NAME => value, "name":
 *                     "value", export NAME=value, --name value, --name=value, in any case,
 *                     where NAME says secret: it contains (ignoring case, "_", "-" and ".")
 *                     password, passwd, passphrase, pwd, motdepasse, secret, token, jeton,
 *                     apikey, accesskey, privatekey, auth (but not author), credential; or
 *                     has a word "pass", "passe" or "pw" (DB_PASS, "mot de passe :").  Names with a
 * word (cut at _ - . and lower-to-upper changes) among tokens, tokenizer, url, uri, endpoint, file,
 * path, dir, cmd, command, env, type, name, hint, length, len, count, size, expire(s), expiry,
 * expiration, ttl, timeout, limit, max, min, id name something else (max_tokens, api_key_cmd,
 * token_url, aws_access_key_id).  The value is quoted ("…", '…', `…`, on one line) or runs to a
 * space, a quote or one of , ; & < > ( ) [ ] { } | \ (trailing . : ! ? left out); a "Bearer ",
 * "Basic " or "Token " scheme before it is skipped.  When the value starts with one of the token
 * formats above, that rule names it. Otherwise it must look random:
 *                       - 8 to 1024 printable ASCII characters, no space, with a letter;
 *                       - not a reference or template (first character $ % < { ( * /),
 *                         not one character repeated, not a URL (://), a path (~/ ./ ../)
 *                         or a dotted identifier (self.get_auth, base64.b16encode: code);
 *                       - cut it into pieces at every character that is not a letter or a
 *                         digit, at every letter/digit change and at every lower- to
 *                         upper-case change.  At least 3 of the cuts must fall inside a run
 *                         of letters and digits (random strings change class inside their
 *                         words, identifiers at their separators), and the pieces must
 *                         average at most 3.5 letters and digits;
 *                       - and it holds a digit, or has 16 letters and digits or more.
 *                     "Zq8xk2Lm9p" (6 cuts inside, pieces of 1.4) looks random;
 *                     "OPENROUTER_API_KEY" (0 inside), "changeme123" (1), "HMAC-SHA1" (1),
 *                     "cl100k_base" (2) and "thisIsMyPasswordValue" (pieces of 4.2) do not.
 *                     So "password: use the one from the wiki", "token = the next word",
 *                     "secret: personne ne sait", "password=hunter2" are left alone; so are
 *                     random secrets of one class only (all lower-case, all digits).
 *
 * Names.  A finding's rule is the name in the first column above (the generic sk- rule is
 * "API key (sk-)"); an assignment's is what its name says: password, token, secret, API
 * key, private key, credentials or AWS secret key.  The placeholder's label is the rule's
 * name, except that a password in a URL is a "password" and an sk- key an "API key":
 * numbering is per label.
 *
 * Skipped: ami's own placeholders (so masking is idempotent: masking a masked text changes
 * nothing) and the base64 payload of data URIs (";base64,").  Values that match one of the
 * session's allow patterns are never masked.
 *
 * Repeats.  Once a secret of 8 bytes or more (other than a private key block, which its
 * marker always finds) is known to the session, every other occurrence of it in any text the
 * session scans is masked too, even out of context or inside a word (a password quoted in a
 * sentence).  A text is rescanned when it taught the session a new one, so an occurrence
 * before the one that revealed it is caught.  To mask, in an earlier text, a secret that only a
 * later text reveals, scan all the texts first (secrets_scan), then mask them (secrets_mask): the
 * numbering is then that of the scan pass.
 *
 * Offsets.  Every rule matches ASCII bytes only, so a finding always starts and ends on a
 * UTF-8 boundary, whatever surrounds it; invalid UTF-8 is read as bytes.
 *
 * Speed.  One pass over the text, driven by a table of byte pairs that may start something
 * (a token prefix at a word start: sk gh gl xo AK ey …; any ":" or "="; "--", "-u", "[s",
 * ";b"; the first two bytes of each known secret); every other pair costs one look-up,
 * eight at a time.  No regular expression runs over the text: allow patterns are tried on
 * candidate secrets only.  A text that reveals new secrets is scanned twice (it must be:
 * an occurrence before the revealing one, or a scan that crossed it, may change).
 * bench/bench_secrets.c measures about 1 GB/s on notes and 150 MB/s on dense config text.
 *
 * Limits: a text of at most SECRETS_MAX_TEXT bytes (past it: SECRETS_ETOOBIG, nothing
 * masked); at most SECRETS_MAX_SECRETS distinct secrets per session and SECRETS_MAX_ALLOW
 * allow patterns (past them: SECRETS_ETOOMANY).  At most 32 repeat secrets may share their
 * first 8 bytes (the others are masked in context only), which keeps every look-up short.
 * Values and names are read up to 1024 and 64 bytes, a URL's authority up to 256, an AWS
 * secret key up to 256 bytes after its id.  A session holds about 80 KB plus its secrets.
 * Every error fails closed: no masked text is returned, and the caller must not send it.
 *
 * Ownership: the session keeps a copy of every secret it has found (to recognise it again);
 * the copies are wiped before they are freed.  A session is not thread-safe.
 */
#ifndef AMI_SECRETS_H
#define AMI_SECRETS_H

#include <stddef.h>

/* Return codes. */
#define SECRETS_OK       0
#define SECRETS_ENOMEM   (-1) /* out of memory */
#define SECRETS_EINVAL   (-2) /* a NULL argument, or an allow pattern that does not compile */
#define SECRETS_ETOOBIG  (-3) /* the text is longer than SECRETS_MAX_TEXT */
#define SECRETS_ETOOMANY (-4) /* too many distinct secrets, or too many allow patterns */

#define SECRETS_MAX_TEXT    ((size_t)1 << 30) /* 1 GiB */
#define SECRETS_MAX_SECRETS 100000            /* distinct secrets in one session */
#define SECRETS_MAX_ALLOW   64                /* allow patterns in one session */
#define SECRETS_REPEAT_MIN  8                 /* shorter secrets are masked in context only */

/* Finding flags. */
#define SECRETS_CHECKSUM_OK 1u /* a GitHub token whose CRC32 checksum is right */

/* One masked secret.  No field holds or points to the secret's bytes. */
typedef struct secrets_finding {
    size_t start;            /* byte offset of the secret in the text passed in */
    size_t len;              /* its length in bytes (> 0) */
    size_t out_start;        /* where its placeholder starts in the masked copy (mask only) */
    const char *rule;        /* the rule that found it ("GitHub token"): a static string */
    const char *placeholder; /* "[secret: GitHub token 2]", NUL-terminated, borrowed from
                                the session: valid until secrets_session_free() */
    size_t placeholder_len;  /* strlen(placeholder) */
    unsigned number;         /* 1 for the first secret of its kind in the session, 2, … */
    unsigned flags;          /* SECRETS_CHECKSUM_OK */
} secrets_finding;

typedef struct secrets_session secrets_session;

/// Returns a new, empty session (no secrets known, no allow patterns), or NULL when out of
/// memory.  The caller frees it with secrets_session_free().
secrets_session *secrets_session_new(void);

/// Adds an allow pattern: a POSIX extended regular expression (regcomp with REG_EXTENDED).
/// A candidate secret in which it finds a match (anywhere: anchor it with ^…$ to match the
/// whole) is never masked.  regex is copied.  Returns SECRETS_OK; SECRETS_EINVAL when regex
/// is NULL or does not compile, SECRETS_ETOOMANY past SECRETS_MAX_ALLOW patterns, or
/// SECRETS_ENOMEM, and then writes a message naming the pattern into err (when err is not
/// NULL and errlen > 0; truncated to errlen - 1 bytes, always NUL-terminated).  The session
/// is unchanged on failure.  Add patterns before the first scan: a secret already found stays
/// masked.
int secrets_allow(secrets_session *s, const char *regex, char *err, size_t errlen);

/// Finds the secrets in text[0..len) (text may be NULL when len is 0) and registers them in
/// the session, giving each new one its placeholder.  On SECRETS_OK, *findings is a new
/// array of *n_findings findings sorted by start, not overlapping, or NULL when there are
/// none; the caller frees it with free() (the placeholders it points to belong to the
/// session).  On failure *findings is NULL and *n_findings 0; secrets registered before the
/// failure stay registered.  Returns SECRETS_OK, SECRETS_EINVAL (s, findings or n_findings
/// NULL, or text NULL with len > 0), SECRETS_ETOOBIG, SECRETS_ETOOMANY or SECRETS_ENOMEM.
int secrets_scan(secrets_session *s, const char *text, size_t len, secrets_finding **findings,
                 size_t *n_findings);

/// Like secrets_scan(), and also returns in *out a new copy of the text in which every
/// finding is replaced by its placeholder (NUL-terminated at *out_len; the caller frees it
/// with free()).  findings and n_findings may both be NULL when only the copy is wanted.  On
/// failure *out is NULL and *out_len 0.  Masking a masked text with the same session (or a
/// new one with the same allow patterns) returns it unchanged.
int secrets_mask(secrets_session *s, const char *text, size_t len, char **out, size_t *out_len,
                 secrets_finding **findings, size_t *n_findings);

/// The number of distinct secrets the session has reported so far.
size_t secrets_count(const secrets_session *s);

/// A short English description of a return code ("out of memory"), never NULL.
const char *secrets_strerror(int rc);

/// Wipes every secret the session holds and frees it.  NULL is allowed.  The placeholders of
/// earlier findings are invalid afterwards.
void secrets_session_free(secrets_session *s);

#endif
