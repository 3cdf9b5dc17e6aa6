/* table.h -- the capture sources obsprobe has, in the order a session makes them */
#ifndef OBSPROBE_TABLE_H
#define OBSPROBE_TABLE_H

#include "source/source.h"

/* NULL-terminated; adding a source is its file (with its struct source_ops) and one line in table.c */
extern const struct source_ops *const source_table[];

#endif
