/* url.h -- the one syntax of an OTLP/HTTP endpoint URL, and of the host names, addresses and ports in it (pure) */
#ifndef OBSPROBE_URL_H
#define OBSPROBE_URL_H

#include <stdbool.h>
#include <stddef.h>

#define URL_MAX_LEN 900 /* the exporter appends /v1/traces or /v1/logs within 1 KiB */

/* The rule for an OTLP/HTTP base URL, wherever one comes from (--otlp-endpoint, the config file,
 * $OTEL_EXPORTER_OTLP_ENDPOINT, exporter__new):
 *   http:// or https:// (in any case), then [USERINFO@]HOST[:PORT][/PATH], where
 *   - USERINFO runs to the first '@' of the authority (what comes before the first '/');
 *   - HOST is a name of letters, digits, '-' and '.' (1 to 253 of them; an IPv4 address is one), or an IPv6
 *     address in brackets ([::1]; a %zone is the resolver's business);
 *   - PORT is 1 to 65535, at most 5 digits;
 *   - no space or control character anywhere, no query or fragment ('?', '#': /v1/traces and /v1/logs are
 *     appended to the path), at most URL_MAX_LEN characters.
 * Returns NULL when @s follows it, else why not, worded to follow "'<s>' " in a message
 * ("is not a URL (expected http://host:port)"). */
const char *url__check(const char *s);

/* The length of @s's "scheme://authority" (what precedes the path), and whether the authority gives a port.
 * @s follows url__check's rule. */
size_t url__origin(const char *s, bool *has_port);

/* the pieces, shared with --listen's ADDR:PORT (cli/optval.c) */
bool url__is_hostname(const char *h, size_t len);   /* letters, digits, '-', '.'; 1..253 */
bool url__is_ip(int af, const char *h, size_t len); /* an address of family @af (AF_INET, AF_INET6), %zone ignored */
int url__port(const char *s, size_t len);	    /* 1..65535 in at most 5 digits, else -1 */

#endif
