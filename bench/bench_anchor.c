/* bench_anchor: the quote matcher on a 1 MB French Markdown document.
 *
 * The document is generated (deterministically): hard-wrapped paragraphs at 72 columns,
 * headings, French typography (NBSP before : ; ? !, « » with NBSP inside, ’), emphasis.
 * 100 notes are asked about a passage of 15 lines somewhere in the middle:
 *   80 exact quotes from the passage (tier 1),
 *    8 quotes across a line break of the passage, or with ' for ’ or a capital (tier 2),
 *    6 quotes from the passage with one typo (tier 3),
 *    6 invented quotes (unanchored: the worst case, every tier over the whole document).
 * Prints the median of RUNS runs for the index build and for matching the 100 notes, then
 * the matching time per kind of quote.
 */
#include "ami/anchor.h"
#include "ami/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS     15
#define DOC_SIZE (1024 * 1024)
#define NOTES    100

static uint64_t rng_state = 0x1234abcdULL;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
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

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *const words[] = {
    "le",         "la",        "les",      "un",          "une",     "des",      "et",
    "mais",       "donc",      "pourtant", "il",          "elle",    "nous",     "ils",
    "écrit",      "pense",     "regarde",  "traverse",    "revient", "attend",   "dit",
    "maison",     "rivière",   "été",      "hiver",       "forêt",   "lumière",  "chemin",
    "personnage", "narrateur", "histoire", "phrase",      "idée",    "argument", "lecteur",
    "très",       "peu",       "souvent",  "jamais",      "déjà",    "encore",   "vraiment",
    "avec",       "sans",      "pour",     "dans",        "sur",     "sous",     "après",
    "avant",      "quand",     "parce",    "que",         "qui",     "dont",     "où",
    "grand",      "petit",     "ancien",   "nouvelle",    "étrange", "clair",    "sombre",
    "première",   "dernière",  "longue",   "courte",      "simple",  "complexe", "évident",
    "l’homme",    "d’un",      "qu’elle",  "aujourd’hui", "c’est",   "n’est",    "s’il",
    "ça",         "finit",     "par",      "faire",       "ce",      "cette",    "son",
};
#define NWORDS (sizeof words / sizeof *words)

/* A paragraph of sentences, hard-wrapped at 72 columns. */
static void paragraph(buf *b) {
    buf p = {0};
    int sentences = 2 + (int)(rng() % 4);
    for (int s = 0; s < sentences; s++) {
        int n = 8 + (int)(rng() % 12);
        for (int i = 0; i < n; i++) {
            const char *w = words[rng() % NWORDS];
            if (i)
                buf_append_byte(&p, ' ');
            uint64_t r = rng() % 40;
            if (i == 0) {
                /* A capital: ASCII letters only, for simplicity. */
                if (w[0] >= 'a' && w[0] <= 'z') {
                    buf_append_byte(&p, (char)(w[0] - 32));
                    buf_append_str(&p, w + 1);
                } else {
                    buf_append_str(&p, w);
                }
            } else if (r == 0) {
                buf_printf(&p, "*%s*", w);
            } else if (r == 1) {
                buf_printf(&p, "«\xC2\xA0%s %s\xC2\xA0»", w, words[rng() % NWORDS]);
            } else {
                buf_append_str(&p, w);
            }
        }
        static const char *const ends[] = {".", ".", ".", "\xC2\xA0!", "\xC2\xA0?", "\xC2\xA0:"};
        buf_append_str(&p, ends[rng() % 6]);
        buf_append_byte(&p, ' ');
    }
    /* Wrap. */
    size_t col = 0, i = 0;
    while (i < p.len) {
        size_t j = i;
        while (j < p.len && p.data[j] != ' ')
            j++;
        size_t w = j - i;
        if (col && col + 1 + w > 72) {
            buf_append_byte(b, '\n');
            col = 0;
        } else if (col) {
            buf_append_byte(b, ' ');
            col++;
        }
        buf_append(b, p.data + i, w);
        col += w;
        i = j + 1;
    }
    buf_append_str(b, "\n\n");
    buf_free(&p);
}

static void make_doc(buf *b) {
    int section = 0;
    while (b->len < DOC_SIZE) {
        if (rng() % 12 == 0)
            buf_printf(b, "## Partie %d\n\n", ++section);
        paragraph(b);
    }
}

typedef struct quote {
    char text[512];
    int kind; /* 0 exact, 1 normalized, 2 fuzzy, 3 invented */
} quote;

/* The line starts of doc: lines[i] is the offset of line i (0-based). */
static size_t line_at(const char *doc, size_t len, long line) {
    size_t off = 0;
    for (long l = 0; l < line && off < len; l++) {
        const char *nl = memchr(doc + off, '\n', len - off);
        off = nl ? (size_t)(nl - doc) + 1 : len;
    }
    return off;
}

