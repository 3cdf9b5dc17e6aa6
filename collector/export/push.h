/* push.h -- the /metrics exposition PUT to a Prometheus Pushgateway (run --pushgateway): at exit and on an interval */
#ifndef OBSPROBE_PUSH_H
#define OBSPROBE_PUSH_H

#include <stddef.h>
#include <stdint.h>

#define PUSH_TIMEOUT_MS 5000 /* one push's time limit: a Pushgateway that hangs costs the exit at most this */
#define PUSH_URL_MAX 2048

/* the text to push (Prometheus text 0.0.4), malloc'd; NULL when out of memory */
typedef char *(*push_render_fn)(void *ctx, size_t *len);

struct push_opts {
	const char *gateway;  /* base URL, url__check's syntax (a path prefix is kept) */
	const char *job;      /* grouping key: job */
	const char *instance; /* grouping key: instance */
	int interval_ms;      /* > 0: a thread pushes this often (start with pusher__start); 0: only pusher__push */
	int timeout_ms;	      /* 0 = PUSH_TIMEOUT_MS */
	push_render_fn render;
	void *ctx;
};

struct push_stats {
	uint64_t pushed, failed; /* pushes the gateway took (2xx), pushes that failed */
	uint64_t last_samples;	 /* sample lines of the last push the gateway took */
	char last_error[256];	 /* why the last failed push failed ("" when none failed) */
	char url[PUSH_URL_MAX];	 /* where pushes go */
};

struct pusher;

/* NULL after writing why into @err (a URL, job or instance that cannot make a grouping key; out of memory) */
struct pusher *pusher__new(const struct push_opts *opts, char *err, size_t errlen);
/* the interval thread (when opts.interval_ms > 0); 0, or -1 when it cannot start */
int pusher__start(struct pusher *p);
/* the interval thread stopped (a push under way ends by its timeout at the latest); idempotent */
void pusher__stop(struct pusher *p);
/* one push now, in the caller's thread: 0 when the gateway took it, -1 (counted, why in the stats) */
int pusher__push(struct pusher *p);
void pusher__stats(struct pusher *p, struct push_stats *out);
void pusher__free(struct pusher *p);

/* pure, for tests */
/* "/metrics/job/<job>/instance/<instance>" into @out, each value escaped as the Pushgateway reads it: as it is
 * when made only of letters, digits and -._~; "@base64" with base64url when it has a '/' or is empty ("="); else
 * percent-encoded. -1 when it does not fit */
int push__group_path(const char *job, const char *instance, char *out, size_t outlen);
/* sample lines in an exposition (not empty, not '#') */
uint64_t push__count_samples(const char *text, size_t len);

#endif
