/* redis.c -- Redis as a struct proto: detection, the known commands, and what its exchanges become:
 * db_client_operation_duration_seconds and a CLIENT or SERVER span with OpenTelemetry's database conventions
 * (SPEC "Redis").  The connection parser is redis_conn.c over redis_parser.c. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/proto/conn.h"
#include "lib/proto/redis.h"

_Static_assert(sizeof(struct redis_conn) <= PROTO_STATE_MAX, "Redis state fits a proto_conn");

/* ---- the known commands: the only names a label or a span may carry ---- */

/* clang-format off */
const char *const redis_commands[] = {
	"_OTHER", /* anything else (module commands, garbage): a bounded label */
	"ACL", "APPEND", "ASKING", "AUTH", "BGREWRITEAOF", "BGSAVE", "BITCOUNT", "BITFIELD", "BITFIELD_RO", "BITOP",
	"BITPOS", "BLMOVE", "BLMPOP", "BLPOP", "BRPOP", "BRPOPLPUSH", "BZMPOP", "BZPOPMAX", "BZPOPMIN", "CLIENT",
	"CLUSTER", "COMMAND", "CONFIG", "COPY", "DBSIZE", "DEBUG", "DECR", "DECRBY", "DEL", "DISCARD", "DUMP",
	"ECHO", "EVAL", "EVALSHA", "EVALSHA_RO", "EVAL_RO", "EXEC", "EXISTS", "EXPIRE", "EXPIREAT", "EXPIRETIME",
	"FAILOVER", "FCALL", "FCALL_RO", "FLUSHALL", "FLUSHDB", "FUNCTION", "GEOADD", "GEODIST", "GEOHASH", "GEOPOS",
	"GEORADIUS", "GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO", "GEORADIUS_RO", "GEOSEARCH", "GEOSEARCHSTORE",
	"GET", "GETBIT", "GETDEL", "GETEX", "GETRANGE", "GETSET", "HDEL", "HELLO", "HEXISTS", "HGET", "HGETALL",
	"HINCRBY", "HINCRBYFLOAT", "HKEYS", "HLEN", "HMGET", "HMSET", "HRANDFIELD", "HSCAN", "HSET", "HSETNX",
	"HSTRLEN", "HVALS", "INCR", "INCRBY", "INCRBYFLOAT", "INFO", "KEYS", "LASTSAVE", "LATENCY", "LCS", "LINDEX",
	"LINSERT", "LLEN", "LMOVE", "LMPOP", "LOLWUT", "LPOP", "LPOS", "LPUSH", "LPUSHX", "LRANGE", "LREM", "LSET",
	"LTRIM", "MEMORY", "MGET", "MIGRATE", "MODULE", "MONITOR", "MOVE", "MSET", "MSETNX", "MULTI", "OBJECT",
	"PERSIST", "PEXPIRE", "PEXPIREAT", "PEXPIRETIME", "PFADD", "PFCOUNT", "PFDEBUG", "PFMERGE", "PFSELFTEST",
	"PING", "PSETEX", "PSUBSCRIBE", "PSYNC", "PTTL", "PUBLISH", "PUBSUB", "PUNSUBSCRIBE", "QUIT", "RANDOMKEY",
	"READONLY", "READWRITE", "RENAME", "RENAMENX", "REPLCONF", "REPLICAOF", "RESET", "RESTORE", "RESTORE-ASKING",
	"ROLE", "RPOP", "RPOPLPUSH", "RPUSH", "RPUSHX", "SADD", "SAVE", "SCAN", "SCARD", "SCRIPT", "SDIFF",
	"SDIFFSTORE", "SELECT", "SET", "SETBIT", "SETEX", "SETNX", "SETRANGE", "SHUTDOWN", "SINTER", "SINTERCARD",
	"SINTERSTORE", "SISMEMBER", "SLAVEOF", "SLOWLOG", "SMEMBERS", "SMISMEMBER", "SMOVE", "SORT", "SORT_RO",
	"SPOP", "SPUBLISH", "SRANDMEMBER", "SREM", "SSCAN", "SSUBSCRIBE", "STRLEN", "SUBSCRIBE", "SUBSTR", "SUNION",
	"SUNIONSTORE", "SUNSUBSCRIBE", "SWAPDB", "SYNC", "TIME", "TOUCH", "TTL", "TYPE", "UNLINK", "UNSUBSCRIBE",
	"UNWATCH", "WAIT", "WAITAOF", "WATCH", "XACK", "XADD", "XAUTOCLAIM", "XCLAIM", "XDEL", "XGROUP", "XINFO",
	"XLEN", "XPENDING", "XRANGE", "XREAD", "XREADGROUP", "XREVRANGE", "XSETID", "XTRIM", "ZADD", "ZCARD",
	"ZCOUNT", "ZDIFF", "ZDIFFSTORE", "ZINCRBY", "ZINTER", "ZINTERCARD", "ZINTERSTORE", "ZLEXCOUNT", "ZMPOP",
	"ZMSCORE", "ZPOPMAX", "ZPOPMIN", "ZRANDMEMBER", "ZRANGE", "ZRANGEBYLEX", "ZRANGEBYSCORE", "ZRANGESTORE",
	"ZRANK", "ZREM", "ZREMRANGEBYLEX", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYLEX",
	"ZREVRANGEBYSCORE", "ZREVRANK", "ZSCAN", "ZSCORE", "ZUNION", "ZUNIONSTORE",
};
/* clang-format on */
const unsigned redis_ncommands = sizeof(redis_commands) / sizeof(redis_commands[0]);

