/* optval.h -- the syntax of option values: numbers, ADDR:PORT, [OBJ:]GLOB, HTTP headers (OTLP URLs: export/url.h) */
#ifndef OBSPROBE_OPTVAL_H
#define OBSPROBE_OPTVAL_H

#include <stddef.h>

/* a whole decimal number / a finite number, the whole of @s; 0 or -1 */
int optval_long(const char *s, long *out);
int optval_double(const char *s, double *out);

/* The checks below return NULL when @s is well formed, else why it is not, worded
 * to follow "'<s>' " in a message ("is not a URL (expected http://host:port)"). */

/* --listen: ADDR:PORT, [IPV6]:PORT, :PORT or PORT (both 127.0.0.1); port 1..65535.
 * ADDR is an IPv4 address or a host name; IPv6 goes in brackets. Fills @host, @port. */
const char *optval_listen(const char *s, char *host, size_t hostlen, int *port);

/* --func [OBJ:]GLOB, split as funclat does: at the first ':' that is not part of "::" */
const char *optval_func(const char *s);

/* --otlp-header KEY=VALUE: KEY an HTTP token, VALUE without line breaks */
const char *optval_header(const char *s);

/* one entry (@n bytes at @p) of $OTEL_EXPORTER_OTLP_HEADERS ("k1=v1,k2=v2"): blanks
 * around it and around '=' dropped, %XX decoded, written to @out as "k=v" */
void optval_otel_header(const char *p, size_t n, char *out, size_t outlen);

#endif
