/* tls.c -- the OpenSSL uprobes of syscalls.bpf.c, attached per traced process to the libssl it maps */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "source/symbols.h"
#include "lib/clock.h"
#include "source/tls.h"

/* after an exec, how long the new image's maps are looked at for its libssl (the loader maps it after the
 * exec event; a program may dlopen it later still: python's ssl module on its first import) */
#define RECHECK_NS (3ull * 1000 * 1000 * 1000)

/* the uprobes of one process: 5 functions' entries and returns, SSL_free's entry */
#define NL 11

struct tls_pid {
	pid_t pid;
	bool mapped; /* the library is in its maps (else: the host's, waiting for it to be mapped) */
	dev_t dev;   /* the library file attached */
	ino_t ino;
	uint64_t recheck_until; /* mono ns: look at its maps until then (after exec) */
	char path[256];
	struct bpf_link *l[NL];
};

/* the functions' file offsets in one library file, resolved once: a fork storm attaches without reading ELF */
#define NLIBS 8
struct tls_lib {
	dev_t dev;
	ino_t ino;
	bool used;
	uint64_t off[NL];
};

struct tls {
	struct tls_progs p;
	struct tls_pid *v;
	int n, cap;
	struct tls_lib libs[NLIBS];
	int next_lib;	 /* the slot a new library takes (round robin) */
	uint64_t failed; /* attach failures (said at exit) */
	char last_err[512];
};

static const char *const host_libs[] = {
	"/usr/lib/x86_64-linux-gnu/libssl.so.3",
	"/lib/x86_64-linux-gnu/libssl.so.3",
	"/usr/lib64/libssl.so.3",
	"/usr/lib/libssl.so.3",
	"/lib64/libssl.so.3",
};

struct tls *tls__new(const struct tls_progs *p)
{
	struct tls *t = calloc(1, sizeof(*t));

	if (t)
		t->p = *p;
	return t;
}

static void unlink_pid(struct tls_pid *tp)
{
	for (int i = NL - 1; i >= 0; i--) {
		bpf_link__destroy(tp->l[i]);
		tp->l[i] = NULL;
	}
}

void tls__free(struct tls *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++)
		unlink_pid(&t->v[i]);
	free(t->v);
	free(t);
}

static struct tls_pid *find(struct tls *t, pid_t pid)
{
	for (int i = 0; i < t->n; i++)
		if (t->v[i].pid == pid)
			return &t->v[i];
	return NULL;
}

/* the libssl.so.3 @pid maps: a path that opens the same file from here (its own, or through
 * /proc/PID/root when it lives in another mount namespace); false when it maps none */
static bool mapped_libssl(pid_t pid, char *path, size_t len, dev_t *dev, ino_t *ino)
{
	char fn[64], line[512];
	FILE *f;
	bool found = false;

	snprintf(fn, sizeof(fn), "/proc/%d/maps", (int)pid);
	f = fopen(fn, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long inode;
		int at = 0;
		const char *p, *base;
		struct stat sb;

		if (sscanf(line, "%*s %*s %*s %x:%x %lu %n", &maj, &min, &inode, &at) != 3 || !at || !inode)
			continue;
		p = line + at;
		base = strrchr(p, '/');
		if (*p != '/' || !base || strncmp(base + 1, "libssl.so.3", 11))
			continue;
		line[strcspn(line, "\n")] = '\0';
		*dev = makedev(maj, min);
		*ino = inode;
		if (!stat(p, &sb) && sb.st_ino == inode && sb.st_dev == *dev)
			snprintf(path, len, "%s", p);
		else
			snprintf(path, len, "/proc/%d/root%s", (int)pid, p);
		found = true;
	}
	fclose(f);
	return found;
}

