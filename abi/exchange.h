/* exchange.h -- one request and its response, of any protocol: what the parsers in lib/proto/ produce and
 * what spans, RED metrics and the 4-tuple join are made of (collector/signal/traces.c).
 *
 * Fixed size and pointer-free: the shim sends it through its segment as is (OBS_REC_EXCHANGE in
 * abi/segment.h), so its layout is pinned below.  Fields are protocol-neutral; @proto says whose
 * describe() (lib/proto/registry.c) reads the strings. */
#ifndef OBSPROBE_EXCHANGE_H
#define OBSPROBE_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

/* The protocols obsprobe parses.  A number is never reused: it crosses the shim segment. */
enum obs_proto {
	OBS_PROTO_NONE = 0,
	OBS_PROTO_HTTP1 = 1,
	OBS_PROTO_REDIS = 2,
	OBS_PROTO_POSTGRES = 3,
	OBS_PROTO_HTTP2 = 4, /* an HTTP/2 request that is not gRPC (strings as HTTP/1's; version 2) */
	OBS_PROTO_GRPC = 5,  /* a gRPC call over HTTP/2 (strings below) */
	OBS_PROTO__COUNT,
};

/* span kinds, as OTLP numbers them */
#define OBS_X_SERVER 2
#define OBS_X_CLIENT 3

#define OBS_X_OP_MAX 16
#define OBS_X_TARGET_MAX 384
#define OBS_X_HOST_MAX 96
#define OBS_X_AGENT_MAX 128
#define OBS_X_TRACESTATE_MAX 192
#define OBS_X_CODE_MAX 16

/* flags */
#define OBS_X_F_TLS 1u /* the bytes were TLS plaintext (read inside the TLS library), not the socket's */

struct obs_addr {
	uint8_t family; /* AF_INET / AF_INET6 / 0 = unknown */
	uint8_t pad;
	uint16_t port; /* host order */
	uint8_t addr[16];
};

struct obs_exchange {
	uint8_t proto;	       /* enum obs_proto */
	uint8_t kind;	       /* OBS_X_SERVER / OBS_X_CLIENT */
	uint8_t sampled;       /* the decision for this trace */
	uint8_t parent_remote; /* the parent came from the request (headers) or another process */
	uint8_t incomplete;    /* framing lost, or the connection closed before the response ended */
	uint8_t truncated;     /* a field was cut to fit */
	uint8_t error;	       /* the protocol's own error reply; a status code alone leaves it 0 */
	uint8_t version;       /* the protocol's version as it numbers them (HTTP/1.x: x) */
	uint16_t status;       /* the response's code (HTTP status); 0: no response */
	uint16_t pad;
	uint32_t flags;				/* OBS_X_F_* */
	int32_t pid, tid;			/* the thread that read (server) or wrote (client) the request */
	uint64_t start_ns, end_ns;		/* CLOCK_MONOTONIC */
	uint64_t request_bytes, response_bytes; /* payloads (HTTP: bodies) */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* zero: a root span */
	struct obs_addr local, peer;
	char op[OBS_X_OP_MAX];		       /* the operation: HTTP method, a command name */
	char target[OBS_X_TARGET_MAX];	       /* what it acts on: HTTP request target */
	char host[OBS_X_HOST_MAX];	       /* the server name the request gives (HTTP Host), or "" */
	char agent[OBS_X_AGENT_MAX];	       /* the client software it names (HTTP User-Agent), or "" */
	char tracestate[OBS_X_TRACESTATE_MAX]; /* W3C tracestate passed on with the request */
	char code[OBS_X_CODE_MAX];	       /* a status that is a word, not a number (SQLSTATE, a Redis error's
						* prefix), or "" */
	uint32_t stream;		       /* HTTP/2 stream id; 0 for protocols without streams */
	uint32_t request_msgs, response_msgs;  /* gRPC: length-prefixed messages each way (counted, not decoded) */
	uint32_t pad2;
};

/* What the strings hold for a database protocol (Redis, PostgreSQL), never a value the program sent:
 *   op      db.operation.name (the command, "GET"; the SQL verb, "SELECT")
 *   target  db.query.text with every literal and argument replaced by '?' ("SET ? ?", "SELECT * FROM t WHERE a = ?")
 *   host    db.namespace (the database name; Redis: the db index when a SELECT was seen), or ""
 *   agent   db.collection.name when the statement makes it obvious, or ""
 *   code    db.response.status_code (SQLSTATE "42P01"; Redis "ERR", "WRONGTYPE"); @error set with it
 *
 * What they hold for HTTP/2 (OBS_PROTO_HTTP2: as HTTP/1, from the pseudo-headers; version 2) and gRPC:
 *   op      the HTTP method (":method", "POST")
 *   target  ":path", "/package.Service/Method"
 *   host    ":authority"
 *   agent   "user-agent"
 *   status  ":status" (0: none came)
 *   code    gRPC: "grpc-status" as decimal text ("0", "14"), from the trailers or a trailers-only response;
 *           "" when none came (the call ended without one: an error); @error set when it is not "0"
 *   stream  the stream id; request_msgs/response_msgs: gRPC messages each way; *_bytes: DATA payload bytes */

_Static_assert(sizeof(struct obs_addr) == 20, "obs_addr layout");
_Static_assert(offsetof(struct obs_exchange, status) == 8 && offsetof(struct obs_exchange, pid) == 16 &&
		       offsetof(struct obs_exchange, start_ns) == 24 && offsetof(struct obs_exchange, trace_id) == 56 &&
		       offsetof(struct obs_exchange, local) == 88 && offsetof(struct obs_exchange, op) == 128 &&
		       offsetof(struct obs_exchange, tracestate) == 752 && offsetof(struct obs_exchange, code) == 944,
	       "obs_exchange layout (it crosses the shim segment: change OBS_SEG_VERSION with it)");
_Static_assert(offsetof(struct obs_exchange, stream) == 960, "obs_exchange layout");
_Static_assert(sizeof(struct obs_exchange) == 976, "obs_exchange size");

#endif
