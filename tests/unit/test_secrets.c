/* Tests for the secret scanner and masker (src/secrets*.c).
 *
 * Every fake secret here is visibly fake (FAKE, fake, EXAMPLE, fa4e) and none passes a live
 * format's checksum: the one checksum-valid GitHub token is built at run time from a fake
 * payload, only to test the flag.  Recall is measured on the table of fakes (one or more per
 * rule, target 100 %), precision on the repository's prose (README.md, doc/, examples/) and
 * the French seed notes when present (AMI_SEEDS, default /work/shared/seeds), target zero.
 * The repository is found through AMI_ROOT, else the current directory.
 */
#include "ami/buf.h"
#include "ami/secrets.h"
#include "ami/utf8.h"
#include "check.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------------------- */

typedef struct masked {
    char *out;
    size_t out_len;
    secrets_finding *f;
    size_t n;
    int rc;
} masked;

static masked mask_n(secrets_session *s, const char *text, size_t len) {
    masked m;
    memset(&m, 0, sizeof m);
    m.rc = secrets_mask(s, text, len, &m.out, &m.out_len, &m.f, &m.n);
    return m;
}

static masked mask(secrets_session *s, const char *text) {
    return mask_n(s, text, strlen(text));
}

static void masked_free(masked *m) {
    free(m->out);
    free(m->f);
    memset(m, 0, sizeof *m);
}

/* Masks text in a new session and returns the masked copy (caller frees). */
static char *mask_once(const char *text, size_t *nfound) {
    secrets_session *s = secrets_session_new();
    masked m = mask(s, text);
    char *out = m.out;
    if (nfound)
        *nfound = m.n;
    free(m.f);
    secrets_session_free(s);
    return out;
}

static int contains(const char *hay, const char *needle) {
    return strstr(hay, needle) != NULL;
}

/* ---- recall: one fake per rule ------------------------------------------------------------ */

typedef struct fake {
    const char *text;   /* the context */
    const char *secret; /* what must be masked, exactly */
    const char *rule;   /* the rule that must find it */
} fake;

#define FAKE_JWT                                                                                   \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWtlIiwibmFtZSI6IkZha2UifQ."                 \
    "ZmFrZS1zaWduYXR1cmUtZm9yLWFtaQ"

#define FAKE_PEM_BODY                                                                              \
    "MIIEFAKEowIBAAKCAQEAfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKE\n"                       \
    "FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfake00\n"                         \
    "FAKE0000fake==\n"

