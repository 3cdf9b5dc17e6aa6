// SPDX-License-Identifier: GPL-2.0
/* syscalls.bpf.c -- everything the eBPF path sees of traced processes through tracepoints:
 *   sys_enter/sys_exit         latency histogram and errno counts of every syscall (per-CPU maps);
 *                              for I/O syscalls on a socket fd: bytes and I/O latency by direction and
 *                              protocol (tcp/udp/unix), and a copy of the TCP payload (cfg_payload, at most
 *                              what the `capture` map allows for that socket: 0 = off) into data_events;
 *                              writes to fd 1/2 copied as log records (cfg_logs); TCP connections counted
 *                              when accept/connect return (with an event carrying the connection's
 *                              addresses when payloads are on)
 *   inet_sock_set_state        a counted connection reaching TCP_CLOSE (close, exit, reset) ends
 *   sched_process_fork/exec/exit  the traced set follows children (cfg_follow_children); events tell
 *                              user space of each change
 *   uprobes on OpenSSL 3       bpf/ssl.bpf.h: SSL_read/SSL_write(_ex)/SSL_do_handshake entry and return
 *                              (cfg_tls; attached per process by collector/source/tls.c): the plaintext, tied
 *                              to the socket a syscall inside the call used (or the one the SSL* used last:
 *                              ssl_socks), as OBS_STREAM_TLS
 * The socket part lives in bpf/sockio.bpf.h, the process lifecycle in bpf/proc.bpf.h (both included once here).
 * Records and maps shared with user space: abi/syscalls.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "abi/syscalls.h"
#include "bpf/bits.bpf.h"

const volatile bool cfg_follow_children = true;
/* --no-net: no socket classification on I/O syscalls */
const volatile bool cfg_net = true;
/* copy TCP payloads (protocol parsing in user space: the `capture` map) / stdout+stderr writes (log records) */
const volatile bool cfg_payload = false;
const volatile __u64 cfg_ring_wake = 0; /* data_events: wake the collector when a record takes it past this */
const volatile bool cfg_logs = false;
/* OpenSSL plaintext through the ssl_* uprobes (payloads on, not --no-tls) */
const volatile bool cfg_tls = false;

/* runtime switches (SC_SHED_*): .bss, so user space changes them after load */
volatile __u32 rt_shed;

/* a syscall our own probes cause (x86's uretprobe trampoline): not the program's */
const volatile __s64 cfg_skip_nr = -1;

/* traced: tgid -> 1 for every traced process; user space seeds it, fork adds */
#include "bpf/traced.bpf.h"

/* the same set as one byte per tgid (8 to a word), below user space's pid_max at start: every task on the
 * host asks it on every syscall, and an array lookup is inlined (no helper call, no hash).  Each byte has one
 * writer at a time (user space through mmap, fork/exit here) and is stored whole: no read-modify-write. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SC_TRACED_WORDS_MAX); /* user space: pid_max / 8, rounded up */
	__type(key, __u32);
	__type(value, __u64);
} traced_bytes SEC(".maps");

/* is @tgid traced: its byte, or the hash for a tgid beyond the table (pid_max raised after start) */
static __always_inline bool is_traced(__u32 tgid)
{
	__u32 w = tgid >> 3;
	__u8 *b = bpf_map_lookup_elem(&traced_bytes, &w);

	if (b)
		return b[tgid & 7];
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

static __always_inline void set_traced(__u32 tgid, __u8 on)
{
	__u32 w = tgid >> 3;
	__u8 *b = bpf_map_lookup_elem(&traced_bytes, &w);

	if (b)
		b[tgid & 7] = on;
}

/* one fd of the thread's fd cache: valid while fd_gen[] of its fd and fd_epoch are what they were when filled */
struct fd_slot {
	__u64 sk;     /* the socket behind the fd (0: none, or not a socket) */
	__u32 fd1;    /* the fd + 1 (0: empty slot) */
	__u32 gen;    /* fd_gen[fd % SC_FDGEN] when filled */
	__u32 epoch;  /* fd_epoch when filled */
	__u32 capgen; /* cap_gen when capv was read (with hascap) */
	__u32 capv;   /* the capture map's value in force for sk */
	__s8 proto;   /* sock_proto(sk): -1 for no socket we classify */
	__u8 hascap;  /* capv is known */
	__u16 pad;
};
#define SC_FDC_SLOTS 16 /* direct-mapped by fd % SC_FDC_SLOTS */

struct sc_start {
	__u64 ts;
	__u64 nr;
	/* the SSL_read/SSL_write in flight on this thread (ssl_depth 0: none) */
	__u64 ssl;
	__u64 ssl_buf;
	__u64 ssl_lenp; /* *_ex: where the count goes; 0: the return value is the count */
	__u64 ssl_ts;
	__u64 ssl_sp; /* the outermost call's stack pointer at entry */
	__u64 ssl_sk; /* the socket a syscall inside the call used (0: none yet) */
	__s32 ssl_fd;
	__u8 ssl_dir;
	__u8 ssl_depth; /* nesting: only the outermost call counts (the stack pointer tells a nested entry) */
	__u16 pad;
	/* what this thread's fds are (sockio.bpf.h's fd cache: a socket or not, and its capture verdict) */
	struct fd_slot fdc[SC_FDC_SLOTS];
};

/* per-thread start of the syscall in flight: task storage is cheaper than a tid hash */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sc_start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_MAX_NR);
	__type(key, __u32);
	__type(value, struct obs_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SC_MAX_ERRKEYS);
	__type(key, __u32);
	__type(value, __u64);
} errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