/* the host's libssl.so.3, for a process that has not mapped one yet */
static bool host_libssl(char *path, size_t len, dev_t *dev, ino_t *ino)
{
	struct stat sb;

	for (size_t i = 0; i < sizeof(host_libs) / sizeof(host_libs[0]); i++)
		if (!stat(host_libs[i], &sb)) {
			snprintf(path, len, "%s", host_libs[i]);
			*dev = sb.st_dev;
			*ino = sb.st_ino;
			return true;
		}
	return false;
}

/* the offsets of @fn's functions in @tp's library, from the cache or its ELF symbols */
static const struct tls_lib *lib_offsets(struct tls *t, const struct tls_pid *tp, const char *const fn[NL])
{
	struct tls_lib *lib;
	struct elf_syms *es;

	for (int i = 0; i < NLIBS; i++)
		if (t->libs[i].used && t->libs[i].dev == tp->dev && t->libs[i].ino == tp->ino)
			return &t->libs[i];
	es = elf_syms__open(tp->path, t->last_err, sizeof(t->last_err));
	if (!es)
		return NULL;
	lib = &t->libs[t->next_lib];
	t->next_lib = (t->next_lib + 1) % NLIBS;
	*lib = (struct tls_lib){ .dev = tp->dev, .ino = tp->ino };
	for (int i = 0; i < NL; i++) {
		struct sym_match *m = NULL;
		int n = 0;

		if (elf_syms__match(es, fn[i], &m, &n) || n != 1) {
			snprintf(t->last_err, sizeof(t->last_err), "%s: no single function %s (OpenSSL 3?)", tp->path,
				 fn[i]);
			free(m);
			elf_syms__free(es);
			return NULL;
		}
		lib->off[i] = m[0].offset;
		free(m);
	}
	elf_syms__free(es);
	lib->used = true;
	return lib;
}

static int link_pid(struct tls *t, struct tls_pid *tp)
{
	/* returns first, entries last (and the other way round in unlink_pid): a call that starts while the
	 * links are being made has its return seen, or nothing */
	static const char *const fn[NL] = { "SSL_read",		"SSL_write",	    "SSL_read_ex", "SSL_write_ex",
					    "SSL_do_handshake", "SSL_read",	    "SSL_write",   "SSL_read_ex",
					    "SSL_write_ex",	"SSL_do_handshake", "SSL_free" };
	struct bpf_program *prog[NL] = { t->p.ret,   t->p.ret,	   t->p.ret,	  t->p.ret,	  t->p.ret, t->p.read,
					 t->p.write, t->p.read_ex, t->p.write_ex, t->p.handshake, t->p.free };

	const struct tls_lib *lib = lib_offsets(t, tp, fn);

	if (!lib) {
		t->failed++;
		return -ENOENT;
	}
	for (int i = 0; i < NL; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = prog[i] == t->p.ret);

		/* a pid filter always: a probe for pid -1 would trap every process on the host mapping libssl */
		tp->l[i] = bpf_program__attach_uprobe_opts(prog[i], tp->pid, tp->path, lib->off[i], &o);
		if (!tp->l[i]) {
			int e = -errno;

			snprintf(t->last_err, sizeof(t->last_err), "%s in %s for pid %d: %s", fn[i], tp->path,
				 (int)tp->pid, strerror(-e));
			unlink_pid(tp);
			t->failed++;
			return e;
		}
	}
	vlog("TLS: pid %d: OpenSSL uprobes on %s%s", (int)tp->pid, tp->path, tp->mapped ? "" : " (not mapped yet)");
	return 0;
}