static const fake fakes[] = {
    {"OPENAI_API_KEY=sk-proj-FAKEfake0000FAKEfake1111FAKEfake2222_fake3333",
     "sk-proj-FAKEfake0000FAKEfake1111FAKEfake2222_fake3333", "OpenAI key"},
    {"key sk-svcacct-FAKEfake0000FAKEfake1111FAKEfake2222 here",
     "sk-svcacct-FAKEfake0000FAKEfake1111FAKEfake2222", "OpenAI key"},
    {"legacy: sk-FAKE0000fakeT3BlbkFJFAKE1111fake2222FAKE3333 ok",
     "sk-FAKE0000fakeT3BlbkFJFAKE1111fake2222FAKE3333", "OpenAI key"},
    {"x-api-key: sk-ant-api03-FAKE0000fake1111FAKE2222fake3333FAKE4444fake5555-FAKEAA",
     "sk-ant-api03-FAKE0000fake1111FAKE2222fake3333FAKE4444fake5555-FAKEAA", "Anthropic key"},
    {"Bearer sk-or-v1-0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e.",
     "sk-or-v1-0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e", "OpenRouter key"},
    {"deepseek sk-FAKE0fake1FAKE2fake3FAKE4fake5 works", "sk-FAKE0fake1FAKE2fake3FAKE4fake5",
     "API key (sk-)"},
    {"maps: AIzaFAKEfake0000FAKEfake1111FAKEfake222;", "AIzaFAKEfake0000FAKEfake1111FAKEfake222",
     "Google API key"},
    {"git clone https://ghp_FAKE0000fake1111FAKE2222fake3333FAKE@github.com/a/b",
     "ghp_FAKE0000fake1111FAKE2222fake3333FAKE", "GitHub token"},
    {"gho_FAKE0000fake1111FAKE2222fake3333FAKE", "gho_FAKE0000fake1111FAKE2222fake3333FAKE",
     "GitHub token"},
    {"(ghu_FAKE0000fake1111FAKE2222fake3333FAKE)", "ghu_FAKE0000fake1111FAKE2222fake3333FAKE",
     "GitHub token"},
    {"ghs_FAKE0000fake1111FAKE2222fake3333FAKE, ", "ghs_FAKE0000fake1111FAKE2222fake3333FAKE",
     "GitHub token"},
    {"\"ghr_FAKE0000fake1111FAKE2222fake3333FAKE\"", "ghr_FAKE0000fake1111FAKE2222fake3333FAKE",
     "GitHub token"},
    {"cut: ghp_FAKE0000fake1111FAKE2", "ghp_FAKE0000fake1111FAKE2", "GitHub token"},
    {"GH=github_pat_11FAKE0000fake1111FAKE22_fake3333FAKE4444fake5555FAKE6666fake7777FAKE88",
     "github_pat_11FAKE0000fake1111FAKE22_fake3333FAKE4444fake5555FAKE6666fake7777FAKE88",
     "GitHub token"},
    {"//registry.npmjs.org/:_authToken=npm_FAKE0000fake1111FAKE2222fake3333FAKE",
     "npm_FAKE0000fake1111FAKE2222fake3333FAKE", "npm token"},
    {"token glpat-FAKEfake0000FAKEfake.", "glpat-FAKEfake0000FAKEfake", "GitLab token"},
    {"glpat-FAKEfake0000FAKEfake1111FAKEfake2222.01.0fa4e0000",
     "glpat-FAKEfake0000FAKEfake1111FAKEfake2222.01.0fa4e0000", "GitLab token"},
    {"SLACK_BOT=xoxb-0000000000-0000000000-FAKEfakeFAKEfakeFAKEfake",
     "xoxb-0000000000-0000000000-FAKEfakeFAKEfakeFAKEfake", "Slack token"},
    {"xoxp-0000000000-0000000000-0000000000-fa4efa4efa4efa4efa4efa4efa4efa4e",
     "xoxp-0000000000-0000000000-0000000000-fa4efa4efa4efa4efa4efa4efa4efa4e", "Slack token"},
    {"app xapp-1-A0000FAKE00-0000000000-fa4efa4efa4efa4e",
     "xapp-1-A0000FAKE00-0000000000-fa4efa4efa4efa4e", "Slack token"},
    {"stripe sk_test_FAKEfake0000FAKEfake1111", "sk_test_FAKEfake0000FAKEfake1111", "Stripe key"},
    {"stripe sk_live_FAKEfake0000FAKEfake1111", "sk_live_FAKEfake0000FAKEfake1111", "Stripe key"},
    {"stripe rk_live_FAKEfake0000FAKEfake1111", "rk_live_FAKEfake0000FAKEfake1111", "Stripe key"},
    {"aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "AWS access key id"},
    {"ASIAFAKE0000EXAMPLE1 is temporary", "ASIAFAKE0000EXAMPLE1", "AWS access key id"},
    {"AKIAFAKE0000EXAMPLE2,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS secret key"},
    {"AWS_SECRET_ACCESS_KEY=FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKE/+ab",
     "FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKE/+ab", "AWS secret key"},
    {"Authorization: Bearer " FAKE_JWT, FAKE_JWT, "JWT"},
    {"-----BEGIN RSA PRIVATE KEY-----\n" FAKE_PEM_BODY "-----END RSA PRIVATE KEY-----\n",
     "-----BEGIN RSA PRIVATE KEY-----\n" FAKE_PEM_BODY "-----END RSA PRIVATE KEY-----",
     "private key"},
    {"postgres://admin:Fa4e0000Pass@db.example.com:5432/app", "Fa4e0000Pass", "password in URL"},
    {"redis://:Fa4e0000Pass@cache", "", NULL}, /* no user name: not a URL password */
    {"curl -u alice:Fa4e0000Pass https://x", "Fa4e0000Pass", "password"},
    {"DB_PASSWORD=Zq8xk2Lm9pFAKE", "Zq8xk2Lm9pFAKE", "password"},
    {"password: \"S3cr3tP@ssFAKE!\"", "S3cr3tP@ssFAKE!", "password"},
    {"export GITHUB_TOKEN=fa4e0000FAKEfake1111", "fa4e0000FAKEfake1111", "token"},
    {"{\"client_secret\": \"fa4eZq8xk2Lm9pFAKE\"}", "fa4eZq8xk2Lm9pFAKE", "secret"},
    {"mysql --password Fa4e0000Pass9 -h db", "Fa4e0000Pass9", "password"},
    {"tool --api-key=FAKE0fake1FAKE2x run", "FAKE0fake1FAKE2x", "API key"},
    {"X-Api-Key: Fa4eK9xQ2mZ7FAKE", "Fa4eK9xQ2mZ7FAKE", "API key"},
    {"https://example.com/cb?access_token=Fa4eK9xQ2mZ7&state=ok", "Fa4eK9xQ2mZ7", "token"},
    {"  private_key: \"Fa4eK9xQ2mZ7FAKE\"", "Fa4eK9xQ2mZ7FAKE", "private key"},
    {"credentials = Fa4eK9xQ2mZ7FAKE", "Fa4eK9xQ2mZ7FAKE", "credentials"},
    {"$db_pwd := 'Fa4e0000Pass'", "Fa4e0000Pass", "password"},
    {"'passwd' => 'Fa4e0000Pass',", "Fa4e0000Pass", "password"},
    {"mot_de_passe=Fa4e0000Pass", "Fa4e0000Pass", "password"},
    {"Mot de passe : Fa4eK9xQ2mZ7", "Fa4eK9xQ2mZ7", "password"},
    {"machine api.example.com login bob password Zq8xk2Lm9pFAKE", "Zq8xk2Lm9pFAKE", "password"},
    {"Authorization: Basic ZmFrZTpGYWtlMDAwMFBhc3M=", "ZmFrZTpGYWtlMDAwMFBhc3M=", "token"},
};

static void test_recall(void) {
    size_t want = 0, found = 0;
    for (size_t i = 0; i < sizeof fakes / sizeof *fakes; i++) {
        const fake *k = &fakes[i];
        secrets_session *s = secrets_session_new();
        masked m = mask(s, k->text);
        CHECK_INT(m.rc, SECRETS_OK);
        if (!k->rule) {
            if (m.n)
                fprintf(stderr, "  false positive in \"%s\"\n", k->text);
            CHECK_INT(m.n, 0);
        } else {
            want++;
            const char *at = strstr(k->text, k->secret);
            int ok = 0;
            for (size_t j = 0; at && j < m.n; j++)
                ok |= m.f[j].start == (size_t)(at - k->text) && m.f[j].len == strlen(k->secret) &&
                      strcmp(m.f[j].rule, k->rule) == 0;
            ok = ok && !contains(m.out, k->secret);
            if (!ok)
                fprintf(stderr, "  missed (%s): \"%s\" -> \"%s\" (%zu findings, rule %s)\n",
                        k->rule, k->text, m.out ? m.out : "(null)", m.n, m.n ? m.f[0].rule : "-");
            found += (size_t)ok;
            CHECK(ok);
        }
        masked_free(&m);
        secrets_session_free(s);
    }
    printf("secrets: recall %zu/%zu fake secrets\n", found, want);
    CHECK_INT(found, want);
}

/* ---- near misses: nothing to mask -------------------------------------------------------- */

static const char *const near_misses[] = {
    "we use sk-learn and sk-image for the plots",
    "sk-ant alone, sk-proj- and sk-or-v1 mentioned in prose",
    "the prefix sk-this-is-a-long-compound-word-without-digits is not a key",
    "AKIAIOSFODNN7EXAMPLEXYZ is too long, XAKIAIOSFODNN7EXAMPLE is glued",
    "AKIAWORD and TAKIA and AKIA alone",
    "eyJ is what {\" looks like in base64; eyJhbGciOiJIUzI1NiJ9 alone is a header",
    "ssh://git@github.com/ami/ami.git and https://user@example.com/path",
    "http://localhost:8080/ and http://[::1]:11434/v1",
    "password=hunter2 and password: admin",
    "password: use the one from the wiki",
    "token = the next word",
    "secret: personne ne sait",
    "Mot de passe : demandez à Jeanne",
    "![logo](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)",
    "max_tokens = 2048, prompt_tokens: 4210, tokens_in=12",
    "api_key_cmd = 'pass show openrouter', api_key_env = 'OPENROUTER_API_KEY'",
    "OPENROUTER_API_KEY=$OPENROUTER_API_KEY and token: ${GITHUB_TOKEN}",
    "api_key: YOUR_API_KEY_HERE, password: <your password>, secret: ********",
    "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx is how the docs write a token",
    "password = getpass.getpass() and token = self.get_auth_token()",
    "oauth_signature_method=HMAC-SHA1&oauth_version=1.0",
    "tokenizer: cl100k_base, secret_name: my-k8s-secret",
    "token_url: https://auth.example.com/token, auth_type: oauth2",
    "password_file: ~/.config/ami/pass, secret_path=/run/secrets/db",
    "aws_access_key_id_hint = AKIA-prefixed ids",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAfakeFAKE\n"
    "-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n"
    "-----END CERTIFICATE-----",
    "marker = b\"-----BEGIN OPENSSH PRIVATE KEY-----\"",
    "scheme://user:password@host and postgres://USER:PASS@host and redis://u:$PASS@h",
    "cvs://:pserver:anoncvs@sourceware.org:/cvs/src",
    "git add -u :/ and docker run -u 1000:1000 img and sort -u file",
    "author: Jean Dupont, authority: ANSSI",
    "a password manager, the password reset link, password VARCHAR(255) NOT NULL",
    "npm_config_cache and npm_token_here are not tokens",
    "the commit 3f2a9c8e5b7d1a0f4e6c8b2d9a7f5e3c1b0d2f4a fixed it",
    "[secret: GitHub token] and [secret: password 2] are ami's own placeholders",
};

static void test_near_misses(void) {
    for (size_t i = 0; i < sizeof near_misses / sizeof *near_misses; i++) {
        size_t n = 0;
        char *out = mask_once(near_misses[i], &n);
        if (n)
            fprintf(stderr, "  false positive: \"%s\" -> \"%s\"\n", near_misses[i], out);
        CHECK_INT(n, 0);
        CHECK_STR(out, near_misses[i]);
        free(out);
    }
}

/* ---- precision on prose ------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, got);
    fclose(f);
    *len = b.len;
    return buf_steal(&b);
}

/* Scans one file, reports what it found; returns the number of findings, or -1 when the
 * file cannot be read. */
static long scan_file(const char *path) {
    size_t len;
    char *text = read_file(path, &len);
    if (!text)
        return -1;
    secrets_session *s = secrets_session_new();
    secrets_finding *f;
    size_t n;
    CHECK_INT(secrets_scan(s, text, len, &f, &n), SECRETS_OK);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  false positive in %s at byte %zu (%s): %.*s\n", path, f[i].start,
                f[i].rule, (int)(f[i].len > 60 ? 60 : f[i].len), text + f[i].start);
    free(f);
    secrets_session_free(s);
    free(text);
    return (long)n;
}

