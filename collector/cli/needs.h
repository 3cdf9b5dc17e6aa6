/* needs.h -- what a deployment of obsprobe must grant, per feature: capabilities at start and after, host paths */
#ifndef OBSPROBE_NEEDS_H
#define OBSPROBE_NEEDS_H

#include <cjson/cJSON.h>

/* The "deploy" object of `obsprobe check --json`: per feature the capabilities it needs to start,
 * those it keeps after the privilege drop (privs__keep_mask), the host paths it reads or writes;
 * "node_agent" (attach with its defaults: eBPF, TLS uprobes) as their union; the paths it does not
 * need.  deploy/ and tests/integration/test_deploy.sh are checked against it. @runtime_dir: the
 * shim's segment directory.  NULL when out of memory. */
cJSON *needs__json(const char *runtime_dir);

#endif
