/* stats_cost.c -- what the kernel's BPF run-time statistics cost a syscall: PAIRS pairs of CHUNK read(/dev/zero, 1)
 * calls, one half with no BPF_ENABLE_STATS descriptor held, the other with one (the order alternates), each half
 * timed in this thread's CPU time (time the scheduler gives others is not in it). The BPF programs on the host run
 * either way; with the statistics on, each run of each of them pays two clock reads and a per-CPU update. An "off"
 * half in which any program's run count moved had the statistics on anyway (another process held a descriptor, or
 * kernel.bpf_stats_enabled=1): that pair is left out and counted. The "on" halves give the program runs per read.
 * Also on_all: the median of every pair's "on" half (kept or not), to compare setups while the statistics stay on;
 * vdso_clock: one clock_gettime(CLOCK_MONOTONIC) from user space, the same clock read the statistics take twice.
 * usage: stats_cost PAIRS CHUNK; prints one line of key=value figures (ns per read). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

static unsigned long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#define MAX_SNAP 8192

/* every BPF program's run count on the host, by id, ascending (moves only while the statistics are on) */
struct snap {
	int n;
	__u32 id[MAX_SNAP];
	unsigned long long runs[MAX_SNAP];
};

static void snap_take(struct snap *s)
{
	__u32 id = 0;

	s->n = 0;
	while (s->n < MAX_SNAP && !bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			s->id[s->n] = id;
			s->runs[s->n++] = info.run_cnt;
		}
		close(fd);
	}
}

/* the runs gained by the programs in both snapshots (programs come and go on a shared machine) */
static unsigned long long snap_delta(const struct snap *a, const struct snap *b)
{
	unsigned long long d = 0;

	for (int i = 0, j = 0; i < a->n && j < b->n;) {
		if (a->id[i] < b->id[j]) {
			i++;
		} else if (a->id[i] > b->id[j]) {
			j++;
		} else {
			d += b->runs[j] > a->runs[i] ? b->runs[j] - a->runs[i] : 0;
			i++;
			j++;
		}
	}
	return d;
}

static struct snap s0, s1;

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* one clock_gettime(CLOCK_MONOTONIC) from user space (the vDSO reads the same clock source as the kernel's
 * sched_clock on kvm-clock guests), the best of 5 runs of 1,000,000 */
static double clock_read_ns(void)
{
	double best = 1e9;

	for (int r = 0; r < 5; r++) {
		unsigned long long t0 = cpu_ns();
		struct timespec ts;

		for (int i = 0; i < 1000000; i++)
			clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((double)(cpu_ns() - t0) / 1e6 < best)
			best = (double)(cpu_ns() - t0) / 1e6;
	}
	return best;
}

/* one half: CHUNK reads, their CPU time per read */
static double half(int fd, long chunk)
{
	unsigned long long t0;
	char c;

	t0 = cpu_ns();
	for (long i = 0; i < chunk; i++)
		if (read(fd, &c, 1) != 1)
			exit(1);
	return (double)(cpu_ns() - t0) / chunk;
}

int main(int argc, char **argv)
{
	int pairs = argc > 1 ? atoi(argv[1]) : 200, kept = 0, dropped = 0;
	long chunk = argc > 2 ? atol(argv[2]) : 20000;
	int zero = open("/dev/zero", O_RDONLY);
	double *off, *on, *diff, *on_all, m_all;
	unsigned long long on_runs = 0, on_reads = 0;

	off = calloc(pairs, sizeof(double));
	on = calloc(pairs, sizeof(double));
	diff = calloc(pairs, sizeof(double));
	on_all = calloc(pairs, sizeof(double));
	if (zero < 0 || !off || !on || !diff || !on_all || pairs <= 0 || chunk <= 0) {
		fprintf(stderr, "usage: stats_cost PAIRS CHUNK\n");
		return 2;
	}
	half(zero, chunk); /* warm */
	for (int p = 0; p < pairs; p++) {
		double x_off = 0, x_on = 0;
		int clean = 1;

		for (int k = 0; k < 2; k++) {
			int want_on = (k == 0) == (p % 2 == 1);
			int sfd = -1;

			snap_take(&s0);
			if (want_on) {
				sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
				if (sfd < 0) {
					fprintf(stderr, "stats_cost: BPF_ENABLE_STATS: %s\n", strerror(errno));
					return 1;
				}
				snap_take(&s0);
				x_on = half(zero, chunk);
				snap_take(&s1);
				close(sfd);
				on_runs += snap_delta(&s0, &s1);
				on_reads += chunk;
			} else {
				x_off = half(zero, chunk);
				snap_take(&s1);
				clean = snap_delta(&s0, &s1) == 0;
			}
		}
		on_all[p] = x_on;
		if (!clean) {
			dropped++;
			continue;
		}
		off[kept] = x_off;
		on[kept] = x_on;
		diff[kept] = x_on - x_off;
		kept++;
	}
	m_all = median(on_all, pairs);
	if (!kept) {
		printf("pairs=0 dropped=%d on_all=%.1f runs_per_read=%.2f vdso_clock=%.1f (the statistics were on elsewhere "
		       "the whole time)\n",
		       dropped, m_all, on_reads ? (double)on_runs / on_reads : 0, clock_read_ns());
		return 0;
	}
	{
		double m_off = median(off, kept), m_on = median(on, kept), m_d, lo, hi, rpr;

		qsort(diff, kept, sizeof(double), cmp);
		m_d = median(diff, kept);
		lo = diff[kept / 4];
		hi = diff[(3 * kept) / 4];
		rpr = on_reads ? (double)on_runs / on_reads : 0;
		printf("off=%.1f on=%.1f added=%.1f q1=%.1f q3=%.1f ratio=%.3f runs_per_read=%.2f per_run=%.1f "
		       "pairs=%d dropped=%d min_off=%.1f min_on=%.1f on_all=%.1f vdso_clock=%.1f\n",
		       m_off, m_on, m_d, lo, hi, m_on / m_off, rpr, rpr > 0 ? m_d / rpr : 0, kept, dropped, off[0],
		       on[0], m_all, clock_read_ns());
	}
	return 0;
}
