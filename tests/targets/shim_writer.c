/* shim_writer.c -- exactly THREADS x N write(/dev/null, 1 byte) through libc, then exits.
 * usage: shim_writer THREADS N [FORK_N]  (FORK_N: a forked child also writes FORK_N times) */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static long n;
static int fd;

static void *writer(void *arg)
{
	(void)arg;
	for (long i = 0; i < n; i++)
		if (write(fd, "x", 1) != 1)
			abort();
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	long fork_n = argc > 3 ? atol(argv[3]) : 0;
	pthread_t t[64];

	n = argc > 2 ? atol(argv[2]) : 1000;
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || threads < 1 || threads > 64)
		return 2;
	if (fork_n) {
		pid_t c = fork();

		if (c == 0) {
			for (long i = 0; i < fork_n; i++)
				if (write(fd, "y", 1) != 1)
					_exit(1);
			_exit(0);
		}
		waitpid(c, NULL, 0);
	}
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, writer, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
