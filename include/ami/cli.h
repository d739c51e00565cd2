/* cli: the shell face of ami (`ami ask|critique|explain|usage|models|config`).  Each
 * subcommand parses its own flags, runs the engine with stdout as its sink, and returns the
 * process exit status:
 *   0 success; 2 usage or configuration error; 3 provider error; 4 the stream was cut off;
 *   5 refused by the budget; 130 cancelled by SIGINT.
 */
#ifndef AMI_CLI_H
#define AMI_CLI_H

#define CLI_OK        0
#define CLI_EUSAGE    2
#define CLI_EPROVIDER 3
#define CLI_ECUT      4
#define CLI_EBUDGET   5
#define CLI_EINT      130

/// `ami config [--defaults | --path | --check [FILE]]`
int cli_config(int argc, char **argv);
/// `ami ask [OPTIONS] [QUESTION...]`: standard input, when it is not a terminal, is context.
int cli_ask(int argc, char **argv);
/// `ami critique FILE [--lines A-B] [OPTIONS] [QUESTION...]`
int cli_critique(int argc, char **argv);
/// `ami explore [--file FILE [--lines A-B]] [OPTIONS] [QUESTION...]`: an idea (standard
/// input, or lines of FILE) and what it evokes.
int cli_explore(int argc, char **argv);
/// `ami explain NAME [--file FILE] [OPTIONS]`
int cli_explain(int argc, char **argv);
/// `ami compare FILE [--lines A-B] [--models M1,M2] [OPTIONS] [QUESTION...]`: two models, one
/// question, a vote on a terminal.
int cli_compare(int argc, char **argv);
/// `ami vote PAIR a|b|tie|bad`
int cli_vote(int argc, char **argv);
/// `ami arena [--command C] [--language L] [--since YYYY-MM] [--min-votes N] [--json]`
int cli_arena(int argc, char **argv);
/// `ami models [--provider P] [--refresh] [--json]`
int cli_models(int argc, char **argv);

#endif
