/* registry.c -- the protocols obsprobe parses: one line each, in the order detection asks them */
#include <stddef.h>
#include <string.h>

#include "lib/proto/registry.h"

/* A protocol is `const struct proto proto_<name>` in lib/proto/<name>.c.  Earlier lines win a tie: the
 * first protocol sure of a connection's first bytes claims it, else the first that says maybe. */
/* clang-format off */
#define PROTOCOLS(X) \
	X(http1) \
	X(redis) \
	X(postgres) \
	X(http2) \
	X(grpc)
/* clang-format on */

#define DECLARE(name) extern const struct proto proto_##name;
#define ENTRY(name) &proto_##name,
PROTOCOLS(DECLARE)

const struct proto *const proto_registry[] = { PROTOCOLS(ENTRY) NULL };

const struct proto *proto__by_id(uint8_t id)
{
	for (int i = 0; proto_registry[i]; i++)
		if (proto_registry[i]->id == id)
			return proto_registry[i];
	return NULL;
}

const struct proto *proto__by_name(const char *name)
{
	for (int i = 0; proto_registry[i]; i++)
		if (!strcmp(proto_registry[i]->name, name))
			return proto_registry[i];
	return NULL;
}
