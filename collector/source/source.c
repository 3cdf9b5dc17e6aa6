/* source.c -- the loops a session runs over its live capture sources (the table of them is table.c) */
#include <stdio.h>
#include <string.h>

#include "source/source.h"

int source_set__start(struct source_set *set, const struct source_ops *const *table, enum source_path path,
		      struct source_opts *o, char *err, size_t errlen)
{
	memset(set, 0, sizeof(*set));
	o->traced_fd = -1;
	for (int i = 0; table[i]; i++) {
		const struct source_ops *ops = table[i];
		void *s;

		if (ops->path != path)
			continue;
		if (set->n == SOURCE_MAX) {
			snprintf(err, errlen, "more than %d capture sources", SOURCE_MAX);
			return -1;
		}
		err[0] = '\0';
		s = ops->new (o, err, errlen);
		if (!s) {
			if (err[0])
				return -1;
			continue; /* not wanted */
		}
		set->ops[set->n] = ops;
		set->s[set->n++] = s;
		if (ops->traced_fd && o->traced_fd < 0)
			o->traced_fd = ops->traced_fd(s);
	}
	return 0;
}

void *source_set__find(const struct source_set *set, const struct source_ops *ops)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i] == ops)
			return set->s[i];
	return NULL;
}

int source_set__add_target(struct source_set *set, pid_t pid, bool initial, char *err, size_t errlen)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->add_target && set->ops[i]->add_target(set->s[i], pid, initial, err, errlen) && initial)
			return -1;
	return 0;
}

void source_set__on_process(struct source_set *set, enum proc_change what, pid_t pid)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->on_process)
			set->ops[i]->on_process(set->s[i], what, pid);
}

void source_set__drain(struct source_set *set)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->drain)
			set->ops[i]->drain(set->s[i]);
}

int source_set__wait_fds(struct source_set *set, int *fds, int max)
{
	int n = 0;

	for (int i = 0; i < set->n && n < max; i++)
		if (set->ops[i]->wait_fd && (fds[n] = set->ops[i]->wait_fd(set->s[i])) >= 0)
			n++;
	return n;
}

void source_set__poll(struct source_set *set)
{
	for (int i = 0; i < set->n; i++)
		set->ops[i]->poll(set->s[i]);
}

void source_set__baseline(struct source_set *set)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->baseline)
			set->ops[i]->baseline(set->s[i]);
}

void source_set__totals(struct source_set *set, struct source_totals *t)
{
	t->events = t->lost = 0;
	for (int i = 0; i < set->n; i++) {
		struct source_totals one = { 0 };

		set->ops[i]->totals(set->s[i], &one);
		t->events += one.events;
		t->lost += one.lost;
	}
}

int source_set__nprobes(struct source_set *set, pid_t pid)
{
	int n = 0;

	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->nprobes)
			n += set->ops[i]->nprobes(set->s[i], pid);
	return n;
}

void source_set__targets(struct source_set *set, cJSON *array)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->targets)
			set->ops[i]->targets(set->s[i], array);
}

bool source_set__reads_pid(struct source_set *set, pid_t pid)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->reads_pid && set->ops[i]->reads_pid(set->s[i], pid))
			return true;
	return false;
}

int source_set__ntargets(struct source_set *set)
{
	int n = 0;

	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->ntargets)
			n += set->ops[i]->ntargets(set->s[i]);
	return n;
}

/* what the sources probe, appended to @out: "3 functions, 1 kernel function (fentry), " */
void source_set__describe(struct source_set *set, char *out, size_t len)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->describe)
			set->ops[i]->describe(set->s[i], out, len);
}

void source_set__needs(struct source_set *set, struct privs_need *need)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->needs)
			set->ops[i]->needs(set->s[i], need);
}

void source_set__report(struct source_set *set)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->report)
			set->ops[i]->report(set->s[i]);
}

int source_set__progs(struct source_set *set, int *fds, int max)
{
	int n = 0;

	for (int i = 0; i < set->n && n < max; i++)
		if (set->ops[i]->progs)
			n += set->ops[i]->progs(set->s[i], fds + n, max - n);
	return n;
}

int source_set__shed(struct source_set *set, enum shed_step step, char *what, size_t len)
{
	for (int i = 0; i < set->n; i++)
		if (set->ops[i]->shed && set->ops[i]->shed(set->s[i], step, what, len))
			return 1;
	return 0;
}

/* in reverse: a source may use what an earlier one made (the traced-process map) */
void source_set__free(struct source_set *set)
{
	for (int i = set->n - 1; i >= 0; i--)
		set->ops[i]->free(set->s[i]);
	set->n = 0;
}
