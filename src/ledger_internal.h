/* The ledger's parts that its own files share (src/ledger*.c); not for other modules. */
#ifndef AMI_LEDGER_INTERNAL_H
#define AMI_LEDGER_INTERNAL_H

#include "ami/ledger.h"

#include <stddef.h>

/* ledger_migrations[v] takes a file from user_version v to v + 1.  Never edit a released
 * step: add one (src/ledger_schema.c). */
extern const char *const ledger_migrations[LEDGER_SCHEMA_VERSION];

/// Room for item n of an array of cap items of size bytes: items itself while n < *cap, else
/// items reallocated to twice *cap (16 at first), *cap updated.  NULL when out of memory
/// (items is then unchanged and still the caller's).
void *ledger_grow(void *items, size_t *cap, size_t n, size_t size);

/* Column readers for the ledger's SELECTs (in src/ledger_schema.c). */
struct sqlite3_stmt;
/// The column's text, malloc'd (the caller frees it); NULL for NULL, or out of memory.
char *ledger_col_dup(struct sqlite3_stmt *st, int c);
/// The column's integer; -1 for NULL (a count or a duration that is unknown).
long long ledger_col_count(struct sqlite3_stmt *st, int c);
/// The column's number; -1 for NULL (an amount that is unknown).
double ledger_col_real(struct sqlite3_stmt *st, int c);

#endif
