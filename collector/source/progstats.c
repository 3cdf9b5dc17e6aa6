/* progstats.c -- what the loaded BPF programs cost: the kernel's run-time statistics (BPF_ENABLE_STATS) */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "source/progstats.h"

int progstats__enable(char *err, size_t errlen)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (fd < 0)
		snprintf(err, errlen, "cannot turn on the kernel's BPF run-time statistics (BPF_ENABLE_STATS): %s%s",
			 strerror(errno), errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
	return fd < 0 ? -1 : fd;
}

int progstats__read(const int *fds, int n, struct prog_stat *out)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fds[i], &info, &len))
			continue;
		memcpy(out[k].name, info.name, sizeof(out[k].name));
		out[k].name[sizeof(out[k].name) - 1] = '\0';
		out[k].id = info.id;
		out[k].type = info.type;
		out[k].run_ns = info.run_time_ns;
		out[k].runs = info.run_cnt;
		k++;
	}
	return k;
}
