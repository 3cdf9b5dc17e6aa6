/* vmread.h -- the program's memory read without faulting (process_vm_readv): a bad pointer fails here, where the
 * kernel would have said EFAULT, never in the host */
#ifndef OBSPROBE_PRELOAD_VMREAD_H
#define OBSPROBE_PRELOAD_VMREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* copy @n bytes at @src into @dst; false where the kernel would say EFAULT (or the call is refused: a seccomp
 * filter, an old kernel -- then always false) */
bool vmread__copy(void *dst, const void *src, size_t n);
/* gather the @nrem remote pieces @rem into @dst (@n bytes in all); the bytes copied, or -1 */
long vmread__gather(void *dst, size_t n, const struct iovec *rem, int nrem);

#endif
