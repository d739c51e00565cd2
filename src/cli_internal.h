/* The CLI's parts that its own files share (src/cli*.c).  Not for other modules. */
#ifndef AMI_CLI_INTERNAL_H
#define AMI_CLI_INTERNAL_H

#include "ami/buf.h"
#include "ami/config.h"
#include "ami/prompt.h"

#include <cJSON.h>

/* Options shared by ask, critique and explain. */
typedef struct cli_opts {
    const char *provider, *model, *base_url, *system, *file, *lines, *preset, *models;
    long max_tokens;
    int json, no_ledger, help, notes, allow_training;
    buf question;
} cli_opts;

/* What a command takes beside the common options. */
#define CLI_TAKES_FILE   1u  /* --file FILE */
#define CLI_TAKES_LINES  2u  /* --lines A-B */
#define CLI_TAKES_NOTES  4u  /* --notes */
#define CLI_TAKES_PRESET 8u  /* --preset NAME */
#define CLI_TAKES_MODELS 16u /* --models M1,M2 */

/// Parses argv[1..] into o: the options every asking command shares, and those takes names;
/// positional words go to the question.  Returns 0 or CLI_EUSAGE (after saying why).
int cli_parse_opts(int argc, char **argv, cli_opts *o, unsigned takes);

/// The settings: defaults, the config file, then the flags.  0, or CLI_EUSAGE after saying
/// why; on success the caller frees cfg with config_free().
int cli_load_config(const cli_opts *o, ami_config *cfg);

/// Prints o as one line of JSON on stdout, flushes, and frees o.
void cli_print_json(cJSON *o);

/// Reads a whole file ("-": standard input) into out.  0, or -1 with err set.
int cli_read_all(const char *path, buf *out, char *err, size_t errlen);

/// Parses "A-B" (or "A") into 1 <= a <= b.  0, or -1.
int cli_parse_lines(const char *s, long *a, long *b);

/// Reads FILE ("-": standard input) into doc and fills t for a critique of o's --lines (all
/// of it by default) with o's question; t points into doc and o.  0, or CLI_EUSAGE after
/// saying why (doc is then empty).
int cli_critique_turn(const cli_opts *o, const char *file, buf *doc, prompt_turn *t);

/// The exit status for how a request ended (CLI_OK, CLI_EPROVIDER, …; see cli.h).
int cli_exit_for(int state, const char *error_kind);

/// Whether model may be sent the text: a free model (OpenRouter's ":free" variants, whose
/// providers may keep and train on prompts) with privacy.data_collection "allow" needs
/// --allow-training, or a "yes" on a terminal.  1 to go on; 0 after saying why on stderr.
int cli_training_ok(const cli_opts *o, const ami_config *cfg, const char *model);

/// Tells the writer on stderr what was masked before sending (REQUEST_EV_SECRETS); file names
/// the document (NULL: "the text").
void cli_report_secrets(const request_event *ev, const char *file);

/// The help text of the options cli_parse_opts() reads.
extern const char cli_common_help[];

#endif
