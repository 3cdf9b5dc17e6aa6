/* redseries.h -- the series traces.c updates for each exchange, found once and kept (series are never removed;
 * one that folded into __overflow__ is looked up each time, as each fold is counted):
 *   - obsprobe_exchanges_total by protocol and transport, looked up again only when the service changes;
 *   - the RED histograms by family and label values (direct-mapped): a repeat costs a hash and a compare, not the
 *     registry's lock and lookup;
 *   - the label memo: the RED series of exchanges whose protocol's label_key() repeats (direct-mapped), so that
 *     describe(), the redactor and the label lookup are skipped for them.  The caller keeps one only where clean()
 *     changed nothing (a redaction is counted each time it happens), and only for exchanges without a span (one
 *     that leaves needs describe()'s attributes anyway).
 * Zeroed, it is empty; one thread uses it. */
#ifndef OBSPROBE_REDSERIES_H
#define OBSPROBE_REDSERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/exchange.h"
#include "export/span.h"
#include "lib/proto/proto.h"
#include "signal/metrics.h"

#define RED_SLOTS 256
#define RED_KEY_MAX 240 /* the values, each with its NUL; a longer set is looked up each time */
#define LABEL_SLOTS 512
#define LABEL_KEY_MAX 200

struct red_series_slot {
	struct series *s; /* NULL: free */
	uint64_t hash;
	uint16_t len;
	uint8_t fam;
	char key[RED_KEY_MAX];
};

struct label_memo {
	struct series *s; /* NULL: free */
	uint16_t len;
	char key[LABEL_KEY_MAX];
};

struct redseries {
	struct metrics *m;
	struct {
		struct series *s;
		char service[SPAN_RES_STR_LEN];
	} exchanges[OBS_PROTO__COUNT][2]; /* [proto][tls] */
	struct red_series_slot red[RED_SLOTS];
	struct label_memo labels[LABEL_SLOTS];
};

/* an exchange's label memo key and its slot */
struct label_key {
	char key[LABEL_KEY_MAX];
	size_t len;
	struct label_memo *slot;
};

/* obsprobe_exchanges_total{service, protocol, transport} */
struct series *redseries__exchanges(struct redseries *c, const struct proto *p, bool tls, const char *service);
/* metrics__series_ctr(fam, @labels, @ctr), *@folded when it folded into __overflow__ */
struct series *redseries__red(struct redseries *c, enum family_id fam, const char *const *labels,
			      const struct metrics_ctr *ctr, bool *folded);
/* @x's label memo key into @k (its protocol's label_key(), the service and container labels); false: it has none */
bool redseries__label_key(struct redseries *c, const struct proto *p, const struct obs_exchange *x,
			  const struct proto_text *text, const struct span_resource *res, struct label_key *k);
/* the series remembered for @k, or NULL */
struct series *redseries__label_find(const struct label_key *k);
/* remember @s for @k */
void redseries__label_keep(const struct label_key *k, struct series *s);

#endif
