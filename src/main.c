/* main: `ami SUBCOMMAND ...`.  Each subcommand is an entry of the table below; the engine they
 * share lives in the other modules. */
#include "ami/cli.h"
#include "ami/host.h"
#include "ami/log.h"
#include "ami/usage.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} command;

static const command commands[] = {
    {"ask", cli_ask, "ask [OPTIONS] [QUESTION...]            ask; stdin goes along as context"},
    {"critique", cli_critique,
     "critique FILE [--lines A-B] [--notes] [Q]  an expert friend's opinion on a passage"},
    {"explain", cli_explain, "explain NAME [--file FILE]            where a name comes from"},
    {"explore", cli_explore,
     "explore [--file FILE [--lines A-B]] [Q]  an idea: does it make sense, what does it evoke"},
    {"compare", cli_compare,
     "compare FILE [--lines A-B] [--models M1,M2]  two models side by side, and your vote"},
    {"vote", cli_vote, "vote PAIR a|b|tie|bad                  vote on a compared pair later"},
    {"arena", cli_arena, "arena [--command C] [--language L]    your leaderboard of the models"},
    {"usage", usage_main,
     "usage [--month M] [--html F|--csv|--json]  what ami cost, charts; usage import SOURCE"},
    {"log", usage_log_main,
     "log [-n N] [--json] | log show ID          the requests recorded; what one sent"},
    {"models", cli_models, "models [--provider P] [--refresh]     the provider's models"},
    {"config", cli_config, "config --check|--defaults|--path      check or show the settings"},
    {"rpc", host_main, "rpc                                   the engine Neovim starts"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: ami [--version | --help] COMMAND [ARGS...]\n\n"
                 "ami is a writing assistant: an expert friend that critiques and explains, never\n"
                 "a ghostwriter.  Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  ami %s\n", commands[i].usage);
    fprintf(out, "\nRun `ami COMMAND --help` for a command's options.  Documentation: "
                 "doc/ami.txt (:help ami).\n");
}

int main(int argc, char **argv) {
    log_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("ami %s\n", AMI_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ami: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
