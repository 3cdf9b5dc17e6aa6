/* worker.c -- a target whose work is known exactly: N1 work_1ms(), N2 work_fast(),
 * K getppid() in the parent and M in a forked child, after a go byte on stdin.
 *
 * usage: worker [N1 N2 K M]   (defaults 20 100000 1000 500)
 * It prints "ready <pid>" when it waits for the go byte, "done" when the work
 * is over, then waits for stdin to close (or exits at once with DONE_EXIT=1). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* spins 1.5 ms: lands in the (0.001, 0.0025] bucket */
__attribute__((noinline)) void work_1ms(void)
{
	unsigned long long end = now_ns() + 1500000;

	while (now_ns() < end)
		sink++;
}

__attribute__((noinline)) void work_fast(void)
{
	sink++;
	__asm__ volatile("" ::: "memory");
}

/* an alias: one function, two names; probed once */
void work_alias(void) __attribute__((alias("work_fast")));

/* recursion: depth calls of itself, each timed separately */
__attribute__((noinline)) unsigned long work_recursive(int depth)
{
	sink++;
	if (depth <= 1)
		return 1;
	return 1 + work_recursive(depth - 1);
}

static void getppids(long k)
{
	for (long i = 0; i < k; i++)
		syscall(SYS_getppid);
}

int main(int argc, char **argv)
{
	long n1 = argc > 1 ? atol(argv[1]) : 20, n2 = argc > 2 ? atol(argv[2]) : 100000;
	long k = argc > 3 ? atol(argv[3]) : 1000, m = argc > 4 ? atol(argv[4]) : 500;
	char c;
	pid_t child;

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready %d\n", getpid());
	if (read(0, &c, 1) != 1)
		return 1;
	for (long i = 0; i < n1; i++)
		work_1ms();
	for (long i = 0; i < n2; i++)
		work_fast();
	work_recursive(5);
	getppids(k);
	child = fork();
	if (child == 0) {
		getppids(m);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	printf("done\n");
	if (getenv("DONE_EXIT"))
		return 0;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
