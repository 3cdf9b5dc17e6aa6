/* fuzz-srcs: collector/cli/env.c collector/cli/options.c collector/cli/config.c collector/cli/optval.c collector/export/url.c collector/signal/hist.c lib/buckets.c collector/base/log.c collector/export/webconfig.c collector/export/webconfig_parse.c collector/export/basicauth.c collector/base/privs.c */
/* fuzz_config.c -- the --config JSON file parser (collector/cli/env.c) on any bytes.
 *
 * Input: the file's text, as read (NUL bytes included).  It is applied for `attach` (every tracing
 * option) and for `symbols` (--pid/--binary), over the defaults env__parse sets.  Checked: the
 * result is 0 or 2 (usage error), and the same both times it is applied to a fresh struct; every
 * value an accepted file set is in its documented range; lists stay within their bounds. */
#include <stdlib.h>

#include "cli/env.h"
#include "fuzz_util.h"
#include "signal/hist.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* every refused file prints a line: keep stdio's stderr quiet (sanitizers and checks use fd 2) */
	stderr = fopen("/dev/null", "w");
	return stderr ? 0 : -1;
}

static void check_env(const struct env *e)
{
	FUZZ_CHECK(e->npids >= 0 && e->npids <= ENV_MAX_PIDS);
	for (int i = 0; i < e->npids; i++)
		FUZZ_CHECK(e->pids[i] > 0);
	FUZZ_CHECK(e->nfuncs >= 0 && e->nfuncs <= ENV_MAX_GLOBS);
	for (int i = 0; i < e->nfuncs; i++)
		FUZZ_CHECK(e->funcs[i] && e->funcs[i][0]);
	FUZZ_CHECK(e->nkfuncs >= 0 && e->nkfuncs <= ENV_MAX_GLOBS);
	FUZZ_CHECK(e->notlp_headers >= 0 && e->notlp_headers <= ENV_MAX_HEADERS);
	for (int i = 0; i < e->notlp_headers; i++)
		FUZZ_CHECK(strchr(e->otlp_headers[i], '='));
	FUZZ_CHECK(e->nredact_patterns >= 0 && e->nredact_patterns <= ENV_MAX_PATTERNS);
	FUZZ_CHECK(fz__terminated(e->listen_host, sizeof(e->listen_host)) && e->listen_host[0]);
	FUZZ_CHECK(e->listen_port >= 1 && e->listen_port <= 65535);
	FUZZ_CHECK(e->sample_ratio >= 0 && e->sample_ratio <= 1);
	FUZZ_CHECK(e->max_spans_per_second > 0);
	FUZZ_CHECK(e->max_series >= 1 && e->max_series <= 10000000);
	FUZZ_CHECK(e->duration >= 0 && e->duration <= 1e9);
	FUZZ_CHECK(e->verbose >= 0 && e->verbose <= 9);
	FUZZ_CHECK(e->bounds.n >= 1 && e->bounds.n <= OBS_MAX_BOUNDS);
	for (int i = 0; i < e->bounds.n; i++)
		FUZZ_CHECK(e->bounds.ns[i] > 0 && (i == 0 || e->bounds.ns[i] > e->bounds.ns[i - 1]));
	FUZZ_CHECK(!e->service || e->service[0]);
	FUZZ_CHECK(!e->otlp_endpoint || !strncasecmp(e->otlp_endpoint, "http", 4));
}

/* defaults for @cmd, then the file: returns what the file gave */
static int apply(char *cmdline, const char *text, size_t len)
{
	char *argv[8], *save = NULL;
	int argc = 0, rc;
	struct env env;

	for (char *t = strtok_r(cmdline, " ", &save); t && argc < 7; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	env__parse(&env, argc, argv); /* the defaults; its result is about the command line */
	rc = env__config_text(&env, "fuzz.json", text, len);
	FUZZ_CHECK(rc == 0 || rc == 2);
	if (rc == 0)
		check_env(&env);
	env__free(&env);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char attach[] = "obsprobe attach --pid 1", symbols[] = "obsprobe symbols --binary /bin/true";
	char attach2[] = "obsprobe attach --pid 1";
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = apply(attach, text, size);
	FUZZ_CHECK(apply(attach2, text, size) == rc);
	apply(symbols, text, size);
	free(text);
	return 0;
}
