/* ledger_votes: the personal arena's pairs and votes (table `votes`, doc/LEDGER.md).
 *
 * A pair is two answers to the same question from two models, side A and side B.  Its row is
 * written when the pair starts (no result yet: a pair never voted on counts for nothing) and
 * its result set by the writer's vote (`a`, `b`, `tie`, `bad`), which may be changed.  Reading
 * the voted pairs back joins each side's request (by uid) for its cost and time, which the
 * leaderboard shows.  Every operation runs on the ledger's connection through ledger_exec();
 * callbacks follow ledger.h's contract.
 */
#ifndef AMI_LEDGER_VOTES_H
#define AMI_LEDGER_VOTES_H

#include "ami/ledger.h"

#include <stddef.h>
#include <time.h>

typedef struct ledger_vote {
    const char *pair;                  /* the pair's uid ("p-…") */
    const char *request_a, *request_b; /* the requests' uids */
    const char *model_a, *model_b;     /* the models asked for on each side */
    const char *result;                /* "a", "b", "tie", "bad", or NULL (not voted) */
    int blind;                         /* the names were hidden until the vote */
    int swapped;                       /* the first model of the pair was put on side B */
    const char *command;               /* critique, explain, ask */
    const char *language;              /* the document's language ("French"), or NULL */
    const char *document;              /* absolute path, or NULL */
    time_t created, voted;             /* created 0: now; voted 0: not yet */
    /* Read back only (ledger_votes_read): each side's answer, from its request row. */
    const char *answered_a, *answered_b; /* the model ids the providers answered with */
    double cost_a, cost_b;               /* USD; < 0 unknown */
    long long duration_a, duration_b;    /* ms to the full answer; < 0 unknown */
} ledger_vote;

/// Writes a new pair (result NULL).  Copies what it keeps.  Returns as ledger_record().
int ledger_votes_add(ledger *l, const ledger_vote *v, ledger_done_fn done, void *ud);

/// Records (or changes) the vote of a pair: result "a", "b", "tie" or "bad"; language, when not
/// NULL, fills in the document's language.  LEDGER_EINVAL for another result.  done gets
/// LEDGER_EINVAL when there is no such pair.
int ledger_votes_set(ledger *l, const char *pair, const char *result, const char *language,
                     ledger_done_fn done, void *ud);

/* Which voted pairs to read. */
typedef struct ledger_vote_filter {
    const char *command;  /* NULL: all */
    const char *language; /* NULL: all; compared without case ("fr" matches "French") */
    time_t since;         /* 0: all */
} ledger_vote_filter;

/// votes[0..n) oldest first; valid during the call.
typedef void (*ledger_votes_fn)(void *ud, int rc, const ledger_vote *votes, size_t n,
                                const char *err);

/// The voted pairs (result not NULL) that pass f (may be NULL), at most LEDGER_VOTES_MAX.
#define LEDGER_VOTES_MAX 100000
int ledger_votes_read(ledger *l, const ledger_vote_filter *f, ledger_votes_fn cb, void *ud);

#endif