/* The fd cache's validity (sockio.bpf.h): a slot of an fd table changes what it holds only by a removal (close,
 * dup2/dup3 onto it, close_range, exec's close-on-exec; an install only fills an empty slot), so every traced
 * removal bumps the fd's generation (fd_gen, shared by all processes: a collision only costs a refill), at the
 * syscall's entry and again at its exit (a cache filled while the slot changed is refused either way).  close_range,
 * exec and io_uring_enter (its IORING_OP_CLOSE) bump fd_epoch: every cache refills.  Known gaps: an fd table shared
 * with an untraced process (CLONE_FILES without CLONE_THREAD) changed there, a seccomp supervisor's ADDFD_FLAG_SETFD,
 * an io_uring close completing after its io_uring_enter returned.  cap_gen: bumped by user space after each write
 * to the `capture` map (systrace__capture) and here when a connection's verdict is deleted; an entry the LRU map
 * evicts stays in force for the fds that cached it (the map holds SC_MAX_CONNS). */
#define SC_FDGEN 1024
__u32 fd_gen[SC_FDGEN];
__u32 fd_epoch;
__u32 cap_gen;

static __always_inline void fd_changing(struct pt_regs *regs, long nr)
{
	switch (nr) {
	case 3: /* close */
		__sync_fetch_and_add(&fd_gen[regs->di & (SC_FDGEN - 1)], 1);
		break;
	case 33:
	case 292: /* dup2 dup3 */
		__sync_fetch_and_add(&fd_gen[regs->si & (SC_FDGEN - 1)], 1);
		break;
	case 436:
	case 426: /* close_range io_uring_enter */
		__sync_fetch_and_add(&fd_epoch, 1);
		break;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct sc_start *st;

	/* every task on the host comes here: an untraced one leaves after one inlined array load (the task
	 * storage first, as before, costs it a miss: ~20 ns more per syscall in ns/run, measured) */
	if (!is_traced(task->tgid) || id == cfg_skip_nr)
		return 0;
	fd_changing(regs, id);
	st = bpf_task_storage_get(&starts, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	st->nr = id;
	st->ts = bpf_ktime_get_ns();
	return 0;
}

/* the syscall's arguments (x86_64), loaded straight from the tracepoint's trusted pt_regs (no helper call) */
#define SC_ARG1(regs) ((regs)->di)
#define SC_ARG2(regs) ((regs)->si)
#define SC_ARG3(regs) ((regs)->dx)
#define SC_ARG5(regs) ((regs)->r8)

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define TCP_CLOSE 7

/* a read-only typed view of a kernel pointer: fields then load directly (no helper call per field) */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id) __ksym;
#define KCAST(ptr, type) ((type *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))

/* process changes for user space (proc.bpf.h), and sockio.bpf.h's OBS_PROC_RING_HIGH: each record wakes the reader */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* socket I/O, payload capture, TCP connections: maps and helpers, and the inet_sock_set_state program */
#include "bpf/sockio.bpf.h"
/* process lifecycle: the events ring, fork/exec/exit */
#include "bpf/proc.bpf.h"

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct sc_start *st;
	struct obs_hist *h;
	__u64 now, delta, st_ts;
	__u32 nr, rt;

	/* an untraced task leaves as at entry (cheaper than its task storage's miss) */
	if (!is_traced(task->tgid))
		return 0;
	fd_changing(regs, regs->orig_ax);
	st = bpf_task_storage_get(&starts, task, 0, 0);
	if (!st || !st->ts)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - st->ts;
	nr = st->nr;
	st_ts = st->ts;
	st->ts = 0;
	if (nr >= SC_MAX_NR)
		return 0;
	rt = rt_shed;
	if (!(rt & SC_SHED_SYSCALLS)) {
		h = bpf_map_lookup_elem(&hists, &nr);
		if (h)
			hist_add(h, delta);
	}
	if (cfg_logs && !(rt & SC_SHED_LOGS) && ret > 0 && (nr == 1 || nr == 20)) { /* write writev */
		long fd = SC_ARG1(regs);

		if (fd == 1 || fd == 2) {
			copy_payload(regs, nr, ret, 0, SC_TRANSMIT, fd, st_ts, now, SC_CAP - 1);
			goto errors;
		}
	}
	/* an executable file mapped (a library loaded, dlopen too): user space looks for a TLS library to probe */
	if (cfg_tls && nr == 9 && (unsigned long)ret < (unsigned long)-4095L && (SC_ARG3(regs) & 4 /* PROT_EXEC */) &&
	    (long)SC_ARG5(regs) >= 0)
		emit(OBS_PROC_MAPEXEC, bpf_get_current_pid_tgid() >> 32, 0);
	if (cfg_net) {
		if (ret >= 0)
			sock_io(task, regs, nr, ret, st_ts, now, st);
		conn_open(task, regs, nr, ret);
	}
errors:
	if (ret < 0 && ret >= -4095 && !(rt & SC_SHED_SYSCALLS)) {
		__u32 key = SC_ERRKEY(nr, -ret);
		__u64 one = 1, *cnt = bpf_map_lookup_elem(&errors, &key);

		if (cnt)
			(*cnt)++;
		else if (bpf_map_update_elem(&errors, &key, &one, BPF_NOEXIST))
			stat_inc(SC_STAT_ERRMAP_FULL);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
