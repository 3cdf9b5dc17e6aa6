/* progstats.h -- what the loaded BPF programs cost: the kernel's run-time statistics (BPF_ENABLE_STATS) */
#ifndef OBSPROBE_PROGSTATS_H
#define OBSPROBE_PROGSTATS_H

#include <stddef.h>
#include <stdint.h>

/* Turn the kernel's BPF run-time statistics on for as long as the returned fd is open (they stop when the last
 * such fd closes, or stay on when kernel.bpf_stats_enabled is 1).  Needs CAP_SYS_ADMIN: take it before the
 * privilege drop.  The fd, or -1 with the reason in @err. */
int progstats__enable(char *err, size_t errlen);

/* one program's numbers */
struct prog_stat {
	char name[16]; /* the program's name as the kernel has it (BPF_OBJ_NAME_LEN) */
	uint32_t id;
	uint32_t type;	 /* enum bpf_prog_type */
	uint64_t run_ns; /* run time so far, while statistics were on */
	uint64_t runs;
};

/* the numbers of the programs behind @fds[@n] into @out (one per fd that answers); how many */
int progstats__read(const int *fds, int n, struct prog_stat *out);

#endif
