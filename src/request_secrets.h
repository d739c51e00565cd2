/* request_secrets: a request's texts masked before anything is built from them.
 *
 * Every text of the thread that will leave the machine (each turn's document, question,
 * name, earlier answer, the note a reply is about, and a --system prompt) is scanned with one
 * secrets session (ami/secrets.h), so the same secret gets the same placeholder everywhere,
 * then replaced by its masked copy.  What was found in the last turn's document (the writer's
 * buffer) is reported with its lines and columns, for the diagnostics; the rest is counted.
 * Internal to the engine (src/).
 */
#ifndef AMI_REQUEST_SECRETS_H
#define AMI_REQUEST_SECRETS_H

#include "ami/prompt.h"
#include "ami/request.h"

#include <stddef.h>

/* The report, owned by the caller (free with rsecrets_report_free()). */
typedef struct rsecrets_report {
    request_secret *found; /* in the last turn's document, in order */
    size_t n_found;
    size_t elsewhere; /* in the other texts (the question, earlier turns…) */
    char **strings;   /* rules and placeholders, owned */
    size_t n_strings;
} rsecrets_report;

/// Masks, in place, every text of turns[0..n) and *system (each a malloc'd string that is
/// freed and replaced when it holds a secret; turn documents keep their length field up to
/// date).  allow: POSIX extended regular expressions of values never to mask.  Returns 0; -2
/// with err set when an allow pattern does not compile; -1 with err set when out of memory or
/// a text is too large to scan.  On failure nothing must be sent.
int rsecrets_mask(prompt_turn *turns, size_t n, char **system, const char *const *allow,
                  size_t n_allow, rsecrets_report *out, char *err, size_t errlen);

void rsecrets_report_free(rsecrets_report *r);

#endif
