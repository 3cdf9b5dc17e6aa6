/* redis.h -- Redis (RESP2, RESP3, inline commands) as a struct proto: the per-connection state and its parts.
 *
 * redis_parser.c frames RESP values in one direction (skipping bulk bodies by length, across capture gaps);
 * redis_conn.c pairs commands with their replies (pipelining, MULTI/EXEC, pub/sub pushes that are no
 * replies); redis.c is the struct proto: detection, the known commands, describe().  Pure: no malloc, no
 * stdio, no locks; fixed size (it lives in a struct proto_conn). */
#ifndef OBSPROBE_REDIS_H
#define OBSPROBE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/exchange.h"
#include "lib/proto/proto.h"

#define REDIS_PIPELINE 120   /* commands waiting for their replies; more are counted and given up */
#define REDIS_WORD 24	     /* bytes kept of a command's name and of its first argument */
#define REDIS_LINE_MAX 65536 /* an inline command or a simple reply line longer than this is not Redis */

/* ---- the command table (redis.c) ---- */

/* index of the known command @w (uppercase, NUL-terminated) in redis_commands[], or 0 (unknown) */
unsigned redis__command(const char *w);
/* index + 1 of a known subcommand word (CONFIG GET, CLIENT LIST) of container command @cmd, or 0 */
unsigned redis__subcommand(unsigned cmd, const char *w);
extern const char *const redis_commands[];    /* [0] = "_OTHER", then sorted */
extern const char *const redis_subcommands[]; /* sorted */
extern const unsigned redis_ncommands, redis_nsubcommands;
/* the commands redis_conn.c treats specially */
enum redis_special {
	REDIS_C_NONE = 0,
	REDIS_C_SELECT,
	REDIS_C_HELLO,
	REDIS_C_RESET,
	REDIS_C_SUBSCRIBE,
	REDIS_C_PSUBSCRIBE,
	REDIS_C_SSUBSCRIBE,
	REDIS_C_UNSUBSCRIBE,
	REDIS_C_PUNSUBSCRIBE,
	REDIS_C_SUNSUBSCRIBE,
};
enum redis_special redis__special(unsigned cmd);

/* ---- one direction's framing (redis_parser.c) ---- */

enum redis_msg_kind { REDIS_MSG_COMMAND, REDIS_MSG_REPLY };

/* what a finished message was */
struct redis_msg {
	uint8_t top;		  /* the top value's type byte ('*', '+', '-', '>' ...); 0 for an inline command */
	uint8_t inline_cmd;	  /* an inline command */
	uint8_t empty;		  /* a command array of no elements ("*0", "*-1"): Redis does nothing with it */
	uint32_t args;		  /* a command's arguments after its name (a reply: the top aggregate's children) */
	char word[2][REDIS_WORD]; /* a command's name and first argument, uppercased (cut: longer ones
				   * are unknown words); a reply: the error's first word, the first child's text */
	int64_t ival;		  /* a reply: the integer that is the top aggregate's third child, else -1 */
	uint64_t bytes;		  /* on the wire, gaps included */
	uint64_t start_ns;
};

struct redis_reader {
	uint8_t kind;	/* enum redis_msg_kind */
	uint8_t st;	/* RD_* (redis_parser.c) */
	uint8_t lost;	/* framing lost: bytes are ignored until a chunk starts a message again */
	uint8_t in_msg; /* a message has begun */
	uint8_t have_top, lvl, type, cap;
	uint8_t neg, digits, quote, esc, inword, was_cr;
	uint8_t len[2]; /* bytes kept of word[] */
	uint32_t line;	/* bytes of the line being read */
	uint64_t num;	/* the length or count being read */
	uint64_t body;	/* bulk bytes left, its CRLF included */
	uint64_t top_left, inner_left, attr_left;
	uint32_t child;	 /* which child of the top aggregate is being read */
	uint64_t errors; /* framing lost */
	struct redis_msg m;
};

/* what the reader gives back after a feed */
enum redis_step { REDIS_MORE = 0, REDIS_MESSAGE = 1, REDIS_LOST = 2 };

void redis_reader__init(struct redis_reader *r, enum redis_msg_kind kind);
/* Parse @len bytes from @buf; stops after one whole message (REDIS_MESSAGE: r->m holds it, *used says how
 * many bytes it took) or at an error (REDIS_LOST: the reader is lost, the rest of the bytes are ignored). */
enum redis_step redis_reader__feed(struct redis_reader *r, const uint8_t *buf, size_t len, size_t *used,
				   uint64_t now_ns);
/* @n bytes crossed uncaptured: REDIS_LOST unless they fall inside a bulk body */
enum redis_step redis_reader__gap(struct redis_reader *r, uint64_t n);
/* the reader is lost: drop what it had, ignore bytes until redis_reader__resync */
void redis_reader__lose(struct redis_reader *r);
/* do these bytes (a chunk's start) begin a message of the reader's kind?  PROTO_MAYBE: too few to tell */
enum proto_guess redis__starts(enum redis_msg_kind kind, const uint8_t *buf, size_t len);

/* ---- the connection (redis_conn.c) ---- */

/* a command waiting for its reply: what its exchange needs, not the exchange */
struct redis_cmd {
	uint64_t start_ns, bytes;
	uint8_t trace_id[16], span_id[8], parent_id[8];
	int32_t pid, tid;
	uint32_t args; /* arguments after the command's name */
	int32_t arg;   /* SELECT: the index; HELLO: the protocol version; (UN)SUBSCRIBE: confirmations still
			   * to come (-1: as many as the connection has of that kind); else -1 */
	int16_t db;    /* the db index it ran against, -1 unknown */
	uint16_t cmd;  /* index in redis_commands[] */
	uint8_t sub;   /* index + 1 in redis_subcommands[], or 0 */
	uint8_t sampled, parent_remote, truncated;
	uint8_t inline_cmd, pad[3];
};

enum redis_role { REDIS_ROLE_UNKNOWN = 0, REDIS_ROLE_CLIENT = 1, REDIS_ROLE_SERVER = 2 };

struct redis_conn {
	const struct proto_sink *sink;
	void *ctx;
	uint64_t now_ns;
	uint8_t role; /* enum redis_role: from the direction of the first command */
	uint8_t resp3;
	uint8_t sure; /* a known command was parsed, or a reply paired */
	uint8_t pad;
	int16_t db; /* the db index commands run against from now (SELECT seen), -1 unknown */
	uint16_t head, npending;
	uint32_t overflow;	      /* commands given up (queue full) whose replies are still to come */
	int64_t subs;		      /* channels + patterns subscribed (the count confirmations carry) */
	int64_t nchan, npat, nshard;  /* of each kind */
	uint64_t unmatched, given_up; /* replies with no command; commands that found the queue full */
	uint8_t stamped;	      /* proto, local, peer below were learnt from the first on_request */
	uint8_t proto;
	struct obs_addr local, peer; /* what the caller stamps on each exchange (struct proto_conn) */
	struct redis_reader rd[2];   /* [PROTO_IN], [PROTO_OUT] */
	struct redis_cmd q[REDIS_PIPELINE];
};

void redis_conn__init(struct redis_conn *c, const struct proto_sink *sink, void *ctx);
void redis_conn__feed(struct redis_conn *c, enum proto_dir dir, const void *buf, size_t len, uint64_t total,
		      uint64_t now_ns);
void redis_conn__close(struct redis_conn *c, uint64_t now_ns);
/* "SET ? ?": @cmd's name, its subcommand word, a '?' per other argument; false when cut to fit @size */
bool redis__query_text(char *out, size_t size, unsigned cmd, unsigned sub, uint32_t args);

#endif
