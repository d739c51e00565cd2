/* Tests for the quote matcher (src/anchor*.c).
 *
 * Every found range is checked against the exact bytes it should cover, so that a range one
 * byte too wide (a guillemet, a space, half a "é") fails.
 */
#include "ami/anchor.h"
#include "ami/buf.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------- */

static anchor_result find(const char *doc, long first, long last, const char *quote) {
    anchor_result r;
    anchor_doc *d = anchor_doc_new(doc, strlen(doc));
    CHECK(d != NULL);
    CHECK_INT(anchor_find(d, first, last, quote, strlen(quote), &r), ANCHOR_OK);
    anchor_doc_free(d);
    return r;
}

/* The document bytes a result covers ("" when unanchored); static storage. */
static const char *covered(const char *doc, const anchor_result *r) {
    static char out[4096];
    size_t n = r->end - r->start;
    if (r->end < r->start || n >= sizeof out)
        return "(bad range)";
    memcpy(out, doc + r->start, n);
    out[n] = 0;
    return out;
}

#define EXPECT(doc, first, last, quote, tier_, text)                                               \
    do {                                                                                           \
        anchor_result r_ = find(doc, first, last, quote);                                          \
        CHECK_INT(r_.tier, tier_);                                                                 \
        CHECK_STR(covered(doc, &r_), text);                                                        \
    } while (0)

#define EXPECT_NONE(doc, first, last, quote, reason_)                                              \
    do {                                                                                           \
        anchor_result r_ = find(doc, first, last, quote);                                          \
        CHECK_INT(r_.status, ANCHOR_UNANCHORED);                                                   \
        CHECK_INT(r_.tier, ANCHOR_TIER_NONE);                                                      \
        CHECK_INT(r_.reason, reason_);                                                             \
        CHECK_INT(r_.start, 0);                                                                    \
        CHECK_INT(r_.end, 0);                                                                      \
    } while (0)

/* ---- tier 1 --------------------------------------------------------------------------- */

static void test_bytes(void) {
    const char *doc = "Le chat dort.\nLe chien aboie.\n";
    anchor_result r = find(doc, 2, 2, "chien aboie");
    CHECK_INT(r.status, ANCHOR_EXACT);
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.reason, ANCHOR_FOUND);
    CHECK_STR(covered(doc, &r), "chien aboie");
    CHECK(r.similarity == 1.0);
    CHECK_INT(r.distance, 0);
    CHECK(r.flags & ANCHOR_F_IN_PASSAGE);
    CHECK(!(r.flags & ANCHOR_F_STRIPPED));
    /* Outside the passage: still found, not flagged in it. */
    r = find(doc, 2, 2, "chat dort");
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_STR(covered(doc, &r), "chat dort");
    CHECK(!(r.flags & ANCHOR_F_IN_PASSAGE));
    /* Without a passage. */
    EXPECT(doc, 0, 0, "Le chien", ANCHOR_TIER_BYTES, "Le chien");
    /* The whole document. */
    EXPECT("abc", 0, 0, "abc", ANCHOR_TIER_BYTES, "abc");
}

static void test_stripping(void) {
    const char *doc = "Elle dit que les mots manquent.\n";
    EXPECT(doc, 1, 1, "« les mots »", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "«\xC2\xA0les mots\xC2\xA0»", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "«\xE2\x80\xAFles mots\xE2\x80\xAF»", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "\"les mots\"", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "“les mots”", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "„les mots“", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "‘les mots’", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "'les mots'", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "*« les mots »*", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "**les mots**", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "`les mots`", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "  les mots  ", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "les mots…", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "les mots...", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "les mots […]", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "(...) les mots", ANCHOR_TIER_BYTES, "les mots");
    EXPECT(doc, 1, 1, "… les mots manquent", ANCHOR_TIER_BYTES, "les mots manquent");
    anchor_result r = find(doc, 1, 1, "« les mots »");
    CHECK(r.flags & ANCHOR_F_STRIPPED);

    size_t off, len;
    const char *q = "*« ça finit »*";
    CHECK_INT(anchor_strip_quote(q, strlen(q), &off, &len), 8);
    CHECK_MEM(q + off, len, "ça finit", 9);
    CHECK_INT(anchor_strip_quote("« »", 5, &off, &len), 0);
    CHECK_INT(len, 0);
    CHECK_INT(anchor_strip_quote(NULL, 0, &off, &len), 0);
    /* A dot that ends a sentence is kept; only ellipses go. */
    CHECK_INT(anchor_strip_quote("etc.", 4, &off, &len), 4);
    /* Nothing but marks: empty. */
    EXPECT_NONE(doc, 1, 1, "« … »", ANCHOR_EMPTY);
    EXPECT_NONE(doc, 1, 1, "", ANCHOR_EMPTY);
    EXPECT_NONE(doc, 1, 1, "\xE2\x80\x8B", ANCHOR_EMPTY); /* a zero-width space */
}

/* ---- tier 2 --------------------------------------------------------------------------- */

