/* fuzz-srcs: collector/app/discover.c collector/source/cgroup.c */
/* fuzz_discover.c -- attach's selector matching on text a process controls or /proc gives: /proc/net/tcp lines,
 * --cgroup paths against a mount, --exe globs against an executable path and comm.
 *
 * Input: the text, split at the first two NULs into A, B, C (missing parts are "").  Checked: a parsed tcp line
 * has a port below 65536; a relative cgroup path is absolute, fits, has no trailing '/' but "/"; a path is under
 * itself; a match's reason fits its buffer and names the glob's way (path, name or comm), and a comm-only match
 * is never the binary's. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "app/discover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 3), *a, *b, *c, rel[64], why[DISC_WHY_LEN];
	unsigned port, st;
	unsigned long ino;
	bool bin;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = '\0';
	a = buf;
	b = a + strlen(a) + 1;
	c = b <= buf + size ? b + strlen(b) + 1 : buf + size + 2;
	if (b > buf + size + 2)
		b = buf + size + 2;
	if (disc__parse_tcp_line(a, &port, &st, &ino))
		FUZZ_CHECK(port < 65536);
	if (disc__cgroup_rel(a, b, rel, sizeof(rel)) == 0) {
		size_t n = strlen(rel);

		FUZZ_CHECK(rel[0] == '/' && n < sizeof(rel));
		FUZZ_CHECK(n == 1 || rel[n - 1] != '/');
		FUZZ_CHECK(disc__cgroup_under(rel, rel));
	}
	{
		char *exes[] = { a };
		int listening[] = { 80 }, ports[] = { 80 };
		struct disc_sel s = { .exes = exes,
				      .nexes = 1,
				      .ports = ports,
				      .nports = size & 1,
				      .cgroups = &c,
				      .ncgroups = (size & 2) != 0 };
		struct disc_facts f = { .exe = b, .comm = c, .cgroup = b, .ports = listening, .nports = 1 };
		enum disc_how h = disc__glob_exe(a, b, c);

		FUZZ_CHECK(h >= DISC_NO && h <= DISC_COMM);
		if (disc__match(&s, &f, why, sizeof(why), &bin)) {
			FUZZ_CHECK(strnlen(why, sizeof(why)) < sizeof(why) && !strncmp(why, "exe=", 4));
			FUZZ_CHECK(bin == (h != DISC_COMM));
		}
	}
	free(buf);
	return 0;
}
