/* bench_notes: the streaming notes parser on a large answer.
 *
 * An answer of 2,000 notes (each a heading, a two-line blockquote, and a comment of three
 * lines in French, about 400 bytes; 0.8 MB in all, with a general remark before the notes
 * and a code fence in some comments) is parsed fed whole, fed in 40-byte pieces (the size
 * of a typical streamed delta), and byte by byte.  Past NOTES_MAX_NOTES the parser only
 * counts headings, so the same is measured on the first 200 notes alone.  Prints medians of
 * RUNS runs.
 */
#include "ami/buf.h"
#include "ami/notes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 15

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

static const char *const kinds[] = {"clarity",   "ambiguïté", "question", "argument",
                                    "structure", "style",     "éloge"};

static void make_answer(buf *b, int notes) {
    buf_append_str(b, "Le passage tient dans l’ensemble\xC2\xA0; voici mes remarques, de la plus "
                      "importante à la moins importante.\n\n");
    for (int i = 0; i < notes; i++) {
        buf_printf(b, "## Note %d\xC2\xA0: %s\n", i + 1, kinds[i % 7]);
        buf_printf(b,
                   "> «\xC2\xA0ça finit par faire un bruit de fond que personne\n"
                   "> n’entend plus, numéro %d\xC2\xA0»\n\n",
                   i);
        buf_append_str(b, "Le référent de «\xC2\xA0ça\xC2\xA0» n’est pas clair\xC2\xA0: est-ce "
                          "le bruit, la ville, ou\nl’habitude\xC2\xA0? Un lecteur pressé "
                          "s’arrêtera ici. *Que voulez-vous\nqu’il retienne\xC2\xA0?*\n");
        if (i % 50 == 0)
            buf_append_str(b, "```\n## Note: pas un titre\n```\n");
        buf_append_str(b, "\n");
    }
}

typedef struct count {
    size_t events;
} count;

static int on_event(void *ud, const notes_event *ev) {
    (void)ev;
    ((count *)ud)->events++;
    return 0;
}

static double parse(const buf *b, size_t piece, size_t *events) {
    count c = {0};
    notes_parser *p = notes_parser_new(on_event, &c);
    double t0 = now_ms();
    for (size_t at = 0; at < b->len; at += piece)
        notes_parser_feed(p, b->data + at, piece < b->len - at ? piece : b->len - at);
    notes_parser_finish(p);
    double t = now_ms() - t0;
    notes_parser_free(p);
    *events = c.events;
    return t;
}

static void measure(const char *name, const buf *b) {
    static const size_t pieces[] = {(size_t)-1, 40, 1};
    static const char *const names[] = {"whole", "40-byte pieces", "byte by byte"};
    printf("  %s: %zu bytes\n", name, b->len);
    for (int k = 0; k < 3; k++) {
        double t[RUNS];
        size_t events = 0;
        for (int r = 0; r < RUNS; r++)
            t[r] = parse(b, pieces[k] == (size_t)-1 ? b->len : pieces[k], &events);
        double m = median(t, RUNS);
        printf("    %-16s median %8.3f ms  (%6.0f MB/s, %zu events)\n", names[k], m,
               (double)b->len / 1e6 / (m / 1e3), events);
    }
}

int main(void) {
    buf big = {0}, capped = {0};
    make_answer(&big, 2000);
    make_answer(&capped, NOTES_MAX_NOTES);
    printf("bench_notes:\n");
    measure("2,000 notes (past the cap of 200, headings only counted)", &big);
    measure("200 notes (all parsed)", &capped);
    buf_free(&big);
    buf_free(&capped);
    return 0;
}
