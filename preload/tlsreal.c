/* tlsreal.c -- the libssl functions tlscap.c's wrappers call: each call site's own libssl (see tlsreal.h) */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "preload/netcap.h"
#include "preload/tlscap.h"
#include "preload/tlsreal.h"

static const char *const fn_name[F__COUNT] = {
	"SSL_read", "SSL_read_ex",	"SSL_write",   "SSL_write_ex", "SSL_get_fd",   "SSL_ctrl",
	"SSL_free", "SSL_do_handshake", "SSL_connect", "SSL_accept",   "SSL_shutdown",
};

#define TLS_LIBS 4    /* libssl copies in one process */
#define TLS_SITES 256 /* call sites (4-way buckets) */

struct tls_lib {
	const void *base; /* where it is mapped; NULL: a free entry */
	const char *path; /* its link map's name (lives as long as it is loaded) */
	void *fn[F__COUNT];
};
struct tls_site {
	const void *ra; /* the return address of a call into a wrapper */
	struct tls_lib *lib;
};
static struct tls_lib libs[TLS_LIBS];
static struct tls_site sites[TLS_SITES];
static struct tls_lib fake; /* the unit tests' */
static bool faked;

void tlscap__use_real(const struct tlscap_real *r)
{
	memset(&fake, 0, sizeof(fake));
	faked = r != NULL;
	if (!r)
		return;
	fake.fn[F_READ] = (void *)r->read;
	fake.fn[F_READ_EX] = (void *)r->read_ex;
	fake.fn[F_WRITE] = (void *)r->write;
	fake.fn[F_WRITE_EX] = (void *)r->write_ex;
	fake.fn[F_GET_FD] = (void *)r->get_fd;
	fake.fn[F_CTRL] = (void *)r->ctrl;
	fake.fn[F_FREE] = (void *)r->free;
	fake.fn[F_HANDSHAKE] = (void *)r->do_handshake;
	fake.fn[F_CONNECT] = (void *)r->connect;
	fake.fn[F_ACCEPT] = (void *)r->accept;
	fake.fn[F_SHUTDOWN] = (void *)r->shutdown;
}

/* @name as the object holding @ra would find it: in its own scope (the main program's is the global one, where our
 * wrapper is found first: skipped), else the next object, else the libssl.so.3 a module loaded RTLD_LOCAL */
static void *find_for(const void *ra, const char *name)
{
	static const void *self;
	struct link_map *lm = NULL;
	void *p = NULL, *h;
	Dl_info di;

	if (!self && dladdr((void *)find_for, &di))
		self = di.dli_fbase;
	if (dladdr1(ra, &di, (void **)&lm, RTLD_DL_LINKMAP) && lm &&
	    (h = dlopen(lm->l_name && lm->l_name[0] ? lm->l_name : NULL, RTLD_NOLOAD | RTLD_LAZY))) {
		p = dlsym(h, name);
		dlclose(h); /* NOLOAD took a reference */
	}
	if (p && dladdr(p, &di) && di.dli_fbase == self)
		p = NULL;
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	if (!p && (h = dlopen("libssl.so.3", RTLD_NOLOAD | RTLD_LAZY))) {
		p = dlsym(h, name);
		dlclose(h);
	}
	return p;
}

/* the libssl holding @p (an entry made on first sight); NULL when the table is full */
static struct tls_lib *lib_at(void *p)
{
	Dl_info di;

	if (!dladdr(p, &di) || !di.dli_fbase)
		return NULL;
	for (int i = 0; i < TLS_LIBS; i++) {
		const void *none = NULL;

		if (__atomic_compare_exchange_n(&libs[i].base, &none, di.dli_fbase, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			__atomic_store_n(&libs[i].path, di.dli_fname, __ATOMIC_RELEASE);
			return &libs[i];
		}
		if (none == di.dli_fbase)
			return &libs[i]; /* its path may be a moment away: lib_fn() finds nothing until then */
	}
	return NULL;
}

/* the libssl a call returning to @ra goes to: its function @f looked up there on the call site's first call */
struct tls_lib *tlsreal__lib_of(const void *ra, enum tls_fn f)
{
	struct tls_site *b;
	struct tls_lib *lib;
	void *p;
	int saved;

	if (faked)
		return &fake;
	b = &sites[((uint64_t)(uintptr_t)ra * 0x9e3779b97f4a7c15ull >> 32) % (TLS_SITES / 4) * 4];
	for (int i = 0; i < 4; i++)
		if (__atomic_load_n(&b[i].ra, __ATOMIC_ACQUIRE) == ra &&
		    (lib = __atomic_load_n(&b[i].lib, __ATOMIC_ACQUIRE)))
			return lib;
	saved = errno;
	in_shim++;
	p = find_for(ra, fn_name[f]);
	lib = p ? lib_at(p) : NULL;
	if (lib) {
		void *none = NULL;

		__atomic_compare_exchange_n(&lib->fn[f], &none, p, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		for (int i = 0; i < 4; i++) { /* a full bucket: this site is looked up again next time */
			const void *free_ = NULL;

			if (__atomic_compare_exchange_n(&b[i].ra, &free_, ra, false, __ATOMIC_ACQ_REL,
							__ATOMIC_RELAXED)) {
				__atomic_store_n(&b[i].lib, lib, __ATOMIC_RELEASE);
				break;
			}
		}
	}
	(void)dlerror(); /* our failed lookups are not the program's pending error */
	in_shim--;
	errno = saved;
	return lib;
}

/* @lib's function @f, found there at its first use (NULL: none) */
void *tlsreal__fn(struct tls_lib *lib, enum tls_fn f)
{
	const char *path;
	void *p, *h;
	int saved;

	if (!lib)
		return NULL;
	p = __atomic_load_n(&lib->fn[f], __ATOMIC_ACQUIRE);
	if (__builtin_expect(p || lib == &fake, 1))
		return p;
	path = __atomic_load_n(&lib->path, __ATOMIC_ACQUIRE);
	if (!path || !path[0])
		return NULL; /* never dlopen(NULL): the global scope would find our own wrapper */
	saved = errno;
	in_shim++;
	if ((h = dlopen(path, RTLD_NOLOAD | RTLD_LAZY))) {
		p = dlsym(h, fn_name[f]);
		dlclose(h);
	}
	(void)dlerror();
	in_shim--;
	errno = saved;
	if (p)
		__atomic_store_n(&lib->fn[f], p, __ATOMIC_RELEASE);
	return p;
}
