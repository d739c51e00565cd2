/* bench_import: streams a ~200 MB ChatGPT-shaped export through jsonsax and the ChatGPT
 * reader, and reports the time (medians of several runs) and the peak memory.
 *
 * The export is never whole, on disk or in memory: it is generated in 64 KiB chunks, each
 * fed to the reader and then overwritten, as `ami usage import chatgpt` would read a file.
 * Conversations are copies of eight templates (about 15 KB each: a title, times, a mapping
 * of 22 nodes with a hidden system prompt, user and assistant messages of 300 to 1 500
 * bytes with escapes and non-ASCII text, metadata) in which only the ids change, so the
 * generator costs little; its cost alone is measured and printed too.
 *
 * What matters is the last line: peak RSS stays a few MB for a 200 MB export.  jsonsax's
 * memory is fixed (the string cap and the depth); the reader keeps one conversation's
 * messages at a time and the ids of all conversations (about 100 bytes each, to report
 * repeats), so memory grows with the number of conversations, never with their text.
 *
 *   make build/bench/bench_import && build/bench/bench_import [MiB] [runs]
 */
#include "ami/buf.h"
#include "ami/import.h"
#include "ami/jsonsax.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define CHUNK     (64 * 1024)
#define TEMPLATES 8
#define ID_DIGITS 9

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux */
}

/* A message text of n bytes or so: prose with escapes and accents. */
static void text(buf *b, unsigned seed, size_t n) {
    static const char *const words[] = {
        "le",
        "chapitre",
        "tient",
        "mais",
        "la",
        "fin",
        "arrive",
        "trop",
        "vite",
        "\\u2019",
        "\\n",
        "caf\xC3\xA9",
        "\\\"oui\\\"",
        "the",
        "rhythm",
        "slows",
        "in the middle",
        "\xE2\x80\x94",
        "\xC3\xA0",
        "voil\xC3\xA0",
        "\\t",
        "sc\xC3\xA8ne",
        "dialogue",
        "—",
        "d\xC3\xA9"
        "but",
        "\\ud83d\\ude00",
    };
    size_t start = b->len;
    while (b->len - start < n) {
        seed = seed * 1103515245u + 12345u;
        buf_append_str(b, words[(seed >> 16) % (sizeof words / sizeof words[0])]);
        buf_append_byte(b, ' ');
    }
}