static void test_hard_wrapped(void) {
    const char *doc = "Au bout d'un moment, ça finit\n  par faire du bruit.\n";
    anchor_result r = find(doc, 1, 2, "ça finit par faire");
    CHECK_INT(r.status, ANCHOR_EXACT);
    CHECK_INT(r.tier, ANCHOR_TIER_NORMALIZED);
    CHECK_STR(covered(doc, &r), "ça finit\n  par faire");
    CHECK(r.flags & ANCHOR_F_IN_PASSAGE);
    /* CRLF and a tab. */
    EXPECT("ça finit\r\n\tpar faire", 1, 2, "ça finit par faire", ANCHOR_TIER_NORMALIZED,
           "ça finit\r\n\tpar faire");
    /* The quote itself wrapped, the document not. */
    EXPECT("ça finit par faire", 1, 1, "ça finit\npar   faire", ANCHOR_TIER_NORMALIZED,
           "ça finit par faire");
}

static void test_french_typography(void) {
    /* NBSP before the colon and inside the guillemets; the model writes plain spaces. */
    const char *doc = "Il répond\xC2\xA0: «\xC2\xA0oui\xC2\xA0» et part.";
    EXPECT(doc, 1, 1, "Il répond : « oui » et part", ANCHOR_TIER_NORMALIZED,
           "Il répond\xC2\xA0: «\xC2\xA0oui\xC2\xA0» et part");
    /* Without any space, and with straight quotes. */
    EXPECT(doc, 1, 1, "répond: \"oui\" et", ANCHOR_TIER_NORMALIZED,
           "répond\xC2\xA0: «\xC2\xA0oui\xC2\xA0» et");
    /* NNBSP before ? and ! */
    EXPECT("Vraiment\xE2\x80\xAF? Oui\xE2\x80\xAF!", 1, 1, "Vraiment ? Oui", ANCHOR_TIER_NORMALIZED,
           "Vraiment\xE2\x80\xAF? Oui");
    EXPECT("Vraiment\xE2\x80\xAF? Oui", 1, 1, "Vraiment? Oui", ANCHOR_TIER_NORMALIZED,
           "Vraiment\xE2\x80\xAF? Oui");
    /* Apostrophes. */
    EXPECT("C’est l’homme qui rit.", 1, 1, "l'homme qui rit", ANCHOR_TIER_NORMALIZED,
           "l’homme qui rit");
    EXPECT("C'est l'homme qui rit.", 1, 1, "l’homme qui rit", ANCHOR_TIER_NORMALIZED,
           "l'homme qui rit");
    EXPECT("aujourdʼhui il pleut", 1, 1, "aujourd'hui il pleut", ANCHOR_TIER_NORMALIZED,
           "aujourdʼhui il pleut");
    /* Quotation marks inside the quote. */
    EXPECT("il dit « non » puis sort", 1, 1, "dit \"non\" puis", ANCHOR_TIER_NORMALIZED,
           "dit « non » puis");
    EXPECT("il dit “non” puis sort", 1, 1, "dit \"non\" puis", ANCHOR_TIER_NORMALIZED,
           "dit “non” puis");
    /* Dashes and ellipses. */
    EXPECT("un — deux – trois", 1, 1, "un - deux - trois", ANCHOR_TIER_NORMALIZED,
           "un — deux – trois");
    EXPECT("et puis… rien.", 1, 1, "et puis... rien", ANCHOR_TIER_NORMALIZED, "et puis… rien");
    EXPECT("et puis... rien.", 1, 1, "et puis… rien", ANCHOR_TIER_NORMALIZED, "et puis... rien");
    /* The range stops before the guillemet and the NBSP. */
    EXPECT("«\xC2\xA0"
           "bonjour\xC2\xA0»",
           1, 1, "Bonjour", ANCHOR_TIER_NORMALIZED, "bonjour");
}

static void test_emphasis_in_document(void) {
    const char *doc = "C'est *vraiment* beau, et __très__ `net`.";
    EXPECT(doc, 1, 1, "c'est vraiment beau", ANCHOR_TIER_NORMALIZED, "C'est *vraiment* beau");
    EXPECT(doc, 1, 1, "vraiment", ANCHOR_TIER_BYTES, "vraiment");
    EXPECT(doc, 1, 1, "et très net", ANCHOR_TIER_NORMALIZED, "et __très__ `net");
    /* The range never starts or ends on a marker. */
    EXPECT(doc, 1, 1, "vraiment beau", ANCHOR_TIER_NORMALIZED, "vraiment* beau");
}

