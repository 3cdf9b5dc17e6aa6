/* startline.h -- the line a session says when it starts: who is traced, with what, where the metrics are */
#ifndef OBSPROBE_STARTLINE_H
#define OBSPROBE_STARTLINE_H

#include <stdbool.h>

#include "app/app.h"
#include "app/targets.h"
#include "source/source.h"

struct startline_what {
	bool ebpf;	 /* else the shim */
	bool http;	 /* spans/RED metrics are made */
	bool logs;	 /* stdout/stderr lines become log records */
	const char *who; /* discovery: the selectors and what they matched (app/discsess.h), or NULL */
};

void startline__print(const struct app_opts *opts, const struct targets *targets, struct source_set *sources,
		      struct startline_what w, const char *url);

#endif