/* words kept after a container command (CONFIG GET, CLIENT LIST, XINFO STREAM); any other is an argument */
/* clang-format off */
const char *const redis_subcommands[] = {
	"ADDSLOTS", "ADDSLOTSRANGE", "CACHING", "CAT", "CHANNELS", "CONSUMERS", "COUNT", "COUNTKEYSINSLOT", "CREATE",
	"CREATECONSUMER", "DEBUG", "DELCONSUMER", "DELETE", "DELSLOTS", "DELUSER", "DESTROY", "DOCS", "DOCTOR",
	"DRYRUN", "DUMP", "ENCODING", "EXISTS", "FAILOVER", "FLUSH", "FORGET", "FREQ", "GENPASS", "GET", "GETKEYS",
	"GETKEYSANDFLAGS", "GETKEYSINSLOT", "GETNAME", "GETREDIR", "GETUSER", "GRAPH", "GROUPS", "HELP", "HISTOGRAM",
	"HISTORY", "ID", "IDLETIME", "INFO", "KEYSLOT", "KILL", "LATEST", "LEN", "LIST", "LOAD", "LOADEX", "LOG",
	"MALLOC-STATS", "MEET", "MYID", "MYSHARDID", "NO-EVICT", "NO-TOUCH", "NODES", "NUMPAT", "NUMSUB", "PAUSE",
	"PURGE", "REFCOUNT", "REPLICAS", "REPLICATE", "REPLY", "RESET", "RESETSTAT", "RESTORE", "REWRITE", "SAVE",
	"SET", "SETID", "SETINFO", "SETNAME", "SETSLOT", "SETUSER", "SHARDCHANNELS", "SHARDNUMSUB", "SHARDS",
	"SLOTS", "STATS", "STREAM", "TRACKING", "TRACKINGINFO", "UNBLOCK", "UNLOAD", "UNPAUSE", "USAGE", "USERS",
	"WHOAMI",
};
/* clang-format on */
const unsigned redis_nsubcommands = sizeof(redis_subcommands) / sizeof(redis_subcommands[0]);

static const char *const containers[] = { "ACL",      "CLIENT",	 "CLUSTER", "COMMAND", "CONFIG",
					  "FUNCTION", "LATENCY", "MEMORY",  "MODULE",  "OBJECT",
					  "PUBSUB",   "SCRIPT",	 "SLOWLOG", "XGROUP",  "XINFO" };

/* binary search of sorted @tab[lo, hi) */
static unsigned find(const char *const *tab, unsigned lo, unsigned hi, const char *w)
{
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int d = strcmp(w, tab[mid]);

		if (!d)
			return mid;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return ~0u;
}

