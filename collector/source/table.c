/* table.c -- the capture sources obsprobe has, in the order a session makes them (apart from source.c, whose loops
 * unit tests link without the BPF skeletons) */
#include <stddef.h>

#include "source/funclat.h"
#include "source/kfunc.h"
#include "source/shm_source.h"
#include "source/syscalls.h"
#include "source/table.h"

/* kernel functions filter on the syscall source's traced-process map: it comes first */
const struct source_ops *const source_table[] = {
	&syscalls_source, &funclat_source, &kfunc_source, &segments_source, NULL,
};
