/* proto.c -- the protocol interface's helpers for describe(): attributes and the text they point into */
#include <string.h>

#include "lib/proto/proto.h"

void proto_desc__init(struct proto_desc *d)
{
	d->lost = NULL;
	for (int i = 0; i < PROTO_LABELS; i++)
		d->labels[i] = "";
	d->name[0] = '\0';
	d->error = false;
	d->nattrs = 0;
	d->used = 0;
}

const char *proto_desc__keep(struct proto_desc *d, const char *s)
{
	size_t n = strlen(s), room = sizeof(d->text) - d->used;
	char *out = d->text + d->used;

	if (!room)
		return "";
	if (n >= room)
		n = room - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	d->used += n + 1;
	return out;
}

void proto_desc__str(struct proto_desc *d, const char *key, const char *val)
{
	if (d->nattrs == PROTO_ATTRS_MAX)
		return;
	d->attrs[d->nattrs].key = key;
	d->attrs[d->nattrs].str = proto_desc__keep(d, val);
	d->attrs[d->nattrs++].num = 0;
}

void proto_desc__int(struct proto_desc *d, const char *key, int64_t num)
{
	if (d->nattrs == PROTO_ATTRS_MAX)
		return;
	d->attrs[d->nattrs].key = key;
	d->attrs[d->nattrs].str = NULL;
	d->attrs[d->nattrs++].num = num;
}
