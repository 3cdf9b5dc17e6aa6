/* vmread.c -- the program's memory read without faulting (process_vm_readv) */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/vmread.h"

static bool vm_read_denied; /* process_vm_readv refused (a seccomp filter, an old kernel) */

bool vmread__copy(void *dst, const void *src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)src, n };
	long got;

	if (n == 0)
		return true;
	if (__atomic_load_n(&vm_read_denied, __ATOMIC_RELAXED))
		return false;
	got = syscall(SYS_process_vm_readv, syscall(SYS_getpid), &l, 1UL, &r, 1UL, 0UL);
	if (got < 0 && (errno == ENOSYS || errno == EPERM))
		__atomic_store_n(&vm_read_denied, true, __ATOMIC_RELAXED);
	return got == (long)n;
}

long vmread__gather(void *dst, size_t n, const struct iovec *rem, int nrem)
{
	struct iovec loc = { dst, n };

	return syscall(SYS_process_vm_readv, syscall(SYS_getpid), &loc, 1UL, rem, (unsigned long)nrem, 0UL);
}
