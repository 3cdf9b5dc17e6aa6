/* needs.c -- what a deployment of obsprobe must grant, per feature: capabilities at start and after, host paths */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/capability.h>

#include "base/privs.h"
#include "cli/needs.h"

#define BIT(c) (1ULL << (c))

enum feature {
	F_EBPF = 1,	/* attach/run on the eBPF path: syscalls, net, HTTP, logs, children */
	F_UPROBES = 2,	/* TLS plaintext (on by default) and --func: uprobes per process */
	F_SEGMENTS = 4, /* serve, --preload: the shim's segments of every uid */
};

static const struct {
	enum feature f;
	const char *name, *what;
	uint64_t start; /* needed until the drop */
	struct privs_need kept;
} features[] = {
	{ F_EBPF,
	  "ebpf",
	  "eBPF capture (attach, run): syscalls, net, HTTP, logs, children",
	  /* load and attach (CAP_BPF, CAP_PERFMON); the probes' CPU (BPF_ENABLE_STATS) and mounting tracefs
	   * when it is not mounted (CAP_SYS_ADMIN) */
	  BIT(CAP_BPF) | BIT(CAP_PERFMON) | BIT(CAP_SYS_ADMIN),
	  { .bpf_fds = true } },
	{ F_UPROBES,
	  "uprobes",
	  "TLS plaintext (OpenSSL, GnuTLS; on by default) and --func: uprobes on each process",
	  /* perf_event_open of another process's uprobe (CAP_SYS_ADMIN on Linux 6.18), its /proc/PID/maps, exe
	   * and root (CAP_SYS_PTRACE), its binaries whatever their mode (CAP_DAC_READ_SEARCH) */
	  BIT(CAP_BPF) | BIT(CAP_PERFMON) | BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_PTRACE) | BIT(CAP_DAC_READ_SEARCH),
	  { .bpf_fds = true, .uprobes = true } },
	{ F_SEGMENTS,
	  "segments",
	  "the shim's segments of every uid (serve, --preload as root)",
	  BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) | BIT(CAP_SYS_PTRACE),
	  { .segments = true } },
};

static const struct {
	unsigned features;
	const char *path; /* NULL: the shim's runtime dir */
	bool write;
	const char *why;
} paths[] = {
	{ F_EBPF, "/proc", false,
	  "the host's processes (host PID namespace): /proc/PID/stat, comm, cgroup, maps; /proc/stat, /proc/sys/kernel" },
	{ F_EBPF, "/sys/kernel/btf", false, "the kernel's BTF (vmlinux): the CO-RE programs are relocated against it" },
	{ F_EBPF, "/sys/kernel/tracing", false,
	  "tracefs, mounted (obsprobe mounts it when missing, with CAP_SYS_ADMIN; in a container, the host's)" },
	{ F_UPROBES, "/sys/bus/event_source/devices", false, "libbpf reads the uprobe PMU's type and retprobe bit" },
	{ F_SEGMENTS, NULL, true, "the shim's segment files (OBSPROBE_RUNTIME_DIR): read, written, removed" },
};

static const struct {
	const char *path, *why;
} not_needed[] = {
	{ "/sys/fs/bpf", "nothing is pinned: obsprobe's programs and maps live as long as its descriptors" },
	{ "/sys/kernel/debug", "tracefs at /sys/kernel/tracing is enough" },
	{ "/sys/fs/cgroup", "container identity comes from /proc/PID/cgroup; no cgroup is read or written" },
	{ "/lib/modules", "no kernel module is loaded; BTF comes from /sys/kernel/btf" },
};

static void caps_array(cJSON *obj, const char *key, uint64_t mask)
{
	cJSON *a = cJSON_AddArrayToObject(obj, key);

	for (int c = 0; c < 64 && a; c++) {
		char *name, up[64];
		size_t k;

		if (!(mask & BIT(c)))
			continue;
		name = cap_to_name(c);
		for (k = 0; name && name[k] && k < sizeof(up) - 1; k++)
			up[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
		up[k] = '\0';
		cap_free(name);
		cJSON_AddItemToArray(a, cJSON_CreateString(up));
	}
}

static void paths_array(cJSON *obj, unsigned want, const char *runtime_dir)
{
	cJSON *a = cJSON_AddArrayToObject(obj, "paths");

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && a; i++) {
		cJSON *p;

		if (!(paths[i].features & want))
			continue;
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "path", paths[i].path ? paths[i].path : runtime_dir);
		cJSON_AddStringToObject(p, "access", paths[i].write ? "rw" : "ro");
		cJSON_AddStringToObject(p, "why", paths[i].why);
		cJSON_AddItemToArray(a, p);
	}
}

cJSON *needs__json(const char *runtime_dir)
{
	bool old_kernel = privs__bpf_fds_need_cap();
	cJSON *d = cJSON_CreateObject(), *fs = cJSON_AddObjectToObject(d, "features");
	cJSON *agent = cJSON_AddObjectToObject(d, "node_agent"), *nn = cJSON_AddArrayToObject(d, "not_needed");
	uint64_t start = 0, kept = 0;
	unsigned agent_features = F_EBPF | F_UPROBES;

	if (!fs || !agent || !nn)
		return d;
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		cJSON *f = cJSON_AddObjectToObject(fs, features[i].name);
		uint64_t k = privs__keep_mask(&features[i].kept, old_kernel);

		cJSON_AddStringToObject(f, "what", features[i].what);
		caps_array(f, "start", features[i].start);
		caps_array(f, "kept", k);
		paths_array(f, features[i].f, runtime_dir);
		if (features[i].f & agent_features) {
			start |= features[i].start;
			kept |= k;
		}
	}
	cJSON_AddStringToObject(agent, "command", "attach");
	cJSON_AddBoolToObject(agent, "host_pid_namespace", true);
	caps_array(agent, "capabilities", start);
	caps_array(agent, "kept", kept);
	/* not needed to capture: lets obsprobe shrink its own bounding set after the start */
	caps_array(agent, "optional", BIT(CAP_SETPCAP));
	paths_array(agent, agent_features, runtime_dir);
	for (size_t i = 0; i < sizeof(not_needed) / sizeof(not_needed[0]); i++) {
		cJSON *p = cJSON_CreateObject();

		cJSON_AddStringToObject(p, "path", not_needed[i].path);
		cJSON_AddStringToObject(p, "why", not_needed[i].why);
		cJSON_AddItemToArray(nn, p);
	}
	return d;
}
