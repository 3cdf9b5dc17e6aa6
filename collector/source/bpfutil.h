/* bpfutil.h -- reading per-CPU maps, libbpf logging, tracefs/bpffs, per-key delta tracking */
#ifndef OBSPROBE_BPFUTIL_H
#define OBSPROBE_BPFUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "signal/hist.h"

/* Scratch for per-CPU lookups: round_up(value_size, 8) * possible CPUs. */
struct percpu_buf {
	void *data;
	int ncpus;
	int value_size; /* rounded to 8 */
};

int percpu_buf__init(struct percpu_buf *b, int value_size);
void percpu_buf__free(struct percpu_buf *b);

/* Sum the per-CPU struct obs_hist at @key of map @fd into @out (nslots buckets).
 * Returns 0, or -errno from the lookup. */
int percpu_hist_sum(int fd, uint32_t key, struct percpu_buf *b, struct hist *out, int nslots);
/* Sum per-CPU __u64 at @key. */
int percpu_u64_sum(int fd, const void *key, struct percpu_buf *b, uint64_t *out);

struct bpf_object;
/* the fds of @obj's loaded programs into @fds (at most @max); how many */
int bpf_object_prog_fds(const struct bpf_object *obj, int *fds, int max);

/* libbpf messages go to vlog/dlog; set once */
void bpfutil_setup_libbpf_logging(void);

/* Mount tracefs at /sys/kernel/tracing (and bpffs at /sys/fs/bpf) when they are
 * not mounted, as bpftrace does. Returns 0, or -1 with the reason in @err. */
int ensure_tracefs(char *err, size_t errlen);
bool tracefs_mounted(void);

/* libbpf's runtime version, "1.1" */
const char *libbpf_version_str(void);

#endif
