/* anchor: find the words a note quotes in the document as it was sent.
 *
 * A model's note quotes a few words of the writer's document ("> ça finit par faire").  This
 * module finds those words and returns their byte range in the document, so the host can put
 * a diagnostic and an extmark on exactly them.  It is pure: bytes in, a range and a tier out;
 * no I/O, no global state.  Build one anchor_doc per document as sent (the writer's buffer,
 * not the prompt text, which may be shortened), then call anchor_find() once per note.
 *
 * The quote is first stripped (anchor_strip_quote()): leading and trailing white space,
 * quotation marks and guillemets, emphasis and code markers (* _ `) and ellipses (… ...
 * […] (…)) go.  Then the tiers, in this order:
 *
 *   1. bytes       the stripped quote's exact bytes;
 *   2. normalized  both texts normalized (anchor_normalize()): every run of white space is
 *                  one space (newlines and indentation of hard-wrapped lines, tabs, NBSP
 *                  U+00A0, NNBSP U+202F, U+2000..U+200A, …); white space after « ‹ and
 *                  before » › : ; ! ? is dropped (French typography, with or without NBSP);
 *                  ’ ‘ ʼ ‛ ‚ ′ are ', “ ” „ ‟ « » ‹ › ″ are ", ‐ ‑ ‒ – — ― − are -, … is ...;
 *                  * _ ` and the invisible U+00AD U+200B..U+200D U+2060 U+FEFF are ignored;
 *                  letters are case-folded: ASCII, Latin-1 (À..Þ) and Latin Extended-A
 *                  (U+0100..U+017F, Ÿ → ÿ), which covers French, German, Spanish, Italian
 *                  and Portuguese text.  No accent is removed: "é" never equals "e" here;
 *   3. fuzzy       for a normalized quote of 12 code points or more (and at most
 *                  ANCHOR_FUZZY_MAX bytes): the window of the normalized document with the
 *                  smallest edit distance to it, kept when its similarity is at least 85 %.
 *
 * Similarity (tier 3): with q the normalized quote (m bytes) and d the smallest Levenshtein
 * distance (insertions, deletions and substitutions of one byte, each costing 1) between q and
 * any substring of the normalized document, similarity = 1 - d / m, kept when 100 d <= 15 m.
 * Bytes, not code points: an accent error inside a two-byte letter costs 1 (é/è) or 2 (é/e).
 * It is computed with Myers' bit-parallel algorithm (one 64-bit word per 64 bytes of quote),
 * in O(document × ceil(m / 64)) time, first over the passage and ANCHOR_SURROUNDINGS bytes on
 * each side, then, when nothing there is close enough, over the whole document.  The best
 * window's start is the one that gives distance d with a length nearest to m; an edge that
 * falls inside a word then moves to the nearer end of that word (by 24 bytes at most), so a
 * fuzzy range covers whole words (d and the similarity are those of the window before).
 * d may be 0: with invalid UTF-8, the quote's bytes can occur only across a character of the
 * document (a quote ending in a stray D9 byte, a document with D9 BB there), which tiers 1
 * and 2 refuse; tier 3 then covers the whole character.
 *
 * Which occurrence: the first one that overlaps the passage; when none does, the one nearest
 * to it (in bytes between the occurrence and the passage; on a tie, the one before it).  In
 * the passage, tier 1 is tried before tier 2; outside it, the nearer of the tier 1 and tier 2
 * occurrences wins (both are the same words).  A fuzzy match is tried only when no exact one
 * exists anywhere; among equally close windows, the one in or nearest to the passage wins.
 * Without a passage, the first occurrence in the document.
 *
 * Short quotes: a stripped quote of fewer than 3 code points ("il", "—") anchors only when it
 * occurs exactly once in the passage (tier 1, else tier 2; the whole document when there is no
 * passage), never by distance.
 *
 * Elision: a quote with an elision inside ("le premier […] la fin", "a ... b", "a … b",
 * "(…)") that is not found whole is cut at each elision into parts (at most ANCHOR_MAX_PARTS;
 * the last part takes the rest), which must be found in order, each starting at most
 * ANCHOR_ELISION_GAP bytes of the document after the end of the one before.  All exact
 * occurrences of the first part are tried (up to ANCHOR_ELISION_HEADS of them), then, if none
 * leads to a match, the first and last parts alone with fuzzy matching allowed (the first
 * part found as a quote of its own and the last in the window after it, or the other way
 * round).  The range runs from the start of the first part to the end of the last.
 *
 * Ranges are byte offsets into the document (start inclusive, end exclusive) on UTF-8
 * boundaries, and cover the matched words only: not the guillemets, spaces or emphasis
 * markers around them.  Invalid UTF-8, in the document or the quote, is matched as bytes:
 * each byte that does not begin a well-formed sequence (Unicode Table 3-7) is a unit of its
 * own, and a range never cuts a well-formed sequence.
 *
 * Cost: anchor_doc_new() is linear (one pass, about 6 bytes of memory per document byte).
 * Tiers 1 and 2 are linear in the part of the document they look at (a rare byte of the
 * quote is searched with memchr, with a switch to Knuth–Morris–Pratt when that does badly)
 * and start with the passage, then widen around it (4 KiB, 8 KiB, …): a quote of the passage
 * costs microseconds, one found nowhere costs two scans of the document plus Myers' scan.
 *
 * Thread safety: an anchor_doc is read-only once built; anchor_find() may run on the same
 * anchor_doc from several threads at once (it allocates its scratch memory per call).
 */
