/* otlp_group.h -- what the protobuf (otlp.c) and JSON (otlp_json.c) OTLP encoders share; internal to them */
#ifndef OBSPROBE_OTLP_GROUP_H
#define OBSPROBE_OTLP_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "export/otlp.h"
#include "export/span.h"

struct res_view {
	const char *service;
	const char *exe;
	int32_t pid;
	const struct span_container *ctr; /* never NULL */
};

struct group_ops {
	size_t stride;
	void (*res)(const void *item, struct res_view *rv);
	/* begin a resource group / add one item / end the group; ctx is the encoder's */
	void (*begin)(void *ctx, const struct res_view *rv, const struct otlp_host *host);
	void (*item)(void *ctx, const void *item);
	void (*end)(void *ctx);
};

/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0 if the bytes there are not one: overlong forms,
 * surrogates and code points past U+10FFFF are not. */
static inline size_t otlp_group__utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	/* the second byte's range excludes overlong forms, surrogates and code points past U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Copy @src (at most @max bytes, stops at NUL) to @dst replacing each invalid byte by U+FFFD.
 * With dst == NULL only measures.  Returns the output length (no NUL written). */
size_t otlp_group__utf8_clean(char *dst, const char *src, size_t max);

/* group_ops.res for struct span / struct log_record items */
void otlp_group__span_res(const void *item, struct res_view *rv);
void otlp_group__log_res(const void *item, struct res_view *rv);

/* the service.name value: OpenTelemetry's fallback when none is known */
const char *otlp_group__service(const struct res_view *rv);

/* Calls begin/item.../end once per distinct resource, in order of first appearance.  0, or -ENOMEM. */
int otlp_group__for_each(const void *items, size_t n, const struct group_ops *ops, void *ctx,
			 const struct otlp_host *host);

#endif
