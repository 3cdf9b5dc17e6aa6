/* syscalls.h -- types shared by syscalls.bpf.c and collector/source/syscalls.c */
#ifndef OBSPROBE_SYSCALLS_H
#define OBSPROBE_SYSCALLS_H

#include "abi/hist.h"

#define SC_MAX_NR 512	   /* syscall numbers tracked: [0, SC_MAX_NR) */
#define SC_MAX_TGIDS 16384 /* traced processes at once */
/* syscalls.bpf.c's traced_bytes: a byte per tgid below pid_max, 8 to a word; at most PID_MAX_LIMIT (2^22) */
#define SC_TRACED_WORDS_MAX (4194304 / 8)
#define SC_MAX_ERRKEYS 4096 /* distinct (syscall, errno) pairs */

/* socket I/O: [direction][protocol] */
enum sc_dir { SC_RECEIVE, SC_TRANSMIT, SC_NDIRS };
enum sc_proto { SC_TCP, SC_UDP, SC_UNIX, SC_NPROTOS };
enum sc_conn { SC_INBOUND, SC_OUTBOUND, SC_NCONNS };
#define SC_MAX_CONNS 65536 /* open TCP connections tracked at once */

struct sc_sock {
	__u64 bytes;
	struct obs_hist io;
};

struct sc_conns {
	__u64 opened;
	__u64 closed;
};

/* errors map key: syscall number << 16 | errno */
#define SC_ERRKEY(nr, err) (((__u32)(nr) << 16) | ((__u32)(err)&0xffff))

enum obs_proc_event_type {
	OBS_PROC_FORK = 1,
	OBS_PROC_EXEC = 2,
	OBS_PROC_EXIT = 3,
	OBS_PROC_MAPEXEC = 4, /* it mapped a file executable (the loader or dlopen: a TLS library may have come) */
	/* discovery (cfg_discover): candidates for user space's selectors, from processes not traced */
	OBS_PROC_SPAWN = 5,	/* an untraced process exec'd (OBS_DISC_EXEC) */
	OBS_PROC_LISTEN = 6,	/* a process put a TCP socket in LISTEN (OBS_DISC_LISTEN); ppid holds the local port */
	OBS_PROC_CGROUP = 7,	/* a process was moved to another cgroup (OBS_DISC_CGROUP) */
	OBS_PROC_RING_HIGH = 8, /* the payload ring went past half full: drain it now (no process; pid 0) */
};

/* cfg_discover bits: which candidate events bpf/proc.bpf.h reports */
#define OBS_DISC_EXEC 1u
#define OBS_DISC_LISTEN 2u
#define OBS_DISC_CGROUP 4u

/* ring buffer record: process lifecycle of traced processes */
struct obs_proc_event {
	__u32 type;
	__u32 pid;  /* tgid */
	__u32 ppid; /* parent tgid (fork) */
	__u32 pad;
	char comm[16];
};

/* payload and log capture: the first SC_CAP - 1 bytes of each I/O are copied (SC_CAP: a power of two), or
 * fewer for a socket user space gave a capture length (0: none) in syscalls.bpf.c's `capture` map */
#define SC_CAP 2048

enum obs_io_event_type {
	OBS_EV_DATA = 4,  /* bytes a traced thread read or wrote on a TCP socket, or wrote to stdout/stderr */
	OBS_EV_CONN = 5,  /* a TCP connection was accepted or connected: its 4-tuple */
	OBS_EV_CLOSE = 6, /* that connection reached TCP_CLOSE */
};

/* OBS_STREAM_TLS: plaintext an SSL_read/SSL_write moved on the socket sk (enter/exit: the SSL call's) */
enum obs_data_stream { OBS_STREAM_SOCKET = 0, OBS_STREAM_STDOUT = 1, OBS_STREAM_STDERR = 2, OBS_STREAM_TLS = 3 };

/* a `capture` map value: bytes to copy of the socket's own reads/writes (low 16 bits) and of the TLS
 * plaintext read/written on it (high 16 bits); absent: SC_CAP - 1 of both */
#define SC_CAPV(sock, tls) ((__u32)(sock) | (__u32)(tls) << 16)
#define SC_CAPV_SOCKET(v) ((v)&0xffff)
#define SC_CAPV_TLS(v) ((v) >> 16)
#define SC_CAPV_KEEP 0xffff /* user space asking for a change: this half stays as it is */

/* ring buffer record: this header, then caplen bytes */
struct obs_data_event {
	__u32 type;
	__u32 pid;
	__u32 tid;
	__s32 fd;
	__u64 sk;	/* struct sock *: the connection's identity (0 for stdout/stderr) */
	__u64 enter_ns; /* syscall entry: orders a write before the read it causes on the other end */
	__u64 exit_ns;
	__u64 total;  /* bytes the syscall moved */
	__u32 caplen; /* bytes copied below (<= total) */
	__u8 dir;     /* enum sc_dir */
	__u8 stream;  /* enum obs_data_stream */
	__u8 family;  /* sockets: AF_INET / AF_INET6, and the 4-tuple (connections opened before attach) */
	__u8 pad;
	__u16 lport, rport; /* host order */
	__u8 laddr[16], raddr[16];
};

struct obs_conn_event {
	__u32 type;
	__u32 pid;
	__u64 sk;
	__u64 ts;
	__u8 dir;    /* enum sc_conn; for OBS_EV_CLOSE unused */
	__u8 family; /* AF_INET / AF_INET6 */
	__u16 lport; /* host order */
	__u16 rport;
	__u16 pad;
	__u8 laddr[16]; /* IPv4 in the first 4 bytes */
	__u8 raddr[16];
};

/* Runtime switches: syscalls.bpf.c's global `rt_shed` (its .bss map, written by user space through the mmapped
 * map while the programs run; rodata is frozen at load): what the overhead budget shed (--max-overhead, SPEC.md
 * "Overhead budget"). One load per event, no map lookup. */
#define SC_SHED_PAYLOAD 1u  /* sockets not captured yet: payloads copied for 1 in 8 of them */
#define SC_SHED_LOGS 2u	    /* no stdout/stderr copies */
#define SC_SHED_SYSCALLS 4u /* no per-syscall histograms, no errno counts (socket counters stay) */
/* the connections payload capture keeps when SC_SHED_PAYLOAD is on: 1 in 8, by a hash of @ports (local port << 16
 * | remote port as the socket holds them) */
#define SC_SHED_KEEPS(ports) ((((__u64)(ports)*0x9E3779B97F4A7C15ull) >> 61) == 0)

/* per-CPU loss counters, index by enum sc_stat */
enum sc_stat {
	SC_STAT_RINGBUF_FULL,
	SC_STAT_ERRMAP_FULL,
	SC_STAT_TGID_MAP_FULL,
	SC_STAT_CONN_MAP_FULL,
	SC_STAT_DATA_RINGBUF_FULL,
	SC_STAT_TLS_NO_SOCKET, /* TLS plaintext of an SSL* whose socket is not known (no syscall seen inside) */
	SC_STAT__COUNT,
};

#endif
