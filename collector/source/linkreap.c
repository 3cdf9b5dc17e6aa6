/* linkreap.c -- bpf_links destroyed off the session's thread, when nothing is being attached (linkreap.h) */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "lib/clock.h"
#include "source/linkreap.h"

#define REAP_MAX 4096			      /* links waiting; past that, destroyed without waiting */
#define REAP_QUIET_NS (3000ull * 1000 * 1000) /* no attach for this long: a destroy is unlikely to delay one */

struct linkreap {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	pthread_t thread;
	bool started, stop;
	uint64_t busy_ns; /* the last attach */
	struct bpf_link **q;
	int n;
};

static void *reaper(void *arg)
{
	struct linkreap *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		uint64_t now = mono_ns();
		struct bpf_link *l;

		if (!r->n && r->stop)
			break;
		if (!r->n) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		if (!r->stop && r->n < REAP_MAX && now < r->busy_ns + REAP_QUIET_NS) {
			uint64_t until = r->busy_ns + REAP_QUIET_NS;
			struct timespec ts = { (time_t)(until / 1000000000ull), (long)(until % 1000000000ull) };

			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
			continue;
		}
		l = r->q[--r->n];
		pthread_mutex_unlock(&r->lock);
		bpf_link__destroy(l);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct linkreap *linkreap__new(void)
{
	struct linkreap *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	return r;
}

void linkreap__busy(struct linkreap *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->busy_ns = mono_ns();
	pthread_mutex_unlock(&r->lock);
}

void linkreap__put(struct linkreap *r, struct bpf_link *l)
{
	bool queued = false;

	if (!l)
		return;
	if (!r) {
		bpf_link__destroy(l);
		return;
	}
	pthread_mutex_lock(&r->lock);
	/* the thread starts with the first link: after the collector dropped its capabilities (it needs none) */
	if (!r->started && !r->stop)
		r->started = !pthread_create(&r->thread, NULL, reaper, r);
	if (r->started && !r->stop && r->n < REAP_MAX) {
		if (!r->q)
			r->q = malloc(REAP_MAX * sizeof(*r->q));
		if (r->q) {
			r->q[r->n++] = l;
			queued = true;
			pthread_cond_signal(&r->cond);
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (!queued)
		bpf_link__destroy(l);
}

void linkreap__free(struct linkreap *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->started)
		pthread_join(r->thread, NULL); /* it destroys what was queued before it stops */
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->q);
	free(r);
}
