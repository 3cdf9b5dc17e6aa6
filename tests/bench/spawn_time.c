/* spawn_time.c -- process start cost: N rounds, each round starts CMD once per environment (posix_spawn +
 * waitpid), interleaved so load drift hits every environment alike; prints the median and mean ms per start.
 * usage: spawn_time N ENVSPEC... -- CMD [ARG...]   ENVSPEC: "-" (no change) or "K=V,K=V" (added to environ) */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ENVS 8

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* environ plus the K=V pairs of @spec */
static char **make_env(const char *spec)
{
	int n = 0, k = 0;
	char **e, *dup, *tok, *save;

	while (environ[n])
		n++;
	e = calloc(n + 32, sizeof(*e));
	if (!e)
		return NULL;
	for (int i = 0; i < n; i++)
		e[k++] = environ[i];
	if (strcmp(spec, "-")) {
		dup = strdup(spec);
		for (tok = strtok_r(dup, ",", &save); tok && k < n + 31; tok = strtok_r(NULL, ",", &save))
			e[k++] = tok;
	}
	return e;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0, nenv = 0, i;
	char **envs[MAX_ENVS], **cmd;
	double *t[MAX_ENVS];

	for (i = 2; i < argc && strcmp(argv[i], "--") && nenv < MAX_ENVS; i++)
		envs[nenv++] = make_env(argv[i]);
	if (n < 1 || !nenv || i + 1 >= argc) {
		fprintf(stderr, "usage: spawn_time N ENVSPEC... -- CMD [ARG...]\n");
		return 2;
	}
	cmd = &argv[i + 1];
	for (int e = 0; e < nenv; e++)
		t[e] = calloc(n, sizeof(double));
	for (int r = 0; r < n; r++) {
		for (int e = 0; e < nenv; e++) {
			double t0 = now_ms();
			pid_t pid;
			int st;

			if (posix_spawn(&pid, cmd[0], NULL, NULL, cmd, envs[e]) || waitpid(pid, &st, 0) != pid) {
				perror("spawn_time: posix_spawn");
				return 1;
			}
			t[e][r] = now_ms() - t0;
		}
	}
	for (int e = 0; e < nenv; e++) {
		double sum = 0;

		for (int r = 0; r < n; r++)
			sum += t[e][r];
		qsort(t[e], n, sizeof(double), cmp);
		printf("%s median_ms %.4f mean_ms %.4f\n", argv[2 + e], t[e][n / 2], sum / n);
	}
	return 0;
}
