/* tls.h -- TLS plaintext on the eBPF path: syscalls.bpf.c's uprobes (bpf/ssl.bpf.h) attached to the TLS
 * libraries each traced process maps (collector/source/tls.c), always with that process's pid as the filter:
 * OpenSSL 3 (libssl.so.3: SSL_read/SSL_write(_ex), SSL_do_handshake, SSL_free) and GnuTLS (libgnutls.so.30:
 * gnutls_record_recv/send, gnutls_handshake, gnutls_deinit).
 *
 * A process that maps no libssl yet is attached to the host's (/usr/lib/.../libssl.so.3): uprobes live on the
 * file and the pid filter survives exec, so the breakpoints appear when the loader or dlopen() maps it.  After
 * an exec the new image's maps are looked at for a few seconds (tls__drain) for a library of its own (another
 * libssl file than the host's: a container's, a bundled one; GnuTLS, which is only attached where mapped). */
#ifndef OBSPROBE_TLS_H
#define OBSPROBE_TLS_H

#include <stdbool.h>
#include <sys/types.h>

struct bpf_program;

struct tls_progs {
	struct bpf_program *read, *write, *read_ex, *write_ex, *handshake; /* entries */
	struct bpf_program *ret;					   /* the return of each */
	struct bpf_program *free;					   /* SSL_free */
};

struct tls;

struct tls *tls__new(const struct tls_progs *p);
void tls__free(struct tls *t);

/* a traced process (named, child, forked): 0, or -errno when its uprobes could not attach.  @host: also before
 * it maps a library, on the host's copy (the processes named at the start: python imports ssl later); a forked
 * child has its parent's maps, an exec'd image maps its libraries within moments (tls__on_exec looks again
 * for RECHECK_NS): attaching every short-lived child to libraries it never maps would cost a detach each
 * (~80 ms of the kernel's tracing mutex, see linkreap.h) */
int tls__attach(struct tls *t, pid_t pid, bool host);
/* it exec'd a new image; it exited */
void tls__on_exec(struct tls *t, pid_t pid);
void tls__detach(struct tls *t, pid_t pid);
/* the maps of processes that exec'd in the last seconds: cheap when there are none */
void tls__drain(struct tls *t);

int tls__nprobes(struct tls *t, pid_t pid);
/* the libraries: 0 OpenSSL, 1 GnuTLS; the one of them attached for @pid (NULL: none); the last attach
 * failure ("" when none) */
int tls__nlibs(void);
const char *tls__lib_name(int lib);
const char *tls__path(struct tls *t, pid_t pid, int lib);
const char *tls__error(struct tls *t);
/* the start line: "OpenSSL plaintext (/usr/lib/.../libssl.so.3: 12 13 14), " */
void tls__describe(struct tls *t, char *buf, size_t len);
/* exit: attach failures, said once */
void tls__report(struct tls *t);

#endif