/* One conversation; its id is "c-" followed by ID_DIGITS zeros, at *id_at (twice). */
static void conversation(buf *b, unsigned seed, size_t id_at[2]) {
    buf_append_str(b, "{\"title\": \"Relecture n\xC2\xB0 ");
    buf_printf(b, "%u \xE2\x80\x94 essai\", ", seed);
    buf_printf(b, "\"create_time\": %u.%03u, \"update_time\": %u.5, \"mapping\": {",
               1730419200u + seed * 3600u, seed % 1000, 1730419200u + seed * 3600u + 1800u);
    buf_append_str(b, "\"root\": {\"id\": \"root\", \"message\": null, \"parent\": null, "
                      "\"children\": [\"sys\"]}, ");
    buf_append_str(b, "\"sys\": {\"id\": \"sys\", \"message\": {\"id\": \"sys\", \"author\": "
                      "{\"role\": \"system\", \"name\": null, \"metadata\": {}}, \"create_time\": "
                      "null, \"content\": {\"content_type\": \"text\", \"parts\": [\"\"]}, "
                      "\"status\": \"finished_successfully\", \"weight\": 0.0, \"metadata\": "
                      "{\"is_visually_hidden_from_conversation\": true}, \"recipient\": "
                      "\"all\"}, \"parent\": \"root\", \"children\": [\"m0\"]}");
    for (unsigned i = 0; i < 20; i++) {
        int user = i % 2 == 0;
        buf_printf(b, ", \"m%u\": {\"id\": \"m%u\", \"message\": {\"id\": \"m%u-%08x\", ", i, i, i,
                   seed * 31 + i);
        buf_printf(b,
                   "\"author\": {\"role\": \"%s\", \"name\": null, \"metadata\": {}}, "
                   "\"create_time\": %u.%u, \"update_time\": null, \"content\": "
                   "{\"content_type\": \"text\", \"parts\": [\"",
                   user ? "user" : "assistant", 1730419200u + seed * 3600u + i * 60u, i);
        text(b, seed * 7 + i, user ? 300 + (seed * 13 + i * 17) % 400 : 700 + (seed + i) % 800);
        buf_append_str(b, "\"]}, \"status\": \"finished_successfully\", \"end_turn\": true, "
                          "\"weight\": 1.0, \"metadata\": {");
        if (!user)
            buf_printf(b,
                       "\"model_slug\": \"%s\", \"default_model_slug\": \"gpt-4o\", "
                       "\"citations\": [], \"finish_details\": {\"type\": \"stop\", "
                       "\"stop_tokens\": [200002]}, ",
                       (seed + i) % 3 ? "gpt-4o" : "o3");
        buf_append_str(b, "\"request_id\": \"8f1e2d3c4b5a6978-CDG\", \"timestamp_\": "
                          "\"absolute\"}, \"recipient\": \"all\", \"channel\": null}, ");
        buf_printf(b, "\"parent\": \"%s%u\", \"children\": [", i ? "m" : "sys", i ? i - 1 : 0);
        if (i < 19)
            buf_printf(b, "\"m%u\"", i + 1);
        buf_append_str(b, "]}");
    }
    buf_append_str(b, "}, \"moderation_results\": [], \"current_node\": \"m19\", "
                      "\"plugin_ids\": null, \"conversation_id\": \"");
    id_at[0] = b->len + 2;
    buf_append_str(b, "c-000000000\", \"conversation_template_id\": null, \"gizmo_id\": null, "
                      "\"is_archived\": false, \"safe_urls\": [], \"default_model_slug\": "
                      "\"gpt-4o\", \"id\": \"");
    id_at[1] = b->len + 2;
    buf_append_str(b, "c-000000000\"}");
}

typedef struct templ {
    buf text;
    size_t id_at[2];
} templ;

typedef int (*sink_fn)(void *ctx, const char *data, size_t len);

/* Generates about target bytes of export and hands them to sink in CHUNK pieces.  Returns
 * the number of conversations, or -1 when the sink failed. */
static long generate(const templ *t, size_t target, sink_fn sink, void *ctx, size_t *bytes) {
    static char chunk[CHUNK];
    size_t used = 0, total = 0;
    long n = 0;
    chunk[used++] = '[';
    while (total + used < target) {
        const templ *tp = &t[n % TEMPLATES];
        const char *src = tp->text.data;
        size_t len = tp->text.len, done = 0;
        char id[24];
        snprintf(id, sizeof id, "%0*ld", ID_DIGITS, n % 1000000000L);
        if (n)
            chunk[used++] = ','; /* used < CHUNK here: a full chunk was flushed */
        while (done < len) {
            if (used == CHUNK) {
                if (sink(ctx, chunk, used))
                    return -1;
                total += used;
                used = 0;
            }
            size_t k = len - done < CHUNK - used ? len - done : CHUNK - used;
            memcpy(chunk + used, src + done, k);
            /* Put the conversation's number into its two ids (they never straddle a chunk
             * by much: patch byte by byte). */
            for (int w = 0; w < 2; w++)
                for (size_t d = 0; d < ID_DIGITS; d++) {
                    size_t pos = tp->id_at[w] + d;
                    if (pos >= done && pos < done + k)
                        chunk[used + pos - done] = id[d];
                }
            used += k;
            done += k;
        }
        n++;
        if (used == CHUNK) {
            if (sink(ctx, chunk, used))
                return -1;
            total += used;
            used = 0;
        }
    }
    chunk[used++] = ']';
    if (sink(ctx, chunk, used))
        return -1;
    total += used;
    *bytes = total;
    return n;
}

static int sink_nothing(void *ctx, const char *data, size_t len) {
    (void)data;
    *(size_t *)ctx += len;
    return 0;
}

static int on_token(void *ud, jsonsax *p, const jsonsax_event *ev) {
    (void)p;
    (void)ev;
    (*(size_t *)ud)++;
    return 0;
}

typedef struct sax_ctx {
    jsonsax *p;
} sax_ctx;

