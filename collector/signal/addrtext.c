/* addrtext.c -- an exchange's peer address as text, formatted again only when it changes */
#include <string.h>
#include <sys/socket.h>

#include "signal/addrtext.h"

/* dotted quad, as inet_ntop writes it (without its stdio) */
static void ipv4_text(const uint8_t a[4], char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

const char *addr_text__get(struct addr_text *c, const struct obs_addr *a)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return "";
	if (c->family == a->family && !memcmp(c->addr, a->addr, a->family == AF_INET ? 4 : 16))
		return c->text;
	c->family = 0;
	if (a->family == AF_INET)
		ipv4_text(a->addr, c->text);
	else if (!inet_ntop(AF_INET6, a->addr, c->text, sizeof(c->text)))
		return "";
	c->family = a->family;
	memcpy(c->addr, a->addr, 16);
	return c->text;
}