/* Scans the files of dir whose names end with suffix; returns how many it read. */
static int scan_dir(const char *dir, const char *suffix, long *findings) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int files = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name), sl = strlen(suffix);
        if (nl <= sl || strcmp(e->d_name + nl - sl, suffix) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        long r = scan_file(path);
        if (r >= 0) {
            files++;
            *findings += r;
        }
    }
    closedir(d);
    return files;
}

static void test_prose_has_no_secrets(void) {
    const char *root = getenv("AMI_ROOT");
    if (!root || !*root)
        root = ".";
    char path[4096];
    long findings = 0;
    int files = 0;
    static const char *const required[] = {"examples/sample-note.md", "README.md", "doc/ami.txt"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        snprintf(path, sizeof path, "%s/%s", root, required[i]);
        long r = scan_file(path);
        if (r < 0)
            fprintf(stderr, "  cannot read %s (run from the repository root or set AMI_ROOT)\n",
                    path);
        CHECK(r >= 0);
        if (r >= 0) {
            files++;
            findings += r;
        }
    }
    snprintf(path, sizeof path, "%s/doc", root);
    int docs = scan_dir(path, ".md", &findings);
    CHECK(docs >= 1);
    files += docs;
    const char *seeds = getenv("AMI_SEEDS");
    int notes = scan_dir(seeds && *seeds ? seeds : "/work/shared/seeds", ".txt", &findings);
    files += notes;
    printf("secrets: %ld findings in %d prose files (%d seed notes)\n", findings, files, notes);
    CHECK_INT(findings, 0);
}

/* ---- placeholders ------------------------------------------------------------------------- */

