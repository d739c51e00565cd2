/* usage: `ami usage`, what the ledger says was spent, by month and by model.
 *
 *   ami usage [--month YYYY-MM] [--json]
 *
 * Reads the config (for the ledger's path), opens the ledger on its own libuv loop, and
 * prints an aligned table: requests, threads, tokens in and out, cost (and how much of it was
 * estimated, how many requests had an unknown cost), estimated gCO₂e, for the chosen month
 * (default: the current one, local time) and the earlier months that have rows, then the
 * chosen month by model.  --json prints one object for the chosen month instead:
 *   {"month","requests","refused","threads","prompt_tokens","completion_tokens","cost_usd",
 *    "estimated_cost_usd","unknown_cost_requests","co2e_g",
 *    "by_model":[{"model","requests","prompt_tokens","completion_tokens","cost_usd",
 *                 "estimated_cost_usd","unknown_cost_requests","co2e_g"}]}
 * A missing ledger is not an error: nothing was recorded yet (zeros), and the file is not
 * created.
 */
#ifndef AMI_USAGE_H
#define AMI_USAGE_H

/// `ami usage`: argv[0] is "usage".  Returns the process exit status: 0; 2 for bad arguments
/// or a broken config file (with a message on stderr); 1 when the ledger cannot be read (the
/// reason on stderr).  Writes the report on stdout.  Runs its own loop; blocks until done.
int usage_main(int argc, char **argv);

/// `ami log [-n N] [--document FILE] [--json]`: the newest requests the ledger recorded (id,
/// time, command, model, status, tokens, cost, document); `ami log show ID|UID [--json]`:
/// exactly what that request sent (the URL, the header lines with auth values <redacted>, the
/// JSON body pretty-printed, secrets already masked), or why the ledger does not have it.
/// argv[0] is "log".  Exit status as usage_main; 1 also for an unknown request.
int usage_log_main(int argc, char **argv);

#endif
