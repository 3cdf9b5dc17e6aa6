/* app.h -- one tracing session: targets, capture sources, registry, HTTP server, exit summary */
#ifndef OBSPROBE_APP_H
#define OBSPROBE_APP_H

#include <stdio.h>
#include <sys/types.h>

#include "cli/env.h"

struct app;

/* NULL after printing why */
struct app *app__new(struct env *env);
/* attach: a pid the user named; 0, or 1 after printing why */
int app__add_initial(struct app *a, pid_t pid);
/* run: choose the capture path for CMD and prepare its environment */
int app__prepare_run(struct app *a, const char *cmd);
/* run: the forked child, held before exec */
int app__add_run_child(struct app *a, pid_t pid, const char *cmd);
/* load, attach, calibrate, serve, print the start line; 0 or 1 after printing why */
int app__start(struct app *a);
void app__poll(struct app *a);
/* only the event rings: cheap, between polls */
void app__drain(struct app *a);
int app__nalive(struct app *a);
const char *app__url(struct app *a);
/* final poll, exit summary (when @summary and not -q), teardown */
void app__finish(struct app *a, int summary);

#endif