unsigned redis__command(const char *w)
{
	unsigned i = find(redis_commands, 1, redis_ncommands, w);

	return i == ~0u ? 0 : i;
}

unsigned redis__subcommand(unsigned cmd, const char *w)
{
	unsigned i;

	if (!cmd || cmd >= redis_ncommands)
		return 0;
	for (i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
		if (!strcmp(redis_commands[cmd], containers[i]))
			break;
	if (i == sizeof(containers) / sizeof(containers[0]))
		return 0;
	i = find(redis_subcommands, 0, redis_nsubcommands, w);
	return i == ~0u ? 0 : i + 1;
}

enum redis_special redis__special(unsigned cmd)
{
	static const struct {
		const char *name;
		enum redis_special s;
	} special[] = {
		{ "SELECT", REDIS_C_SELECT },
		{ "HELLO", REDIS_C_HELLO },
		{ "RESET", REDIS_C_RESET },
		{ "SUBSCRIBE", REDIS_C_SUBSCRIBE },
		{ "PSUBSCRIBE", REDIS_C_PSUBSCRIBE },
		{ "SSUBSCRIBE", REDIS_C_SSUBSCRIBE },
		{ "UNSUBSCRIBE", REDIS_C_UNSUBSCRIBE },
		{ "PUNSUBSCRIBE", REDIS_C_PUNSUBSCRIBE },
		{ "SUNSUBSCRIBE", REDIS_C_SUNSUBSCRIBE },
	};

	if (!cmd || cmd >= redis_ncommands)
		return REDIS_C_NONE;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcmp(redis_commands[cmd], special[i].name))
			return special[i].s;
	return REDIS_C_NONE;
}

/* ---- detection ---- */

/* "<digits>\r\n" (or "-1\r\n" when @null_ok) at @p: its length, 0 when cut short, -1 when it is not one */
static long number_line(const uint8_t *p, size_t n, bool null_ok)
{
	size_t i = 0, d = 0;

	if (i < n && p[i] == '-' && null_ok)
		i++;
	while (i < n && p[i] >= '0' && p[i] <= '9' && d < 12)
		i++, d++;
	if (i == n)
		return 0;
	if (!d || (p[0] == '-' && !(d == 1 && p[1] == '1')))
		return -1;
	if (p[i] != '\r')
		return -1;
	if (i + 1 == n)
		return 0;
	return p[i + 1] == '\n' ? (long)(i + 2) : -1;
}

/* the known command a word of @n bytes at @p names (any case)? */
static bool known_word(const uint8_t *p, size_t n)
{
	char w[REDIS_WORD];

	if (!n || n >= REDIS_WORD)
		return false;
	for (size_t i = 0; i < n; i++)
		w[i] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - ('a' - 'A') : p[i]);
	w[n] = '\0';
	return redis__command(w) != 0;
}

static enum proto_guess command_start(const uint8_t *p, size_t n)
{
	const uint8_t *nl, *e = p + n;
	long k;
	size_t len, w;

	if (!n)
		return PROTO_MAYBE;
	if (p[0] == '*') { /* *<args>\r\n$<len>\r\n<name>\r\n */
		k = number_line(p + 1, n - 1, false);
		if (k <= 0)
			return k ? PROTO_NO : PROTO_MAYBE;
		if (p[1] == '0')
			return PROTO_NO;
		p += 1 + k;
		if (p == e)
			return PROTO_MAYBE;
		if (*p != '$')
			return PROTO_NO;
		k = number_line(p + 1, e - p - 1, false);
		if (k <= 0)
			return k ? PROTO_NO : PROTO_MAYBE;
		len = 0;
		for (const uint8_t *d = p + 1; *d != '\r'; d++)
			len = len * 10 + (*d - '0');
		p += 1 + k;
		if ((size_t)(e - p) < len)
			return len < REDIS_WORD ? PROTO_MAYBE : PROTO_NO;
		return known_word(p, len) ? PROTO_YES : PROTO_NO;
	}
	/* inline: a known command word, then blanks and words, then the line's end */
	nl = memchr(p, '\n', n < 512 ? n : 512);
	if (!nl)
		return PROTO_NO;
	for (w = 0; p + w < nl && p[w] != ' ' && p[w] != '\r'; w++)
		;
	if (!known_word(p, w))
		return PROTO_NO;
	for (const uint8_t *q = p; q < nl; q++)
		if ((*q < 0x20 && *q != '\t' && *q != '\r') || *q == 0x7f)
			return PROTO_NO;
	if (nl - p >= 10 && !memcmp(nl - (nl[-1] == '\r' ? 10 : 9), " HTTP/1.", 8))
		return PROTO_NO; /* an HTTP request line */
	return PROTO_YES;
}

