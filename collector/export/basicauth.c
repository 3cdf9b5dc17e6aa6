/* basicauth.c -- bcrypt-hashed users (basic_auth_users): crypt_r checks, constant-time compare, a success cache */
#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/basicauth.h"

#define BEARER (-1)	  /* the deprecated token, in the cache */
#define NO_SUCH_USER (-2) /* never cached, never true */

struct user {
	char *name, *hash;
};

struct cached {
	int user; /* index in users, or BEARER */
	char digest[CRYPT_OUTPUT_SIZE];
};

struct basicauth {
	struct user users[BASICAUTH_MAX_USERS];
	int nusers;
	char *bearer_hash;
	pthread_mutex_t lock;		      /* the cache */
	char salt[CRYPT_GENSALT_OUTPUT_SIZE]; /* SHA-256-crypt, for the cache keys */
	struct cached cache[BASICAUTH_CACHE_SLOTS];
	int ncached, next_slot;
};

struct basicauth *basicauth__new(void)
{
	struct basicauth *ba = calloc(1, sizeof(*ba));

	if (!ba)
		return NULL;
	if (!crypt_gensalt_rn("$5$", 1000, NULL, 0, ba->salt, sizeof(ba->salt))) {
		free(ba);
		return NULL;
	}
	pthread_mutex_init(&ba->lock, NULL);
	return ba;
}

static void wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void basicauth__free(struct basicauth *ba)
{
	if (!ba)
		return;
	for (int i = 0; i < ba->nusers; i++) {
		free(ba->users[i].name);
		wipe_free(ba->users[i].hash);
	}
	wipe_free(ba->bearer_hash);
	pthread_mutex_destroy(&ba->lock);
	explicit_bzero(ba->cache, sizeof(ba->cache));
	free(ba);
}

int basicauth__add(struct basicauth *ba, const char *user, const char *hash)
{
	struct user *u = &ba->users[ba->nusers];

	if (ba->nusers == BASICAUTH_MAX_USERS)
		return -2;
	u->name = strdup(user);
	u->hash = strdup(hash);
	if (!u->name || !u->hash) {
		free(u->name);
		free(u->hash);
		return -1;
	}
	ba->nusers++;
	return 0;
}

int basicauth__set_bearer(struct basicauth *ba, const char *hash)
{
	wipe_free(ba->bearer_hash);
	ba->bearer_hash = strdup(hash);
	return ba->bearer_hash ? 0 : -1;
}

char *basicauth__hash(const char *secret)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *h, *out = NULL;

	if (cd && crypt_gensalt_rn("$2b$", 10, NULL, 0, salt, sizeof(salt)) && (h = crypt_r(secret, salt, cd)) &&
	    h[0] == '$')
		out = strdup(h);
	if (cd)
		explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return out;
}

bool basicauth__any(const struct basicauth *ba)
{
	return ba && (ba->nusers || ba->bearer_hash);
}

/* constant-time for equal lengths */
static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

/* @secret against @hash for @user (an index, BEARER or NO_SUCH_USER) */
static bool check(struct basicauth *ba, int user, const char *hash, const char *secret)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char digest[CRYPT_OUTPUT_SIZE];
	const char *h;
	bool ok = false, hit = false;

	if (!cd)
		return false;
	/* the cache key: a salted SHA-256-crypt of the secret, so no password stays in memory */
	h = crypt_r(secret, ba->salt, cd);
	if (!h || h[0] != '$')
		goto cleanup;
	snprintf(digest, sizeof(digest), "%s", h);
	pthread_mutex_lock(&ba->lock);
	for (int i = 0; i < ba->ncached; i++)
		hit |= ba->cache[i].user == user && same(ba->cache[i].digest, digest);
	pthread_mutex_unlock(&ba->lock);
	if (hit) {
		ok = true;
		goto cleanup;
	}
	h = crypt_r(secret, hash, cd);
	ok = h && h[0] == '$' && same(h, hash) && user != NO_SUCH_USER;
	if (ok) { /* only successes: failures cannot push a scraper's entry out */
		pthread_mutex_lock(&ba->lock);
		ba->cache[ba->next_slot].user = user;
		snprintf(ba->cache[ba->next_slot].digest, sizeof(ba->cache[0].digest), "%s", digest);
		ba->next_slot = (ba->next_slot + 1) % BASICAUTH_CACHE_SLOTS;
		if (ba->ncached < BASICAUTH_CACHE_SLOTS)
			ba->ncached++;
		pthread_mutex_unlock(&ba->lock);
	}
cleanup:
	explicit_bzero(cd, sizeof(*cd));
	explicit_bzero(digest, sizeof(digest));
	free(cd);
	return ok;
}

bool basicauth__check(struct basicauth *ba, const char *user, const char *password)
{
	int i;

	if (!ba || !ba->nusers || !user || !password)
		return false;
	for (i = 0; i < ba->nusers && strcmp(ba->users[i].name, user); i++)
		;
	/* an unknown user pays for a hash too, so that timing does not tell which users exist */
	return check(ba, i < ba->nusers ? i : NO_SUCH_USER, ba->users[i < ba->nusers ? i : 0].hash, password);
}

bool basicauth__check_bearer(struct basicauth *ba, const char *token)
{
	return ba && ba->bearer_hash && token && check(ba, BEARER, ba->bearer_hash, token);
}