static void test_same_secret_same_placeholder_across_texts(void) {
    secrets_session *s = secrets_session_new();
    masked a = mask(s, "doc: GITHUB_TOKEN=ghp_FAKE0000fake1111FAKE2222fake3333FAKE\n");
    masked b = mask(s, "question: is ghp_FAKE0000fake1111FAKE2222fake3333FAKE still valid?");
    masked c = mask(s, "turn: and ghp_FAKE1111fake2222FAKE3333fake4444FAKE, ghp_FAKE0000fake1111"
                       "FAKE2222fake3333FAKE?");
    CHECK_STR(a.out, "doc: GITHUB_TOKEN=[secret: GitHub token]\n");
    CHECK_STR(b.out, "question: is [secret: GitHub token] still valid?");
    CHECK_STR(c.out, "turn: and [secret: GitHub token 2], [secret: GitHub token]?");
    CHECK_INT(c.n, 2);
    CHECK_INT(c.f[0].number, 2);
    CHECK_INT(c.f[1].number, 1);
    CHECK(c.f[1].placeholder == a.f[0].placeholder); /* one string, owned by the session */
    CHECK_INT(secrets_count(s), 2);
    masked_free(&a);
    masked_free(&b);
    masked_free(&c);
    secrets_session_free(s);
}

static void test_numbering_follows_first_appearance(void) {
    secrets_session *s = secrets_session_new();
    masked m = mask(s, "DB_PASSWORD=Fa4e0000PassA\n"
                       "ADMIN_PASSWORD=Fa4e0000PassB\n"
                       "TOKEN=fa4e0000FAKEfake1111\n"
                       "REPLICA_PASSWORD=Fa4e0000PassA\n"
                       "OTHER_PWD=Fa4e0000PassC\n");
    CHECK_STR(m.out, "DB_PASSWORD=[secret: password]\n"
                     "ADMIN_PASSWORD=[secret: password 2]\n"
                     "TOKEN=[secret: token]\n"
                     "REPLICA_PASSWORD=[secret: password]\n"
                     "OTHER_PWD=[secret: password 3]\n");
    masked_free(&m);
    secrets_session_free(s);

    /* The same texts always give the same placeholders; numbers go past 9. */
    buf text = {0};
    for (int i = 1; i <= 12; i++)
        buf_printf(&text, "p%d: password=Fa4e%02dPassFAKE\n", i, i);
    for (int round = 0; round < 2; round++) {
        s = secrets_session_new();
        m = mask(s, text.data);
        CHECK_INT(m.n, 12);
        CHECK(contains(m.out, "p1: password=[secret: password]\n"));
        CHECK(contains(m.out, "p2: password=[secret: password 2]\n"));
        CHECK(contains(m.out, "p12: password=[secret: password 12]\n"));
        CHECK_INT(m.f[11].number, 12);
        masked_free(&m);
        secrets_session_free(s);
    }
    buf_free(&text);
}

static void test_findings_report_offsets_not_bytes(void) {
    secrets_session *s = secrets_session_new();
    const char *text = "a\nb: token=fa4e0000FAKEfake1111 and AKIAIOSFODNN7EXAMPLE\n";
    masked m = mask(s, text);
    CHECK_INT(m.n, 2);
    CHECK_INT(m.f[0].start, 11);
    CHECK_INT(m.f[0].len, 20);
    CHECK_STR(m.f[0].rule, "token");
    CHECK_STR(m.f[0].placeholder, "[secret: token]");
    CHECK_INT(m.f[0].placeholder_len, 15);
    CHECK_INT(m.f[0].out_start, 11);
    CHECK_INT(m.f[1].start, 36);
    CHECK_INT(m.f[1].out_start, 11 + 15 + 5);
    CHECK_STR(m.f[1].rule, "AWS access key id");
    CHECK(memcmp(m.out + m.f[1].out_start, m.f[1].placeholder, m.f[1].placeholder_len) == 0);
    CHECK_STR(m.out, "a\nb: token=[secret: token] and [secret: AWS access key id]\n");
    CHECK_INT(m.out_len, strlen(m.out));
    for (size_t i = 0; i < m.n; i++)
        CHECK(!contains(m.f[i].placeholder, "fa4e") && !contains(m.f[i].placeholder, "AKIA"));

    /* secrets_scan reports the same, without a copy. */
    secrets_session *s2 = secrets_session_new();
    secrets_finding *f;
    size_t n;
    CHECK_INT(secrets_scan(s2, text, strlen(text), &f, &n), SECRETS_OK);
    CHECK_INT(n, 2);
    CHECK_INT(f[1].start, 36);
    CHECK_STR(f[1].placeholder, "[secret: AWS access key id]");
    free(f);
    secrets_session_free(s2);
    masked_free(&m);
    secrets_session_free(s);
}

/* ---- repeats ------------------------------------------------------------------------------ */

static void test_known_secret_masked_wherever_it_recurs(void) {
    secrets_session *s = secrets_session_new();
    /* Quoted before the line that reveals it, and glued inside a word after. */
    masked m = mask(s, "I typed Zq8xk2Lm9pFAKE and it failed.\nDB_PASSWORD=Zq8xk2Lm9pFAKE\n"
                       "log: xZq8xk2Lm9pFAKEy\n");
    CHECK_STR(m.out, "I typed [secret: password] and it failed.\nDB_PASSWORD=[secret: password]\n"
                     "log: x[secret: password]y\n");
    masked_free(&m);
    /* In a later text of the session, out of any context. */
    m = mask(s, "was it Zq8xk2Lm9pFAKE?");
    CHECK_STR(m.out, "was it [secret: password]?");
    CHECK_STR(m.f[0].rule, "password");
    masked_free(&m);
    /* Short secrets are masked in context only. */
    m = mask(s, "https://u:Fa4e1@h and Fa4e1 alone");
    CHECK_STR(m.out, "https://u:[secret: password 2]@h and Fa4e1 alone");
    masked_free(&m);
    secrets_session_free(s);
}

