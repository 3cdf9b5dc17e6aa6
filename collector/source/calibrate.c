/* calibrate.c -- a helper process runs known loops with and without probes; the difference is the cost per hit */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source/calibrate.h"
#include "base/log.h"
#include "source/symbols.h"
#include "lib/clock.h"

#define CAL_SYSCALLS 20000
#define CAL_CALLS 1000
#define CAL_ROUNDS 3

struct calibration {
	pid_t pid;
	int cmd, res;			  /* pipes to and from the helper */
	uint64_t base_syscall, base_call; /* best untraced round, ns */
};

/* the function the uprobe calibration times; exported so symbols can find it */
__attribute__((noinline, used, visibility("default"))) int obsprobe_calibration_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

int calibration_target(char *exe, size_t len, uint64_t *offset)
{
	char err[256];
	struct elf_syms *syms;
	struct sym_match *m = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, len - 1);
	int nm = 0, rc = -1;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	syms = elf_syms__open(exe, err, sizeof(err));
	if (syms && !elf_syms__match(syms, "obsprobe_calibration_target", &m, &nm) && nm == 1) {
		*offset = m[0].offset;
		rc = 0;
	}
	free(m);
	elf_syms__free(syms);
	return rc;
}

static void helper(int cmd, int res)
{
	char c;

	while (read(cmd, &c, 1) == 1) {
		uint64_t t0 = mono_ns(), dt;
		volatile int x = 0;

		if (c == 's')
			for (int i = 0; i < CAL_SYSCALLS; i++)
				syscall(SYS_getppid);
		else
			for (int i = 0; i < CAL_CALLS; i++)
				x = obsprobe_calibration_target(x);
		dt = mono_ns() - t0;
		if (write(res, &dt, sizeof(dt)) != sizeof(dt))
			break;
	}
	_exit(0);
}

/* best of a few rounds: the least disturbed one */
static uint64_t measure(struct calibration *c, char what)
{
	uint64_t best = UINT64_MAX, dt;

	for (int r = 0; r < CAL_ROUNDS; r++) {
		if (write(c->cmd, &what, 1) != 1 || read(c->res, &dt, sizeof(dt)) != sizeof(dt))
			return UINT64_MAX;
		if (dt < best)
			best = dt;
	}
	return best;
}

struct calibration *calibration__start(void)
{
	struct calibration *c = calloc(1, sizeof(*c));
	int to[2], from[2];

	if (!c || pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC)) {
		free(c);
		return NULL;
	}
	c->pid = fork();
	if (c->pid == 0) {
		close(to[1]);
		close(from[0]);
		helper(to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	c->cmd = to[1];
	c->res = from[0];
	if (c->pid < 0) {
		close(c->cmd);
		close(c->res);
		free(c);
		return NULL;
	}
	c->base_syscall = measure(c, 's');
	c->base_call = measure(c, 'f');
	return c;
}

static double per_hit_s(uint64_t traced, uint64_t base, int n)
{
	if (traced == UINT64_MAX || base == UINT64_MAX)
		return -1;
	return traced > base ? (double)(traced - base) / n / 1e9 : 0;
}

void calibration__finish(struct calibration *c, struct source_set *set, double per_hit[SOURCE_MAX])
{
	for (int i = 0; i < SOURCE_MAX; i++)
		per_hit[i] = -1;
	if (!c)
		return;
	for (int i = 0; set && i < set->n; i++) {
		const struct source_ops *ops = set->ops[i];
		bool calls = ops->loop == CALIB_CALLS;

		if (!ops->probe || !ops->calibrate_on || ops->calibrate_on(set->s[i], c->pid))
			continue;
		per_hit[i] = calls ? per_hit_s(measure(c, 'f'), c->base_call, CAL_CALLS)
				   : per_hit_s(measure(c, 's'), c->base_syscall, CAL_SYSCALLS);
		ops->calibrate_off(set->s[i], c->pid);
	}
	close(c->cmd); /* the helper sees EOF and exits */
	close(c->res);
	waitpid(c->pid, NULL, 0);
	free(c);
}
