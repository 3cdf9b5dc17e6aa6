/* tlscap.h -- libobsshim.so's OpenSSL entry points: TLS plaintext into the socket's own parser, traceparent inside
 * SSL writes.
 *
 * Interposed: SSL_read, SSL_read_ex, SSL_write, SSL_write_ex (plaintext), SSL_do_handshake, SSL_connect,
 * SSL_accept, SSL_shutdown (the socket they use is marked TLS before its first record is parsed as anything),
 * SSL_free (what the shim keeps per SSL* ends).  libssl is never linked: each call goes to the libssl its caller
 * would have reached, found at run time (tlsreal.c).
 *
 * An SSL* meets its socket through the socket I/O the same thread makes inside its call (netcap_tls_call: custom
 * BIOs such as curl's are covered), remembered in a fixed table for the calls OpenSSL answers from its buffer;
 * SSL_get_fd when none was seen.  A write that carries our header lines is built in a stable buffer (one of
 * TLSCAP_SLOTS) kept for that SSL* until the write completes: OpenSSL wants a write that returned WANT_READ or
 * WANT_WRITE retried with the same buffer and length, and the retry (same SSL*, same length and bytes) is given
 * that buffer again. */
#ifndef OBSPROBE_PRELOAD_TLSCAP_H
#define OBSPROBE_PRELOAD_TLSCAP_H

#include <stddef.h>

#include "preload/inject.h"

#define TLSCAP_FDS 4096	       /* SSL* -> fd entries (4-way buckets) */
#define TLSCAP_SLOTS 16	       /* writes with our lines waiting to complete, at once */
#define TLSCAP_WRITE_MAX 16384 /* a write longer than this (one TLS record) gets no lines: no_slot */

typedef struct ssl_st SSL;

/* the libssl functions the wrappers call */
struct tlscap_real {
	int (*read)(SSL *, void *, int);
	int (*read_ex)(SSL *, void *, size_t, size_t *);
	int (*write)(SSL *, const void *, int);
	int (*write_ex)(SSL *, const void *, size_t, size_t *);
	int (*get_fd)(const SSL *);
	long (*ctrl)(SSL *, int, long, void *);
	void (*free)(SSL *);
	int (*do_handshake)(SSL *);
	int (*connect)(SSL *);
	int (*accept)(SSL *);
	int (*shutdown)(SSL *);
};

/* the unit tests: a fake libssl (@r NULL: find the real functions again) */
void tlscap__use_real(const struct tlscap_real *r);
/* the socket the table holds for @ssl, or -1 */
int tlscap__fd_of(const SSL *ssl);
/* writes whose stable buffer is held (waiting for their retry) */
int tlscap__slots_held(void);

/* the wrappers (exported by the shim's version script) */
int SSL_read(SSL *s, void *buf, int num);
int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes);
int SSL_write(SSL *s, const void *buf, int num);
int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written);
int SSL_do_handshake(SSL *s);
int SSL_connect(SSL *s);
int SSL_accept(SSL *s);
int SSL_shutdown(SSL *s);
void SSL_free(SSL *s);

#endif