static void test_scan_all_then_mask_all(void) {
    const char *doc = "notes: the staging password is Zq8xk2Lm9pFAKE, do not share\n";
    const char *turn = "DB_PASSWORD=Zq8xk2Lm9pFAKE";
    /* Masked in order, the document goes before the turn that reveals the secret... */
    secrets_session *s = secrets_session_new();
    masked a = mask(s, doc);
    CHECK_INT(a.n, 0);
    masked_free(&a);
    secrets_session_free(s);
    /* ...so the host scans every text first, then masks them. */
    s = secrets_session_new();
    secrets_finding *f;
    size_t n;
    CHECK_INT(secrets_scan(s, doc, strlen(doc), &f, &n), SECRETS_OK);
    free(f);
    CHECK_INT(secrets_scan(s, turn, strlen(turn), &f, &n), SECRETS_OK);
    CHECK_INT(n, 1);
    free(f);
    a = mask(s, doc);
    masked b = mask(s, turn);
    CHECK_STR(a.out, "notes: the staging password is [secret: password], do not share\n");
    CHECK_STR(b.out, "DB_PASSWORD=[secret: password]");
    masked_free(&a);
    masked_free(&b);
    secrets_session_free(s);
}

/* ---- allow list --------------------------------------------------------------------------- */

static void test_allow_patterns(void) {
    secrets_session *s = secrets_session_new();
    char err[200] = "x";
    CHECK_INT(secrets_allow(s, "^AKIAIOSFODNN7EXAMPLE$", err, sizeof err), SECRETS_OK);
    CHECK_INT(secrets_allow(s, "fa4e0000fa4e", err, sizeof err), SECRETS_OK);
    masked m = mask(s, "AKIAIOSFODNN7EXAMPLE AKIAFAKE0000EXAMPLE3 token=Xfa4e0000fa4eX9 "
                       "token=Zq8xk2Lm9pFAKE");
    CHECK_STR(m.out, "AKIAIOSFODNN7EXAMPLE [secret: AWS access key id] token=Xfa4e0000fa4eX9 "
                     "token=[secret: token]");
    masked_free(&m);

    /* A bad pattern is an error that names it; the session stays usable. */
    CHECK_INT(secrets_allow(s, "([unclosed", err, sizeof err), SECRETS_EINVAL);
    CHECK(contains(err, "\"([unclosed\""));
    CHECK_INT(secrets_allow(s, "(", err, 8), SECRETS_EINVAL);
    CHECK_INT(strlen(err), 7); /* truncated, NUL-terminated */
    CHECK_INT(secrets_allow(s, "(", NULL, 0), SECRETS_EINVAL);
    CHECK_INT(secrets_allow(s, NULL, err, sizeof err), SECRETS_EINVAL);
    CHECK_INT(secrets_allow(NULL, "x", err, sizeof err), SECRETS_EINVAL);
    m = mask(s, "token=Fa4eK9xQ2mZ7FAKE");
    CHECK_STR(m.out, "token=[secret: token 2]");
    masked_free(&m);
    for (int i = 2; i < SECRETS_MAX_ALLOW; i++)
        CHECK_INT(secrets_allow(s, "^never$", NULL, 0), SECRETS_OK);
    CHECK_INT(secrets_allow(s, "^never$", err, sizeof err), SECRETS_ETOOMANY);
    secrets_session_free(s);
}

/* ---- idempotence -------------------------------------------------------------------------- */

static const char *const mixed =
    "# Deploy notes — à relire\n"
    "export OPENAI_API_KEY=sk-proj-FAKEfake0000FAKEfake1111FAKEfake2222\r\n"
    "DATABASE_URL=postgres://app:Zq8xk2Lm9pFAKE@db:5432/app\n"
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    "curl -H \"Authorization: Bearer " FAKE_JWT "\" https://api\n"
    "key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n"
    "  b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABFAKEFAKEFAKEFAKE\n"
    "  FAKEfake==\n  -----END OPENSSH PRIVATE KEY-----\n"
    "Le mot de passe Zq8xk2Lm9pFAKE est dans le coffre.\n";

/* Masks text, then masks the result with the same session and with a new one: nothing
 * more may be found.  Returns the masked text (caller frees). */
static char *mask_twice(const char *text) {
    secrets_session *s = secrets_session_new(), *fresh = secrets_session_new();
    masked m = mask(s, text), same = mask(s, m.out), other = mask(fresh, m.out);
    CHECK_INT(same.n, 0);
    CHECK_INT(other.n, 0);
    CHECK_STR(same.out, m.out);
    CHECK_STR(other.out, m.out);
    char *out = m.out;
    m.out = NULL;
    masked_free(&m);
    masked_free(&same);
    masked_free(&other);
    secrets_session_free(s);
    secrets_session_free(fresh);
    return out;
}

/* Cases the fuzzer found, where a second pass would have read the text differently. */
static void test_second_pass_reads_the_same(void) {
    /* A value in a URL's user part stops at the password's colon. */
    char *out = mask_twice("https://Authapi=ke0kqZpd:p2Lm9p@dres.example.com/");
    CHECK_STR(out, "https://Authapi=[secret: token]:[secret: password]@dres.example.com/");
    free(out);
    /* A key's marker stops an authority, and so does the key's placeholder. */
    out = mask_twice("res://AuthapiA-----BEGIN RSA PRIVATE KEY-----\n  MIIEoIBAKEFAA=kesswosd:"
                     "p=Lm9p@ds");
    CHECK_STR(out, "res://AuthapiA[secret: private key]:p=Lm9p@ds");
    free(out);
    /* Six dashes: the value ends where the marker starts, not at the first dash. */
    out = mask_twice("DB_PASSWORD=Z82ky8u------BEGIN RSA PRIVATE KEY-----\n"
                     "  MIIEowIBAAKC++++++++++++or.d");
    CHECK_STR(out, "DB_PASSWORD=[secret: password][secret: private key].d");
    free(out);
    /* "::" is looked at byte by byte: a known secret may start at the second colon. */
    out = mask_twice("postgres://admin::Zq4xk2Lm9p@db}\npostgres://admin:Zq4xk2Lm9p@db/x");
    CHECK_STR(out,
              "postgres://admin:[secret: password]@db}\npostgres://admin[secret: password]@db/x");
    free(out);
    out = mask_twice("https://u::Zq4xk2Lm9pQ@h and see a::Zq4xk2Lm9pQ");
    CHECK_STR(out, "https://u:[secret: password]@h and see a:[secret: password]");
    free(out);
}