static enum proto_guess reply_start(const uint8_t *p, size_t n)
{
	long k;

	if (!n)
		return PROTO_MAYBE;
	switch (p[0]) {
	case '$':
	case '*':
	case '!':
	case '=':
	case '%':
	case '~':
	case '>':
	case '|':
		k = number_line(p + 1, n - 1, p[0] != '|' && p[0] != '>');
		return k < 0 ? PROTO_NO : k ? PROTO_YES : PROTO_MAYBE;
	case ':':
	case '(':
		k = number_line(p + 1, n - 1, true);
		if (k < 0 && n > 2 && p[1] == '-') /* any negative integer */
			k = number_line(p + 2, n - 2, false);
		return k < 0 ? PROTO_NO : k ? PROTO_YES : PROTO_MAYBE;
	case '_':
		if (n < 3)
			return PROTO_MAYBE;
		return p[1] == '\r' && p[2] == '\n' ? PROTO_YES : PROTO_NO;
	case '+':
	case '-':
	case ',':
	case '#':
		for (size_t i = 1; i < n; i++) {
			if (p[i] == '\r')
				return i + 1 == n ? PROTO_MAYBE : p[i + 1] == '\n' ? PROTO_YES : PROTO_NO;
			if (p[i] < 0x20 && p[i] != '\t')
				return PROTO_NO;
		}
		return PROTO_MAYBE;
	default:
		return PROTO_NO;
	}
}

enum proto_guess redis__starts(enum redis_msg_kind kind, const uint8_t *buf, size_t len)
{
	return kind == REDIS_MSG_COMMAND ? command_start(buf, len) : reply_start(buf, len);
}

/* Only commands claim a connection: a reply alone ("+OK") is too like other line protocols. */
static enum proto_guess detect(const void *buf, size_t len, enum proto_dir dir)
{
	(void)dir; /* the side that writes commands is the client: the parser learns which from this chunk */
	return command_start(buf, len);
}

/* ---- the interface ---- */

static void init(void *state, const struct proto_sink *sink, void *ctx)
{
	redis_conn__init(state, sink, ctx);
}

static void feed(void *state, enum proto_dir dir, const void *buf, size_t len, uint64_t total, uint64_t now_ns)
{
	redis_conn__feed(state, dir, buf, len, total, now_ns);
}

static void close_conn(void *state, uint64_t now_ns)
{
	redis_conn__close(state, now_ns);
}

static void progress(const void *state, struct proto_progress *out)
{
	const struct redis_conn *c = state;

	out->sure = c->sure;
	out->errors = c->rd[0].errors + c->rd[1].errors;
}

/* ---- describe ---- */

/* the operation's name from the fixed list: the query text's first word, else the op ("_OTHER" for the rest) */
static const char *operation(const struct obs_exchange *x)
{
	char w[REDIS_WORD];
	size_t n;
	unsigned i;

	for (n = 0; n < sizeof(w) - 1 && n < sizeof(x->target) && x->target[n] && x->target[n] != ' '; n++)
		w[n] = x->target[n];
	w[n] = '\0';
	i = redis__command(w);
	if (!i) {
		n = strnlen(x->op, sizeof(x->op));
		if (n < sizeof(x->op)) {
			memcpy(w, x->op, n + 1);
			i = redis__command(w);
		}
	}
	return redis_commands[i];
}

