/* run.c -- `obsprobe run`: find CMD as execvp would, and give it the shim's environment (--preload) */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/run.h"
#include "base/log.h"
#include "signal/hist.h"
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
