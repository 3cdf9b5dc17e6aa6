/* basicauth.h -- users with bcrypt hashes: checks through crypt_r, compared in constant time, successes cached */
#ifndef OBSPROBE_BASICAUTH_H
#define OBSPROBE_BASICAUTH_H

#include <stdbool.h>

#define BASICAUTH_MAX_USERS 64
#define BASICAUTH_CACHE_SLOTS 32 /* successful (user, password) checks remembered */

struct basicauth;

/* NULL when out of memory or no salt can be made */
struct basicauth *basicauth__new(void);
void basicauth__free(struct basicauth *ba);

/* add @user with bcrypt @hash (not checked here); 0, -1 out of memory, -2 BASICAUTH_MAX_USERS reached */
int basicauth__add(struct basicauth *ba, const char *user, const char *hash);
/* the deprecated bearer token, as a bcrypt hash; 0 or -1 */
int basicauth__set_bearer(struct basicauth *ba, const char *hash);
/* a new bcrypt ($2b$, cost 10) hash of @secret, or NULL; free() it */
char *basicauth__hash(const char *secret);

/* whether there is anything to check against */
bool basicauth__any(const struct basicauth *ba);

/* @password of @user: crypt_r against the user's hash, constant-time compare; an unknown user costs a
 * hash too.  Successes are cached by (user, salted SHA-256-crypt of the password), never the password,
 * so that a scrape does not pay bcrypt each time.  Thread-safe. */
bool basicauth__check(struct basicauth *ba, const char *user, const char *password);
/* a bearer token against the deprecated token's hash (same hashing and cache) */
bool basicauth__check_bearer(struct basicauth *ba, const char *token);

#endif
