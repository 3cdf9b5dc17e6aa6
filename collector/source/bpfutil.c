/* bpfutil.c -- per-CPU map reading, libbpf logging, tracefs mounting */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "abi/hist.h"
#include "source/bpfutil.h"
#include "base/log.h"

int percpu_buf__init(struct percpu_buf *b, int value_size)
{
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0)
		return -1;
	b->value_size = (value_size + 7) & ~7;
	b->data = calloc(b->ncpus, b->value_size);
	return b->data ? 0 : -1;
}

void percpu_buf__free(struct percpu_buf *b)
{
	free(b->data);
	b->data = NULL;
}

int percpu_hist_sum(int fd, uint32_t key, struct percpu_buf *b, struct hist *out, int nslots)
{
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &key, b->data))
		return -errno;
	for (int c = 0; c < b->ncpus; c++) {
		const struct obs_hist *h = (const void *)((char *)b->data + (size_t)c * b->value_size);

		out->count += h->count;
		out->sum_ns += h->sum_ns;
		for (int i = 0; i < nslots && i < OBS_HIST_SLOTS; i++)
			out->buckets[i] += h->buckets[i];
	}
	return 0;
}

int percpu_u64_sum(int fd, const void *key, struct percpu_buf *b, uint64_t *out)
{
	*out = 0;
	if (bpf_map_lookup_elem(fd, key, b->data))
		return -errno;
	for (int c = 0; c < b->ncpus; c++)
		*out += *(const uint64_t *)((char *)b->data + (size_t)c * b->value_size);
	return 0;
}

int bpf_object_prog_fds(const struct bpf_object *obj, int *fds, int max)
{
	struct bpf_program *p;
	int n = 0;

	bpf_object__for_each_program(p, obj)
	{
		if (n < max && bpf_program__fd(p) >= 0)
			fds[n++] = bpf_program__fd(p);
	}
	return n;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char buf[512];

	if ((level == LIBBPF_DEBUG && log_level < LOG_DEBUG) || log_level < LOG_VERBOSE)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, args);
	buf[strcspn(buf, "\n")] = '\0';
	vlog("libbpf: %s", buf);
	return 0;
}

void bpfutil_setup_libbpf_logging(void)
{
	libbpf_set_print(libbpf_print_fn);
}

static bool fs_is(const char *path, long magic)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == magic;
}

bool tracefs_mounted(void)
{
	return fs_is("/sys/kernel/tracing", TRACEFS_MAGIC) || fs_is("/sys/kernel/debug/tracing", TRACEFS_MAGIC);
}

int ensure_tracefs(char *err, size_t errlen)
{
	if (!fs_is("/sys/fs/bpf", BPF_FS_MAGIC))
		mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL); /* optional: nothing is pinned */
	if (tracefs_mounted())
		return 0;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		snprintf(err, errlen,
			 "tracefs is not mounted and mounting it failed: %s (mount -t tracefs nodev /sys/kernel/tracing)",
			 strerror(errno));
		return -1;
	}
	vlog("mounted tracefs at /sys/kernel/tracing");
	return 0;
}

const char *libbpf_version_str(void)
{
	static char buf[16];

	snprintf(buf, sizeof(buf), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	return buf;
}