static int sink_sax(void *ctx, const char *data, size_t len) {
    return jsonsax_feed(((sax_ctx *)ctx)->p, data, len) != JSONSAX_OK;
}

typedef struct imp_ctx {
    import_reader *r;
    size_t conversations, messages;
} imp_ctx;

static int on_conv(void *ud, const import_conversation *c) {
    imp_ctx *x = ud;
    x->conversations++;
    x->messages += c->n_messages;
    return 0;
}

static int sink_import(void *ctx, const char *data, size_t len) {
    return import_reader_feed(((imp_ctx *)ctx)->r, data, len) != IMPORT_OK;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 200;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (mib == 0 || runs < 1 || runs > 50) {
        fprintf(stderr, "usage: bench_import [MiB (default 200)] [runs (default 5)]\n");
        return 2;
    }
    size_t target = mib * 1024 * 1024;
    long rss_start = peak_rss_kib();
    templ t[TEMPLATES];
    for (unsigned i = 0; i < TEMPLATES; i++) {
        memset(&t[i], 0, sizeof t[i]);
        conversation(&t[i].text, 1000 + i, t[i].id_at);
    }

    double gen[50], sax[50], imp[50];
    size_t bytes = 0, tokens = 0;
    long convs = 0;
    size_t delivered = 0, messages = 0;
    for (int k = 0; k < runs; k++) {
        size_t sunk = 0;
        double t0 = now();
        convs = generate(t, target, sink_nothing, &sunk, &bytes);
        gen[k] = now() - t0;

        tokens = 0;
        sax_ctx sc = {jsonsax_new(NULL, on_token, &tokens)};
        t0 = now();
        if (generate(t, target, sink_sax, &sc, &bytes) < 0 || jsonsax_finish(sc.p) != JSONSAX_OK) {
            fprintf(stderr, "bench_import: jsonsax failed: %s\n", jsonsax_error(sc.p));
            return 1;
        }
        sax[k] = now() - t0;
        jsonsax_free(sc.p);

        imp_ctx ic = {NULL, 0, 0};
        import_callbacks cb = {on_conv, NULL, NULL};
        ic.r = import_reader_new(IMPORT_CHATGPT, &cb, &ic);
        t0 = now();
        if (generate(t, target, sink_import, &ic, &bytes) < 0 ||
            import_reader_finish(ic.r) != IMPORT_OK) {
            fprintf(stderr, "bench_import: import failed: %s\n", import_reader_error(ic.r));
            return 1;
        }
        imp[k] = now() - t0;
        delivered = ic.conversations;
        messages = ic.messages;
        import_reader_free(ic.r);
    }
    long rss_end = peak_rss_kib();
    double mb = (double)bytes / 1e6;
    double g = median(gen, runs), s = median(sax, runs), m = median(imp, runs);
    printf("bench_import: %.1f MiB ChatGPT-shaped export (%ld conversations, %zu messages "
           "delivered, %zu tokens), fed in %d KiB chunks, median of %d runs\n",
           (double)bytes / (1024.0 * 1024.0), convs, messages, tokens, CHUNK / 1024, runs);
    printf("  generating the chunks alone     %6.3f s\n", g);
    printf("  jsonsax, every token            %6.3f s  %6.0f MB/s (generation subtracted)\n", s,
           mb / (s - g));
    printf("  import_reader (ChatGPT)         %6.3f s  %6.0f MB/s (generation subtracted)\n", m,
           mb / (m - g));
    printf("  conversations delivered %zu of %ld\n", delivered, convs);
    /* The parser's memory is fixed; the reader's set of conversation ids (to report repeats)
     * grows with the number of conversations, not with their size. */
    printf("  peak RSS %.1f MiB (%.1f MiB at start): +%.1f MiB for %ld conversations: fixed "
           "buffers and the repeated-id set (about 100 bytes a conversation); nothing grows with "
           "the text\n",
           (double)rss_end / 1024.0, (double)rss_start / 1024.0,
           (double)(rss_end - rss_start) / 1024.0, convs);
    for (unsigned i = 0; i < TEMPLATES; i++)
        buf_free(&t[i].text);
    return delivered == (size_t)convs ? 0 : 1;
}