static void test_case(void) {
    EXPECT("Ça finit PAR faire", 1, 1, "ça finit par faire", ANCHOR_TIER_NORMALIZED,
           "Ça finit PAR faire");
    EXPECT("L'ÉTÉ À PARIS, ÇA", 1, 1, "l'été à paris, ça", ANCHOR_TIER_NORMALIZED,
           "L'ÉTÉ À PARIS, ÇA");
    EXPECT("ÜBER DIE STRAẞE, ÑANDÚ, ŒUVRE, ŸVES", 1, 1, "über die straẞe, ñandú, œuvre, ÿves",
           ANCHOR_TIER_NORMALIZED, "ÜBER DIE STRAẞE, ÑANDÚ, ŒUVRE, ŸVES");
    EXPECT("ŁÓDŹ ĄĘ", 1, 1, "łódź ąę", ANCHOR_TIER_NORMALIZED, "ŁÓDŹ ĄĘ");
    /* Accents are not removed: é is not e. */
    EXPECT_NONE("le café noir", 1, 1, "le cafe noir", ANCHOR_NOT_FOUND);
}

/* ---- occurrences --------------------------------------------------------------------- */

static void test_repeated_words(void) {
    /* Lines: 1 and 5 hold the words, 3 is the passage: line 5 is nearer (line 4 is short). */
    const char *doc = "le mot juste ici, avec du texte avant\n" /* line 1 */
                      "autre chose encore, plus longue\n"       /* line 2 */
                      "la phrase du passage\n"                  /* line 3 */
                      "x\n"                                     /* line 4 */
                      "le mot juste là\n"                       /* line 5 */
                      "fin le mot juste\n";                     /* line 6 */
    anchor_result r = find(doc, 3, 3, "le mot juste");
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, strstr(doc, "le mot juste là") - doc);
    CHECK(r.flags & ANCHOR_F_REPEATED);
    /* In the passage: that one, though others come before. */
    r = find(doc, 6, 6, "le mot juste");
    CHECK_INT(r.start, strstr(doc, "fin le mot") - doc + 4);
    CHECK(r.flags & ANCHOR_F_IN_PASSAGE);
    r = find(doc, 1, 1, "le mot juste");
    CHECK_INT(r.start, 0);
    /* A passage that holds two: the first of them. */
    r = find(doc, 5, 6, "le mot juste");
    CHECK_INT(r.start, strstr(doc, "le mot juste là") - doc);
    CHECK(r.flags & ANCHOR_F_REPEATED);
    /* Normalized occurrences obey the same rule. */
    r = find(doc, 5, 5, "LE MOT JUSTE");
    CHECK_INT(r.tier, ANCHOR_TIER_NORMALIZED);
    CHECK_INT(r.start, strstr(doc, "le mot juste là") - doc);
    /* No passage: the first. */
    r = find(doc, 0, 0, "le mot juste");
    CHECK_INT(r.start, 0);
    /* Outside the passage a tier 2 occurrence nearer than a tier 1 one wins. */
    const char *d2 = "Le Mot Juste\nx\npassage\nx\nx\nx\nx\nx\nx\nx\nx\nle mot juste\n";
    r = find(d2, 3, 3, "Le Mot Juste");
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, 0);
    r = find(d2, 11, 11, "Le Mot Juste");
    CHECK_INT(r.tier, ANCHOR_TIER_NORMALIZED);
    CHECK_STR(covered(d2, &r), "le mot juste");
    /* In the passage, tier 1 wins over a tier 2 occurrence that comes first. */
    r = find("LE MOT JUSTE le mot juste", 1, 1, "le mot juste");
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, 13);
}

static void test_far_occurrence(void) {
    /* The only occurrence is 200 KB away from the passage, after several widening rounds. */
    buf b = {0};
    buf_append_str(&b, "passage line\n");
    for (int i = 0; i < 5000; i++)
        buf_append_str(&b, "du texte sans rapport, encore et encore.\n");
    size_t at = b.len;
    buf_append_str(&b, "la phrase lointaine\n");
    for (int i = 0; i < 100; i++)
        buf_append_str(&b, "du texte sans rapport, encore et encore.\n");
    anchor_doc *d = anchor_doc_new(b.data, b.len);
    anchor_result r;
    CHECK_INT(anchor_find(d, 1, 1, "la phrase lointaine", 19, &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, at);
    CHECK_INT(anchor_find(d, 5102, 5102, "LA PHRASE LOINTAINE", 19, &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_NORMALIZED);
    CHECK_INT(r.start, at);
    /* Before the passage, far away. */
    CHECK_INT(anchor_find(d, 5102, 5102, "passage line", 12, &r), ANCHOR_OK);
    CHECK_INT(r.start, 0);
    anchor_doc_free(d);
    buf_free(&b);
}

static void test_invented(void) {
    const char *doc = "Le narrateur ouvre la porte et regarde la mer.\n";
    EXPECT_NONE(doc, 1, 1, "le héros traverse le désert sans un mot", ANCHOR_NOT_FOUND);
    EXPECT_NONE(doc, 1, 1, "une phrase qui n'existe pas", ANCHOR_NOT_FOUND);
    EXPECT_NONE(doc, 0, 0, "xyzzy plugh", ANCHOR_NOT_FOUND);
    EXPECT_NONE("", 0, 0, "rien du tout", ANCHOR_NOT_FOUND);
}

static void test_short_quotes(void) {
    const char *doc = "Il dort.\nIl mange. Il boit.\nElle lit.\n";
    /* Unique in the passage. */
    anchor_result r = find(doc, 1, 1, "Il");
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, 0);
    CHECK(r.flags & ANCHOR_F_SHORT);
    /* Twice in the passage: not anchored. */
    EXPECT_NONE(doc, 2, 2, "Il", ANCHOR_AMBIGUOUS);
    /* Not in the passage (though elsewhere): not anchored, never by distance. */
    EXPECT_NONE(doc, 3, 3, "Il", ANCHOR_NOT_FOUND);
    /* Tier 2 for short quotes. */
    r = find(doc, 3, 3, "«\xC2\xA0lit\xC2\xA0»");
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES); /* "lit" is 3 code points: not short */
    r = find(doc, 3, 3, "LL");
    CHECK_INT(r.tier, ANCHOR_TIER_NORMALIZED);
    CHECK_STR(covered(doc, &r), "ll");
    /* Without a passage the whole document is the passage. */
    EXPECT_NONE(doc, 0, 0, "Il", ANCHOR_AMBIGUOUS);
    EXPECT("Il dort.", 0, 0, "Il", ANCHOR_TIER_BYTES, "Il");
    /* Two code points of two bytes each, and one of three. */
    EXPECT("Il a été là.", 1, 1, "été", ANCHOR_TIER_BYTES, "été");
    EXPECT("oui — non", 1, 1, "—", ANCHOR_TIER_BYTES, "—");
}

