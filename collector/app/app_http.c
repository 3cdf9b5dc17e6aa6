/* app_http.c -- what the session's HTTP server asks of it (server thread): /api/v1/targets rows, readiness
 * checks, a refresh before a scrape, and /metrics as a stream of the registry */
#include <cjson/cJSON.h>

#include "app/app_impl.h"
#include "app/overhead.h"
#include "signal/metrics.h"

static void targets_json(void *ctx, cJSON *arr)
{
	struct app *a = ctx;

	pthread_mutex_lock(&a->lock);
	if (a->mode == MODE_EBPF) {
		targets__json_ebpf(&a->targets, &a->sources, arr);
		overhead__annotate(a->ovh, arr);
	}
	source_set__targets(&a->sources, arr);
	if (a->mode == MODE_PRELOAD)
		targets__json_waiting(&a->targets, &a->sources, arr);
	pthread_mutex_unlock(&a->lock);
}

static void ready_checks(void *ctx, cJSON *checks)
{
	struct app *a = ctx;

	pthread_mutex_lock(&a->lock);
	cJSON_AddBoolToObject(checks, "probes_attached", a->started);
	if (a->opts.cmd != APP_SERVE)
		cJSON_AddBoolToObject(checks, "targets_alive", app__nalive(a) > 0);
	pthread_mutex_unlock(&a->lock);
}

static void refresh(void *ctx)
{
	app__poll(ctx);
}

/* /metrics: a stream of the registry (metrics.h), read without a->lock */
static void *metrics_open(void *ctx, bool openmetrics)
{
	struct app *a = ctx;

	return metrics__stream(a->m, openmetrics);
}

static long metrics_read(void *stream, char *dst, size_t max)
{
	return metrics_stream__read(stream, dst, max);
}

static void metrics_close(void *stream)
{
	metrics_stream__free(stream);
}

struct server_opts app_http__server_opts(struct app *a)
{
	return (struct server_opts){ .host = a->opts.listen_host,
				     .port = a->opts.listen_port,
				     .web = a->opts.web,
				     .auth_file = a->opts.metrics_auth,
				     .tls_cert = a->opts.tls_cert,
				     .tls_key = a->opts.tls_key,
				     .targets = targets_json,
				     .ready = ready_checks,
				     .refresh = refresh,
				     .metrics_open = metrics_open,
				     .metrics_read = metrics_read,
				     .metrics_close = metrics_close,
				     .ctx = a };
}
