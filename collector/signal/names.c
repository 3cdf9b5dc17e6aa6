/* names.c -- syscall and errno names for metric labels (table generated from the UAPI headers) */
#include <stdio.h>
#include <string.h>

#include "signal/names.h"
#include "syscall_table.h"

#define NSYSCALLS (sizeof(syscall_table) / sizeof(syscall_table[0]))

const char *syscall_name(unsigned nr, char *buf, size_t len)
{
	if (nr < NSYSCALLS && syscall_table[nr])
		return syscall_table[nr];
	snprintf(buf, len, "syscall_%u", nr);
	return buf;
}

int syscall_nr(const char *name)
{
	for (size_t i = 0; i < NSYSCALLS; i++)
		if (syscall_table[i] && !strcmp(syscall_table[i], name))
			return (int)i;
	return -1;
}

const char *errno_name(int err, char *buf, size_t len)
{
	const char *n = err > 0 ? strerrorname_np(err) : NULL;

	if (n)
		return n;
	snprintf(buf, len, "E%d", err);
	return buf;
}
