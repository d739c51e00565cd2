/* sse: an incremental parser for the WHATWG `text/event-stream` format (server-sent events).
 *
 * It is fed raw bytes in whatever pieces the network delivers, and calls back once per
 * dispatched event.  It knows nothing of HTTP, JSON or providers, and does no I/O: the unit
 * tests and the fuzzer feed it directly.
 *
 * Rules (https://html.spec.whatwg.org/multipage/server-sent-events.html, "Interpreting an
 * event stream"): lines end at CRLF, LF or a lone CR (even when the CR and the LF of one CRLF
 * arrive in different feeds); one U+FEFF BOM at the very start is skipped; `:` starts a
 * comment; `name: value` with one leading space removed from the value; a line without a
 * colon is a field with an empty value; `event`, `data`, `id` (ignored if it holds a NUL),
 * `retry` (ASCII digits only); a blank line dispatches.  Bytes are passed through as they
 * came: the parser does not decode or validate UTF-8 (see ami/utf8.h for that).
 *
 * Ownership: the parser owns every buffer it hands out; all pointers it gives to a callback
 * or returns are borrowed and valid only for the time stated.
 */
#ifndef AMI_SSE_H
#define AMI_SSE_H

#include <stddef.h>

/* Return codes of sse_parser_feed(). */
#define SSE_OK      0
#define SSE_STOPPED 1    /* a callback returned non-zero (final) */
#define SSE_ENOMEM  (-1) /* out of memory (final: the stream has lost its framing) */
#define SSE_ETOOBIG (-2) /* a line plus the pending data went over the limit (final) */
#define SSE_EBUSY   (-3) /* feed or finish called from inside one of the parser's callbacks */

/* Default cap on one line plus the data pending for the next event. */
#define SSE_DEFAULT_LIMIT ((size_t)64 * 1024 * 1024)

/* One dispatched event.  Every pointer is borrowed from the parser and valid only during the
 * callback that receives it.  Each string is NUL-terminated at its length; type and data may
 * also contain NUL bytes inside (the stream is not text-checked), id never does. */
typedef struct sse_event {
    const char *type; /* the `event` field, or "message" when none (or an empty one) was given */
    size_t type_len;
    const char *data; /* data lines joined with LF, one trailing LF removed; may contain NUL */
    size_t data_len;  /* data[data_len] == 0 */
    const char *id;   /* the last event id seen so far in the stream ("" when none) */
    size_t id_len;
} sse_event;

typedef struct sse_parser sse_parser;

/// Called for each dispatched event.  Return 0 to go on; non-zero stops the parser:
/// sse_parser_feed() then returns SSE_STOPPED at once, ignoring the rest of its buffer, and
/// so does every later feed.  The callback may read the parser (sse_parser_retry(), …) but
/// must not feed, finish or free it.
typedef int (*sse_event_fn)(void *ud, const sse_event *ev);

/// Called for each field other than event, data, id and retry (for instance llama.cpp's old
/// non-standard `error: {...}` line).  name and value are borrowed for the call and both
/// NUL-terminated at their lengths.  Same return convention as sse_event_fn.
typedef int (*sse_field_fn)(void *ud, const char *name, size_t name_len, const char *value,
                            size_t value_len);

/// Returns a parser that calls on_event (must not be NULL) with ud for each event, or NULL
/// when out of memory.  The caller owns the parser and frees it with sse_parser_free().
sse_parser *sse_parser_new(sse_event_fn on_event, void *ud);

/// Sets (or, with NULL, clears) the callback for unknown fields.  It receives the same ud.
void sse_parser_set_field_fn(sse_parser *p, sse_field_fn fn);

/// Caps the length of the current line plus the data pending for the next event (default
/// SSE_DEFAULT_LIMIT).  Past it, sse_parser_feed() returns SSE_ETOOBIG.  The measure does not
/// depend on how the stream was split into feeds.
void sse_parser_set_limit(sse_parser *p, size_t max_bytes);

/// Parses len bytes (buf may be NULL when len is 0), calling the callbacks for everything it
/// completes, in stream order, before returning.  A line or an event may span any number of
/// feeds.  Returns SSE_OK; SSE_STOPPED when a callback asked to stop; SSE_ENOMEM or
/// SSE_ETOOBIG on failure; SSE_EBUSY when called from a callback.  STOPPED, ENOMEM and
/// ETOOBIG are final: every later feed returns the same code and does nothing.  The parser
/// does not keep buf.
int sse_parser_feed(sse_parser *p, const char *buf, size_t len);

/// Ends the stream.  WHATWG discards data not followed by a blank line, but some servers
/// (llama.cpp) end with `data: [DONE]` and no blank line, sometimes with no final newline:
/// so an unterminated last line is first handled as if it were terminated, then the data
/// that a blank line would have dispatched is given back in *pending_data / *pending_len
/// (NUL-terminated, borrowed, valid until the next call on p), or NULL / 0 when there is none
/// or the parser has stopped or failed.  No event is dispatched (the field callback may run
/// for the last line).  Afterwards, unless it has stopped or failed, the parser is ready for
/// a new stream (a BOM is skipped again); the last event id, the retry value and the event
/// count are kept, as an EventSource keeps them across reconnections.  Either out-pointer
/// may be NULL.  Called from a callback, it does nothing and gives back NULL / 0.
void sse_parser_finish(sse_parser *p, const char **pending_data, size_t *pending_len);

/// The last valid `retry` value in milliseconds (saturated at LONG_MAX), or -1 if none came.
long sse_parser_retry(const sse_parser *p);

/// The last event id ("" when none), NUL-terminated, borrowed until the next feed or finish.
/// len may be NULL.
const char *sse_parser_last_id(const sse_parser *p, size_t *len);

/// The number of events dispatched so far (including one whose callback asked to stop).
size_t sse_parser_events(const sse_parser *p);

/// Frees the parser and everything it holds.  NULL is allowed.
void sse_parser_free(sse_parser *p);

#endif
