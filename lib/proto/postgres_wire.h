/* postgres_wire.h -- one connection's PostgreSQL protocol v3 exchanges: framing both directions, pairing.
 *
 * The state behind lib/proto/postgres.c.  Frontend messages are the client's (the traced side wrote them:
 * a client; read them: a server), learnt from the direction of the first message (StartupMessage,
 * SSLRequest, GSSENCRequest or CancelRequest, which only a client sends).  Exchanges:
 *   simple query   one per Query, ending at its ReadyForQuery (op: the first CommandComplete's verb)
 *   extended query one per Execute, ending at its CommandComplete, EmptyQueryResponse, PortalSuspended or
 *                  ErrorResponse; the text is the Parse of the statement its portal was bound to
 * Bodies are skipped by length (DataRow, CopyData, Bind values, PasswordMessage are never kept), so capture
 * gaps inside them cost nothing.  A gap that swallows a message header loses the framing: pending exchanges
 * end incomplete; the backend direction resynchronises at the next ReadyForQuery, a lost frontend direction
 * gives up (every later chunk is a parse error, so the capture stops).  After an SSLRequest or
 * GSSENCRequest answered 'S'/'G' the socket carries ciphertext: the parser stays quiet. */
#ifndef OBSPROBE_POSTGRES_WIRE_H
#define OBSPROBE_POSTGRES_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/exchange.h"
#include "lib/proto/proto.h"

#define PG_PENDING 6	/* exchanges waiting for their answer (pipelined Executes) */
#define PG_STMTS 4	/* prepared statements remembered: the unnamed one and 3 named */
#define PG_PORTALS 4	/* portals: the unnamed one and 3 named */
#define PG_NAME_MAX 64	/* NAMEDATALEN */
#define PG_FE_BODY 2048 /* frontend bodies gathered (Query, Parse, the names of Bind, Execute, startup) */
#define PG_BE_BODY 256	/* backend bodies gathered (CommandComplete, ErrorResponse) */

/* x->status of a PostgreSQL exchange */
#define PG_ST_NONE 0	 /* no answer seen (the connection closed or the framing was lost first) */
#define PG_ST_ANSWERED 1 /* answered: CommandComplete, EmptyQueryResponse, PortalSuspended or ErrorResponse */
#define PG_ST_SKIPPED 2	 /* an Execute the server skipped: an earlier message of its Sync failed */
#define PG_ST_OVERFLOW 3 /* not tracked: PG_PENDING were waiting (it ends at once, counted) */

enum pg_phase {
	PG_STARTUP = 0, /* the frontend's next message is untyped (StartupMessage, SSLRequest, ...) */
	PG_SSLANS,	/* an SSLRequest/GSSENCRequest waits for its one-byte answer */
	PG_TYPED,	/* normal messages both ways */
	PG_QUIET,	/* TLS/GSS ciphertext, or a CancelRequest: nothing to parse, nothing wrong */
	PG_DEAD,	/* the frontend framing was lost */
};

struct pg_stream {
	uint8_t hdr[5];
	uint8_t hlen;	 /* header bytes gathered */
	uint8_t in_body; /* the header is complete */
	uint8_t type;	 /* 0: untyped (startup family) */
	uint8_t keep;	 /* its body is gathered */
	uint8_t cut;	 /* part of the body was not captured or did not fit */
	uint32_t need;	 /* body bytes still to come */
	uint32_t blen;	 /* body length */
	uint32_t got;	 /* body bytes gathered */
	uint64_t start_ns;
};

struct pg_stmt {
	uint32_t gen; /* 0: empty */
	uint8_t cut;
	char name[PG_NAME_MAX];
	char text[OBS_X_TARGET_MAX]; /* normalised */
};

struct pg_portal {
	uint32_t gen; /* the statement's gen when bound; 0: empty */
	uint8_t stmt;
	char name[PG_NAME_MAX];
};

struct pg_pending {
	struct obs_exchange x;
	uint32_t group; /* the Sync (or Query) that closes it: answered while be_groups == group */
	uint8_t simple; /* a Query: ends at ReadyForQuery */
};

struct pg_conn {
	uint8_t role;		/* 0 until the first message, then OBS_X_CLIENT / OBS_X_SERVER */
	uint8_t fe;		/* the direction frontend bytes travel (enum proto_dir) */
	uint8_t phase;		/* enum pg_phase */
	uint8_t sure;		/* a startup-family message parsed */
	uint8_t hunting, match; /* backend framing lost: bytes of ReadyForQuery matched so far */
	uint8_t head, npending;
	uint32_t fe_groups, be_groups; /* Syncs/Queries sent; ReadyForQuery seen */
	uint32_t gen;
	uint32_t overflow_group; /* +1: the pipeline filled up in this group: its later Executes are not tracked */
	uint64_t now_ns;
	uint64_t errors;  /* framing losses, and chunks after giving up */
	uint64_t stray;	  /* answers with no exchange waiting (not counted as errors) */
	uint64_t dropped; /* exchanges not tracked: the pipeline was full */
	const struct proto_sink *cb;
	void *cb_ctx;
	char db[OBS_X_HOST_MAX]; /* the StartupMessage's database (else user) */
	struct pg_stmt stmt[PG_STMTS];
	struct pg_portal portal[PG_PORTALS];
	struct pg_pending pend[PG_PENDING];
	struct pg_stream s[2]; /* [enum proto_dir] */
	char febody[PG_FE_BODY];
	char bebody[PG_BE_BODY];
};

void pg_conn__init(struct pg_conn *c, const struct proto_sink *cb, void *cb_ctx);
void pg_conn__data(struct pg_conn *c, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns);
void pg_conn__close(struct pg_conn *c, uint64_t now_ns);

/* inside the parser: postgres_frame.c hands whole messages to postgres_wire.c */
void pg_wire__frontend(struct pg_conn *c, struct pg_stream *s);
void pg_wire__backend(struct pg_conn *c, struct pg_stream *s);
void pg_wire__lose_frontend(struct pg_conn *c); /* the frontend framing is lost: the parser gives up */
void pg_wire__end_all(struct pg_conn *c);	/* every pending exchange ends */

#endif
