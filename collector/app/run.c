/* run.c -- `obsprobe run`: find CMD as execvp would, give it the shim's environment (--preload), push its metrics
 * to a Pushgateway (--pushgateway) */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/run.h"
#include "base/log.h"
#include "export/push.h"
#include "signal/hist.h"
#include "signal/metrics.h"
#include "source/symbols.h"

/* the shim next to the binary (build/), or under PREFIX/lib/obsprobe when installed */
static int find_shim(char *out, size_t len)
{
	char exe[PATH_MAX - 64], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *cands[] = { "%s/libobsshim.so", "%s/../lib/obsprobe/libobsshim.so" };

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		snprintf(out, len, cands[i], exe);
		if (!access(out, R_OK))
			return 0;
	}
	return -1;
}

int run__which(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX / 2];

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(out, X_OK);
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t l = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)l, p);
		snprintf(out, len, "%s/%s", dir[0] ? dir : ".", cmd);
		if (!access(out, X_OK))
			return 0;
		p += l + (p[l] == ':');
	}
	return -1;
}

int run__shim_env(const char *exe, const char *service, const struct app_opts *opts)
{
	char shim[PATH_MAX], err[256], buckets[1024] = "", ratio[32];
	const char *old = getenv("LD_PRELOAD");
	struct elf_syms *syms;
	char *v = NULL;

	if (find_shim(shim, sizeof(shim))) {
		elog("run: libobsshim.so not found next to obsprobe (build it: make)");
		return 1;
	}
	syms = elf_syms__open(exe, err, sizeof(err));
	if (syms && elf_syms__is_static(syms)) {
		elog("run: --preload cannot work on '%s': it is statically linked, so LD_PRELOAD is ignored (trace it with eBPF as root instead)",
		     exe);
		elf_syms__free(syms);
		return 1;
	}
	elf_syms__free(syms);
	if (asprintf(&v, "%s%s%s", shim, old && *old ? ":" : "", old ? old : "") < 0)
		return 1;
	setenv("LD_PRELOAD", v, 1);
	free(v);
	setenv("OBSPROBE_SERVICE", service, 1);
	/* full precision: the shim and the collector must make the same decision for the same trace */
	snprintf(ratio, sizeof(ratio), "%.17g", opts->sample_ratio);
	setenv("OBSPROBE_SAMPLE_RATIO", ratio, 1);
	setenv("OBSPROBE_RUNTIME_DIR", opts->runtime_dir, 1);
	for (int i = 0; i < opts->bounds->n; i++) {
		char one[32];

		fmt_seconds(one, sizeof(one), opts->bounds->ns[i]);
		strncat(buckets, i ? "," : "", sizeof(buckets) - strlen(buckets) - 1);
		strncat(buckets, one, sizeof(buckets) - strlen(buckets) - 1);
	}
	setenv("OBSPROBE_BUCKETS", buckets, 1);
	return 0;
}

/* ---- --pushgateway ---- */

struct run_push {
	struct pusher *p;
	struct app *a;
	bool done;
};

/* the pushes so far into obsprobe_pushgateway_pushes_total */
static void fold_pushes(struct run_push *rp)
{
	struct metrics *m = app__metrics(rp->a);
	struct push_stats st;

	pusher__stats(rp->p, &st);
	series__set_total(metrics__series(m, FAM_PUSHES, (const char *[]){ "pushed" }), st.pushed);
	series__set_total(metrics__series(m, FAM_PUSHES, (const char *[]){ "failed" }), st.failed);
}

/* push_render_fn: the values of now (a poll first, as a scrape does), as /metrics serves them */
static char *render(void *ctx, size_t *len)
{
	struct run_push *rp = ctx;

	app__poll(rp->a);
	fold_pushes(rp);
	return metrics__render(app__metrics(rp->a), false, len);
}

struct run_push *run__push_new(const char *gateway, const char *job, const char *cmd, double interval_s)
{
	struct run_push *rp = calloc(1, sizeof(*rp));
	char host[256] = "", err[512];
	struct push_opts po;

	if (!rp) {
		elog("out of memory");
		return NULL;
	}
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "localhost");
	po = (struct push_opts){ .gateway = gateway,
				 .job = job ? job : (strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd),
				 .instance = host,
				 .interval_ms = (int)(interval_s * 1000 + 0.5),
				 .render = render,
				 .ctx = rp };
	rp->p = pusher__new(&po, err, sizeof(err));
	if (!rp->p) {
		elog("--pushgateway: %s", err);
		free(rp);
		return NULL;
	}
	return rp;
}

void run__push_start(struct run_push *rp, struct app *a)
{
	struct push_stats st;

	rp->a = a;
	fold_pushes(rp); /* both outcomes at 0 on /metrics from the start */
	pusher__stats(rp->p, &st);
	if (pusher__start(rp->p))
		elog("WARNING: --push-interval: cannot start the push thread; the metrics go to %s only when the command ends",
		     st.url);
}

void run__push_stop(struct run_push *rp)
{
	if (rp)
		pusher__stop(rp->p);
}

void run__push_at_finish(void *ctx)
{
	struct run_push *rp = ctx;
	struct push_stats st;
	uint64_t total;
	int rc;

	if (!rp || !rp->a || rp->done)
		return;
	rp->done = true;
	pusher__stop(rp->p);
	rc = pusher__push(rp->p);
	fold_pushes(rp);
	pusher__stats(rp->p, &st);
	total = st.pushed + st.failed;
	if (rc)
		elog("WARNING: push to %s failed: %s (%llu of %llu pushes failed: obsprobe_pushgateway_pushes_total)",
		     st.url, st.last_error, (unsigned long long)st.failed, (unsigned long long)total);
	else if (st.failed)
		elog("WARNING: pushed %llu samples to %s, but %llu of %llu pushes failed, the last one that did: %s "
		     "(obsprobe_pushgateway_pushes_total)",
		     (unsigned long long)st.last_samples, st.url, (unsigned long long)st.failed,
		     (unsigned long long)total, st.last_error);
	else
		ilog("pushed %llu samples to %s (%llu push%s)", (unsigned long long)st.last_samples, st.url,
		     (unsigned long long)total, total == 1 ? "" : "es");
}

void run__push_free(struct run_push *rp)
{
	if (!rp)
		return;
	pusher__free(rp->p);
	free(rp);
}
