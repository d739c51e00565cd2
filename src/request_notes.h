/* request_notes: a critique's answer cut into margin notes while it streams.
 *
 * request.c owns one per critique asked with notes.  The answer's text goes through the notes
 * parser (ami/notes.h); as soon as a note's quoted words are complete they are found in the
 * document as it was sent (ami/anchor.h, the index built on the first note), the note is
 * reported (REQUEST_NOTE_QUOTE) and written to the ledger (ami/ledger_notes.h); its comment
 * follows when complete (REQUEST_NOTE_DONE).  General remarks and the cap are reported too,
 * for the CLI.  Internal to the engine (src/).
 */
#ifndef AMI_REQUEST_NOTES_H
#define AMI_REQUEST_NOTES_H

#include "ami/ledger.h"
#include "ami/request.h"

#include <stddef.h>

typedef struct rnotes rnotes;

/* What the notes are about.  Everything is copied by rnotes_new(). */
typedef struct rnotes_info {
    const char *request_uid; /* notes are named "<request_uid>.<seq>" */
    const char *document;    /* the document's absolute path (NULL: notes are not kept) */
    const char *thread;
    const char *text; /* the document as sent */
    size_t text_len;
    long passage_start, passage_end; /* 1-based lines asked about */
} rnotes_info;

typedef void (*rnotes_emit_fn)(void *ud, const request_note *note);

/// A new note cutter; emit is called for every note event, l (may be NULL) keeps them.  NULL
/// when out of memory.  Free with rnotes_free().
rnotes *rnotes_new(const rnotes_info *info, ledger *l, rnotes_emit_fn emit, void *ud);

/// The answer's next piece of text.
void rnotes_feed(rnotes *n, const char *text, size_t len);

/// The model that answered, once known (kept with the notes).  Copied.
void rnotes_set_model(rnotes *n, const char *model);

/// The answer ended (whatever way): the last note is reported with what it has.
void rnotes_finish(rnotes *n);

/// Counts: notes reported, and how many of them were found nowhere.
void rnotes_counts(const rnotes *n, size_t *notes, size_t *unanchored);

void rnotes_free(rnotes *n);

#endif