#ifndef AMI_ANCHOR_H
#define AMI_ANCHOR_H

#include <stddef.h>

/* Return codes. */
#define ANCHOR_OK     0
#define ANCHOR_ENOMEM (-1) /* out of memory: the result says unanchored */
#define ANCHOR_EINVAL (-2) /* a NULL argument where one is required, or an offset past the end */

/* Limits. */
#define ANCHOR_DOC_MAX       ((size_t)1 << 30) /* anchor_doc_new() refuses larger documents */
#define ANCHOR_FUZZY_MIN     12                /* code points of normalized quote for tier 3 */
#define ANCHOR_FUZZY_MAX     1024              /* bytes of normalized quote for tier 3 */
#define ANCHOR_SIMILARITY    0.85              /* the least similarity tier 3 keeps */
#define ANCHOR_SHORT         3    /* quotes of fewer code points must be unique in the passage */
#define ANCHOR_SURROUNDINGS  2048 /* bytes searched on each side of the passage before all */
#define ANCHOR_ELISION_GAP   2048 /* most document bytes between two parts of an elided quote */
#define ANCHOR_MAX_PARTS     8    /* parts of an elided quote */
#define ANCHOR_ELISION_HEADS 1024 /* occurrences of the first part tried, per tier */

typedef enum anchor_status {
    ANCHOR_UNANCHORED = 0, /* found nowhere (or too short and not unique): never attached */
    ANCHOR_EXACT,          /* the same words: tier bytes or normalized */
    ANCHOR_APPROXIMATE     /* tier fuzzy */
} anchor_status;

typedef enum anchor_tier {
    ANCHOR_TIER_NONE = 0,
    ANCHOR_TIER_BYTES,      /* tier 1 */
    ANCHOR_TIER_NORMALIZED, /* tier 2 */
    ANCHOR_TIER_FUZZY       /* tier 3 */
} anchor_tier;

/* Why a quote is unanchored. */
typedef enum anchor_reason {
    ANCHOR_FOUND = 0,
    ANCHOR_EMPTY,     /* nothing left once stripped and normalized */
    ANCHOR_AMBIGUOUS, /* a short quote that is not unique in the passage (or not in it) */
    ANCHOR_NOT_FOUND  /* no occurrence, and no window similar enough */
} anchor_reason;

/* anchor_result.flags */
#define ANCHOR_F_IN_PASSAGE 1u /* the range overlaps the passage */
#define ANCHOR_F_REPEATED                                                                          \
    2u                        /* the search met another occurrence as good as the one kept         \
                                 (a hint, not a count: the search stops early) */