/* Words from..from+n-1 of a line (split at spaces) into out; 0 when the line has too few. */
static int words_of_line(const char *line, size_t len, int from, int n, char *out, size_t cap) {
    size_t start = 0, i = 0;
    int w = 0;
    for (; i < len && w < from; i++)
        if (line[i] == ' ')
            w++, start = i + 1;
    if (w < from)
        return 0;
    size_t end = start;
    for (int k = 0; k < n; k++) {
        if (end >= len)
            return 0;
        if (k)
            end++; /* the space */
        while (end < len && line[end] != ' ')
            end++;
    }
    if (end - start + 1 > cap)
        return 0;
    memcpy(out, line + start, end - start);
    out[end - start] = 0;
    return 1;
}

static void make_quotes(const char *doc, size_t len, long first, long last, quote *q) {
    int made = 0;
    while (made < NOTES) {
        int kind = made < 80 ? 0 : made < 88 ? 1 : made < 94 ? 2 : 3;
        long l = first + (long)(rng() % (uint64_t)(last - first));
        size_t a = line_at(doc, len, l - 1), b = line_at(doc, len, l);
        const char *line = doc + a;
        size_t n = b > a ? b - a - 1 : 0;
        if (n < 20)
            continue;
        char *t = q[made].text;
        q[made].kind = kind;
        if (kind == 0) {
            if (!words_of_line(line, n, (int)(rng() % 3), 3 + (int)(rng() % 4), t, 512))
                continue;
        } else if (kind == 1) {
            /* The end of this line and the start of the next, joined. */
            size_t c = line_at(doc, len, l + 1);
            if (c <= b + 20)
                continue;
            const char *sp = line + n;
            int k = 0;
            while (sp > line && k < 3)
                if (*--sp == ' ')
                    k++;
            char head[256], tail[256];
            snprintf(head, sizeof head, "%.*s", (int)(line + n - sp - 1), sp + 1);
            if (!words_of_line(doc + b, c - b - 1, 0, 3, tail, sizeof tail))
                continue;
            snprintf(t, 512, "%s %s", head, tail);
        } else if (kind == 2) {
            if (!words_of_line(line, n, 0, 6, t, 512) || strlen(t) < 24)
                continue;
            size_t at = 5 + rng() % (strlen(t) - 10);
            if (t[at] >= 'a' && t[at] <= 'z')
                t[at] = (char)('a' + (t[at] - 'a' + 1) % 26);
            else
                continue;
        } else {
            snprintf(t, 512, "%s %s %s %s %s %s inventé", words[rng() % NWORDS],
                     words[rng() % NWORDS], words[rng() % NWORDS], words[rng() % NWORDS],
                     words[rng() % NWORDS], words[rng() % NWORDS]);
        }
        made++;
    }
}

int main(void) {
    buf doc = {0};
    make_doc(&doc);
    anchor_doc *d = anchor_doc_new(doc.data, doc.len);
    long nlines = anchor_doc_lines(d);
    long first = nlines / 2, last = first + 14;
    quote *q = calloc(NOTES, sizeof *q);
    make_quotes(doc.data, doc.len, first, last, q);

    double build[RUNS], match[RUNS], per_kind[4][RUNS];
    int tiers[4][4] = {{0}};
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_ms();
        anchor_doc *d2 = anchor_doc_new(doc.data, doc.len);
        build[run] = now_ms() - t0;
        anchor_doc_free(d2);

        double kind_t[4] = {0};
        t0 = now_ms();
        for (int i = 0; i < NOTES; i++) {
            anchor_result r;
            double s = now_ms();
            anchor_find(d, first, last, q[i].text, strlen(q[i].text), &r);
            kind_t[q[i].kind] += now_ms() - s;
            if (run == 0)
                tiers[q[i].kind][r.tier]++;
        }
        match[run] = now_ms() - t0;
        for (int k = 0; k < 4; k++)
            per_kind[k][run] = kind_t[k];
    }
    printf("bench_anchor: document %zu bytes, %ld lines; passage lines %ld-%ld; %d notes\n",
           doc.len, nlines, first, last, NOTES);
    printf("  index build (anchor_doc_new)  median %.3f ms\n", median(build, RUNS));
    printf("  matching %d notes             median %.3f ms\n", NOTES, median(match, RUNS));
    static const char *const names[] = {"exact (80)", "normalized (8)", "fuzzy (6)",
                                        "invented (6)"};
    for (int k = 0; k < 4; k++)
        printf("    %-16s median %.3f ms; tiers none/bytes/normalized/fuzzy = %d/%d/%d/%d\n",
               names[k], median(per_kind[k], RUNS), tiers[k][0], tiers[k][1], tiers[k][2],
               tiers[k][3]);
    anchor_doc_free(d);
    free(q);
    buf_free(&doc);
    return 0;
}
