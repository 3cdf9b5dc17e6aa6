/* loop.c -- a benchmark target: N read(/dev/zero, 1 byte) syscalls or N calls of a traced function,
 * started by a byte on stdin; SIGUSR1 ends it early; prints "calls N" (the loop's syscalls or function calls) and
 * "ns_per_op X" and exits.
 * usage: loop sys|func|write N   (write: write(/dev/null, 1 byte) through libc) */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static volatile sig_atomic_t stop;

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

__attribute__((noinline)) void bench_target(void)
{
	sink++;
	__asm__ volatile("" ::: "memory");
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1000000;
	int sys = argc > 1 && !strcmp(argv[1], "sys"), wr = argc > 1 && !strcmp(argv[1], "write");
	int fd = open(wr ? "/dev/null" : "/dev/zero", wr ? O_WRONLY : O_RDONLY);
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	unsigned long long t0;
	long i = 0;
	char c;

	sigaction(SIGUSR1, &sa, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready %d\n", getpid());
	if (fd < 0 || read(0, &c, 1) != 1)
		return 1;
	t0 = now_ns();
	if (wr) {
		for (; i < n && !stop; i++)
			if (write(fd, &c, 1) != 1)
				return 1;
	} else if (sys) {
		for (; i < n && !stop; i++)
			if (read(fd, &c, 1) != 1)
				return 1;
	} else {
		for (; i < n && !stop; i++)
			bench_target();
	}
	printf("calls %ld\n", i);
	printf("ns_per_op %.1f\n", i ? (double)(now_ns() - t0) / i : 0.0);
	return 0;
}
