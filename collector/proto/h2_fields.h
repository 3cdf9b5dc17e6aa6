/* h2_fields.h -- the header fields of one decoded HTTP/2 header block (h2_session.c) into an exchange's
 * strings and the trace context the request carries (W3C, B3 through lib/tracectx.h; grpc-trace-bin) */
#ifndef OBSPROBE_H2_FIELDS_H
#define OBSPROBE_H2_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include "abi/exchange.h"
#include "lib/tracectx.h"

struct h2_fields {
	char method[OBS_X_OP_MAX], path[OBS_X_TARGET_MAX], authority[OBS_X_HOST_MAX], agent[OBS_X_AGENT_MAX];
	char content_type[32]; /* enough to tell application/grpc */
	char grpc_status[OBS_X_CODE_MAX];
	bool truncated; /* a field was cut to fit */
	int status;	/* ":status", 0 = none */
	struct ctx_extractor ctx;
	struct trace_ctx bin; /* grpc-trace-bin, when bin.valid */
};

void h2_fields__init(struct h2_fields *f);
void h2_fields__add(struct h2_fields *f, const char *name, size_t nlen, const char *val, size_t vlen);
/* a request head: @x gets proto (gRPC when content-type is application/grpc...), version, strings;
 * @in the context it carries (W3C > B3 > the others of tracectx.h > grpc-trace-bin) */
void h2_fields__request(struct h2_fields *f, struct obs_exchange *x, struct trace_ctx *in);
/* a response head or trailers: ":status" (final ones) and grpc-status into @x; true for a final head */
bool h2_fields__response(const struct h2_fields *f, struct obs_exchange *x);
/* the stream ended: @x->error for gRPC (a grpc-status other than "0", or none) */
void h2_fields__finish(struct obs_exchange *x);

/* grpc-trace-bin's value (base64 of OpenCensus's binary format: version 0, then field 0 the trace id (16
 * bytes), field 1 the span id (8), field 2 the options (1; bit 0 sampled)) into @out; false when malformed */
bool h2_fields__trace_bin(const char *val, size_t vlen, struct trace_ctx *out);

#endif
