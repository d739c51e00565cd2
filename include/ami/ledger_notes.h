/* ledger_notes: the margin notes kept in the ledger (table `notes`, doc/LEDGER.md).
 *
 * A note is a model's remark anchored on the writer's words.  It is written when its quoted
 * words are complete (while the answer still streams), its comment is added when that is
 * complete, its state changes as the writer edits or dismisses it, and it is read back when
 * the document is opened again (re-anchored by its words) and when the next critique of the
 * document is asked (the dismissed ones go along: "do not repeat them").
 *
 * Every operation runs on the ledger's connection through ledger_exec(), in queue order, so a
 * state change asked for after a note was added always finds it.  With ledger.store_text =
 * false nothing of a note is stored (its words and comment are the writer's and the model's
 * texts) and reads find nothing.
 *
 * Beside the ledger, PATH.notes (PATH = the ledger's file) lists the documents that have notes
 * not dismissed, one absolute path per line: Neovim reads it when a file is opened, to know
 * whether to ask the engine for its notes without starting the engine for every file.  It is
 * rewritten (atomically) after each change, mode 0600.
 *
 * Callbacks follow ledger.h's contract: called once, later, on the loop thread, when the
 * function returned 0; never when it returned a negative code.
 */
#ifndef AMI_LEDGER_NOTES_H
#define AMI_LEDGER_NOTES_H

#include "ami/ledger.h"

#include <stddef.h>
#include <time.h>

/* Note states (the `state` column). */
#define LEDGER_NOTE_ANCHORED    "anchored"
#define LEDGER_NOTE_APPROXIMATE "approximate"
#define LEDGER_NOTE_STALE       "stale"
#define LEDGER_NOTE_UNANCHORED  "unanchored"
#define LEDGER_NOTE_DISMISSED   "dismissed"

/* One note.  Strings may be NULL where the column allows it; the ledger copies what it keeps
 * (and masks every registered secret in its copies).  Positions are 0-based lines and byte
 * columns, end exclusive; -1 when unknown. */
typedef struct ledger_note {
    const char *uid;         /* stable name: "<request uid>.<seq>" */
    const char *request_uid; /* the request that wrote it */
    const char *document;    /* absolute path */
    const char *thread;
    long seq;          /* its order in the answer, from 0 */
    const char *kind;  /* clarity, ambiguity, question, argument, structure, style, praise; NULL */
    const char *quote; /* the words, as the model quoted them */
    const char *comment;
    const char *model;  /* the model that answered */
    time_t created;     /* 0: now */
    const char *anchor; /* exact, approximate, unanchored: how it was first found */
    const char *state;  /* LEDGER_NOTE_* */
    long line_start, col_start, line_end, col_end;
    long passage_start, passage_end; /* the lines asked about, 1-based; 0 when none */
} ledger_note;

/// Adds a note (its comment may still be empty).  Returns as ledger_record().
int ledger_notes_add(ledger *l, const ledger_note *n, ledger_done_fn done, void *ud);

/// Sets the comment of note uid, once it is complete.
int ledger_notes_set_comment(ledger *l, const char *uid, const char *comment, ledger_done_fn done,
                             void *ud);

/// Sets the state (LEDGER_NOTE_*) of the notes uids[0..n), and their last known range when
/// range is not NULL (4 longs per note: line_start, col_start, line_end, col_end; -1 for none).
int ledger_notes_set_state(ledger *l, const char *const *uids, size_t n, const char *state,
                           const long *ranges, ledger_done_fn done, void *ud);

/// Dismisses every note of document that is not dismissed yet.
int ledger_notes_dismiss_all(ledger *l, const char *document, ledger_done_fn done, void *ud);

/// notes[0..n) oldest first (by creation, then seq); NULL when rc < 0.  Valid during the call.
typedef void (*ledger_notes_fn)(void *ud, int rc, const ledger_note *notes, size_t n,
                                const char *err);

/// The notes of document: all of them, or only the dismissed ones (for the next critique's
/// prompt) when dismissed_only.  At most LEDGER_NOTES_MAX, the newest kept.
#define LEDGER_NOTES_MAX 2000
int ledger_notes_for(ledger *l, const char *document, int dismissed_only, ledger_notes_fn cb,
                     void *ud);

/// The index file's path for a ledger file: PATH.notes.  malloc'd; the caller frees.
char *ledger_notes_index_path(const char *ledger_path);

#endif
