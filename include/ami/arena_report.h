/* arena_report: the leaderboard of the writer's own votes (`ami arena`, `:AmiArena`).
 *
 * From the voted pairs (ledger_votes.h) it fits the models' strengths (arena.h: Bradley–Terry
 * by penalised maximum likelihood, ties and "both bad" as half a win each, 95 % bootstrap
 * intervals) and lists each model with its score, interval, votes, wins / ties / losses, the
 * median cost of its answers and the median time to the full answer.  Models with fewer votes
 * than min_votes are listed apart, as "not enough votes".  Pure: votes in, text or JSON out;
 * the CLI and the host print or send the same thing.
 */
#ifndef AMI_ARENA_REPORT_H
#define AMI_ARENA_REPORT_H

#include "ami/buf.h"
#include "ami/ledger_votes.h"

#include <cJSON.h>
#include <stddef.h>

typedef struct arena_report_options {
    unsigned min_votes;  /* 0: the default (5) */
    unsigned rounds;     /* bootstrap rounds; 0: the default (1000) */
    const char *filters; /* what was filtered ("critique, French, since 2026-01"), or NULL */
} arena_report_options;

/// Appends the leaderboard as text (UTF-8, 80 columns when model ids are short) to out.
/// Returns 0, or -1 when out of memory or the fit failed (out then says why in one line).
int arena_report_text(const ledger_vote *votes, size_t n, const arena_report_options *o, buf *out);

/// The same as JSON: {"votes", "models": [{"model", "rank" (null when not enough votes),
/// "score", "low", "high" (null at an open end), "strength", "p_beat_average", "votes",
/// "wins", "ties", "both_bad", "losses", "median_cost_usd", "median_seconds",
/// "enough_votes"}], "method"}.  NULL when out of memory.  The caller frees it.
cJSON *arena_report_json(const ledger_vote *votes, size_t n, const arena_report_options *o);

#endif
