/* otlpresp.h -- OTLP/HTTP success bodies: how many items a receiver's partial_success rejected, and why */
#ifndef OBSPROBE_OTLPRESP_H
#define OBSPROBE_OTLPRESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read an OTLP/HTTP success body (Export{Trace,Logs}ServiceResponse, protobuf or JSON): @rejected gets
 * partial_success's rejected_spans / rejected_log_records (0 when absent), @msg its error_message with
 * control characters replaced.  Returns 0, or -1 when the body does not decode (@rejected 0, @msg ""). */
int otlpresp__parse(const void *body, size_t len, bool json, uint64_t *rejected, char *msg, size_t msglen);

#endif
