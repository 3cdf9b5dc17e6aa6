/* redact.h -- secrets out of text before it leaves: keys' values, auth headers, bearer tokens, cards, e-mails.
 *
 * Rules (SPEC "Sanitization"), in this order:
 *   1. the value after a key whose name contains password|passwd|pwd|secret|token|api_key|api-key|apikey|
 *      access_token|session, or is authorization|proxy-authorization|cookie|set-cookie, written
 *      key=value, key: value, "key": "value", 'key': 'value' -> the value is [REDACTED] (quotes kept;
 *      for the header names an unquoted value runs to the end of the line, else to & ; , space or a quote);
 *   2. Bearer <token> -> Bearer [REDACTED];
 *   3. e-mail addresses -> [EMAIL];
 *   4. runs of 13-19 digits (single spaces or dashes between groups) that pass Luhn -> ****-****-****-1234;
 *   5. each extra POSIX ERE pattern from the config -> [REDACTED].
 * It fails closed: text with a NUL byte, or whose redacted form does not fit, gives -1 and "". */
#ifndef OBSPROBE_REDACT_H
#define OBSPROBE_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redactor;

struct redact_stats {
	uint64_t redactions; /* replacements made */
	uint64_t dropped;    /* texts refused (fail closed) */
};

/* @extra: NULL-terminated ERE patterns (NULL = none).  A bad one: NULL and "pattern 'X': why" in @err. */
struct redactor *redactor__new(const char *const *extra, char *err, size_t errlen);
void redactor__free(struct redactor *r);

/* @in[0..@inlen) redacted into @out (NUL-terminated).  Returns the output length or -1 (out = "").
 * The output is at most inlen + 16 * (number of replacements) bytes: callers size @out at 2 * inlen + 64
 * to be safe.  Safe to call from several threads with one redactor. */
int redact__text(struct redactor *r, const char *in, size_t inlen, char *out, size_t outsize);

/* whether a header's whole value is secret (Authorization, Cookie, X-Api-Key, X-Auth-Token ...) */
bool redact__header_is_secret(const char *name, size_t namelen);

void redactor__stats(const struct redactor *r, struct redact_stats *out);

#endif
