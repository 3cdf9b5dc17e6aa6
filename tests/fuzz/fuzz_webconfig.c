/* fuzz-srcs: collector/export/webconfig.c collector/export/webconfig_parse.c collector/export/basicauth.c */
/* fuzz_webconfig.c -- libFuzzer harness for the --web-config YAML parser (webconfig__parse on raw bytes) */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "export/webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webconfig *wc = NULL;
	const struct webconfig_tls *t;
	const char *name, *value;
	char err[512];
	int rc = webconfig__parse((const char *)data, size, "/fuzz", &wc, err, sizeof(err));

	if (rc) {
		/* refused: no object, one message */
		if (wc || !err[0] || strlen(err) >= sizeof(err))
			__builtin_trap();
		return 0;
	}
	t = webconfig__tls(wc);
	if (t && (t->min_version > t->max_version || t->client_auth > WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT))
		__builtin_trap();
	for (int i = 0; webconfig__header(wc, i, &name, &value); i++)
		if (!name || !value || strpbrk(value, "\r\n"))
			__builtin_trap();
	(void)webconfig__needs_auth(wc);
	(void)webconfig__source(wc);
	webconfig__free(wc);
	return 0;
}
