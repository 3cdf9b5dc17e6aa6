/* tls.c -- the TLS library uprobes of syscalls.bpf.c (bpf/ssl.bpf.h), attached per traced process to the
 * OpenSSL 3 and GnuTLS libraries it maps */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "lib/clock.h"
#include "source/linkreap.h"
#include "source/symbols.h"
#include "source/tls.h"

/* after an exec, how long the new image's maps are looked at for a TLS library (the loader maps it after the
 * exec event) */
#define RECHECK_NS (3ull * 1000 * 1000 * 1000)

#define NL 11 /* uprobes of one library in one process, at most */

enum { P_RET, P_READ, P_WRITE, P_READ_EX, P_WRITE_EX, P_HANDSHAKE, P_FREE, P__N };

/* a TLS library: its functions mapped onto the programs of bpf/ssl.bpf.h (same argument places: the session
 * pointer, the buffer; the count returned, or through the *_ex pointer).  Returns come first, entries last
 * (and the other way round in unlink_pid): a call that starts while the links are being made has its return
 * seen, or nothing. */
static const struct tls_libdef {
	const char *name;
	const char *soname; /* the file's basename starts with it */
	bool host;	    /* attach to the host's copy before the process maps it (loader, dlopen) */
	int nl;
	const char *fn[NL];
	uint8_t prog[NL];
} libdefs[] = {
	{ "OpenSSL",
	  "libssl.so.3",
	  true,
	  11,
	  { "SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex", "SSL_do_handshake", "SSL_read", "SSL_write",
	    "SSL_read_ex", "SSL_write_ex", "SSL_do_handshake", "SSL_free" },
	  { P_RET, P_RET, P_RET, P_RET, P_RET, P_READ, P_WRITE, P_READ_EX, P_WRITE_EX, P_HANDSHAKE, P_FREE } },
	{ "GnuTLS",
	  "libgnutls.so.30",
	  false,
	  7,
	  { "gnutls_record_recv", "gnutls_record_send", "gnutls_handshake", "gnutls_record_recv", "gnutls_record_send",
	    "gnutls_handshake", "gnutls_deinit" },
	  { P_RET, P_RET, P_RET, P_READ, P_WRITE, P_HANDSHAKE, P_FREE } },
};
#define NKINDS ((int)(sizeof(libdefs) / sizeof(libdefs[0])))

static const char *const host_dirs[] = { "/usr/lib/x86_64-linux-gnu/", "/lib/x86_64-linux-gnu/", "/usr/lib64/",
					 "/usr/lib/", "/lib64/" };

struct tls_pid {
	pid_t pid;
	int kind;    /* libdefs[] */
	bool mapped; /* the library is in its maps (else: the host's, waiting for it to be mapped) */
	dev_t dev;   /* the library file attached */
	ino_t ino;
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

struct recheck {
	pid_t pid;
	uint64_t until; /* mono ns */
};

struct tls {
	struct bpf_program *prog[P__N];
	struct tls_pid *v;
	int n, cap;
	struct recheck *re; /* processes that exec'd: their maps are read until a library shows up, or until */
	int nre, capre;
	struct tls_lib libs[NLIBS];
	int next_lib;	       /* the slot a new library takes (round robin) */
	uint64_t failed;       /* attach failures (said at exit) */
	struct linkreap *reap; /* detaching waits for the kernel: off this thread */
	char last_err[512];
};

struct tls *tls__new(const struct tls_progs *p)
{
	struct tls *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->prog[P_RET] = p->ret;
	t->prog[P_READ] = p->read;
	t->prog[P_WRITE] = p->write;
	t->prog[P_READ_EX] = p->read_ex;
	t->prog[P_WRITE_EX] = p->write_ex;
	t->prog[P_HANDSHAKE] = p->handshake;
	t->prog[P_FREE] = p->free;
	t->reap = linkreap__new();
	return t;
}

/* entries go first, returns last (the reaper destroys the last put first: returns, then entries; a return
 * never seen heals in BPF) */
static void unlink_pid(struct tls *t, struct tls_pid *tp)
{
	for (int i = NL - 1; i >= 0; i--) {
		linkreap__put(t->reap, tp->l[i]);
		tp->l[i] = NULL;
	}
}

void tls__free(struct tls *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++)
		unlink_pid(t, &t->v[i]);
	linkreap__free(t->reap);
	free(t->v);
	free(t->re);
	free(t);
}