#define ANCHOR_F_ELISION  4u  /* matched as parts around an elision */
#define ANCHOR_F_SHORT    8u  /* the stripped quote has fewer than ANCHOR_SHORT code points */
#define ANCHOR_F_STRIPPED 16u /* quotation marks, emphasis, ellipses or spaces were stripped */

typedef struct anchor_result {
    anchor_status status;
    anchor_tier tier;
    anchor_reason reason;
    size_t start, end; /* [start, end) in the document; both 0 when unanchored */
    double similarity; /* 1 for tiers 1 and 2, 0.85..1 for tier 3, 0 when unanchored */
    size_t distance;   /* tier 3: the edit distance d (bytes); 0 otherwise */
    unsigned flags;    /* ANCHOR_F_* */
} anchor_result;

typedef struct anchor_doc anchor_doc;

/// Builds what matching needs for doc[0..len): a copy of the document (the caller's doc may be
/// freed at once), its normalized text with a map back to original offsets, line starts and
/// byte statistics.  doc may be NULL when len is 0.  Returns NULL when out of memory or when
/// len > ANCHOR_DOC_MAX.  The caller owns the result and frees it with anchor_doc_free().
anchor_doc *anchor_doc_new(const char *doc, size_t len);

/// Frees d and everything it holds.  NULL is allowed.
void anchor_doc_free(anchor_doc *d);

/// Finds quote[0..qlen) in the document.  The passage is the lines first_line..last_line
/// (1-based, inclusive, as in the prompt: lines end at LF); 0, 0 means no passage.  A passage
/// that runs past the last line is cut there; one that starts past it, or with first_line < 1,
/// counts as no passage; last_line < first_line means the single line first_line.  quote may
/// hold any bytes (it may be NULL when qlen is 0).  Fills *out (always, even on failure).
/// Returns ANCHOR_OK (whether or not the words were found: see out->status), ANCHOR_EINVAL
/// when d or out is NULL, or ANCHOR_ENOMEM (out then says unanchored).  Keeps no pointer.
int anchor_find(const anchor_doc *d, long first_line, long last_line, const char *quote,
                size_t qlen, anchor_result *out);

/// The position of byte offset off: *line 0-based (lines end at LF, so a CR before an LF is
/// the last byte of its line), *col the byte column in that line.  off == length is allowed
/// (the position just past the end).  Returns ANCHOR_OK, or ANCHOR_EINVAL when off is past the
/// end (then *line and *col are those of the end).  Either out-pointer may be NULL.
int anchor_doc_position(const anchor_doc *d, size_t off, long *line, long *col);

/// The document's length in bytes, and its number of lines counted as the prompt counts them
/// (a last line without LF counts; "" has 0 lines).
size_t anchor_doc_length(const anchor_doc *d);
long anchor_doc_lines(const anchor_doc *d);

/// The stripped quote: sets *off and *len to the part of quote[0..qlen) that is matched once
/// leading and trailing white space, quotation marks, guillemets, emphasis and code markers and
/// ellipses are removed (repeatedly, so `*« … »*` goes).  The part never cuts a UTF-8
/// sequence.  Returns the number of code points it holds (invalid bytes count one each).
size_t anchor_strip_quote(const char *quote, size_t qlen, size_t *off, size_t *len);

/// Normalizes s[0..n) as tier 2 does, into out (room for n bytes: the result is never longer).
/// map, when not NULL (room for n entries), receives for each output byte the offset in s of
/// the character it comes from (a run of white space: its first character).  Returns the
/// output length.  Leading and trailing white space is dropped.
size_t anchor_normalize(const char *s, size_t n, char *out, size_t *map);

/// Names for logs and the CLI: "exact", "approximate", "unanchored"; "bytes", "normalized",
/// "fuzzy", "none"; "found", "empty", "ambiguous", "not found".  Never NULL.
const char *anchor_status_name(anchor_status s);
const char *anchor_tier_name(anchor_tier t);
const char *anchor_reason_name(anchor_reason r);

#endif
