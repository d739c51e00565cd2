/* The parts `ami usage` (src/usage.c) and `ami usage import` (src/usage_import_cli.c) share.
 * Not for other modules. */
#ifndef AMI_USAGE_INTERNAL_H
#define AMI_USAGE_INTERNAL_H

#include "ami/chart.h"
#include "ami/config.h"
#include "ami/ledger.h"

#define USAGE_EXIT_LEDGER   1
#define USAGE_EXIT_USAGE    2
#define USAGE_EXIT_PROVIDER 3

/* The settings and the ledger's file, as every usage command starts. */
typedef struct usage_env {
    ami_config cfg;
    char *path;  /* the ledger's file */
    int missing; /* the file does not exist (nothing recorded yet) */
    chart_locale locale;
} usage_env;

/// Loads the config and finds the ledger.  Returns 0, or the exit status after saying why on
/// stderr (prefixed with who, "ami usage").  On success free u with usage_env_free().
int usage_env_load(usage_env *u, const char *who);
void usage_env_free(usage_env *u);

/// Opens the ledger at path on a loop of its own, queues work (ledger_exec, named what), runs
/// the loop until it is done and the ledger closed.  Returns 0, or -1 with the reason in err.
int usage_run_work(const char *path, const char *what, ledger_work_fn work, void *ud, char *err,
                   size_t errlen);

/// `ami usage import ...`: argv[0] is "import".  Returns the exit status.
int usage_import_main(int argc, char **argv);

#endif
