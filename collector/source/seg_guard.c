/* seg_guard.c -- the SIGBUS guard: a segment truncated under us faults in a guarded copy, which then fails */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>

#include "source/seg_guard.h"

static __thread sigjmp_buf *guard_jmp;
static __thread const char *guard_lo, *guard_hi;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	const char *a = si->si_addr;

	(void)uc;
	if (guard_jmp && a >= guard_lo && a < guard_hi)
		siglongjmp(*guard_jmp, 1);
	/* not a segment read: the default action, on return the access faults again */
	signal(sig, SIG_DFL);
}

/* SA_NODEFER: nothing is blocked while the handler runs, so leaving it by siglongjmp needs no mask restored,
 * and a guarded pass costs no system call (sigsetjmp(.., 0)) */
static void guard_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

void seg_guard__init(void)
{
	pthread_once(&guard_once, guard_install);
}

bool seg_guard__run(const struct obs_segment *map, void (*fn)(void *), void *arg)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0)) {
		guard_jmp = NULL;
		return false;
	}
	guard_lo = (const char *)map;
	guard_hi = guard_lo + sizeof(*map);
	guard_jmp = &jb;
	fn(arg);
	guard_jmp = NULL;
	return true;
}