static struct tls_pid *find(struct tls *t, pid_t pid, int kind)
{
	for (int i = 0; i < t->n; i++)
		if (t->v[i].pid == pid && t->v[i].kind == kind)
			return &t->v[i];
	return NULL;
}

/* the library @soname* @pid maps: a path that opens the same file from here (its own, or through
 * /proc/PID/root when it lives in another mount namespace); false when it maps none */
static bool mapped_lib(pid_t pid, const char *soname, char *path, size_t len, dev_t *dev, ino_t *ino)
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
		if (*p != '/' || !base || strncmp(base + 1, soname, strlen(soname)))
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

/* the host's copy of @soname, for a process that has not mapped one yet */
static bool host_lib(const char *soname, char *path, size_t len, dev_t *dev, ino_t *ino)
{
	struct stat sb;

	for (size_t i = 0; i < sizeof(host_dirs) / sizeof(host_dirs[0]); i++) {
		snprintf(path, len, "%s%s", host_dirs[i], soname);
		if (!stat(path, &sb)) {
			*dev = sb.st_dev;
			*ino = sb.st_ino;
			return true;
		}
	}
	return false;
}

/* the offsets of the library's functions in @tp's file, from the cache or its ELF symbols */
static const struct tls_lib *lib_offsets(struct tls *t, const struct tls_pid *tp)
{
	const struct tls_libdef *def = &libdefs[tp->kind];
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
	for (int i = 0; i < def->nl; i++) {
		struct sym_match *m = NULL;
		int n = 0;

		if (elf_syms__match(es, def->fn[i], &m, &n) || n != 1) {
			snprintf(t->last_err, sizeof(t->last_err), "%s: no single function %s", tp->path, def->fn[i]);
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
	const struct tls_libdef *def = &libdefs[tp->kind];
	const struct tls_lib *lib = lib_offsets(t, tp);

	if (!lib) {
		t->failed++;
		return -ENOENT;
	}
	linkreap__busy(t->reap); /* no detach now: it would hold these attaches (linkreap.h) */
	for (int i = 0; i < def->nl; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = def->prog[i] == P_RET);

		/* a pid filter always: a probe for pid -1 would trap every process on the host mapping the library */
		tp->l[i] = bpf_program__attach_uprobe_opts(t->prog[def->prog[i]], tp->pid, tp->path, lib->off[i], &o);
		if (!tp->l[i]) {
			int e = -errno;

			snprintf(t->last_err, sizeof(t->last_err), "%s in %s for pid %d: %s", def->fn[i], tp->path,
				 (int)tp->pid, strerror(-e));
			unlink_pid(t, tp);
			t->failed++;
			return e;
		}
	}
	vlog("TLS: pid %d: %s uprobes on %s%s", (int)tp->pid, def->name, tp->path,
	     tp->mapped ? "" : " (not mapped yet)");
	return 0;
}

/* attach @pid to the @kind library it maps, or the host's; 0, or -errno */
static int attach_kind(struct tls *t, pid_t pid, int kind, bool host)
{
	const struct tls_libdef *def = &libdefs[kind];
	struct tls_pid *tp = find(t, pid, kind), nt = { .pid = pid, .kind = kind };
	int e;

	nt.mapped = mapped_lib(pid, def->soname, nt.path, sizeof(nt.path), &nt.dev, &nt.ino);
	if (!nt.mapped && (!def->host || !host || !host_lib(def->soname, nt.path, sizeof(nt.path), &nt.dev, &nt.ino)))
		return 0; /* none to attach to (yet) */
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
		*tp = (struct tls_pid){ .pid = pid, .kind = kind };
	}
	unlink_pid(t, tp);
	*tp = nt;
	e = link_pid(t, tp);
	if (e) /* forget it: a later exec or recheck tries again */
		*tp = t->v[--t->n];
	return e;
}

int tls__attach(struct tls *t, pid_t pid, bool host)
{
	int e = 0;

	for (int k = 0; k < NKINDS; k++) {
		int ek = attach_kind(t, pid, k, host);

		e = e ? e : ek;
	}
	return e;
}

