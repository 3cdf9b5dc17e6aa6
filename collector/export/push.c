/* push.c -- PUT the exposition to a Prometheus Pushgateway's group of (job, instance), now or every interval */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "export/push.h"
#include "export/url.h"

#define ANSWER_MAX 200 /* the start of a refusal's body: the Pushgateway says why there */

struct pusher {
	struct push_opts o;
	char url[PUSH_URL_MAX];
	pthread_mutex_t push_lock; /* one push at a time (the thread's, the final one) */
	pthread_mutex_t lock;	   /* the stats, stop */
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	struct push_stats st;
};

/* ---- the grouping key in the path ---- */

static bool plain_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 4648 section 5 (URL and filename safe), with padding */
static int base64url(const char *s, char *out, size_t outlen)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(s), o = 0;

	if ((n + 2) / 3 * 4 + 1 > outlen)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (left > 2)
			v |= (unsigned char)s[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = left > 1 ? abc[v >> 6 & 63] : '=';
		out[o++] = left > 2 ? abc[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}

/* "/NAME/VALUE" or "/NAME@base64/B64" appended at @out + *at */
static int key_segment(const char *name, const char *v, char *out, size_t outlen, size_t *at)
{
	bool plain = *v, slash = !*v || strchr(v, '/');
	char enc[PUSH_URL_MAX];
	size_t e = 0;
	int n;

	for (const char *c = v; *c; c++)
		plain = plain && plain_char((unsigned char)*c);
	if (slash) {
		if (!*v)
			snprintf(enc, sizeof(enc), "=");
		else if (base64url(v, enc, sizeof(enc)))
			return -1;
	} else if (plain) {
		if (strlen(v) >= sizeof(enc))
			return -1;
		snprintf(enc, sizeof(enc), "%s", v);
	} else {
		for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
			if (e + 4 > sizeof(enc))
				return -1;
			if (plain_char(*c))
				enc[e++] = (char)*c;
			else
				e += (size_t)snprintf(enc + e, sizeof(enc) - e, "%%%02X", *c);
		}
		enc[e] = '\0';
	}
	n = snprintf(out + *at, outlen - *at, "/%s%s/%s", name, slash ? "@base64" : "", enc);
	if (n < 0 || (size_t)n >= outlen - *at)
		return -1;
	*at += (size_t)n;
	return 0;
}

int push__group_path(const char *job, const char *instance, char *out, size_t outlen)
{
	size_t at;

	if (snprintf(out, outlen, "/metrics") >= (int)outlen)
		return -1;
	at = strlen(out);
	if (key_segment("job", job, out, outlen, &at) || key_segment("instance", instance, out, outlen, &at))
		return -1;
	return 0;
}

uint64_t push__count_samples(const char *text, size_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;

		if (end > i && text[i] != '#')
			n++;
		i = end + 1;
	}
	return n;
}

/* ---- one push ---- */

struct answer {
	char buf[ANSWER_MAX + 1];
	size_t len;
};

static size_t keep_answer(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct answer *a = ud;
	size_t n = size * nmemb, room = ANSWER_MAX - a->len;

	memcpy(a->buf + a->len, ptr, n < room ? n : room);
	a->len += n < room ? n : room;
	return n;
}

/* the first line of the answer, control characters out */
static void answer_line(struct answer *a, char *out, size_t outlen)
{
	size_t n = 0;

	a->buf[a->len] = '\0';
	for (const char *c = a->buf; *c && *c != '\n' && n + 1 < outlen; c++)
		out[n++] = iscntrl((unsigned char)*c) ? ' ' : *c;
	out[n] = '\0';
}

static void count(struct pusher *p, bool ok, uint64_t samples, const char *why)
{
	pthread_mutex_lock(&p->lock);
	if (ok) {
		p->st.pushed++;
		p->st.last_samples = samples;
	} else {
		p->st.failed++;
		snprintf(p->st.last_error, sizeof(p->st.last_error), "%s", why);
	}
	pthread_mutex_unlock(&p->lock);
}

int pusher__push(struct pusher *p)
{
	struct curl_slist *hdrs = NULL;
	struct answer ans = { .len = 0 };
	char why[256] = "", line[ANSWER_MAX + 1];
	CURL *c = NULL;
	CURLcode rc;
	size_t len = 0;
	uint64_t samples = 0;
	long status = 0;
	char *body;
	int err = -1;

	pthread_mutex_lock(&p->push_lock);
	body = p->o.render(p->o.ctx, &len);
	if (!body) {
		snprintf(why, sizeof(why), "out of memory rendering the metrics");
		goto cleanup;
	}
	samples = push__count_samples(body, len);
	c = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
	if (!c || !hdrs) {
		snprintf(why, sizeof(why), "out of memory");
		goto cleanup;
	}
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)p->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
		goto cleanup;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		answer_line(&ans, line, sizeof(line));
		snprintf(why, sizeof(why), "HTTP %ld%s%s", status, line[0] ? ": " : "", line);
		goto cleanup;
	}
	err = 0;
cleanup:
	count(p, err == 0, samples, why);
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	free(body);
	pthread_mutex_unlock(&p->push_lock);
	return err;
}

/* ---- the interval thread ---- */

static void *push_loop(void *arg)
{
	struct pusher *p = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		next.tv_sec += p->o.interval_ms / 1000;
		next.tv_nsec += (long)(p->o.interval_ms % 1000) * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &next) != ETIMEDOUT)
			;
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		pusher__push(p);
		pthread_mutex_lock(&p->lock);
		clock_gettime(CLOCK_MONOTONIC, &next); /* a slow push delays the next one, never queues them */
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pusher *pusher__new(const struct push_opts *opts, char *err, size_t errlen)
{
	struct pusher *p;
	const char *why = url__check(opts->gateway);
	char path[PUSH_URL_MAX];
	size_t blen = strlen(opts->gateway);
	pthread_condattr_t ca;

	if (why) {
		snprintf(err, errlen, "'%s' %s", opts->gateway, why);
		return NULL;
	}
	if (push__group_path(opts->job, opts->instance, path, sizeof(path))) {
		snprintf(err, errlen, "the job name or instance is too long for a URL");
		return NULL;
	}
	while (blen > 0 && opts->gateway[blen - 1] == '/')
		blen--;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (snprintf(p->url, sizeof(p->url), "%.*s%s", (int)blen, opts->gateway, path) >= (int)sizeof(p->url)) {
		snprintf(err, errlen, "the URL is too long");
		free(p);
		return NULL;
	}
	p->o = *opts;
	if (p->o.timeout_ms <= 0)
		p->o.timeout_ms = PUSH_TIMEOUT_MS;
	snprintf(p->st.url, sizeof(p->st.url), "%s", p->url);
	curl_global_init(CURL_GLOBAL_DEFAULT); /* reference-counted; thread-safe in the libcurl obsprobe needs */
	pthread_mutex_init(&p->push_lock, NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	return p;
}

int pusher__start(struct pusher *p)
{
	if (p->o.interval_ms <= 0 || p->running)
		return 0;
	if (pthread_create(&p->thread, NULL, push_loop, p))
		return -1;
	p->running = true;
	return 0;
}

void pusher__stop(struct pusher *p)
{
	if (!p || !p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->running = false;
}

void pusher__stats(struct pusher *p, struct push_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->st;
	pthread_mutex_unlock(&p->lock);
}

void pusher__free(struct pusher *p)
{
	if (!p)
		return;
	pusher__stop(p);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->push_lock);
	curl_global_cleanup();
	free(p);
}
