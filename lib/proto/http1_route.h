/* http1_route.h -- http_route: a request path with its variable segments folded, so routes stay few */
#ifndef OBSPROBE_HTTP1_ROUTE_H
#define OBSPROBE_HTTP1_ROUTE_H

#include <stddef.h>
#include <stdint.h>

/* Fold a request target into a route.  The query and fragment are dropped, an absolute-form target
 * ("http://host/p") keeps its path, and each segment that looks like a value becomes "{id}":
 *   - all digits ("123"), a UUID, hex of 8+ characters with a digit ("3f786850e387"),
 *   - a token of 16+ characters with letters and digits (base64, base64url, ULIDs, session ids),
 *   - any segment with a digit longer than 24 characters, any segment longer than 64, any with a
 *     percent-escape or a character outside [A-Za-z0-9._~!$&'()*+,;=:@-] (e-mails, encoded text).
 * Short words with a digit stay ("v1", "v2", "api2").  Past 8 segments the rest is "/{rest}".
 * Writes the NUL-terminated route into @out and returns its length, or -1 (and "/") when @outsize
 * is too small. */
int route__fold(const char *target, size_t len, char *out, size_t outsize);

/* route__fold's results remembered for the paths that repeat (direct-mapped by a hash of the path): a repeat costs
 * a hash and a compare.  The caller allocates it (zeroed) and uses it from one thread. */
#define ROUTE_MEMO_SLOTS 256
#define ROUTE_MEMO_PATH_MAX 120	 /* longer paths are folded every time */
#define ROUTE_MEMO_ROUTE_MAX 128 /* a route longer than this is not kept */

struct route_memo_entry {
	uint64_t hash;
	uint32_t outsize; /* 0: unused (the memo serves only outsize >= 2) */
	uint16_t len;
	int16_t rc;
	char path[ROUTE_MEMO_PATH_MAX];
	char route[ROUTE_MEMO_ROUTE_MAX];
};

struct route_memo {
	struct route_memo_entry e[ROUTE_MEMO_SLOTS];
	uint64_t hits, misses;
};

/* as route__fold(); @m NULL: no memo */
int route__fold_memo(struct route_memo *m, const char *target, size_t len, char *out, size_t outsize);

#endif
