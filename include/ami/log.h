/* log: one-line diagnostics on stderr (never stdout: in `ami rpc` stdout carries msgpack-RPC
 * only), with every registered secret masked.
 *
 * The level comes from $AMI_LOG (debug, info, warn, error; default warn).  $AMI_LOG_FILE, when
 * set, appends the lines to that file instead of stderr.  Main-loop thread only.
 */
#ifndef AMI_LOG_H
#define AMI_LOG_H

#include <stddef.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level;

/// Reads $AMI_LOG and $AMI_LOG_FILE.  Safe to call more than once.
void log_init(void);
void log_set_level(log_level level);
int log_enabled(log_level level);

/// Writes "ami: " + the formatted line + "\n", secrets masked.
void log_msg(log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* ---- secrets ------------------------------------------------------------------------ */

/// Registers a secret (an API key): from now on it is masked in every log line and in every
/// string passed through secret_redact().  The registry keeps its own copy.  Strings shorter
/// than 4 bytes are not registered (masking them would mangle ordinary text).
void secret_add(const char *secret);

/// Masks every registered secret in s, in place, with '*' (same length, so buffers and
/// offsets stay valid).  Returns s.
char *secret_redact(char *s);

/// True when s contains a registered secret.
int secret_found(const char *s, size_t len);

/// Forgets every secret (tests; and at exit, after the memory is wiped).
void secret_clear(void);

#endif
