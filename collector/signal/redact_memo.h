/* redact_memo.h -- the redactor's results remembered for short texts that repeat (request targets, Host headers,
 * user agents): the same text redacts the same way, so a repeat costs a hash and a compare.
 *
 * Nothing is skipped: a text is given out only as redacted, either now or as it was the first time, and each
 * repeat counts its replacements again (obsprobe_redactions_total stays a count per text given out).  One memo
 * per thread that uses it (no lock); the redactor's patterns never change after redactor__new. */
#ifndef OBSPROBE_REDACT_MEMO_H
#define OBSPROBE_REDACT_MEMO_H

#include <stddef.h>
#include <stdint.h>

struct redactor;
struct redact_memo;

struct redact_memo_stats {
	uint64_t hits, misses, passed; /* passed: too long to remember, redacted every time */
};

struct redact_memo *redact_memo__new(struct redactor *r);
void redact_memo__free(struct redact_memo *m);
/* as redact__text() with the memo's redactor */
int redact_memo__text(struct redact_memo *m, const char *in, size_t inlen, char *out, size_t outsize);
void redact_memo__stats(const struct redact_memo *m, struct redact_memo_stats *out);

#endif