static void test_masking_is_idempotent(void) {
    secrets_session *s = secrets_session_new();
    masked m = mask(s, mixed);
    CHECK_INT(m.n, 7);
    masked again = mask(s, m.out);
    CHECK_INT(again.n, 0);
    CHECK_STR(again.out, m.out);
    secrets_session *fresh = secrets_session_new();
    masked other = mask(fresh, m.out);
    CHECK_INT(other.n, 0);
    CHECK_STR(other.out, m.out);
    masked_free(&again);
    masked_free(&other);
    masked_free(&m);
    secrets_session_free(fresh);
    /* A known secret that is also a word of a placeholder's label stays out of it. */
    m = mask(s, "sk-or-v1-0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e0000fa4e "
                "https://u:OpenRouter@h");
    CHECK_STR(m.out, "[secret: OpenRouter key] https://u:[secret: password 2]@h");
    again = mask(s, m.out);
    CHECK_INT(again.n, 0);
    CHECK_STR(again.out, m.out);
    masked_free(&again);
    masked_free(&m);
    secrets_session_free(s);
}

/* ---- UTF-8, CRLF -------------------------------------------------------------------------- */

static void test_utf8_around_secrets(void) {
    const char *text = "clé : «ghp_FAKE0000fake1111FAKE2222fake3333FAKE» — 👋\n"
                       "mot_de_passe=Zq8xk2Lm9pFAKE€ puis token=Fa4e0000FAKE🔑fake\n"
                       "\xff\xfe broken UTF-8 then AKIAIOSFODNN7EXAMPLE\xc3";
    secrets_session *s = secrets_session_new();
    masked m = mask(s, text);
    CHECK_INT(m.n, 4);
    for (size_t i = 0; i < m.n; i++) {
        for (size_t k = m.f[i].start; k < m.f[i].start + m.f[i].len; k++)
            CHECK((unsigned char)text[k] < 0x80);
        CHECK(((unsigned char)text[m.f[i].start] & 0xC0) != 0x80);
    }
    CHECK_STR(m.out, "clé : «[secret: GitHub token]» — 👋\n"
                     "mot_de_passe=[secret: password]€ puis token=[secret: token]🔑fake\n"
                     "\xff\xfe broken UTF-8 then [secret: AWS access key id]\xc3");
    /* Valid text stays valid once masked. */
    masked v = mask(s, "«Zq8xk2Lm9pFAKE» é");
    CHECK(utf8_valid(v.out, v.out_len));
    CHECK_STR(v.out, "«[secret: password]» é");
    masked_free(&v);
    masked_free(&m);
    secrets_session_free(s);
}

static void test_crlf(void) {
    const char *text = "TOKEN=fa4e0000FAKEfake1111\r\n"
                       "-----BEGIN EC PRIVATE KEY-----\r\n"
                       "MHcCAQEEIFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEoAoGCCqGSM49\r\n"
                       "FAKE==\r\n"
                       "-----END EC PRIVATE KEY-----\r\n"
                       "after\r\n";
    char *out = mask_once(text, NULL);
    CHECK_STR(out, "TOKEN=[secret: token]\r\n[secret: private key]\r\nafter\r\n");
    free(out);
}

/* ---- private key blocks ------------------------------------------------------------------- */

static void test_private_key_blocks(void) {
    /* Google service-account JSON: \n escapes, masked whole inside its string. */
    char *out = mask_once("{\"type\": \"service_account\", \"private_key_id\": \"fa4e\",\n"
                          " \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkq"
                          "hkiG9w0BAQEFAASCBKcwggSjFAKEfakeFAKE\\nFAKEfake==\\n-----END PRIVATE "
                          "KEY-----\\n\", \"client_email\": \"x@y\"}",
                          NULL);
    CHECK_STR(out, "{\"type\": \"service_account\", \"private_key_id\": \"fa4e\",\n"
                   " \"private_key\": \"[secret: private key]\\n\", \"client_email\": \"x@y\"}");
    free(out);
    /* Indented and hard-wrapped (YAML). */
    out = mask_once("tls:\n  key: |\n    -----BEGIN PRIVATE KEY-----\n    " FAKE_PEM_BODY
                    "    -----END PRIVATE KEY-----\n  cert: x\n",
                    NULL);
    CHECK_STR(out, "tls:\n  key: |\n    [secret: private key]\n  cert: x\n");
    free(out);
    /* On one line, line breaks lost in a copy. */
    out = mask_once("key -----BEGIN PRIVATE KEY----- MIIEvQIBADANBgkqhkiG9w0BAQEFAASC FAKEfakeFAKE"
                    "fakeFAKE fake== -----END PRIVATE KEY----- end",
                    NULL);
    CHECK_STR(out, "key [secret: private key] end");
    free(out);
    /* In code, string pieces joined by +. */
    out = mask_once("const k = \"-----BEGIN RSA PRIVATE KEY-----\\n\" +\n"
                    "  \"MIIEowIBAAKCAQEAfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKE\\n\" +\n"
                    "  \"FAKE==\\n\" +\n  \"-----END RSA PRIVATE KEY-----\\n\";\nnext();",
                    NULL);
    CHECK_STR(out, "const k = \"[secret: private key]\\n\";\nnext();");
    free(out);
    /* Encrypted, with headers. */
    out = mask_once("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                    "DEK-Info: AES-128-CBC,FA4E0000FA4E0000FA4E0000FA4E0000\n\n" FAKE_PEM_BODY
                    "-----END RSA PRIVATE KEY-----\nbye",
                    NULL);
    CHECK_STR(out, "[secret: private key]\nbye");
    free(out);
    /* Cut off by the end of the text, and cut off by prose. */
    out = mask_once("here: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUA"
                    "AAAEbm9uZQAAAAAAAAABFAKE\nFAKEfake",
                    NULL);
    CHECK_STR(out, "here: [secret: private key]");
    free(out);
    out = mask_once("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUA"
                    "AAAEbm9uZQAAAAAAAAABFAKE\nFAKEfake\nThanks, that was the whole key.",
                    NULL);
    CHECK_STR(out, "[secret: private key]\nThanks, that was the whole key.");
    free(out);
    /* PGP. */
    out = mask_once("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
                    "lQOYBFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfake\n=FA4E\n"
                    "-----END PGP PRIVATE KEY BLOCK-----",
                    NULL);
    CHECK_STR(out, "[secret: private key]");
    free(out);
    /* Glued to a rejected token or a value: no run goes over a marker. */
    out = mask_once("id=sk-short-----BEGIN RSA PRIVATE KEY-----\n" FAKE_PEM_BODY
                    "-----END RSA PRIVATE KEY-----\npassword=abc-----BEGIN PRIVATE KEY-----\n"
                    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCfake\n-----END PRIVATE KEY-----",
                    NULL);
    CHECK_STR(out, "id=sk-short[secret: private key]\npassword=abc[secret: private key 2]");
    free(out);
    /* The same key wrapped two ways is one secret. */
    secrets_session *s = secrets_session_new();
    masked m = mask(s, "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\nFAKEfake\n"
                       "-----END PRIVATE KEY-----\n\"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADAN"
                       "BgkqhkiG9w0BAQEFFAKEfake\\n-----END PRIVATE KEY-----\"\n"
                       "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFOTHER\n"
                       "-----END PRIVATE KEY-----");
    CHECK_STR(m.out, "[secret: private key]\n\"[secret: private key]\"\n[secret: private key 2]");
    masked_free(&m);
    secrets_session_free(s);
}

