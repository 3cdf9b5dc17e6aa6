/* shim.h -- the shim's hooks for the network/HTTP capture: socket class per fd, the request a thread serves */
#ifndef OBSPROBE_SHIM_H
#define OBSPROBE_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#define OBS_FD_MAX 65536

/* obs_fd_class[fd]: 0 = not a socket we saw open; else a protocol | a direction */
enum {
	OBS_FD_TCP = 1,
	OBS_FD_UDP = 2,
	OBS_FD_UNIX = 3,
	OBS_FD_INBOUND = 0x10,	/* accepted */
	OBS_FD_OUTBOUND = 0x20,	/* connected */
};
extern uint8_t obs_fd_class[OBS_FD_MAX];

/* the request this thread is serving: spans and log lines take their ids from it */
struct obs_current_request {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	bool active;
};
extern __thread struct obs_current_request obs_current_request;

#endif
