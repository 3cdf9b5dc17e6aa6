/* options.h -- the option table: every flag and --config key, the commands it applies to, its help text,
 * and how its value is checked and applied to struct env */
#ifndef OBSPROBE_OPTIONS_H
#define OBSPROBE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/log.h"
#include "cli/env.h"

/* the commands an option applies to */
/* the commands an option applies to */
#define C_ATTACH (1u << CMD_ATTACH)
#define C_RUN (1u << CMD_RUN)
#define C_SERVE (1u << CMD_SERVE)
#define C_SYMBOLS (1u << CMD_SYMBOLS)
#define C_CHECK (1u << CMD_CHECK)
#define C_TRACE (C_ATTACH | C_RUN | C_SERVE)
#define C_PROBE (C_ATTACH | C_RUN) /* serve reads the shim only: no probes */
#define C_ALL (~0u)
#define C_FILE_ONLY 0u /* a --config file key, never a flag (redact-patterns); it applies to every command */

enum {
	OPT_PID = 0x100,
	OPT_BINARY,
	OPT_FUNC,
	OPT_KFUNC,
	OPT_NO_SYSCALLS,
	OPT_NO_NET,
	OPT_NO_TLS,
	OPT_NO_HTTP,
	OPT_NO_LOGS,
	OPT_LISTEN,
	OPT_SERVICE,
	OPT_OTLP_ENDPOINT,
	OPT_OTLP_PROTOCOL,
	OPT_OTLP_HEADER,
	OPT_OTLP_TIMEOUT,
	OPT_OTLP_COMPRESSION,
	OPT_SPANS_FILE,
	OPT_LOG_FILE,
	OPT_SAMPLE_RATIO,
	OPT_MAX_SPS,
	OPT_MAX_SERIES,
	OPT_PAYLOAD_RING_MB,
	OPT_BUCKETS,
	OPT_DURATION,
	OPT_METRICS_AUTH,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_PRELOAD,
	OPT_NO_FOLLOW,
	OPT_CONFIG,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_VERSION,
	OPT_USER,
	OPT_WEB_CONFIG,
	OPT_MAX_SERVICES,
	OPT_MAX_SEGS_PER_UID,
	OPT_MAX_REJECTED,
	OPT_OTLP_METRICS,
	OPT_SERVICE_INSTANCE_ID,
	OPT_OTLP_METRICS_INTERVAL,
	OPT_MAX_OVERHEAD,
	OPT_PROBE_STATS,
	OPT_CONTAINER_LABELS,
	OPT_MAX_CONTAINERS,
	OPT_PUSHGATEWAY,
	OPT_PUSH_JOB,
	OPT_PUSH_INTERVAL,
	OPT_REDACT, /* config file only */
	OPT_JSON,
	OPT_EXE,
	OPT_PORT,
	OPT_CGROUP,
};

struct optdef {
	const char *name; /* long name; the config key is the same with '_' or '-' */
	int has_arg;
	int val;
	unsigned cmds;	  /* commands it applies to */
	const char *arg;  /* help: "--name ARG" */
	const char *help; /* help text, '\n' continues on an indented line */
};

#define OPTIONS_MAX 64 /* option sets are 64-bit masks */

extern const struct optdef options[];
extern const int noptions;

const struct optdef *options__by_val(int val);
/* a --config key ("no_syscalls" or "no-syscalls"); NULL when unknown or not a file key (config, help, version) */
const struct optdef *options__by_key(const char *key);
/* the bit of an option in a set of options */
uint64_t options__bit(int val);
/* repeatable: a config file may give a list */
bool options__is_list(int val);
/* the help lines of the options that apply to @cmds */
void options__print(FILE *out, unsigned cmds);
/* an option without a value, turned on (a flag, "key": true) or off ("key": false) */
void options__set_flag(struct env *env, int val, bool on);
/* one option value, from a flag, the config file or the environment; @what names it in messages;
 * 0, or 2 after printing why it is not valid */
int options__apply(struct env *env, int val, const char *arg, const char *what);

/* a usage error: say it (one line) and return 2 */
#define BAD(...)                   \
	do {                       \
		elog(__VA_ARGS__); \
		return 2;          \
	} while (0)

#endif
