/* proto.h -- the protocol interface: what a parser in lib/proto/ gives both capture paths and the collector.
 *
 * A protocol is one `const struct proto` (its file in lib/proto/, one line in registry.c).  Captured bytes
 * reach it through a struct proto_conn (conn.h), which asks every registered protocol to detect() the
 * first bytes of a connection, then feeds the one that claimed them.  The parser turns bytes into
 * struct obs_exchange records (abi/exchange.h) through a struct proto_sink; the collector turns each
 * exchange into RED metrics and a span in one place (collector/signal/traces.c) from what the
 * protocol's describe() says about it.
 *
 * Everything here is pure: no malloc, no stdio, no locks (the shim runs it inside traced programs). */
#ifndef OBSPROBE_PROTO_H
#define OBSPROBE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/exchange.h"
#include "lib/proto/h2.h"
#include "lib/tracectx.h"

/* bytes the traced side read (in) or wrote (out) */
enum proto_dir { PROTO_IN = 0, PROTO_OUT = 1 };

enum proto_guess {
	PROTO_NO = 0,	 /* these bytes cannot start this protocol's traffic */
	PROTO_MAYBE = 1, /* they could: too few to tell (a start line cut short) */
	PROTO_YES = 2,	 /* they start a message of this protocol */
};

/* Where a parser's exchanges go.  on_request: a request is complete enough to be served (HTTP: its
 * head); the receiver gives it ids (trace, span, parent, sampled) from the context @in the request
 * carried and from what the thread is doing (the eBPF path's may be provisional: it decides them in causal
 * order later and puts them back by span id); the parser keeps them with the request and hands them back
 * unchanged at on_exchange.  on_exchange: the response ended, or the request was
 * given up (incomplete; status 0 when unanswered).  proto_conn fills proto, local and peer before.
 * on_h2: HTTP/2's framed events, whose exchanges the receiver makes (HPACK lives in the collector). */
struct proto_sink {
	void (*on_request)(void *ctx, struct obs_exchange *x, const struct trace_ctx *in);
	void (*on_exchange)(void *ctx, struct obs_exchange *x);
	/* HTTP/2 only (lib/proto/h2.h): a framed event and, for H2_EV_HEADERS, its header block (@len
	 * bytes, valid during the call).  The receiver decodes HPACK and makes the exchanges; NULL: ignored. */
	void (*on_h2)(void *ctx, const struct h2_ev *ev, const void *block);
};

/* how sure a parser is of its connection */
struct proto_progress {
	bool sure;	 /* a whole message parsed: the connection speaks this protocol */
	uint64_t errors; /* parse errors so far (bytes it could not frame) */
};

/* ---- describing an exchange (collector side) ---- */

#define PROTO_LABELS 4	   /* RED metric labels after "service" (a family may take fewer) */
#define PROTO_ATTRS_MAX 16 /* span attributes */
#define PROTO_NAME_MAX 96  /* span name */
#define PROTO_TEXT_MAX 2048

struct proto_attr {
	const char *key;
	const char *str; /* NULL: the integer @num */
	int64_t num;
};

/* What describe() may use besides the exchange.  clean(): every string that comes from the traffic
 * goes through it (the redactor) before it becomes a label or an attribute; false when the text could
 * not be scanned: leave it out. */
struct route_memo; /* lib/proto/http1_route.h */

struct proto_text {
	bool (*clean)(void *ctx, const char *in, char *out, size_t outlen);
	void *ctx;
	const char *peer;	   /* the peer's address as text, "" when unknown */
	struct route_memo *routes; /* HTTP routes folded before (lib/proto/http1_route.h), or NULL */
};

struct proto_desc {
	const char *lost;		  /* set: no metrics, no span; counted lost with this reason */
	const char *labels[PROTO_LABELS]; /* the RED family's label values after "service" */
	/* span (describe(..., span = true)) */
	char name[PROTO_NAME_MAX];
	bool error; /* span status ERROR */
	int nattrs;
	struct proto_attr attrs[PROTO_ATTRS_MAX];
	size_t used;
	char text[PROTO_TEXT_MAX]; /* the strings labels and attrs point into */
};

/* ---- the interface ---- */

struct proto {
	const char *name;    /* "http1" */
	uint8_t id;	     /* enum obs_proto */
	uint32_t caplen;     /* bytes of each read/write the parser needs; 0: what the capture path copies */
	uint32_t state_size; /* its per-connection state (<= PROTO_STATE_MAX, conn.h) */
	/* could the first bytes of a connection (one read or write) be this protocol? */
	enum proto_guess (*detect)(const void *buf, size_t len, enum proto_dir dir);
	void (*init)(void *state, const struct proto_sink *sink, void *ctx);
	/* bytes in order as they crossed the socket at @now_ns (CLOCK_MONOTONIC): @len captured of @total;
	 * a call with @len 0 is a gap of @total bytes nobody copied */
	void (*feed)(void *state, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns);
	/* the connection closed: what is pending ends */
	void (*close)(void *state, uint64_t now_ns);
	void (*progress)(const void *state, struct proto_progress *out);
	/* Pure: the RED metric labels (and, when @span, the span's name, status and attributes) of a
	 * finished exchange of this protocol.  Sets out->lost for one that makes neither. */
	void (*describe)(const struct obs_exchange *x, const struct proto_text *text, bool span,
			 struct proto_desc *out);
	/* Optional: what describe(..., span = false) reads of @x and @text, as bytes into @out (@size): two exchanges
	 * with equal keys get equal labels, as long as clean() changed nothing (the caller checks).  0: no key
	 * (too long, or lost): describe() runs.  Lets the caller remember labels' series for exchanges that repeat */
	size_t (*label_key)(const struct obs_exchange *x, const struct proto_text *text, char *out, size_t size);
};

/* @len bytes of @src at *@n in @out (@size), moving *@n; false when they do not fit (label_key's helper) */
static inline bool proto_key__put(char *out, size_t size, size_t *n, const void *src, size_t len)
{
	if (len > size - *n)
		return false;
	__builtin_memcpy(out + *n, src, len);
	*n += len;
	return true;
}

void proto_desc__init(struct proto_desc *d);
/* a copy of @s (cut to what is left of d->text) that lives as long as @d */
const char *proto_desc__keep(struct proto_desc *d, const char *s);
void proto_desc__str(struct proto_desc *d, const char *key, const char *val);
void proto_desc__int(struct proto_desc *d, const char *key, int64_t num);

#endif
