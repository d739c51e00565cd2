/* The ledger's parts that its own files share (src/ledger*.c); not for other modules. */
#ifndef AMI_LEDGER_INTERNAL_H
#define AMI_LEDGER_INTERNAL_H

#include "ami/ledger.h"

/* ledger_migrations[v] takes a file from user_version v to v + 1.  Never edit a released
 * step: add one (src/ledger_schema.c). */
extern const char *const ledger_migrations[LEDGER_SCHEMA_VERSION];

#endif