/* ---- AWS ---------------------------------------------------------------------------------- */

static void test_aws_secret_next_to_its_id(void) {
    char *out = mask_once("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                          "region = eu-west-3\n"
                          "secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
                          NULL);
    CHECK_STR(out, "[default]\naws_access_key_id = [secret: AWS access key id]\n"
                   "region = eu-west-3\nsecret: [secret: AWS secret key]\n");
    free(out);
    /* Three lines further, and unnamed: not its key. */
    size_t n = 0;
    out = mask_once("AKIAIOSFODNN7EXAMPLE\n\n\n\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", &n);
    CHECK_INT(n, 1);
    CHECK(contains(out, "wJalrXUtnFEMI"));
    free(out);
    /* A git hash (one case only) after an id is not a secret key. */
    out = mask_once("AKIAIOSFODNN7EXAMPLE da39a3ee5e6b4b0d3255bfef95601890afd80709", &n);
    CHECK_INT(n, 1);
    free(out);
}

/* ---- URL passwords, assignments ------------------------------------------------------------ */

static void test_url_passwords(void) {
    char *out =
        mask_once("mongodb://admin:p@ss:w0rd@db.example.com/x, "
                  "https://ghp_FAKE0000fake1111FAKE2222fake3333FAKE:x-oauth-basic@github.com"
                  ", ftp://anna:Fa4e@ftp.example.com and ssh://git@github.com",
                  NULL);
    CHECK_STR(out, "mongodb://admin:[secret: password]@db.example.com/x, "
                   "https://[secret: GitHub token]:[secret: password 2]@github.com, "
                   "ftp://anna:[secret: password 3]@ftp.example.com and ssh://git@github.com");
    free(out);
}

/* A token used as the user name is known by the second pass over the text: the password
 * after it is still found, even when it is too short to be a repeat secret. */
static void test_password_after_a_known_user_name(void) {
    char *out =
        mask_once("git clone https://ghp_FAKE0000fake1111FAKE2222fake3333FAKE:pw12@github.com"
                  "/a/b\ncurl -u ghp_FAKE0000fake1111FAKE2222fake3333FAKE:Fa4eK9xQ https://x",
                  NULL);
    CHECK_STR(out, "git clone https://[secret: GitHub token]:[secret: password]@github.com/a/b\n"
                   "curl -u [secret: GitHub token]:[secret: password 2] https://x");
    free(out);
    /* And a password holding a known secret is masked whole. */
    out = mask_once("DB_PASSWORD=Zq8xk2Lm9pFAKE https://app:xZq8xk2Lm9pFAKEx@db/", NULL);
    CHECK_STR(out, "DB_PASSWORD=[secret: password] https://app:[secret: password 2]@db/");
    free(out);
}

