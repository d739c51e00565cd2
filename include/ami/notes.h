/* notes: cut a critique answer into notes while it streams.
 *
 * ami asks the model (notes_prompt_rules()) to write each remark as
 *
 *     ## Note: clarity
 *     > ça finit par faire
 *     The comment, in the document's language.
 *
 * The parser is fed the answer's text in whatever pieces it arrives, and calls back:
 *   NOTES_QUOTE    as soon as a note's quoted words are complete (the blockquote ended: the
 *                  next line has started and is not a `>` line, or is blank), with the kind
 *                  and the quote, so the host can anchor the note at once;
 *   NOTES_NOTE     when the note's comment is complete (the next note heading, another
 *                  heading, a thematic break, or the end), with the same seq, kind and quote
 *                  and the comment;
 *   NOTES_GENERAL  for a general remark: text outside notes (before the first, between two
 *                  after a break, after a non-note heading), and notes without readable
 *                  words, which are kept whole (heading fields, body) but not anchored;
 *   NOTES_OVER_CAP once, at the first note heading past NOTES_MAX_NOTES.
 * Nothing the model wrote is lost: every byte of the answer is inside the [start, end) of
 * exactly one NOTE or GENERAL event, except blank lines and thematic breaks between sections
 * and everything from the OVER_CAP event's start on (the host holds the text: the offsets
 * say where).  Texts past NOTES_TEXT_MAX are cut (NOTES_F_TRUNCATED), their offsets are not.
 * The events do not depend on how the answer was split: fed whole or byte by byte, the same.
 *
 * What is read as what (all of it what real models write):
 *   Note heading   an ATX heading of any level (`#` to `######`, up to 3 spaces before), or
 *                  a line that starts with bold (`**…**` or `__…__`), whose text starts with
 *                  a note word: Note, Remarque, Commentaire, Nota, Anmerkung, Bemerkung,
 *                  Kommentar, Hinweis, Observación, Comentario, Osservazione, Commento,
 *                  Observation, Remark, Comment, Opmerking (any case; "Notes" or "Noté" are
 *                  not).  Before the word, a number may come ("4. Note", "4) Note"); after
 *                  it, a number ("Note 4", "Note #4"), a kind in parentheses or brackets, a
 *                  separator (: — – - . ) |, with any spaces, NBSP or NNBSP around), then the
 *                  kind, then optionally a separator and a title.  `## Note : clarté`,
 *                  `### Note 4: question`, `## 4. Note : clarté`, `**Note 2 — style**`,
 *                  `**Note:** argument`, `## Note (style): …` are all headings.
 *   Kind           the canonical names, or one of many in French, German, Spanish, Italian,
 *                  Portuguese (clarté, ambiguïté, argumentation, éloge, point fort, Stil,
 *                  pregunta, chiarezza…; see notes_kind_parse()), any case, accents or not,
 *                  in emphasis or not.  An unknown word is no kind: NOTES_KIND_NONE, and the
 *                  words go to the title.  No kind at all is fine.
 *   Quote          the first non-blank line after the heading: a blockquote line (`>`, up to
 *                  3 spaces before; `> >` nested is the same) and the `>` lines that follow,
 *                  joined with one space.  Quotation marks, guillemets (with NBSP or NNBSP
 *                  inside) and emphasis around it are removed: "…" “…” «…» »…« „…“ „…”
 *                  ‘…’ '…' ‹…› `*« … »*` `**"…"**`.
 * Decided here:
 *   - A first line that is only a quoted string (`« les mots »`, `"les mots"`, in emphasis
 *     or not), not a blockquote, is the quote (NOTES_F_QUOTE_LINE): models do it often, and
 *     a line that is nothing but a quotation is no comment.  A line with more than the
 *     quoted string ("« les mots » is vague") is the comment, and the note has no words.
 *   - A heading whose title is a quoted string (`## Note: clarity — « les mots »`) takes its
 *     quote from there (NOTES_F_QUOTE_HEADING); the QUOTE event comes at the end of that
 *     line, and what follows, a blockquote included, is the comment.
 *   - A thematic break (`---`, `***`, `___`, `- - -`, …, up to 3 spaces before) ends the
 *     note or general remark it is in and is part of neither: the text after it, up to the
 *     next note heading, is a general remark.  So "--- Overall, …" after the last note is
 *     general, not the last note's comment.  (A `---` under a line of text, a setext
 *     heading in CommonMark, is read as a break all the same.)
 *   - A fenced code block (``` or ~~~, 3 or more, up to 3 spaces before; closed by the same
 *     character at least as many times) is text: a heading, break or `>` inside is not
 *     read.  A fence never closed runs to the end of the answer, as in CommonMark.
 *   - A note whose first non-blank line is neither a blockquote nor a quoted string, whose
 *     quote is empty once cleaned, or longer than NOTES_QUOTE_MAX bytes, has no readable
 *     words: it is reported as a GENERAL event with NOTES_F_FROM_NOTE, its kind and title,
 *     and its whole body (the `>` lines included) as the text.  It has no seq number.
 *   - A heading that is not a note heading (`## Summary`) ends the note before it and
 *     starts a general remark that includes the heading line.
 *   - Lines end at LF; a CR before it is dropped (CRLF answers); a lone CR is a byte.
 *     Texts handed out use LF.  The answer is not decoded: invalid UTF-8 passes as bytes,
 *     but text is only ever cut on code point boundaries.
 *
 * Limits (the parser's memory stays under 300 KiB whatever it is fed: the line and the text
 * buffers can each reach 128 KiB, the rest is small):
 *   NOTES_MAX_NOTES  note headings per answer; the next one is reported once (OVER_CAP) and
 *                    nothing after it is parsed (note headings are still counted).
 *   NOTES_LINE_MAX   bytes kept of one line: the rest of a longer line is skipped (its
 *                    bytes still count in the offsets; the line's text is cut, the section's
 *                    event says NOTES_F_TRUNCATED).  A 10 MB line without a newline costs
 *                    NOTES_LINE_MAX bytes of memory, not 10 MB.
 *   NOTES_TEXT_MAX   bytes of one comment or general remark handed out.
 *   NOTES_QUOTE_MAX  bytes of one quote (joined); a longer one is not a quote (see above).
 *   NOTES_TITLE_MAX  bytes of a heading's title; NOTES_KIND_TEXT_MAX of the kind as written.
 *
 * Ownership: every pointer in an event is borrowed from the parser, valid only during the
 * callback, and NUL-terminated at its length.
 *
 * How the host uses it with ami/anchor.h, for one critique answer:
 *
 *     anchor_doc *d = anchor_doc_new(doc, doc_len);     the document as sent, once
 *     notes_parser *p = notes_parser_new(on_event, ctx);
 *     for each text delta of the answer:  notes_parser_feed(p, delta, len);
 *     at the end of the answer (done, cut or cancelled):  notes_parser_finish(p);
 *     notes_parser_free(p); anchor_doc_free(d);
 *
 *     on_event:  QUOTE    anchor_find(d, passage_first, passage_last, ev->quote,
 *                                     ev->quote_len, &r); unless r.status is
 *                         ANCHOR_UNANCHORED, anchor_doc_position() of r.start and r.end give
 *                         the extmark's range; remember it under ev->seq
 *                NOTE     the comment of note ev->seq (show it on that range)
 *                GENERAL  a remark with no place in the document
 *                OVER_CAP tell the writer the rest of the answer was not read as notes
 */
