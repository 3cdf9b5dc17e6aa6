/* logline.c -- the bytes threads write to stdout/stderr, reassembled into lines; severity from a line */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signal/logline.h"

struct pending {
	int pid, tid, stream;
	bool used, truncated, skipping; /* skipping: past LOGLINE_MAX, waiting for the newline */
	uint64_t time_ns;
	void *tag;     /* the caller's pointer, or own_tag */
	void *own_tag; /* opts.tag_size bytes of struct logline_asm's tags */
	size_t len;
	char buf[LOGLINE_MAX];
};

struct logline_asm {
	struct logline_opts opts;
	logline_fn fn;
	void *ctx;
	uint64_t evicted, complete, partial;
	struct pending *p; /* opts.max_pending */
	char *tags;	   /* opts.max_pending * opts.tag_size: each pending line's copy of its tag */
};

struct logline_asm *logline_asm__new(const struct logline_opts *opts, logline_fn fn, void *ctx)
{
	struct logline_asm *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->opts = *opts;
	if (a->opts.max_pending <= 0)
		a->opts.max_pending = 256;
	if (!a->opts.flush_after_ns)
		a->opts.flush_after_ns = 1000000000ull;
	a->fn = fn;
	a->ctx = ctx;
	a->p = calloc(a->opts.max_pending, sizeof(*a->p));
	if (a->opts.tag_size)
		a->tags = calloc(a->opts.max_pending, a->opts.tag_size);
	if (!a->p || (a->opts.tag_size && !a->tags)) {
		logline_asm__free(a);
		return NULL;
	}
	for (int i = 0; a->tags && i < a->opts.max_pending; i++)
		a->p[i].own_tag = a->tags + i * a->opts.tag_size;
	return a;
}

/* the line in @p starts with this write: it keeps the write's tag (a copy when the tag has a size) */
static void take_tag(const struct logline_asm *a, struct pending *p, void *tag)
{
	if (a->opts.tag_size && tag) {
		memcpy(p->own_tag, tag, a->opts.tag_size);
		p->tag = p->own_tag;
	} else {
		p->tag = a->opts.tag_size ? NULL : tag;
	}
}

void logline_asm__free(struct logline_asm *a)
{
	if (!a)
		return;
	free(a->tags);
	free(a->p);
	free(a);
}

/* @count: the counter of what ends the line (complete, partial), NULL when it is counted already (evicted) */
static void emit(struct logline_asm *a, struct pending *p, uint64_t *count)
{
	struct logline l = { p->pid, p->tid, p->stream, p->time_ns, p->buf, p->len, p->truncated, p->tag };

	if (l.len && l.text[l.len - 1] == '\r')
		l.len--;
	if (l.len || l.truncated) {
		a->fn(&l, a->ctx);
		if (count)
			(*count)++;
	}
	p->len = 0;
	p->truncated = false;
}

static void release(struct logline_asm *a, struct pending *p, uint64_t *count)
{
	if (p->len || p->truncated)
		emit(a, p, count);
	p->used = false;
	p->skipping = false;
}

static struct pending *find(struct logline_asm *a, int pid, int tid, int stream, bool create)
{
	struct pending *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < a->opts.max_pending; i++) {
		struct pending *p = &a->p[i];

		if (!p->used) {
			if (!free_slot)
				free_slot = p;
			continue;
		}
		if (p->pid == pid && p->tid == tid && p->stream == stream)
			return p;
		if (!oldest || p->time_ns < oldest->time_ns)
			oldest = p;
	}
	if (!create)
		return NULL;
	if (!free_slot) {
		a->evicted++;
		release(a, oldest, NULL);
		free_slot = oldest;
	}
	free_slot->used = true;
	free_slot->pid = pid;
	free_slot->tid = tid;
	free_slot->stream = stream;
	free_slot->len = 0;
	free_slot->truncated = free_slot->skipping = false;
	return free_slot;
}

void logline_asm__feed(struct logline_asm *a, int pid, int tid, int stream, uint64_t time_ns, const void *buf,
		       size_t len, bool captured_all, void *tag)
{
	const char *s = buf, *e = s + len;
	struct pending *p = find(a, pid, tid, stream, false);

	while (s < e) {
		const char *nl = memchr(s, '\n', e - s);
		const char *stop = nl ? nl : e;
		size_t n = stop - s;

		if (!p)
			p = find(a, pid, tid, stream, true);
		if (!p->len && !p->skipping && !p->truncated) {
			p->time_ns = time_ns;
			take_tag(a, p, tag);
		}
		if (!p->skipping) {
			size_t room = LOGLINE_MAX - p->len, k = n < room ? n : room;

			memcpy(p->buf + p->len, s, k);
			p->len += k;
			if (k < n) {
				p->truncated = true;
				p->skipping = true;
			}
		}
		s = stop;
		if (nl) {
			s++;
			emit(a, p, &a->complete);
			p->skipping = false;
			p->used = false; /* a finished line frees its slot */
			p = NULL;
		}
	}
	if (!captured_all) {
		/* bytes of this write are missing: the line in progress is incomplete */
		if (!p)
			p = find(a, pid, tid, stream, true);
		if (!p->len && !p->truncated) {
			p->time_ns = time_ns;
			take_tag(a, p, tag);
		}
		p->truncated = true;
		release(a, p, &a->partial); /* and it ends here: the missing bytes may hold its newline */
	}
}