static bool any_mapped(struct tls *t, pid_t pid)
{
	for (int k = 0; k < NKINDS; k++) {
		struct tls_pid *tp = find(t, pid, k);

		if (tp && tp->mapped)
			return true;
	}
	return false;
}

void tls__on_exec(struct tls *t, pid_t pid)
{
	tls__attach(t, pid, false);
	if (any_mapped(t, pid))
		return;
	for (int i = 0; i < t->nre; i++)
		if (t->re[i].pid == pid) {
			t->re[i].until = mono_ns() + RECHECK_NS;
			return;
		}
	if (t->nre == t->capre) {
		int cap = t->capre ? t->capre * 2 : 16;
		struct recheck *v = realloc(t->re, cap * sizeof(*v));

		if (!v)
			return;
		t->re = v;
		t->capre = cap;
	}
	t->re[t->nre++] = (struct recheck){ .pid = pid, .until = mono_ns() + RECHECK_NS };
}

void tls__detach(struct tls *t, pid_t pid)
{
	for (int i = 0; i < t->n;)
		if (t->v[i].pid == pid) {
			unlink_pid(t, &t->v[i]);
			t->v[i] = t->v[--t->n];
		} else {
			i++;
		}
	for (int i = 0; i < t->nre; i++)
		if (t->re[i].pid == pid) {
			t->re[i] = t->re[--t->nre];
			break;
		}
}

void tls__drain(struct tls *t)
{
	uint64_t now;

	if (!t->nre)
		return;
	now = mono_ns();
	for (int i = 0; i < t->nre;) {
		pid_t pid = t->re[i].pid;

		if (now > t->re[i].until) {
			t->re[i] = t->re[--t->nre];
			continue;
		}
		tls__attach(t, pid, false);
		if (any_mapped(t, pid)) {
			t->re[i] = t->re[--t->nre];
			continue;
		}
		i++;
	}
}

const char *tls__path(struct tls *t, pid_t pid, int lib)
{
	struct tls_pid *tp = find(t, pid, lib);

	return tp ? tp->path : NULL;
}

int tls__nlibs(void)
{
	return NKINDS;
}

const char *tls__lib_name(int lib)
{
	return libdefs[lib].name;
}

const char *tls__error(struct tls *t)
{
	return t->last_err;
}

int tls__nprobes(struct tls *t, pid_t pid)
{
	int n = 0;

	for (int k = 0; k < NKINDS; k++)
		if (find(t, pid, k))
			n += libdefs[k].nl;
	return n;
}

void tls__describe(struct tls *t, char *buf, size_t len)
{
	size_t at = strlen(buf);
	int waiting = 0;
	const char *host = NULL;
	bool first = true;

	if (!t->n || at >= len)
		return;
	at += snprintf(buf + at, len - at, "TLS uprobes (");
	for (int k = 0; k < NKINDS && at < len; k++) {
		const char *path = NULL;
		int mapped = 0, shown = 0;

		for (int i = 0; i < t->n; i++) {
			if (t->v[i].kind != k)
				continue;
			if (!t->v[i].mapped) {
				waiting++;
				host = host ? host : t->v[i].path;
			} else if (mapped++ == 0) {
				path = t->v[i].path;
			}
		}
		if (!mapped)
			continue;
		at += snprintf(buf + at, len - at, "%s%s %s: pid", first ? "" : "; ", libdefs[k].name, path);
		first = false;
		for (int i = 0; i < t->n && at < len && shown < 8; i++)
			if (t->v[i].kind == k && t->v[i].mapped && !strcmp(t->v[i].path, path) && ++shown)
				at += snprintf(buf + at, len - at, " %d", (int)t->v[i].pid);
		if (at < len && mapped > shown)
			at += snprintf(buf + at, len - at, " and %d more", mapped - shown);
	}
	if (at < len && waiting)
		at += snprintf(buf + at, len - at, "%s%d process%s until %s map%s %s", first ? "" : "; ", waiting,
			       waiting == 1 ? "" : "es", waiting == 1 ? "it" : "they", waiting == 1 ? "s" : "", host);
	if (at < len)
		snprintf(buf + at, len - at, "), ");
}

void tls__report(struct tls *t)
{
	if (t->failed)
		ilog("TLS: %llu uprobe attach%s failed (last: %s): that plaintext was not seen",
		     (unsigned long long)t->failed, t->failed == 1 ? "" : "es", t->last_err);
}