#ifndef AMI_NOTES_H
#define AMI_NOTES_H

#include <stddef.h>

/* Return codes. */
#define NOTES_OK      0
#define NOTES_STOPPED 1    /* a callback returned non-zero (final) */
#define NOTES_ENOMEM  (-1) /* out of memory (final) */
#define NOTES_EBUSY   (-3) /* feed or finish called from one of the parser's callbacks */
#define NOTES_EDONE   (-4) /* feed or finish after finish */

/* Limits: see above. */
#define NOTES_MAX_NOTES     200
#define NOTES_LINE_MAX      ((size_t)64 * 1024)
#define NOTES_TEXT_MAX      ((size_t)64 * 1024)
#define NOTES_QUOTE_MAX     ((size_t)2048)
#define NOTES_TITLE_MAX     ((size_t)512)
#define NOTES_KIND_TEXT_MAX ((size_t)64)

typedef enum notes_kind {
    NOTES_KIND_NONE = 0, /* no kind, or a word that is none of these */
    NOTES_KIND_CLARITY,
    NOTES_KIND_AMBIGUITY,
    NOTES_KIND_QUESTION,
    NOTES_KIND_ARGUMENT,
    NOTES_KIND_STRUCTURE,
    NOTES_KIND_STYLE,
    NOTES_KIND_PRAISE
} notes_kind;

typedef enum notes_event_type {
    NOTES_QUOTE = 1, /* a note's words are complete: seq, kind, quote */
    NOTES_NOTE,      /* the note is complete: seq, kind, quote, text (the comment) */
    NOTES_GENERAL,   /* a general remark: text; with NOTES_F_FROM_NOTE, kind and title too */
    NOTES_OVER_CAP   /* once: seq is NOTES_MAX_NOTES, start where parsing stopped */
} notes_event_type;

