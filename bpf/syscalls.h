/* syscalls.h -- types shared by syscalls.bpf.c and user/syscalls.c */
#ifndef OBSPROBE_SYSCALLS_H
#define OBSPROBE_SYSCALLS_H

#include "bounds.h"

#define SC_MAX_NR 512		/* syscall numbers tracked: [0, SC_MAX_NR) */
#define SC_MAX_TGIDS 16384	/* traced processes at once */
#define SC_MAX_ERRKEYS 4096	/* distinct (syscall, errno) pairs */

/* socket I/O: [direction][protocol] */
enum sc_dir { SC_RECEIVE, SC_TRANSMIT, SC_NDIRS };
enum sc_proto { SC_TCP, SC_UDP, SC_UNIX, SC_NPROTOS };
enum sc_conn { SC_INBOUND, SC_OUTBOUND, SC_NCONNS };
#define SC_MAX_CONNS 65536	/* open TCP connections tracked at once */

struct sc_sock {
	__u64 bytes;
	struct obs_hist io;
};

struct sc_conns {
	__u64 opened;
	__u64 closed;
};

/* errors map key: syscall number << 16 | errno */
#define SC_ERRKEY(nr, err) (((__u32)(nr) << 16) | ((__u32)(err) & 0xffff))

enum obs_proc_event_type {
	OBS_PROC_FORK = 1,
	OBS_PROC_EXEC = 2,
	OBS_PROC_EXIT = 3,
};

/* ring buffer record: process lifecycle of traced processes */
struct obs_proc_event {
	__u32 type;
	__u32 pid;	/* tgid */
	__u32 ppid;	/* parent tgid (fork) */
	__u32 pad;
	char comm[16];
};

/* per-CPU loss counters, index by enum sc_stat */
enum sc_stat {
	SC_STAT_RINGBUF_FULL,
	SC_STAT_ERRMAP_FULL,
	SC_STAT_TGID_MAP_FULL,
	SC_STAT_CONN_MAP_FULL,
	SC_STAT__COUNT,
};

#endif
