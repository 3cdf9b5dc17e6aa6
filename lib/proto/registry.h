/* registry.h -- the protocols obsprobe parses, in the order detection asks them */
#ifndef OBSPROBE_REGISTRY_H
#define OBSPROBE_REGISTRY_H

#include <stdint.h>

#include "lib/proto/proto.h"

/* every registered protocol, NULL-terminated */
extern const struct proto *const proto_registry[];

/* the protocol with this enum obs_proto id, or NULL (an exchange from the segment names one) */
const struct proto *proto__by_id(uint8_t id);
const struct proto *proto__by_name(const char *name);

#endif
