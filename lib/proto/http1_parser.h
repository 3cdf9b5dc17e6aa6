/* http1_parser.h -- incremental HTTP/1.x message parser: bytes in, heads/headers/ends out, no I/O, survives garbage.
 *
 * One parser per direction of a connection.  It is fed the bytes in order as they cross the socket
 * (any split: a byte at a time, several pipelined messages per chunk) and reports:
 *   on_begin   the first byte of a message arrived;
 *   on_header  one header field of the head being parsed (name and value, OWS trimmed; a line cut at
 *              HTTP_LINE_MAX is reported with an empty value);
 *   on_head    the head is complete (start line and the fields it understood are in the message);
 *              the callback may set msg->no_body (a response to HEAD) before the body is framed;
 *   on_end     the whole message is complete: body by Content-Length, chunked, none, or up to close.
 * Interim 1xx responses (100 Continue) are reported with their status and end at their head; a 101
 * switches the connection to another protocol and the parser goes quiet.
 *
 * Bytes that were not captured (eBPF copies only a prefix of a long write) are announced with
 * http_parser__gap(): they are skipped inside a body of known length; anywhere else the framing is
 * lost, the current message ends as incomplete and the parser resynchronises at the next chunk that
 * starts with a plausible start line.  Garbage does the same: nothing is trusted until a start line
 * parses.  The parser never allocates; its size is fixed.
 *
 * Framing follows RFC 9112 §6: Transfer-Encoding is one comma-separated list over all its lines and
 * frames a chunked body only when "chunked" is its final coding (and comes once); it overrides
 * Content-Length (the message is then marked conn_close: the server closes after it).  A request with
 * Transfer-Encoding that is not so framed, or sent as HTTP/1.0, cannot be framed: it ends incomplete
 * and counts in @errors (the server answers 400 and closes).  Such a response's body runs to close. */
#ifndef OBSPROBE_HTTP1_PARSER_H
#define OBSPROBE_HTTP1_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_LINE_MAX 1024 /* longer start/header lines are cut (and the message marked truncated) */
#define HTTP_METHOD_MAX 16
#define HTTP_TARGET_MAX 512
#define HTTP_HOST_MAX 128
#define HTTP_UA_MAX 160

enum http_mode {
	HTTP_ANY = 0,	   /* the first message decides */
	HTTP_REQUESTS = 1, /* this direction carries requests */
	HTTP_RESPONSES = 2,
};

struct http_msg {
	bool is_request;
	bool no_body;		/* set by on_head: a response to HEAD */
	bool te;		/* Transfer-Encoding present (its lines form one list, RFC 9112 §6.1) */
	bool chunked;		/* ... and "chunked" is its final coding */
	bool te_bad;		/* ... chunked twice or not last, a coding that is not a token, a cut line */
	bool conn_close;	/* Connection: close (or HTTP/1.0 without keep-alive) */
	bool expect_continue;	/* Expect: 100-continue */
	bool truncated;		/* a line was longer than HTTP_LINE_MAX */
	bool incomplete;	/* on_end: framing was lost (a gap, garbage, or close before the end) */
	uint8_t version_minor;	/* HTTP/1.x */
	uint16_t status;	/* responses */
	int64_t content_length; /* -1 = none */
	uint64_t body_bytes;	/* body bytes seen (or skipped over in gaps) */
	char method[HTTP_METHOD_MAX];
	char target[HTTP_TARGET_MAX];
	char host[HTTP_HOST_MAX];
	char user_agent[HTTP_UA_MAX];
};

struct http_parser_cb {
	void (*on_begin)(void *ctx); /* the first byte of a message */
	void (*on_header)(void *ctx, const char *name, size_t nlen, const char *val, size_t vlen);
	void (*on_head)(void *ctx, struct http_msg *msg);
	void (*on_end)(void *ctx, const struct http_msg *msg);
};

struct http_parser {
	uint8_t mode;  /* enum http_mode; fixed once the first message parsed */
	uint8_t state; /* internal */
	bool resync;   /* after an error: wait for a chunk that starts a message */
	bool in_msg;   /* a message has begun (its first byte was seen) */
	uint16_t linelen;
	uint64_t remaining; /* body or chunk bytes still to come */
	uint64_t messages, errors;
	struct http_msg msg;
	char line[HTTP_LINE_MAX];
};

void http_parser__init(struct http_parser *p, enum http_mode mode);

/* Feed bytes.  Callbacks run from inside.  @chunk_start: these bytes begin a new read/write (a point
 * where the parser may resynchronise after an error).  Returns the number of messages ended. */
int http_parser__feed(struct http_parser *p, const void *buf, size_t len, bool chunk_start,
		      const struct http_parser_cb *cb, void *ctx);

/* @n bytes crossed the socket but were not captured. */
void http_parser__gap(struct http_parser *p, uint64_t n, const struct http_parser_cb *cb, void *ctx);

/* The connection closed: a body read to close ends now; a message cut short ends as incomplete. */
void http_parser__close(struct http_parser *p, const struct http_parser_cb *cb, void *ctx);

enum http_guess { HTTP_GUESS_NO, HTTP_GUESS_MAYBE, HTTP_GUESS_YES };

/* What a parser that has seen nothing would make of a chunk that starts with @buf: its start line parses
 * (YES), cannot parse (NO: the parser would count an error), or is cut short or absent (MAYBE). */
enum http_guess http__detect(const void *buf, size_t len);

#endif