/* attach to what @pid maps, or the host's library; 0, or -errno */
static int attach(struct tls *t, pid_t pid)
{
	struct tls_pid *tp = find(t, pid), nt = { .pid = pid };
	int e;

	nt.mapped = mapped_libssl(pid, nt.path, sizeof(nt.path), &nt.dev, &nt.ino);
	if (!nt.mapped && !host_libssl(nt.path, sizeof(nt.path), &nt.dev, &nt.ino))
		return 0; /* no OpenSSL 3 here at all */
	if (tp && tp->dev == nt.dev && tp->ino == nt.ino) {
		/* the same file: its probes stay (they follow the process through exec, on the file) */
		tp->mapped = nt.mapped;
		return 0;
	}
	if (!tp) {
		if (t->n == t->cap) {
			int cap = t->cap ? t->cap * 2 : 16;
			struct tls_pid *v = realloc(t->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			t->v = v;
			t->cap = cap;
		}
		tp = &t->v[t->n++];
		*tp = (struct tls_pid){ .pid = pid };
	}
	unlink_pid(tp);
	nt.recheck_until = tp->recheck_until;
	*tp = nt;
	e = link_pid(t, tp);
	if (e) /* forget it: a later exec or recheck tries again */
		*tp = t->v[--t->n];
	return e;
}

int tls__attach(struct tls *t, pid_t pid)
{
	return attach(t, pid);
}

void tls__on_exec(struct tls *t, pid_t pid)
{
	struct tls_pid *tp;

	attach(t, pid);
	tp = find(t, pid);
	if (tp && !tp->mapped)
		tp->recheck_until = mono_ns() + RECHECK_NS;
}

void tls__detach(struct tls *t, pid_t pid)
{
	struct tls_pid *tp = find(t, pid);

	if (!tp)
		return;
	unlink_pid(tp);
	*tp = t->v[--t->n];
}

void tls__drain(struct tls *t)
{
	uint64_t now = 0;

	for (int i = 0; i < t->n; i++) {
		struct tls_pid *tp = &t->v[i];

		if (!tp->recheck_until)
			continue;
		if (!now)
			now = mono_ns();
		if (now > tp->recheck_until) {
			tp->recheck_until = 0;
			continue;
		}
		pid_t pid = tp->pid;

		attach(t, pid); /* may move tp */
		tp = find(t, pid);
		if (tp && tp->mapped)
			tp->recheck_until = 0;
	}
}

const char *tls__path(struct tls *t, pid_t pid)
{
	struct tls_pid *tp = find(t, pid);

	return tp ? tp->path : NULL;
}

const char *tls__error(struct tls *t)
{
	return t->last_err;
}

int tls__nprobes(struct tls *t, pid_t pid)
{
	struct tls_pid *tp = find(t, pid);

	return tp ? NL : 0;
}

void tls__describe(struct tls *t, char *buf, size_t len)
{
	size_t at = strlen(buf);
	int mapped = 0, shown = 0;
	const char *path = NULL, *host = NULL;

	for (int i = 0; i < t->n; i++)
		if (t->v[i].mapped) {
			mapped++;
			path = path ? path : t->v[i].path;
		} else {
			host = host ? host : t->v[i].path;
		}
	if (!t->n || at >= len)
		return;
	at += snprintf(buf + at, len - at, "OpenSSL uprobes (");
	if (mapped) {
		at += snprintf(buf + at, len - at, "%s: pid", path);
		for (int i = 0; i < t->n && at < len && shown < 8; i++)
			if (t->v[i].mapped && !strcmp(t->v[i].path, path) && ++shown)
				at += snprintf(buf + at, len - at, " %d", (int)t->v[i].pid);
		if (at < len && mapped > shown)
			at += snprintf(buf + at, len - at, " and %d more", mapped - shown);
	}
	if (at < len && t->n > mapped)
		at += snprintf(buf + at, len - at, "%s%d process%s until %s map%s %s", mapped ? "; " : "",
			       t->n - mapped, t->n - mapped == 1 ? "" : "es", t->n - mapped == 1 ? "it" : "they",
			       t->n - mapped == 1 ? "s" : "", host);
	if (at < len)
		snprintf(buf + at, len - at, "), ");
}

void tls__report(struct tls *t)
{
	if (t->failed)
		ilog("TLS: %llu OpenSSL uprobe attach%s failed (last: %s): that plaintext was not seen",
		     (unsigned long long)t->failed, t->failed == 1 ? "" : "es", t->last_err);
}
