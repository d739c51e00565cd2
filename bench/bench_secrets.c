/* Micro-benchmark of the secret scanner (src/secrets*.c): how long one document takes.
 *
 *   make build/bench/bench_secrets && build/bench/bench_secrets [runs]
 *
 * Two 10 MB texts, generated here (deterministic):
 *   prose   notes: French and English sentences, with the odd URL, "Note :", list or
 *           heading, and 5 secrets spread through it;
 *   config  dense configuration: .env lines, YAML, JSON, URLs, command lines — a ':' or '='
 *           every 15 bytes or so — with a secret every 200 lines (about 1,900 secrets, each
 *           also quoted once more later).
 * For each, secrets_scan() and secrets_mask() in a new session, the median of several runs
 * (7 by default), in ms and MB/s.
 */
#include "ami/buf.h"
#include "ami/secrets.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TARGET ((size_t)10 * 1000 * 1000)

static uint64_t rng = 0x5eed;
static unsigned next_rand(void) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng >> 33);
}

static const char *const words[] = {
    "le",       "la",         "les",        "des",      "une",     "un",      "de",       "et",
    "que",      "pour",       "dans",       "avec",     "mais",    "comme",   "écriture", "modèle",
    "note",     "idée",       "texte",      "question", "réponse", "jamais",  "toujours", "fantôme",
    "ami",      "expert",     "relire",     "demander", "prix",    "centime", "requête",  "mois",
    "avis",     "phrase",     "paragraphe", "the",      "writer",  "asks",    "for",      "remarks",
    "about",    "a",          "passage",    "model",    "answer",  "cost",    "never",    "friend",
    "thinking", "OpenRouter", "Claude",     "ChatGPT",  "LLM",     "Neovim",  "naïve",    "cœur",
    "café",     "déjà",       "été",        "2025",     "#llm",    "—",       "«",        "»",
    "(source)", "[lien]",     "d'un",       "l'outil",  "qu'il",   "c'est",
};

static void prose_line(buf *b) {
    int n = 8 + (int)(next_rand() % 20);
    for (int i = 0; i < n; i++) {
        buf_append_str(b, words[next_rand() % (sizeof words / sizeof *words)]);
        buf_append_str(b, i + 1 == n ? "." : next_rand() % 9 == 0 ? ", " : " ");
    }
    switch (next_rand() % 16) {
    case 0:
        buf_append_str(b, " Voir https://data.sklein.xyz/notes/2025 pour la suite.");
        break;
    case 1:
        buf_append_str(b, " Note : à reprendre.");
        break;
    case 2:
        buf_append_str(b, "\n\n## Pourquoi ce choix\n\n- un point ;\n- un autre point.");
        break;
    default:
        break;
    }
    buf_append_byte(b, '\n');
}

static void make_prose(buf *b) {
    static const char *const secrets[] = {
        "export GITHUB_TOKEN=ghp_FAKE0000fake1111FAKE2222fake3333FAKE\n",
        "DATABASE_URL=postgres://app:Zq8xk2Lm9pFAKE@db:5432/app\n",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.ZmFrZS1zaWduYXR1cmU\n",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
        "OPENAI_API_KEY=sk-proj-FAKEfake0000FAKEfake1111FAKEfake2222\n",
    };
    size_t next_secret = TARGET / 6, k = 0;
    while (b->len < TARGET) {
        prose_line(b);
        if (k < 5 && b->len >= next_secret) {
            buf_append_str(b, secrets[k++]);
            next_secret += TARGET / 6;
        }
    }
}

static void make_config(buf *b) {
    unsigned line = 0;
    while (b->len < TARGET) {
        line++;
        switch (next_rand() % 8) {
        case 0:
            buf_printf(b, "SERVICE_%u_HOST=svc-%u.internal.example.com\n", line, line % 97);
            break;
        case 1:
            buf_printf(b, "  replicas: %u\n  image: registry.example.com/app:%u.%u\n", line % 9,
                       line % 7, line % 13);
            break;
        case 2:
            buf_printf(b,
                       "{\"id\": %u, \"name\": \"item-%u\", \"enabled\": true, \"ratio\": 0.%u},\n",
                       line, line, line % 100);
            break;
        case 3:
            buf_printf(b, "url = https://user%u@git.example.com:%u/repo.git\n", line % 50,
                       2000 + line % 100);
            break;
        case 4:
            buf_printf(b, "cmd --retries=%u --timeout %us -v --token-file=/run/t%u\n", line % 5,
                       line % 60, line % 3);
            break;
        case 5:
            buf_printf(b, "max_tokens: %u, temperature: 0.%u, model: gpt-4o-mini\n", line % 4096,
                       line % 10);
            break;
        case 6:
            buf_printf(b, "key%u=value%u; a=b; c:d; e==f\n", line, line);
            break;
        default:
            buf_printf(b, "# section %u: see README.md, http://localhost:%u/\n", line,
                       8000 + line % 100);
            break;
        }
        if (line % 200 == 0)
            buf_printf(b, "DB_PASSWORD=Fa4e%uZq8xk2Lm%uFAKE\n", line, line % 89);
        if (line % 200 == 100 && line > 1000)
            buf_printf(b, "# the old one was Fa4e%uZq8xk2Lm%uFAKE\n", line - 900,
                       (line - 900) % 89);
    }
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void measure(const char *name, const buf *text, int runs) {
    double scan_ms[64], mask_ms[64];
    size_t found = 0;
    for (int r = 0; r < runs; r++) {
        secrets_session *s = secrets_session_new();
        secrets_finding *f;
        size_t n;
        double t0 = now_ms();
        if (secrets_scan(s, text->data, text->len, &f, &n) != SECRETS_OK) {
            fprintf(stderr, "bench_secrets: scan failed\n");
            exit(1);
        }
        scan_ms[r] = now_ms() - t0;
        found = n;
        free(f);
        secrets_session_free(s);

        s = secrets_session_new();
        char *out;
        size_t out_len;
        t0 = now_ms();
        if (secrets_mask(s, text->data, text->len, &out, &out_len, NULL, NULL) != SECRETS_OK) {
            fprintf(stderr, "bench_secrets: mask failed\n");
            exit(1);
        }
        mask_ms[r] = now_ms() - t0;
        free(out);
        secrets_session_free(s);
    }
    qsort(scan_ms, (size_t)runs, sizeof *scan_ms, cmp_double);
    qsort(mask_ms, (size_t)runs, sizeof *mask_ms, cmp_double);
    double mb = (double)text->len / 1e6, sm = scan_ms[runs / 2], mm = mask_ms[runs / 2];
    printf("secrets %-7s %5.1f MB, %5zu findings: scan %6.1f ms (%5.0f MB/s), mask %6.1f ms "
           "(%5.0f MB/s)  [median of %d]\n",
           name, mb, found, sm, mb / sm * 1e3, mm, mb / mm * 1e3, runs);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 7;
    if (runs < 1 || runs > 64)
        runs = 7;
    buf prose = {0}, config = {0};
    make_prose(&prose);
    make_config(&config);
    measure("prose", &prose, runs);
    measure("config", &config, runs);
    buf_free(&prose);
    buf_free(&config);
    return 0;
}
