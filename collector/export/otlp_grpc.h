/* otlp_grpc.h -- OTLP/gRPC's wire pieces: message framing, request headers, the call's status (pure, no I/O) */
#ifndef OBSPROBE_OTLP_GRPC_H
#define OBSPROBE_OTLP_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GRPC_PREFIX 5 /* a message's prefix: compressed flag, 4-byte big-endian length */

/* google.rpc.Code values OTLP cares about */
enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
	GRPC_PERMISSION_DENIED = 7,
};

/* What one call's response headers and trailers said.  Zero it with otlp_grpc__status_reset(). */
struct grpc_status {
	int code;	     /* grpc-status 0..16; -1 = none seen; a value that is not a code: GRPC_UNKNOWN */
	bool bad_details;    /* grpc-status-details-bin was there but did not decode */
	long retry_delay_ms; /* RetryInfo.retry_delay from grpc-status-details-bin, -1 = none */
	bool gzip;	     /* grpc-encoding: gzip (the response message may be compressed) */
	char msg[256];	     /* grpc-message, percent-decoded, control characters replaced by '?' */
};

void otlp_grpc__status_reset(struct grpc_status *st);

/* Write a message's 5-byte prefix. */
void otlp_grpc__prefix(uint8_t out[GRPC_PREFIX], bool compressed, uint32_t len);

/* "grpc-timeout: <value>" for a deadline of @ms milliseconds (at most 8 digits, so the unit grows:
 * 10000 -> "10000m"; 123456789 -> "123456S").  Returns the length, or -1 when it does not fit @len. */
int otlp_grpc__timeout_header(char *out, size_t len, long ms);

/* Feed one response header or trailer line as libcurl hands it over ("name: value\r\n"; the status line and
 * the empty line are ignored).  Names are matched without case. */
void otlp_grpc__header(struct grpc_status *st, const char *line, size_t len);

/* The gRPC status a non-200 HTTP status without grpc-status means (gRPC's HTTP to gRPC status mapping). */
int otlp_grpc__from_http(long http_status);

/* OTLP's rule: retry CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
 * RESOURCE_EXHAUSTED only when the status carries RetryInfo. */
bool otlp_grpc__retryable(int code, bool has_retry_info);

/* "UNAVAILABLE", ..., "code 17" for others (into @buf when needed). */
const char *otlp_grpc__code_name(int code, char *buf, size_t len);

/* Standard or URL-safe base64, padded or not (gRPC sends -bin values unpadded) into @out.
 * Returns the decoded length, or -1 on a bad character or when it does not fit @cap. */
long otlp_grpc__base64(const char *in, size_t len, uint8_t *out, size_t cap);

/* A serialized google.rpc.Status: the retry delay of its first google.rpc.RetryInfo detail in ms (capped at
 * one hour), or -1 when it has none.  Returns 0, or -1 when the bytes do not decode (@delay_ms -1). */
int otlp_grpc__retry_info(const uint8_t *p, size_t len, long *delay_ms);

/* The one message of a unary response body: 0 with @msg/@msglen/@compressed, 1 when the body is empty (no
 * message), -1 when it is not one whole length-prefixed message. */
int otlp_grpc__unframe(const uint8_t *body, size_t len, const uint8_t **msg, size_t *msglen, bool *compressed);

#endif