void logline_asm__tick(struct logline_asm *a, uint64_t now_ns)
{
	for (int i = 0; i < a->opts.max_pending; i++) {
		struct pending *p = &a->p[i];

		if (p->used && now_ns > p->time_ns + a->opts.flush_after_ns)
			release(a, p, &a->partial);
	}
}

void logline_asm__flush_pid(struct logline_asm *a, int pid)
{
	for (int i = 0; i < a->opts.max_pending; i++)
		if (a->p[i].used && a->p[i].pid == pid)
			release(a, &a->p[i], &a->partial);
}

void logline_asm__flush_all(struct logline_asm *a)
{
	for (int i = 0; i < a->opts.max_pending; i++)
		if (a->p[i].used)
			release(a, &a->p[i], &a->partial);
}

uint64_t logline_asm__evicted(const struct logline_asm *a)
{
	return a->evicted;
}

void logline_asm__stats(const struct logline_asm *a, struct logline_stats *out)
{
	out->complete = a->complete;
	out->partial = a->partial;
	out->evicted = a->evicted;
}

/* ---- severity ---- */

static const struct {
	const char *word;
	int num;
	const char *text;
} levels[] = {
	{ "TRACE", 1, "TRACE" },     { "DEBUG", 5, "DEBUG" },  { "INFO", 9, "INFO" },	 { "NOTICE", 10, "INFO" },
	{ "WARNING", 13, "WARN" },   { "WARN", 13, "WARN" },   { "ERROR", 17, "ERROR" }, { "ERR", 17, "ERROR" },
	{ "CRITICAL", 21, "FATAL" }, { "CRIT", 21, "FATAL" },  { "FATAL", 21, "FATAL" }, { "PANIC", 21, "FATAL" },
	{ "EMERG", 21, "FATAL" },    { "ALERT", 21, "FATAL" },
};

/* @s (length @n) is a level word, case-insensitive: its index, or -1 */
static int level_of(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strlen(levels[i].word) == n && !strncasecmp(s, levels[i].word, n))
			return i;
	return -1;
}

static int set(int i, char text[16])
{
	strcpy(text, levels[i].text);
	return levels[i].num;
}

/* "level"/"severity"/"lvl" in a JSON object line */
static int json_level(const char *s, size_t n, char text[16])
{
	static const char *const keys[] = { "\"level\"", "\"severity\"", "\"lvl\"" };

	for (size_t k = 0; k < 3; k++) {
		size_t kl = strlen(keys[k]);

		for (size_t i = 0; i + kl < n; i++) {
			const char *v;
			size_t vl = 0;

			if (strncasecmp(s + i, keys[k], kl))
				continue;
			v = s + i + kl;
			while (v < s + n && (*v == ' ' || *v == ':'))
				v++;
			if (v < s + n && *v == '"') {
				int li;

				v++;
				while (v + vl < s + n && v[vl] != '"')
					vl++;
				li = level_of(v, vl);
				if (li >= 0)
					return set(li, text);
			} else if (v < s + n && *v >= '1' && *v <= '6' && v + 1 < s + n && v[1] == '0') {
				/* pino/bunyan: 10 trace 20 debug 30 info 40 warn 50 error 60 fatal */
				static const int map[] = { 0, 1, 2, 5, 6, 10 }; /* indexes into levels[] */

				return set(map[*v - '1'], text);
			}
		}
	}
	return 0;
}

int logline__severity(const char *line, size_t len, char text[16])
{
	const char *s = line, *e = line + len;
	int skipped = 0;

	text[0] = '\0';
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (s < e && *s == '{')
		return json_level(s, e - s, text);
	/* up to three leading tokens may be a timestamp, a bracket or a source before the level */
	while (s < e && skipped <= 3) {
		const char *w = s;
		size_t n;
		int li;

		while (s < e && (*s == '[' || *s == '<' || *s == '('))
			s++;
		w = s;
		while (s < e && ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
			s++;
		n = s - w;
		if (n && (li = level_of(w, n)) >= 0 && (s == e || strchr(" \t:]>)|-,", *s)))
			return set(li, text);
		/* not a level: skip this token (a date, a time, a name) */
		while (s < e && *s != ' ' && *s != '\t')
			s++;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		skipped++;
	}
	return 0;
}