static void test_elision(void) {
    const char *doc = "Le premier point est clair, mais la conclusion reste floue.\n";
    anchor_result r = find(doc, 1, 1, "Le premier point […] reste floue");
    CHECK_INT(r.status, ANCHOR_EXACT);
    CHECK(r.flags & ANCHOR_F_ELISION);
    CHECK_STR(covered(doc, &r), "Le premier point est clair, mais la conclusion reste floue");
    EXPECT(doc, 1, 1, "premier point ... la conclusion", ANCHOR_TIER_BYTES,
           "premier point est clair, mais la conclusion");
    EXPECT(doc, 1, 1, "premier point (…) la conclusion", ANCHOR_TIER_BYTES,
           "premier point est clair, mais la conclusion");
    EXPECT(doc, 1, 1, "Premier point … LA CONCLUSION", ANCHOR_TIER_NORMALIZED,
           "premier point est clair, mais la conclusion");
    /* Three parts. */
    EXPECT(doc, 1, 1, "Le premier … clair … reste floue", ANCHOR_TIER_BYTES,
           "Le premier point est clair, mais la conclusion reste floue");
    /* Out of order: not found. */
    EXPECT_NONE(doc, 1, 1, "la conclusion … premier point", ANCHOR_NOT_FOUND);
    /* A part with a typo: fuzzy. */
    r = find(doc, 1, 1, "Le premier poinnt est […] la conclusion reste floue");
    CHECK_INT(r.status, ANCHOR_APPROXIMATE);
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK(r.flags & ANCHOR_F_ELISION);
    CHECK_STR(covered(doc, &r), "Le premier point est clair, mais la conclusion reste floue");
    /* The words of the document that hold "..." themselves: found whole. */
    r = find("Et puis... rien.", 1, 1, "Et puis... rien");
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK(!(r.flags & ANCHOR_F_ELISION));

    /* Too far apart: more than ANCHOR_ELISION_GAP bytes between the parts. */
    buf b = {0};
    buf_append_str(&b, "Le début de la phrase ");
    for (int i = 0; i < 300; i++)
        buf_append_str(&b, "blabla ");
    buf_append_str(&b, "et la fin.");
    anchor_doc *d = anchor_doc_new(b.data, b.len);
    const char *q = "Le début de la phrase … et la fin";
    CHECK_INT(anchor_find(d, 1, 1, q, strlen(q), &r), ANCHOR_OK);
    CHECK_INT(r.status, ANCHOR_UNANCHORED);
    anchor_doc_free(d);
    buf_free(&b);

    /* The tail's bytes come only too far away, the same words in capitals come near. */
    b = (buf){0};
    buf_append_str(&b, "Le début est là, puis LA FIN arrive. ");
    for (int i = 0; i < 400; i++)
        buf_append_str(&b, "blabla ");
    buf_append_str(&b, "et la fin.");
    d = anchor_doc_new(b.data, b.len);
    q = "Le début … la fin";
    CHECK_INT(anchor_find(d, 1, 1, q, strlen(q), &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_NORMALIZED);
    CHECK_INT(r.start, 0);
    CHECK_STR(covered(b.data, &r), "Le début est là, puis LA FIN");
    anchor_doc_free(d);
    buf_free(&b);

    /* The first part occurs many times; only the last one is followed by the rest. */
    b = (buf){0};
    for (int i = 0; i < 30; i++)
        buf_append_str(&b, "il dit que tout va bien. \n");
    size_t at = b.len;
    buf_append_str(&b, "il dit que rien ne va plus.\n");
    d = anchor_doc_new(b.data, b.len);
    q = "il dit que … ne va plus";
    CHECK_INT(anchor_find(d, 1, 1, q, strlen(q), &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, at);
    CHECK_INT(r.end, b.len - 2);
    anchor_doc_free(d);
    buf_free(&b);
}

/* ---- tier 3 --------------------------------------------------------------------------- */

static void test_fuzzy(void) {
    const char *doc = "Le narrateur ouvre lentement la porte du jardin et regarde la mer.\n";
    /* Two letters swapped (2 edits over 28 bytes: 92.9 %). */
    anchor_result r = find(doc, 1, 1, "ouvre lentemnet la porte du");
    CHECK_INT(r.status, ANCHOR_APPROXIMATE);
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_STR(covered(doc, &r), "ouvre lentement la porte du");
    CHECK_INT(r.distance, 2);
    CHECK(r.similarity > 0.92 && r.similarity < 0.93);
    CHECK(r.flags & ANCHOR_F_IN_PASSAGE);
    /* A short word dropped. */
    r = find(doc, 1, 1, "ouvre lentement porte du jardin");
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_STR(covered(doc, &r), "ouvre lentement la porte du jardin");
    /* A long word dropped: the best window starts inside "lentement"; its edge moves to the
     * nearer word boundary. */
    r = find(doc, 1, 1, "ouvre la porte du jardin et regarde");
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_STR(covered(doc, &r), "lentement la porte du jardin et regarde");
    /* A word changed at the end. */
    r = find(doc, 1, 1, "la porte du jardin et regarda");
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_STR(covered(doc, &r), "la porte du jardin et regarde");
    /* Too different: below 85 %. */
    EXPECT_NONE(doc, 1, 1, "il ouvre vite une porte au jardin", ANCHOR_NOT_FOUND);
    /* Under 12 code points: no fuzzy tier. */
    EXPECT_NONE(doc, 1, 1, "la portte d", ANCHOR_NOT_FOUND);
    r = find(doc, 1, 1, "la portte du j");
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    /* The window ends after the "j" of "jardin": the nearer word boundary is before it. */
    CHECK_STR(covered(doc, &r), "la porte du");
    /* An accent missing costs two edits (C3 A9 against 65); four of them are too many. */
    r = find("Il était une fois un été très chaud.", 1, 1, "il etait une fois un été très");
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_INT(r.distance, 2);
    CHECK_STR(covered("Il était une fois un été très chaud.", &r), "Il était une fois un été très");
    EXPECT_NONE("Il était une fois un été très chaud.", 1, 1, "il etait une fois un ete tres",
                ANCHOR_NOT_FOUND);
    /* Exactly at the threshold: 3 edits on 20 bytes is 85 %, 4 is not. */
    const char *d20 = "aaaa bbbb cccc dddd eeeee ffff";
    r = find(d20, 1, 1, "bbbb cccc dddd eeXXX");
    CHECK_INT(r.distance, 3);
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_STR(covered(d20, &r), "bbbb cccc dddd eeeee");
    CHECK(r.similarity > 0.8499 && r.similarity < 0.8501);
    EXPECT_NONE(d20, 1, 1, "bbbb cccc dddX eeXXX", ANCHOR_NOT_FOUND);
}

static void test_fuzzy_prefers_passage(void) {
    /* The same misquoted words match lines 1 and 4 equally well: the passage decides. */
    const char *doc = "elle marchait le long de la rivière\n"
                      "autre ligne\n"
                      "encore une\n"
                      "elle marchait le long de la rivière\n";
    anchor_result r = find(doc, 4, 4, "elle marchai le long de la riviere");
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_INT(r.start, strstr(doc + 1, "elle") - doc);
    r = find(doc, 1, 1, "elle marchai le long de la riviere");
    CHECK_INT(r.start, 0);
    r = find(doc, 2, 2, "elle marchai le long de la riviere");
    CHECK_INT(r.start, 0);
    /* A better match far away beats a worse one near: the distance comes first. */
    buf b = {0};
    buf_append_str(&b, "le chat noir dort sur le canapé rouge\n");
    for (int i = 0; i < 200; i++)
        buf_append_str(&b, "texte de remplissage sans rapport aucun\n");
    size_t at = b.len;
    buf_append_str(&b, "le chat noir dort sur le canapé rouxe\n");
    anchor_doc *d = anchor_doc_new(b.data, b.len);
    const char *q = "le chat noir dort sur le canapé rouxe";
    CHECK_INT(anchor_find(d, 1, 1, q, strlen(q), &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, at);
    q = "le chat noir dort sur le canapé rouze";
    CHECK_INT(anchor_find(d, 1, 1, q, strlen(q), &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_INT(r.start, 0); /* both at distance 1: the passage's */
    CHECK_INT(anchor_find(d, 202, 202, q, strlen(q), &r), ANCHOR_OK);
    CHECK_INT(r.start, at);
    anchor_doc_free(d);
    buf_free(&b);
}

static void test_fuzzy_long_quote(void) {
    /* A quote over 64 bytes uses several words of Myers' bit vectors. */
    buf b = {0};
    for (int i = 0; i < 50; i++)
        buf_append_str(&b, "Une ligne de remplissage pour faire du volume, sans plus.\n");
    size_t at = b.len;
    const char *sent = "Le vent soufflait sur la lande depuis des jours, et personne au village "
                       "ne se souvenait d'un hiver aussi long ni aussi froid que celui-là.";
    buf_append_str(&b, sent);
    buf_append_str(&b, "\n");
    for (int i = 0; i < 50; i++)
        buf_append_str(&b, "Une ligne de remplissage pour faire du volume, sans plus.\n");
    anchor_doc *d = anchor_doc_new(b.data, b.len);
    const char *q = "Le vent souflait sur la lande depuis des jours et personne au vilage ne se "
                    "souvenait d'un hiver aussi long ni si froid que celui-là";
    anchor_result r;
    CHECK_INT(anchor_find(d, 1, 1, q, strlen(q), &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_INT(r.start, at);
    CHECK_INT(r.end, at + strlen(sent) - 1);
    CHECK(r.similarity > 0.9);
    anchor_doc_free(d);
    buf_free(&b);
}

/* ---- tier 3 against a brute-force dynamic program ------------------------------------- */

static uint64_t rng_state = 0x5eedULL;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The smallest edit distance of q to any substring of t (free start and end in t). */
static size_t brute_distance(const char *t, size_t n, const char *q, size_t m) {
    size_t *col = malloc((m + 1) * sizeof *col), best = m;
    for (size_t i = 0; i <= m; i++)
        col[i] = i;
    for (size_t j = 0; j < n; j++) {
        size_t diag = col[0]; /* D[i-1][j-1] */
        col[0] = 0;
        for (size_t i = 1; i <= m; i++) {
            size_t up = col[i]; /* D[i][j-1] */
            size_t v = diag + (q[i - 1] != t[j]);
            if (up + 1 < v)
                v = up + 1;
            if (col[i - 1] + 1 < v)
                v = col[i - 1] + 1;
            diag = up;
            col[i] = v;
        }
        if (col[m] < best)
            best = col[m];
    }
    free(col);
    return best;
}

static void test_fuzzy_against_brute_force(void) {
    static const char alphabet[] = "abcd ";
    int checked = 0, found = 0;
    for (int iter = 0; iter < 400; iter++) {
        size_t n = 40 + (size_t)(rng() % (iter % 4 == 0 ? 6000 : 1500));
        char *doc = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            doc[i] = alphabet[rng() % 5];
        doc[n] = 0;
        /* A piece of the document, edited. */
        size_t m0 = 12 + (size_t)(rng() % (iter % 3 == 0 ? 220 : 60));
        if (m0 > n)
            m0 = n;
        size_t at = (size_t)(rng() % (n - m0 + 1));
        char q[600];
        size_t qn = 0, edits = (size_t)(rng() % (m0 / 4 + 1));
        for (size_t i = 0; i < m0; i++) {
            uint64_t r = rng() % (m0 + 1);
            if (r < edits) {
                switch (rng() % 3) {
                case 0:
                    q[qn++] = alphabet[rng() % 4]; /* substitution */
                    break;
                case 1:
                    break; /* deletion */
                default:
                    q[qn++] = doc[at + i];
                    q[qn++] = alphabet[rng() % 4]; /* insertion */
                }
            } else {
                q[qn++] = doc[at + i];
            }
        }
        /* What the matcher sees: the stripped, normalized quote and the normalized text. */
        size_t so, sl;
        anchor_strip_quote(q, qn, &so, &sl);
        char nq[600], *nd = malloc(n + 1);
        size_t nqn = anchor_normalize(q + so, sl, nq, NULL);
        size_t ndn = anchor_normalize(doc, n, nd, NULL);
        size_t units = nqn; /* ASCII */
        nq[nqn] = 0;
        nd[ndn] = 0;
        char raw[600];
        memcpy(raw, q + so, sl);
        raw[sl] = 0;
        if (units >= ANCHOR_FUZZY_MIN && !strstr(nd, nq) && !strstr(doc, raw)) {
            size_t want = brute_distance(nd, ndn, nq, nqn);
            anchor_doc *d = anchor_doc_new(doc, n);
            anchor_result r;
            CHECK_INT(anchor_find(d, 0, 0, q, qn, &r), ANCHOR_OK);
            if (100 * want <= 15 * nqn) {
                CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
                CHECK_INT(r.distance, want);
                CHECK(r.start < r.end && r.end <= n);
                found++;
            } else {
                CHECK_INT(r.status, ANCHOR_UNANCHORED);
            }
            if (check_test_failed) {
                fprintf(stderr, "  iteration %d: n=%zu m=%zu want %zu\n", iter, n, nqn, want);
                anchor_doc_free(d);
                free(doc);
                free(nd);
                return;
            }
            anchor_doc_free(d);
            checked++;
        }
        free(doc);
        free(nd);
    }
    CHECK(checked > 200);
    CHECK(found > 50);
}

/* ---- positions, bytes, limits --------------------------------------------------------- */

static void test_positions(void) {
    const char *doc = "ab\r\ncd\r\n\r\nété ça\nfin";
    anchor_doc *d = anchor_doc_new(doc, strlen(doc));
    long line, col;
    CHECK_INT(anchor_doc_position(d, 0, &line, &col), ANCHOR_OK);
    CHECK_INT(line, 0);
    CHECK_INT(col, 0);
    CHECK_INT(anchor_doc_position(d, 2, &line, &col), ANCHOR_OK); /* the CR */
    CHECK_INT(line, 0);
    CHECK_INT(col, 2);
    CHECK_INT(anchor_doc_position(d, 3, &line, &col), ANCHOR_OK); /* the LF */
    CHECK_INT(line, 0);
    CHECK_INT(col, 3);
    CHECK_INT(anchor_doc_position(d, 4, &line, &col), ANCHOR_OK); /* c */
    CHECK_INT(line, 1);
    CHECK_INT(col, 0);
    CHECK_INT(anchor_doc_position(d, 8, &line, &col), ANCHOR_OK); /* the empty line */
    CHECK_INT(line, 2);
    CHECK_INT(col, 0);
    anchor_result r;
    CHECK_INT(anchor_find(d, 4, 4, "ça", 3, &r), ANCHOR_OK);
    CHECK_INT(r.start, 16);
    CHECK_INT(anchor_doc_position(d, r.start, &line, &col), ANCHOR_OK);
    CHECK_INT(line, 3);
    CHECK_INT(col, 6); /* é t é space: 2 + 1 + 2 + 1 bytes */
    CHECK_INT(anchor_doc_position(d, r.end, &line, &col), ANCHOR_OK);
    CHECK_INT(col, 9);
    CHECK_INT(anchor_doc_position(d, strlen(doc), &line, &col), ANCHOR_OK);
    CHECK_INT(line, 4);
    CHECK_INT(col, 3);
    CHECK_INT(anchor_doc_position(d, strlen(doc) + 1, &line, &col), ANCHOR_EINVAL);
    CHECK_INT(line, 4);
    CHECK_INT(col, 3);
    CHECK_INT(anchor_doc_position(d, 1, NULL, NULL), ANCHOR_OK);
    CHECK_INT(anchor_doc_lines(d), 5);
    CHECK_INT(anchor_doc_length(d), strlen(doc));
    anchor_doc_free(d);

    d = anchor_doc_new("a\nb\n", 4);
    CHECK_INT(anchor_doc_lines(d), 2);
    CHECK_INT(anchor_doc_position(d, 4, &line, &col), ANCHOR_OK);
    CHECK_INT(line, 2);
    CHECK_INT(col, 0);
    anchor_doc_free(d);
    d = anchor_doc_new(NULL, 0);
    CHECK(d != NULL);
    CHECK_INT(anchor_doc_lines(d), 0);
    CHECK_INT(anchor_doc_position(d, 0, &line, &col), ANCHOR_OK);
    CHECK_INT(line, 0);
    CHECK_INT(anchor_find(d, 1, 1, "x", 1, &r), ANCHOR_OK);
    CHECK_INT(r.status, ANCHOR_UNANCHORED);
    anchor_doc_free(d);
}

static void test_passage_lines(void) {
    const char *doc = "un mot\ndeux mot\ntrois mot\n";
    anchor_result r = find(doc, 3, 99, "mot");
    CHECK_INT(r.start, strstr(doc, "trois") - doc + 6); /* cut at the last line */
    r = find(doc, 99, 99, "mot");                       /* past the end: no passage */
    CHECK_INT(r.start, 3);
    r = find(doc, 2, 1, "mot"); /* last < first: line 2 */
    CHECK_INT(r.start, strstr(doc, "deux") - doc + 5);
    r = find(doc, -4, 2, "mot");
    CHECK_INT(r.start, 3);
    CHECK(!(r.flags & ANCHOR_F_IN_PASSAGE));
}

static void test_invalid_utf8(void) {
    const char doc[] = "ab\xFF"
                       "cd \xC3\xA9t\xC3 fin \xE2\x82 x";
    anchor_doc *d = anchor_doc_new(doc, sizeof doc - 1);
    anchor_result r;
    CHECK_INT(anchor_find(d, 1, 1,
                          "b\xFF"
                          "cd",
                          4, &r),
              ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, 1);
    CHECK_INT(r.end, 5);
    /* A continuation byte alone never matches inside é. */
    CHECK_INT(anchor_find(d, 1, 1, "\xA9t\xC3", 3, &r), ANCHOR_OK);
    CHECK_INT(r.status, ANCHOR_UNANCHORED);
    CHECK_INT(anchor_find(d, 1, 1, "\xC3 FIN \xE2\x82", 8, &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_NORMALIZED);
    CHECK_INT(r.start, 9);
    CHECK_INT(r.end, 17);
    anchor_doc_free(d);
    /* The quote's bytes occur only across a character (its last D9 begins D9 BB, U+067B, in
     * the document): tiers 1 and 2 refuse, tier 3 takes it at distance 0, whole character. */
    const char doc2[] = "reste floue\xD9\xD9\xBB et";
    d = anchor_doc_new(doc2, sizeof doc2 - 1);
    CHECK_INT(anchor_find(d, 1, 1, "reste floue\xD9\xD9", 13, &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_FUZZY);
    CHECK_INT(r.distance, 0);
    CHECK(r.similarity == 1.0);
    CHECK_INT(r.start, 0);
    CHECK_INT(r.end, 14);
    anchor_doc_free(d);
}

static void test_hostile_repetition(void) {
    /* "aaaa…a" and a quote "aaa…ab": quadratic for a naive search; must stay fast (the finder
     * switches to KMP) and right. */
    size_t n = 200000, m = 2000;
    char *doc = malloc(n + 2);
    memset(doc, 'a', n);
    doc[n] = 'b';
    doc[n + 1] = 0;
    char *q = malloc(m + 1);
    memset(q, 'a', m - 1);
    q[m - 1] = 'b';
    q[m] = 0;
    anchor_doc *d = anchor_doc_new(doc, n + 1);
    anchor_result r;
    CHECK_INT(anchor_find(d, 0, 0, q, m, &r), ANCHOR_OK);
    CHECK_INT(r.tier, ANCHOR_TIER_BYTES);
    CHECK_INT(r.start, n + 1 - m);
    CHECK_INT(r.end, n + 1);
    q[m - 1] = 'c';
    CHECK_INT(anchor_find(d, 1, 1, q, m, &r), ANCHOR_OK);
    CHECK_INT(r.status, ANCHOR_UNANCHORED);
    anchor_doc_free(d);
    free(doc);
    free(q);
}

static void test_normalize_api(void) {
    const char *s = "  L’Été  —\n« Oui »\xC2\xA0!  ";
    char out[64];
    size_t map[64];
    size_t n = anchor_normalize(s, strlen(s), out, map);
    CHECK_MEM(out, n, "l'été - \"oui\"!", 16);
    CHECK_INT(map[0], 2);  /* L */
    CHECK_INT(map[1], 3);  /* ’ */
    CHECK_INT(map[2], 6);  /* É */
    CHECK_INT(map[3], 6);  /* both bytes of é */
    CHECK_INT(map[7], 11); /* the space: the first of its run */
    CHECK_INT(anchor_normalize(NULL, 0, out, NULL), 0);
    CHECK_STR(anchor_status_name(ANCHOR_EXACT), "exact");
    CHECK_STR(anchor_status_name(ANCHOR_APPROXIMATE), "approximate");
    CHECK_STR(anchor_status_name(ANCHOR_UNANCHORED), "unanchored");
    CHECK_STR(anchor_tier_name(ANCHOR_TIER_NORMALIZED), "normalized");
    CHECK_STR(anchor_tier_name(ANCHOR_TIER_NONE), "none");
    CHECK_STR(anchor_reason_name(ANCHOR_AMBIGUOUS), "ambiguous");
}

static void test_api_edges(void) {
    anchor_result r;
    anchor_doc *d = anchor_doc_new("abc", 3);
    CHECK_INT(anchor_find(NULL, 0, 0, "a", 1, &r), ANCHOR_EINVAL);
    CHECK_INT(r.status, ANCHOR_UNANCHORED);
    CHECK_INT(anchor_find(d, 0, 0, "a", 1, NULL), ANCHOR_EINVAL);
    CHECK_INT(anchor_find(d, 0, 0, NULL, 1, &r), ANCHOR_EINVAL);
    CHECK_INT(anchor_find(d, 0, 0, NULL, 0, &r), ANCHOR_OK);
    CHECK_INT(r.reason, ANCHOR_EMPTY);
    CHECK(anchor_doc_new(NULL, 5) == NULL);
    CHECK_INT(anchor_doc_position(NULL, 0, NULL, NULL), ANCHOR_EINVAL);
    anchor_doc_free(d);
    anchor_doc_free(NULL);
}

int main(void) {
    RUN(test_bytes);
    RUN(test_stripping);
    RUN(test_hard_wrapped);
    RUN(test_french_typography);
    RUN(test_emphasis_in_document);
    RUN(test_case);
    RUN(test_repeated_words);
    RUN(test_far_occurrence);
    RUN(test_invented);
    RUN(test_short_quotes);
    RUN(test_elision);
    RUN(test_fuzzy);
    RUN(test_fuzzy_prefers_passage);
    RUN(test_fuzzy_long_quote);
    RUN(test_fuzzy_against_brute_force);
    RUN(test_positions);
    RUN(test_passage_lines);
    RUN(test_invalid_utf8);
    RUN(test_hostile_repetition);
    RUN(test_normalize_api);
    RUN(test_api_edges);
    return check_report("anchor");
}
