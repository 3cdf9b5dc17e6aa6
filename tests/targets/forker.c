/* forker.c -- a fork/exec storm with known numbers, a test target.
 *
 * usage: forker N K [PORT]   waits for SIGUSR1, then forks N children one after another; each execs this program
 *                           as "forker child K [PORT]", which calls child_work() once and makes K getppid(2)
 *                           calls, then (with PORT) connects to 127.0.0.1:PORT and exits 0 with the socket open
 *                           (the kernel closes it). The parent reaps each, prints "done N failed F" to stdout,
 *                           and waits for SIGTERM. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

__attribute__((noinline)) long child_work(int k)
{
	long s = 0;

	for (int i = 0; i < k; i++)
		s += syscall(SYS_getppid); /* direct: nothing else in the process makes this call */
	return s;
}

/* connect to 127.0.0.1:@port and leave the socket for exit to close */
static int child_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	return fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a)) ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t none;
	int n, k, failed = 0;
	char karg[16], self[4096];
	ssize_t len;

	if (argc >= 3 && !strcmp(argv[1], "child"))
		return child_work(atoi(argv[2])) <= 0 || (argc == 4 && child_connect(atoi(argv[3])));
	if (argc < 3 || argc > 4 || (n = atoi(argv[1])) <= 0 || (k = atoi(argv[2])) < 0) {
		fprintf(stderr, "usage: forker N K [PORT]\n");
		return 2;
	}
	snprintf(karg, sizeof(karg), "%d", k);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1); /* exec by path: the children's comm is "forker" */
	if (len <= 0)
		return 1;
	self[len] = '\0';
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&none);
	printf("forker ready\n");
	fflush(stdout);
	while (!go)
		sigsuspend(&none);
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		int st;

		if (p == 0) {
			execl(self, argv[0], "child", karg, argc == 4 ? argv[3] : (char *)NULL, (char *)NULL);
			_exit(127);
		}
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	printf("done %d failed %d\n", n, failed);
	fflush(stdout);
	for (;;)
		pause();
}
