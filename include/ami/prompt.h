/* prompt: what ami asks the model, for each command.
 *
 * ami is an expert friend, never a ghostwriter: every prompt casts the model as a reader who
 * comments, questions and points at specific words, and forbids it to rewrite the writer's
 * passage.  A thread is a list of turns; each turn carries everything it was asked with
 * (document, passage lines, question...) and, except the last, the answer it got, so the
 * host keeps no state between requests and a restarted host loses nothing.
 *
 * When the document does not fit the model's context, it is shortened: the passage, the text
 * around it and the document's headings are kept, the rest is replaced by "[… lines A–B
 * omitted …]" markers, and prompt_result.note says so.
 */
#ifndef AMI_PROMPT_H
#define AMI_PROMPT_H

#include "ami/provider.h"

#include <stddef.h>

typedef enum { PROMPT_ASK = 0, PROMPT_CRITIQUE, PROMPT_EXPLAIN, PROMPT_EXPLORE } prompt_kind;

/* One question of a thread.  All strings are borrowed; NULL when absent. */
typedef struct prompt_turn {
    prompt_kind kind;
    const char *document; /* critique: the whole document; explain: the surrounding paragraph;
                             explore: the idea (a selection or a paragraph); ask: optional
                             context (e.g. the CLI's standard input) */
    size_t document_len;
    const char *path; /* how to name the document ("notes/llm.md"), or NULL */
    long line_start;  /* critique: the passage, 1-based inclusive */
    long line_end;
    const char *question; /* critique, explore (NULL: the default question), ask */
    const char *name;     /* explain: the name to explain */
    const char *answer;   /* the answer this turn got (earlier turns only; may be partial) */
    /* ask: a reply about one margin note (:AmiReply): its words, its comment, its kind */
    const char *note_quote;
    const char *note_comment;
    const char *note_kind;
} prompt_turn;

/* A note the writer set aside, sent with the next critique so the model does not repeat it. */
typedef struct prompt_dismissed {
    const char *kind; /* NULL: none */
    const char *quote;
    const char *comment;
} prompt_dismissed;

typedef struct prompt_options {
    const char *language; /* "auto" (detect the document's) or a language name */
    const char *system;   /* replaces the built-in system prompt when set (ami ask --system) */
    long context_tokens;  /* the model's context window; <= 0: unknown, no shortening */
    long max_tokens;      /* reserved for the answer */
    int notes;            /* critique: ask for remarks as margin notes (notes_prompt_rules()) */
    const prompt_dismissed *dismissed; /* critique: notes set aside (at most 50 are sent) */
    size_t n_dismissed;
} prompt_options;

typedef struct prompt_result {
    char *system;
    chat_message *messages; /* each content malloc'd; role points to a static string */
    size_t n_messages;
    char *language;     /* the language the answer is asked in, or NULL (document's) */
    char *note;         /* set when the context was shortened: one sentence */
    long prompt_tokens; /* estimate of what is sent */
} prompt_result;

/// Builds the system prompt and messages for a thread whose last turn is the new question.
/// Returns 0, or -1 with err set (e.g. an empty document, a passage past the end of the
/// document, a missing question or name).  On success the caller frees out with
/// prompt_result_free().
int prompt_build(const prompt_turn *turns, size_t n, const prompt_options *opt, prompt_result *out,
                 char *err, size_t errlen);
void prompt_result_free(prompt_result *r);

/// The language text is written in ("French", "English", "German", "Spanish", "Italian",
/// "Portuguese"), or NULL when unsure.  Looks at the first 64 KiB at most.
const char *prompt_detect_language(const char *text, size_t len);

/// The default critique question.
const char *prompt_default_question(void);
/// The default question of an exploration.
const char *prompt_default_explore_question(void);

/// Lines in text (a last line without newline counts; "" has 0 lines).
long prompt_count_lines(const char *text, size_t len);

#endif