static void test_looks_random_examples_from_the_header(void) {
    static const struct {
        const char *value;
        int masked;
    } cases[] = {
        {"Zq8xk2Lm9p", 1},
        {"550e8400-e29b-41d4-a716-446655440000", 1},
        {"S3cr3tP@ss!", 1},
        {"5ec2e75ec2e75ec2e75ec2e7", 1},
        {"OPENROUTER_API_KEY", 0},
        {"changeme123", 0},
        {"HMAC-SHA1", 0},
        {"cl100k_base", 0},
        {"thisIsMyPasswordValue", 0},
        {"qzvxkwplmrtbqzvx", 0},
        {"84739201", 0},
        {"1.3.6.1.5.5.7.3.1", 0},
        {"self.get_url_rev_and_auth", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[200];
        snprintf(text, sizeof text, "secret=%s", cases[i].value);
        size_t n = 0;
        char *out = mask_once(text, &n);
        if ((int)n != cases[i].masked)
            fprintf(stderr, "  %s: %zu findings, expected %d\n", cases[i].value, n,
                    cases[i].masked);
        CHECK_INT(n, cases[i].masked);
        free(out);
    }
}

static void test_assignment_values(void) {
    char *out = mask_once("password = \"Fa4e0000Pass\" # trailing\n"
                          "token: 'fa4e0000FAKEfake1111'.\n"
                          "secret=Fa4eK9xQ2mZ7.\n"
                          "api_key=FAKE0fake1FAKE2x;other=1\n"
                          "Authorization: Bearer Zq8xk2Lm9pFAKE\n",
                          NULL);
    CHECK_STR(out, "password = \"[secret: password]\" # trailing\n"
                   "token: '[secret: token]'.\n"
                   "secret=[secret: secret].\n"
                   "api_key=[secret: API key];other=1\n"
                   "Authorization: Bearer [secret: token 2]\n");
    free(out);
}

/* ---- GitHub's checksum -------------------------------------------------------------------- */

static uint32_t crc32_of(const char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= (unsigned char)p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void test_github_checksum_flag(void) {
    /* A checksum-valid token, built here from a fake payload and never written down. */
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char tok[41] = "ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake";
    uint32_t crc = crc32_of(tok + 4, 30);
    for (int i = 5; i >= 0; i--) {
        tok[34 + i] = b62[crc % 62];
        crc /= 62;
    }
    tok[40] = 0;
    secrets_session *s = secrets_session_new();
    masked m = mask(s, tok);
    CHECK_INT(m.n, 1);
    CHECK_INT(m.f[0].flags, SECRETS_CHECKSUM_OK);
    masked_free(&m);
    /* One character changed: still masked, without the flag. */
    tok[20] = tok[20] == 'A' ? 'B' : 'A';
    m = mask(s, tok);
    CHECK_INT(m.n, 1);
    CHECK_INT(m.f[0].flags, 0);
    CHECK_STR(m.out, "[secret: GitHub token 2]");
    masked_free(&m);
    /* The fakes of the recall table do not pass it. */
    m = mask(s, "ghp_FAKE0000fake1111FAKE2222fake3333FAKE");
    CHECK_INT(m.n, 1);
    CHECK_INT(m.f[0].flags, 0);
    masked_free(&m);
    secrets_session_free(s);
}

/* ---- errors, edges ------------------------------------------------------------------------ */

static void test_errors_and_edges(void) {
    secrets_session *s = secrets_session_new();
    char *out = (char *)"x";
    size_t out_len = 9, n = 9;
    secrets_finding *f = (secrets_finding *)&n;
    CHECK_INT(secrets_mask(NULL, "a", 1, &out, &out_len, &f, &n), SECRETS_EINVAL);
    CHECK(out == NULL && out_len == 0 && f == NULL && n == 0);
    CHECK_INT(secrets_mask(s, NULL, 3, &out, &out_len, NULL, NULL), SECRETS_EINVAL);
    CHECK_INT(secrets_mask(s, "a", 1, NULL, &out_len, NULL, NULL), SECRETS_EINVAL);
    CHECK_INT(secrets_mask(s, "a", 1, &out, &out_len, &f, NULL), SECRETS_EINVAL);
    CHECK_INT(secrets_scan(s, "a", 1, NULL, &n), SECRETS_EINVAL);
    CHECK_INT(secrets_scan(s, "a", SECRETS_MAX_TEXT + 1, &f, &n), SECRETS_ETOOBIG);
    /* Empty text. */
    CHECK_INT(secrets_mask(s, NULL, 0, &out, &out_len, &f, &n), SECRETS_OK);
    CHECK_STR(out, "");
    CHECK(out_len == 0 && f == NULL && n == 0);
    free(out);
    /* NUL bytes are bytes. */
    static const char nul[] = "a\0token=fa4e0000FAKEfake1111\0b";
    CHECK_INT(secrets_mask(s, nul, sizeof nul - 1, &out, &out_len, &f, &n), SECRETS_OK);
    CHECK_INT(n, 1);
    CHECK_MEM(out, out_len, "a\0token=[secret: token]\0b", 25);
    free(out);
    free(f);
    CHECK_STR(secrets_strerror(SECRETS_ENOMEM), "out of memory");
    CHECK_STR(secrets_strerror(12345), "unknown error");
    CHECK_INT(secrets_count(NULL), 0);
    secrets_session_free(s);
    secrets_session_free(NULL);
}

/* A long, dense text (every line a trigger) is scanned in one pass; nothing is asserted
 * about time, only that the result is right. */
static void test_large_dense_text(void) {
    buf text = {0};
    for (int i = 0; i < 20000; i++)
        buf_printf(&text, "key%d = value-%d: a=b; c:d --opt e sk-x eyJ AKIA\n", i, i);
    buf_append_str(&text, "last: token=fa4e0000FAKEfake1111\n");
    secrets_session *s = secrets_session_new();
    secrets_finding *f;
    size_t n;
    CHECK_INT(secrets_scan(s, text.data, text.len, &f, &n), SECRETS_OK);
    CHECK_INT(n, 1);
    free(f);
    secrets_session_free(s);
    buf_free(&text);
}

int main(void) {
    RUN(test_recall);
    RUN(test_near_misses);
    RUN(test_prose_has_no_secrets);
    RUN(test_same_secret_same_placeholder_across_texts);
    RUN(test_numbering_follows_first_appearance);
    RUN(test_findings_report_offsets_not_bytes);
    RUN(test_known_secret_masked_wherever_it_recurs);
    RUN(test_scan_all_then_mask_all);
    RUN(test_allow_patterns);
    RUN(test_masking_is_idempotent);
    RUN(test_second_pass_reads_the_same);
    RUN(test_utf8_around_secrets);
    RUN(test_crlf);
    RUN(test_private_key_blocks);
    RUN(test_aws_secret_next_to_its_id);
    RUN(test_url_passwords);
    RUN(test_password_after_a_known_user_name);
    RUN(test_looks_random_examples_from_the_header);
    RUN(test_assignment_values);
    RUN(test_github_checksum_flag);
    RUN(test_errors_and_edges);
    RUN(test_large_dense_text);
    return check_report("secrets");
}
