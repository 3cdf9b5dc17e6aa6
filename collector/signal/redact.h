/* redact.h -- secrets out of text before it leaves: URL credentials, keys' values, auth headers, bearer
 * tokens, cards, e-mails.
 *
 * Rules (SPEC "Sanitization"), in this order:
 *   1. credentials in a URL: scheme://user:PASSWORD@host -> scheme://user:[REDACTED]@host (any scheme;
 *      redis://:pw@h too); scheme://TOKEN@host (no ':') -> scheme://[REDACTED]@host;
 *   2. the value after a secret key, written key=value, key: value, "key": "value", 'key': 'value', and the
 *      same inside an escaped string ({\"key\":\"value\"} in a JSON string value), or YAML's "key:" with
 *      the value on the lines below, indented deeper (also "key: |" and "key: >" blocks) -> [REDACTED]
 *      (quotes kept).  A key is secret when it contains (case-insensitive) password, passwd, passphrase,
 *      pwd, secret, token, credential, api_key, api-key, apikey, access_key, access-key, accesskey,
 *      private_key, private-key, privatekey, session, signature, jwt or cookie (so client_secret,
 *      secret_key, X-Auth-Token, credentials ...), or is exactly auth, pass, pw, pin, sig or otp; the
 *      header names authorization, proxy-authorization, cookie, set-cookie take an unquoted value to the
 *      end of the line, others to & ; , space, a quote, } ] < > or );
 *   3. Bearer <token> -> Bearer [REDACTED];
 *   4. e-mail addresses -> [EMAIL];
 *   5. runs of 13-19 digits (single spaces or dashes between groups) that pass Luhn -> ****-****-****-1234;
 *   6. each extra POSIX ERE pattern from the config -> [REDACTED].
 * The whole text is scanned first; only then, when the redacted text does not fit the output, it is cut
 * (on a UTF-8 boundary) and ends with " [truncated]": a cut never splits a secret before it was seen.
 * A NUL byte is scanned as U+FFFD.  Only when memory runs out (or a pass would need more than 16 MiB)
 * is the text refused: -1 and "" (fail closed). */
#ifndef OBSPROBE_REDACT_H
#define OBSPROBE_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redactor;

/* the rules above, as counted (obsprobe_redactions_total{rule}) */
enum redact_rule {
	REDACT_URL_CREDENTIALS, /* 1 */
	REDACT_SECRET_KEY,	/* 2: values of secret keys and auth headers */
	REDACT_BEARER,		/* 3 */
	REDACT_EMAIL,		/* 4 */
	REDACT_CARD,		/* 5 */
	REDACT_PATTERN,		/* 6: any of the config's patterns */
	REDACT_RULE__COUNT,
};

struct redact_stats {
	uint64_t redactions;		    /* replacements made */
	uint64_t dropped;		    /* texts refused (fail closed: out of memory) */
	uint64_t truncated;		    /* texts cut to fit the output after redaction */
	uint64_t rules[REDACT_RULE__COUNT]; /* replacements by rule (they add up to @redactions) */
};

/* @extra: NULL-terminated ERE patterns (NULL = none).  A bad one: NULL and "pattern 'X': why" in @err. */
struct redactor *redactor__new(const char *const *extra, char *err, size_t errlen);
void redactor__free(struct redactor *r);

/* @in[0..@inlen) redacted into @out (NUL-terminated): cut and marked " [truncated]" when it does not fit.
 * Returns the output length, or -1 (out = "") when it could not be scanned (out of memory).  Safe to
 * call from several threads with one redactor. */
int redact__text(struct redactor *r, const char *in, size_t inlen, char *out, size_t outsize);
/* The same; *@cut (when not NULL) says whether the output was cut to fit. */
int redact__text_cut(struct redactor *r, const char *in, size_t inlen, char *out, size_t outsize, bool *cut);

/* The same; @counts (when not NULL) gets what this one call replaced, by rule (a memo gives the result out again
 * and counts it again with redactor__recount, so the counters stay those of a redaction per text). */
int redact__text_counted(struct redactor *r, const char *in, size_t inlen, char *out, size_t outsize, bool *cut,
			 uint32_t counts[REDACT_RULE__COUNT]);
/* count once more what one successful redact__text_counted() counted (@cut: it was truncated) */
void redactor__recount(struct redactor *r, const uint32_t counts[REDACT_RULE__COUNT], bool cut);

/* whether a header's whole value is secret (Authorization, Cookie, X-Api-Key, X-Auth-Token ...) */
bool redact__header_is_secret(const char *name, size_t namelen);

/* counts since redactor__new; only texts redacted whole (or cut after it) count their replacements */
void redactor__stats(const struct redactor *r, struct redact_stats *out);
/* "url_credentials", "secret_key", "bearer", "email", "card", "pattern" */
const char *redact__rule_name(enum redact_rule rule);

#endif
