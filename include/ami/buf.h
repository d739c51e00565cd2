/* buf: a growable byte buffer, always NUL-terminated (data[len] == 0 once anything was
 * appended), so its text can be passed to C string functions.
 *
 * A zero-initialised buf is empty and valid.  The buf owns data; buf_free() releases it,
 * buf_steal() hands it to the caller.
 */
#ifndef AMI_BUF_H
#define AMI_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

/// Makes room for at least extra more bytes (plus the NUL).  Returns 0, or -1 when out of
/// memory (the buffer is then unchanged).
int buf_reserve(buf *b, size_t extra);
/// Appends len bytes.  Returns 0 or -1 (out of memory; unchanged).
int buf_append(buf *b, const void *data, size_t len);
int buf_append_str(buf *b, const char *s);
int buf_append_byte(buf *b, char c);
/// Appends printf-style.  Returns 0 or -1.
int buf_printf(buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/// Drops the first n bytes (n <= len), keeping the rest.
void buf_consume(buf *b, size_t n);
/// Empties the buffer, keeping its memory.
void buf_clear(buf *b);
/// Returns the data (NUL-terminated; "" when nothing was appended, never NULL, or NULL when
/// out of memory) and leaves b empty.  The caller frees the result.
char *buf_steal(buf *b);
void buf_free(buf *b);

#endif
