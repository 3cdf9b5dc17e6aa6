/* serving.h -- what the shim's HTTP/1 capture (netcap.c, which owns it) and its HTTP/2 capture (h2cap.c) share:
 * the request this thread serves, and what a TLS write carrying our header lines keeps until it completes.
 * Types and declarations only: h2cap.c reads them without depending on netcap.c's connection table. */
#ifndef OBSPROBE_PRELOAD_SERVING_H
#define OBSPROBE_PRELOAD_SERVING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the request this thread is serving: spans and log lines take their ids from it */
struct netcap_serving {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	bool active;
};
extern __thread struct netcap_serving netcap_serving;

/* the sampling decision of the request this thread serves */
uint8_t netcap__serving_sampled(void);

/* what a TLS write carrying our header lines needs kept until it completes (tlscap.c's stable buffer) */
struct netcap_tls_inj {
	size_t n;      /* the program's bytes */
	size_t line;   /* its request line, CRLF included: our lines follow it (HTTP/2: where our field goes) */
	size_t hdrlen; /* our lines (HTTP/2: our field) */
	uint8_t trace_id[16], span_id[8], sampled;
	/* HTTP/2 (h2cap.c): the HEADERS frame at @h2_at had its length (@h2_len, the program's) raised by @hdrlen */
	uint8_t h2, h2_len[3];
	uint32_t h2_at, h2_stream;
	uint8_t parent_id[8];
};

#endif
