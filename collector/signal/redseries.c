/* redseries.c -- the series an exchange updates, found once (redseries.h) */
#include <string.h>

#include "lib/texthash.h"
#include "signal/redseries.h"

struct series *redseries__exchanges(struct redseries *c, const struct proto *p, bool tls, const char *service)
{
	struct series *se;
	bool folded;

	if (c->exchanges[p->id][tls].s && !strcmp(c->exchanges[p->id][tls].service, service))
		return c->exchanges[p->id][tls].s;
	se = metrics__series_folded(c->m, FAM_EXCHANGES, (const char *[]){ service, p->name, tls ? "tls" : "tcp" },
				    &folded);
	c->exchanges[p->id][tls].s = NULL;
	if (!folded && strlen(service) < sizeof(c->exchanges[p->id][tls].service)) {
		strcpy(c->exchanges[p->id][tls].service, service);
		c->exchanges[p->id][tls].s = se;
	}
	return se;
}

static uint64_t hash_key(const char *k, size_t n, unsigned fam)
{
	return texthash__final(texthash__step(TEXTHASH_SEED * (fam + 1), k, n));
}

/* @ctr, interned per container, goes into the key as a pointer */
struct series *redseries__red(struct redseries *c, enum family_id fam, const char *const *labels,
			      const struct metrics_ctr *ctr, bool *folded)
{
	char key[RED_KEY_MAX];
	struct red_series_slot *r;
	size_t len = 0;
	uint64_t h;
	struct series *se;
	int n = metrics__nlabels(fam);

	for (int i = 0; i < n; i++) {
		const char *v = labels[i] ? labels[i] : ""; /* as the registry reads a NULL */
		size_t l = strlen(v) + 1;

		if (len + l + sizeof(ctr) > sizeof(key))
			return metrics__series_ctr(c->m, fam, labels, ctr, folded);
		memcpy(key + len, v, l);
		len += l;
	}
	memcpy(key + len, &ctr, sizeof(ctr));
	len += sizeof(ctr);
	h = hash_key(key, len, fam);
	r = &c->red[h % RED_SLOTS];
	*folded = false;
	if (r->s && r->hash == h && r->fam == fam && r->len == len && !memcmp(r->key, key, len))
		return r->s;
	se = metrics__series_ctr(c->m, fam, labels, ctr, folded);
	if (se && !*folded) {
		r->s = se;
		r->hash = h;
		r->fam = (uint8_t)fam;
		r->len = (uint16_t)len;
		memcpy(r->key, key, len);
	}
	return se;
}

bool redseries__label_key(struct redseries *c, const struct proto *p, const struct obs_exchange *x,
			  const struct proto_text *text, const struct span_resource *res, struct label_key *k)
{
	size_t n = 0, len;

	if (!p->label_key || !proto_key__put(k->key, LABEL_KEY_MAX, &n, &x->proto, 1) ||
	    !proto_key__put(k->key, LABEL_KEY_MAX, &n, &res->mctr, sizeof(res->mctr)) ||
	    !proto_key__put(k->key, LABEL_KEY_MAX, &n, res->service_name, strlen(res->service_name) + 1) ||
	    !(len = p->label_key(x, text, k->key + n, LABEL_KEY_MAX - n)))
		return false;
	k->len = n + len;
	k->slot = &c->labels[hash_key(k->key, k->len, 0) % LABEL_SLOTS];
	return true;
}

struct series *redseries__label_find(const struct label_key *k)
{
	const struct label_memo *lm = k->slot;

	return lm->s && lm->len == k->len && !memcmp(lm->key, k->key, k->len) ? lm->s : NULL;
}

void redseries__label_keep(const struct label_key *k, struct series *s)
{
	k->slot->s = s;
	k->slot->len = (uint16_t)k->len;
	memcpy(k->slot->key, k->key, k->len);
}
