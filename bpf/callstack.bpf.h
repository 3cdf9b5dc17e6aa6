/* callstack.bpf.h -- per-thread stack of timed calls in flight, shared by uprobes and kernel function probes */
#ifndef OBSPROBE_CALLSTACK_BPF_H
#define OBSPROBE_CALLSTACK_BPF_H

#include "abi/funclat.h"
#include "bpf/bits.bpf.h"

struct fl_stack {
	__u64 ts[FL_MAX_DEPTH];
	__u32 id[FL_MAX_DEPTH];
	__u32 depth;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fl_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct obs_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* send every finished call to user space too (INTERNAL spans) */
const volatile bool cfg_call_events = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} calls SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

static __always_inline void call_push(__u32 id)
{
	struct fl_stack *st;
	__u32 d;

	st = bpf_task_storage_get(&stacks, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		stat_inc(FL_STAT_NO_STORAGE);
		return;
	}
	d = st->depth;
	if (d >= FL_MAX_DEPTH) {
		stat_inc(FL_STAT_TOO_DEEP);
		return;
	}
	st->id[d] = id;
	st->ts[d] = bpf_ktime_get_ns();
	st->depth = d + 1;
}

/* pop to the innermost entry of function @id and record its latency; frames
 * skipped by a longjmp (or entered before attach) are dropped and counted */
static __always_inline void call_pop(__u32 id)
{
	__u64 now = bpf_ktime_get_ns();
	struct fl_stack *st;
	struct obs_hist *h;

	st = bpf_task_storage_get(&stacks, bpf_get_current_task_btf(), 0, 0);
	if (!st)
		return;
	for (int i = 0; i < FL_MAX_DEPTH; i++) {
		__u32 d = st->depth;

		if (d == 0 || d > FL_MAX_DEPTH) {
			stat_inc(FL_STAT_UNMATCHED);
			return;
		}
		d--;
		st->depth = d;
		if (st->id[d] != id) {
			stat_inc(FL_STAT_UNMATCHED);
			continue;
		}
		if (id >= FL_MAX_FUNCS)
			return;
		h = bpf_map_lookup_elem(&hists, &id);
		if (h)
			hist_add(h, now - st->ts[d]);
		if (cfg_call_events && id) {
			__u64 pt = bpf_get_current_pid_tgid();
			struct fl_call_event e = {
				.type = OBS_EV_CALL,
				.id = id,
				.pid = pt >> 32,
				.tid = (__u32)pt,
				.start_ns = st->ts[d],
				.end_ns = now,
			};

			if (bpf_ringbuf_output(&calls, &e, sizeof(e), BPF_RB_NO_WAKEUP))
				stat_inc(FL_STAT_RINGBUF_FULL);
		}
		return;
	}
}

#endif
