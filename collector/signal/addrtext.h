/* addrtext.h -- an exchange's peer address as text, formatted again only when it changes (a connection's
 * exchanges come one after another) */
#ifndef OBSPROBE_ADDRTEXT_H
#define OBSPROBE_ADDRTEXT_H

#include <arpa/inet.h>
#include <stdint.h>

#include "abi/exchange.h"

struct addr_text {
	uint8_t family; /* 0: none formatted yet */
	uint8_t addr[16];
	char text[INET6_ADDRSTRLEN];
};

/* @a as text ("" when unknown), kept in @c until another address comes */
const char *addr_text__get(struct addr_text *c, const struct obs_addr *a);

#endif
