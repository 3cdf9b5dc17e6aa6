/* targets.c -- the session's process table: named targets, followed children, and their /api/v1/targets rows */
#include <stdio.h>
#include <string.h>

#include "app/targets.h"
#include "source/container.h"
#include "source/procs.h"

struct target *targets__find(struct targets *ts, pid_t pid)
{
	for (int i = 0; i < ts->n; i++)
		if (ts->t[i].pid == pid)
			return &ts->t[i];
	return NULL;
}

struct target *targets__add(struct targets *ts, pid_t pid, const char *comm, bool initial)
{
	struct target *t = targets__find(ts, pid);

	if (!t) {
		if (ts->n == TARGETS_MAX) {
			/* reuse the slot of an exited process */
			for (int i = 0; i < ts->n && !t; i++)
				if (!ts->t[i].alive && !ts->t[i].initial)
					t = &ts->t[i];
			if (!t)
				return NULL;
		} else {
			t = &ts->t[ts->n++];
		}
		memset(&t->ctr, 0, sizeof(t->ctr));
	}
	if (t->pid != pid || !t->alive) { /* a new process in this slot: nothing of the old one's match */
		t->why[0] = '\0';
		t->per_binary = false;
	}
	t->pid = pid;
	t->alive = true;
	t->dead_polls = 0;
	t->initial |= initial;
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	container__read(pid, &t->ctr);
	t->mctr = metrics__ctr(ts->m, t->ctr.id, t->ctr.pod_uid);
	return t;
}

void targets__exec(struct targets *ts, struct target *t, const char *comm)
{
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	container__read(t->pid, &t->ctr);
	t->mctr = metrics__ctr(ts->m, t->ctr.id, t->ctr.pod_uid);
}

/* Forget followed children that exited two polls ago: the table holds what lives (and the --pid targets),
 * not every pid a fork storm ever made.  Two polls, so that payloads they sent before exiting, drained after
 * the exit event, still find their comm. */
void targets__sweep(struct targets *ts)
{
	for (int i = 0; i < ts->n;) {
		struct target *t = &ts->t[i];

		if (t->alive || t->initial || ++t->dead_polls < 2) {
			i++;
			continue;
		}
		*t = ts->t[--ts->n];
	}
}

void targets__json_ebpf(struct targets *ts, struct source_set *set, cJSON *array)
{
	for (int i = 0; i < ts->n; i++) {
		struct target *t = &ts->t[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "pid", t->pid);
		cJSON_AddStringToObject(o, "comm", t->comm);
		cJSON_AddStringToObject(o, "mode", "ebpf");
		cJSON_AddBoolToObject(o, "alive", t->alive);
		cJSON_AddStringToObject(o, "matched_by", t->why[0] ? t->why : t->initial ? "pid" : "child");
		cJSON_AddNumberToObject(o, "probes", source_set__nprobes(set, t->pid));
		if (t->per_binary)
			cJSON_AddStringToObject(o, "func_probes", "per-binary");
		cJSON_AddStringToObject(o, "container_id", t->ctr.id);
		cJSON_AddStringToObject(o, "k8s_pod_uid", t->ctr.pod_uid);
		cJSON_AddStringToObject(o, "cgroup", t->ctr.cgroup);
		cJSON_AddItemToArray(array, o);
	}
}

static bool waiting(struct target *t, struct source_set *set)
{
	return t->initial && !source_set__reads_pid(set, t->pid) && proc_exists(t->pid);
}

void targets__json_waiting(struct targets *ts, struct source_set *set, cJSON *array)
{
	for (int i = 0; i < ts->n; i++) {
		struct target *t = &ts->t[i];
		cJSON *o;

		if (!waiting(t, set))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "pid", t->pid);
		cJSON_AddStringToObject(o, "comm", t->comm);
		cJSON_AddStringToObject(o, "mode", "preload");
		cJSON_AddStringToObject(o, "probes", "libc I/O wrappers");
		cJSON_AddNumberToObject(o, "events", 0);
		cJSON_AddNumberToObject(o, "drops", 0);
		cJSON_AddItemToArray(array, o);
	}
}

int targets__nwaiting(struct targets *ts, struct source_set *set)
{
	int n = 0;

	for (int i = 0; i < ts->n; i++)
		n += waiting(&ts->t[i], set);
	return n;
}

int targets__nalive(const struct targets *ts)
{
	int n = 0;

	for (int i = 0; i < ts->n; i++)
		n += ts->t[i].alive;
	return n;
}
