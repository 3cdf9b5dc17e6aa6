/* names.h -- syscall and errno names for metric labels */
#ifndef OBSPROBE_NAMES_H
#define OBSPROBE_NAMES_H

#include <stddef.h>

/* "read" for 0; "syscall_463" for a number the build's table does not know */
const char *syscall_name(unsigned nr, char *buf, size_t len);
/* syscall number for a name, -1 when unknown */
int syscall_nr(const char *name);
/* "EAGAIN" for 11; "E1234" for an unknown value */
const char *errno_name(int err, char *buf, size_t len);

#endif
