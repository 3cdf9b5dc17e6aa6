/* tlsreal.h -- the libssl functions tlscap.c's wrappers call: each call site's own libssl.
 *
 * A process may hold two libssl copies (its own, and one a module bundles or loads RTLD_LOCAL): the wrappers sit in
 * the global scope in front of both, so each call goes to the libssl its caller would have reached -- looked up in
 * the caller's own scope (dladdr + dlopen(RTLD_NOLOAD) + dlsym), else the next object (RTLD_NEXT), else the
 * libssl.so.3 already loaded.  Found on a call site's first call, then kept in fixed tables. */
#ifndef OBSPROBE_PRELOAD_TLSREAL_H
#define OBSPROBE_PRELOAD_TLSREAL_H

enum tls_fn {
	F_READ,
	F_READ_EX,
	F_WRITE,
	F_WRITE_EX,
	F_GET_FD,
	F_CTRL,
	F_FREE,
	F_HANDSHAKE,
	F_CONNECT,
	F_ACCEPT,
	F_SHUTDOWN,
	F__COUNT
};

struct tls_lib;

/* The libssl a call returning to @ra goes to, its function @f looked up there on the call site's first call (the
 * unit tests' fake, tlscap__use_real, when set); NULL when none is found.  Slow (dladdr, dlopen) only then. */
struct tls_lib *tlsreal__lib_of(const void *ra, enum tls_fn f);
/* @lib's function @f, found there at its first use; NULL: none (or @lib NULL) */
void *tlsreal__fn(struct tls_lib *lib, enum tls_fn f);

#endif