/* notes_event.flags */
#define NOTES_F_QUOTE_LINE     1u  /* the quote was a quoted-string line, not a blockquote */
#define NOTES_F_QUOTE_HEADING  2u  /* the quote was on the heading line */
#define NOTES_F_FROM_NOTE      4u  /* GENERAL: a note heading without readable words */
#define NOTES_F_QUOTE_TOO_LONG 8u  /* GENERAL from a note: its quote passed NOTES_QUOTE_MAX */
#define NOTES_F_TRUNCATED      16u /* text or title cut at its limit, or a line at its limit */
#define NOTES_F_UNCLOSED_FENCE 32u /* the section ends inside a code fence (at the end) */

typedef struct notes_event {
    notes_event_type type;
    size_t seq;            /* QUOTE, NOTE: the note's number 0, 1, … (ties the two events);
                              GENERAL: the general remark's number 0, 1, …; OVER_CAP: the cap */
    notes_kind kind;       /* NOTES_KIND_NONE when none */
    const char *kind_text; /* the kind as written ("clarté"), "" when none */
    size_t kind_text_len;
    const char *title; /* the rest of the heading ("ambiguous referent"), "" when none */
    size_t title_len;
    const char *quote; /* QUOTE, NOTE: the words, cleaned (see above); "" otherwise */
    size_t quote_len;
    const char *text; /* NOTE: the comment; GENERAL: the remark; trimmed, Markdown kept,
                         LF line ends; "" otherwise (and for QUOTE) */
    size_t text_len;
    size_t start, end; /* byte offsets in the answer: the section, from its first line to
                          the start of the line that ended it (or the answer's end).
                          QUOTE: end is where the quote's lines end */
    size_t quote_start, quote_end; /* QUOTE, NOTE: the lines the quote was read from */
    unsigned flags;                /* NOTES_F_* */
} notes_event;

typedef struct notes_parser notes_parser;

/// Called for each event, in answer order.  Return 0 to go on; non-zero stops the parser
/// (notes_parser_feed() then returns NOTES_STOPPED, and so does every later call).  The
/// callback must not feed, finish or free the parser.
typedef int (*notes_event_fn)(void *ud, const notes_event *ev);

/// Returns a parser that calls on_event (not NULL) with ud, or NULL when out of memory (or
/// on_event is NULL).  The caller frees it with notes_parser_free().
notes_parser *notes_parser_new(notes_event_fn on_event, void *ud);

/// Parses len more bytes of the answer (text may be NULL when len is 0), calling back for
/// everything they complete before returning.  Keeps no pointer to text.  Returns NOTES_OK,
/// NOTES_STOPPED, NOTES_ENOMEM (final), NOTES_EBUSY (from a callback: nothing done) or
/// NOTES_EDONE (after finish: nothing done).
int notes_parser_feed(notes_parser *p, const char *text, size_t len);

/// Ends the answer: an unterminated last line is read as a line, and the open note or
/// general remark is reported.  Afterwards feed and finish return NOTES_EDONE.  Returns as
/// notes_parser_feed() does (a stopped or failed parser returns its code and reports
/// nothing).
int notes_parser_finish(notes_parser *p);

/// Frees the parser.  NULL is allowed.
void notes_parser_free(notes_parser *p);

typedef struct notes_stats {
    size_t notes;     /* notes with words (seq numbers given) */
    size_t general;   /* GENERAL events */
    size_t headings;  /* note headings read, the dropped ones included */
    size_t dropped;   /* note headings past the cap */
    size_t bytes;     /* bytes read (all that was fed, unless a callback stopped it) */
    size_t truncated; /* lines longer than NOTES_LINE_MAX */
} notes_stats;

/// Counts so far.
void notes_parser_stats(const notes_parser *p, notes_stats *st);

/// "clarity", "ambiguity", "question", "argument", "structure", "style", "praise", or
/// "note" for NOTES_KIND_NONE.  Never NULL.
const char *notes_kind_name(notes_kind k);

/// The kind a word names: the canonical English names and their French, German, Spanish,
/// Italian and Portuguese equivalents (clarté, ambiguïté, argumentation, structure, style,
/// éloge, point fort, Klarheit, pregunta…), any case, with or without accents, surrounding
/// spaces, emphasis and brackets ignored.  NOTES_KIND_NONE when it names none.
notes_kind notes_kind_parse(const char *word, size_t len);

/// The instructions for the system prompt that ask for this format (English, static).
const char *notes_prompt_rules(void);

#endif