static const char *error_label(const char *code)
{
	static const char *const known[] = {
		"ASK",	     "BUSY",	  "BUSYGROUP",	"BUSYKEY",   "CLUSTERDOWN", "CROSSSLOT", "ERR",
		"EXECABORT", "LOADING",	  "MASTERDOWN", "MISCONF",   "MOVED",	    "NOAUTH",	 "NOGROUP",
		"NOPERM",    "NOPROTO",	  "NOREPLICAS", "NOSCRIPT",  "NOTBUSY",	    "OOM",	 "READONLY",
		"TRYAGAIN",  "UNBLOCKED", "UNKILLABLE", "WRONGPASS", "WRONGTYPE",
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strncmp(code, known[i], OBS_X_CODE_MAX))
			return known[i];
	return "_OTHER";
}

static void addr_text(const struct obs_addr *a, char *out, size_t len)
{
	out[0] = '\0';
	if (a->family == AF_INET)
		inet_ntop(AF_INET, a->addr, out, len);
	else if (a->family == AF_INET6)
		inet_ntop(AF_INET6, a->addr, out, len);
}

/* a NUL-terminated copy of a field that came from outside (the shim's segment), cleaned; false: leave it out */
static bool clean_field(const struct proto_text *t, const char *field, size_t size, char *out, size_t outlen)
{
	char in[OBS_X_TARGET_MAX];
	size_t n = strnlen(field, size);

	if (n >= sizeof(in))
		n = sizeof(in) - 1;
	memcpy(in, field, n);
	in[n] = '\0';
	return n && t->clean(t->ctx, in, out, outlen);
}

static void describe(const struct obs_exchange *x, const struct proto_text *t, bool span, struct proto_desc *d)
{
	bool server = x->kind == OBS_X_SERVER;
	const char *op = operation(x);
	char addr[64], buf[OBS_X_TARGET_MAX + 64];
	const struct obs_addr *srv = server ? &x->local : &x->peer;

	proto_desc__init(d);
	if (!x->status) { /* no reply: no duration to record */
		d->lost = x->op[0] ? "redis_unanswered" : "redis_pipeline_overflow";
		return;
	}
	if (server)
		addr_text(&x->local, addr, sizeof(addr));
	else {
		size_t n = strnlen(t->peer, sizeof(addr) - 1);

		memcpy(addr, t->peer, n);
		addr[n] = '\0';
	}
	d->labels[0] = "redis";
	d->labels[1] = op;
	d->labels[2] = proto_desc__keep(d, addr);
	d->labels[3] = x->error ? error_label(x->code) : "";
	if (!span)
		return;

	/* the span: OpenTelemetry's database conventions ("{db.operation.name}") */
	memcpy(d->name, op, strlen(op) + 1);
	d->error = x->error;
	proto_desc__str(d, "db.system.name", "redis");
	proto_desc__str(d, "db.operation.name", op);
	if (clean_field(t, x->host, sizeof(x->host), buf, sizeof(buf)))
		proto_desc__str(d, "db.namespace", buf);
	if (clean_field(t, x->target, sizeof(x->target), buf, sizeof(buf)))
		proto_desc__str(d, "db.query.text", buf);
	if (addr[0])
		proto_desc__str(d, "server.address", addr);
	if (srv->port)
		proto_desc__int(d, "server.port", srv->port);
	if (x->error && clean_field(t, x->code, sizeof(x->code), buf, sizeof(buf)))
		proto_desc__str(d, "db.response.status_code", buf);
	if (t->peer[0])
		proto_desc__str(d, "network.peer.address", t->peer);
	if (x->peer.port)
		proto_desc__int(d, "network.peer.port", x->peer.port);
	proto_desc__int(d, "redis.protocol.version", x->version == 3 ? 3 : 2);
}

const struct proto proto_redis = {
	.name = "redis",
	.id = OBS_PROTO_REDIS,
	.caplen = 0, /* what the capture path copies: bulk bodies are skipped by length */
	.state_size = sizeof(struct redis_conn),
	.detect = detect,
	.init = init,
	.feed = feed,
	.close = close_conn,
	.progress = progress,
	.describe = describe,
};
