/* funcbin.c -- users of binaries with whole-file --func uprobes */
#include <errno.h>
#include <stdlib.h>

#include "source/funcbin.h"

static struct funcbin_use *find(const struct funcbin *b, pid_t pid)
{
	for (int i = 0; i < b->n; i++)
		if (b->u[i].pid == pid)
			return &b->u[i];
	return NULL;
}

int funcbin__use(struct funcbin *b, pid_t pid, dev_t dev, ino_t ino)
{
	struct funcbin_use *u = find(b, pid);

	if (!u) {
		if (b->n == b->cap) {
			int cap = b->cap ? b->cap * 2 : 16;
			struct funcbin_use *v = realloc(b->u, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			b->u = v;
			b->cap = cap;
		}
		u = &b->u[b->n++];
	}
	*u = (struct funcbin_use){ .pid = pid, .dev = dev, .ino = ino };
	return 0;
}

int funcbin__release(struct funcbin *b, pid_t pid, dev_t *dev, ino_t *ino)
{
	struct funcbin_use *u = find(b, pid);

	if (!u)
		return 0;
	*dev = u->dev;
	*ino = u->ino;
	*u = b->u[--b->n];
	for (int i = 0; i < b->n; i++)
		if (b->u[i].dev == *dev && b->u[i].ino == *ino)
			return 0;
	return 1;
}

bool funcbin__of(const struct funcbin *b, pid_t pid, dev_t *dev, ino_t *ino)
{
	const struct funcbin_use *u = find(b, pid);

	if (!u)
		return false;
	*dev = u->dev;
	*ino = u->ino;
	return true;
}

int funcbin__nbinaries(const struct funcbin *b)
{
	int n = 0;

	for (int i = 0; i < b->n; i++) {
		bool seen = false;

		for (int k = 0; k < i && !seen; k++)
			seen = b->u[k].dev == b->u[i].dev && b->u[k].ino == b->u[i].ino;
		n += !seen;
	}
	return n;
}

void funcbin__free(struct funcbin *b)
{
	free(b->u);
	*b = (struct funcbin){ 0 };
}
