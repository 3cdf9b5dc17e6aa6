/* check.h -- `obsprobe check`: which capture paths, kernel features and capabilities work here, and why not */
#ifndef OBSPROBE_CHECK_H
#define OBSPROBE_CHECK_H

#include <stdbool.h>
#include <stdio.h>

/* print the report to @out (@json: as one JSON object, with what a deployment must grant); 0 when
 * a capture path works here, else 1 */
int check_cmd(FILE *out, bool json);

#endif
