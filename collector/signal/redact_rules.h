/* redact_rules.h -- the redaction rules' scanners: one pass of one rule over a text (SPEC "Sanitization") */
#ifndef OBSPROBE_REDACT_RULES_H
#define OBSPROBE_REDACT_RULES_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* an output buffer that refuses to overflow, and counts what it would have needed */
struct out {
	char *p;
	size_t len, cap;
	bool full;
	uint64_t n;  /* replacements */
	size_t need; /* bytes the whole output takes */
};

/* 0: not secret, 1: secret key, 2: a header whose unquoted value runs to the end of the line */
int redact_rules__key_kind(const char *k, size_t n);

/* each pass copies @s[0..@n) (NUL-terminated) into @o with its rule applied (redact.h's numbers), counting
 * replacements in o->n */
void redact_rules__urls(const char *s, size_t n, struct out *o);		     /* 1 */
void redact_rules__keys(const char *s, size_t n, struct out *o);		     /* 2 */
void redact_rules__bearer(const char *s, size_t n, struct out *o);		     /* 3 */
void redact_rules__email(const char *s, size_t n, struct out *o);		     /* 4 */
void redact_rules__cards(const char *s, size_t n, struct out *o);		     /* 5 */
void redact_rules__regex(const regex_t *re, const char *s, size_t n, struct out *o); /* 6: one pattern */

#endif
