/* otlp_group.c -- what both OTLP encoders share: UTF-8 cleaning, items grouped by their resource */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp_group.h"

/* ---- UTF-8 ---------------------------------------------------------------------------------------- */

/* Copy @src (at most @max bytes, stops at NUL) to @dst replacing each invalid byte by U+FFFD.
 * With dst == NULL only measures.  Returns the output length (no NUL written). */
size_t otlp_group__utf8_clean(char *dst, const char *src, size_t max)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strnlen(src, max), i = 0, out = 0, k;

	while (i < n) {
		if (n - i >= 8) { /* eight ASCII bytes at once (no NUL before n) */
			uint64_t v;

			memcpy(&v, s + i, 8);
			if (!(v & 0x8080808080808080ull)) {
				if (dst)
					memcpy(dst + out, &v, 8);
				out += 8;
				i += 8;
				continue;
			}
		}
		k = otlp_group__utf8_seq(s + i, n - i);
		if (k) {
			if (dst)
				memcpy(dst + out, s + i, k);
			out += k;
			i += k;
		} else {
			if (dst)
				memcpy(dst + out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		}
	}
	return out;
}

/* ---- resources: items grouped by who produced them ------------------------------------------------- */

void otlp_group__span_res(const void *item, struct res_view *rv)
{
	const struct span_resource *r = &((const struct span *)item)->resource;

	rv->service = r->service_name;
	rv->exe = r->executable_name;
	rv->pid = r->pid;
	rv->ctr = &r->ctr;
}

void otlp_group__log_res(const void *item, struct res_view *rv)
{
	const struct log_record *l = item;

	rv->service = l->service;
	rv->exe = l->exe;
	rv->pid = l->pid;
	rv->ctr = &l->ctr;
}

static bool res_same(const struct res_view *a, const struct res_view *b)
{
	return a->pid == b->pid && !strncmp(a->service, b->service, SPAN_RES_STR_LEN) &&
	       !strncmp(a->exe, b->exe, SPAN_RES_STR_LEN) && !strncmp(a->ctr->id, b->ctr->id, sizeof(a->ctr->id)) &&
	       !strncmp(a->ctr->pod_uid, b->ctr->pod_uid, sizeof(a->ctr->pod_uid)) &&
	       !strncmp(a->ctr->cgroup, b->ctr->cgroup, sizeof(a->ctr->cgroup));
}

const char *otlp_group__service(const struct res_view *rv)
{
	return rv->service[0] ? rv->service : "unknown_service";
}

int otlp_group__for_each(const void *items, size_t n, const struct group_ops *ops, void *ctx,
			 const struct otlp_host *host)
{
	const char *base = items;
	struct res_view rv, rj;
	uint8_t *done;

	if (!n)
		return 0;
	if (n == 1) { /* one span line (--spans-file): no bookkeeping to allocate */
		ops->res(base, &rv);
		ops->begin(ctx, &rv, host);
		ops->item(ctx, base);
		ops->end(ctx);
		return 0;
	}
	done = calloc(n, 1);
	if (!done)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		ops->res(base + i * ops->stride, &rv);
		ops->begin(ctx, &rv, host);
		for (size_t j = i; j < n; j++) {
			if (done[j])
				continue;
			ops->res(base + j * ops->stride, &rj);
			if (!res_same(&rv, &rj))
				continue;
			done[j] = 1;
			ops->item(ctx, base + j * ops->stride);
		}
		ops->end(ctx);
	}
	free(done);
	return 0;
}
