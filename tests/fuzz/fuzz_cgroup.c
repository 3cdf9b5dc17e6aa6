/* fuzz-srcs: collector/source/cgroup.c */
/* fuzz_cgroup.c -- /proc/PID/cgroup and mountinfo text: the container identity and the cgroup2 mount.
 *
 * Input: a selector byte (bit 0: mountinfo, else /proc/PID/cgroup; the next byte sizes the mount
 * point's buffer, allocated exactly so that ASan sees a byte written past it), then the text, copied
 * into a buffer of its exact size (no NUL after it).  Checked: every string is NUL-terminated within
 * its field; a line with a NUL in it is malformed; a container id is 64 lowercase hex digits and appears in the input; a pod uid is
 * 8-4-4-4-12 lowercase hex with dashes; the kept line is a line of the input; the runtime is one of
 * the enum's; the mount point is non-empty, has no NUL inside, and fits its buffer. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "source/cgroup.h"

static void check_ident(const struct cgroup_ident *c, const char *text, size_t n)
{
	size_t idn = strnlen(c->container_id, sizeof(c->container_id));
	size_t un = strnlen(c->pod_uid, sizeof(c->pod_uid));
	size_t ln = strnlen(c->line, sizeof(c->line));

	FUZZ_CHECK(idn < sizeof(c->container_id) && un < sizeof(c->pod_uid) && ln < sizeof(c->line));
	FUZZ_CHECK(idn == 0 || idn == 64);
	for (size_t i = 0; i < idn; i++)
		FUZZ_CHECK((c->container_id[i] >= '0' && c->container_id[i] <= '9') ||
			   (c->container_id[i] >= 'a' && c->container_id[i] <= 'f'));
	FUZZ_CHECK(!idn || memmem(text, n, c->container_id, 64));
	FUZZ_CHECK((idn != 0) == (c->runtime != CGROUP_RT_NONE));
	FUZZ_CHECK(c->runtime >= CGROUP_RT_NONE && c->runtime <= CGROUP_RT_PODMAN);
	FUZZ_CHECK(un == 0 || un == 36);
	for (size_t i = 0; i < un; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;
		char ch = c->pod_uid[i];

		FUZZ_CHECK(sep ? ch == '-' : ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')));
	}
	/* the line is a whole line of the input */
	if (ln) {
		bool whole = false;

		for (const char *at = text; !whole && (at = memmem(at, n - (size_t)(at - text), c->line, ln)); at++)
			whole = (at == text || at[-1] == '\n') && ((size_t)(at - text) + ln == n || at[ln] == '\n');
		FUZZ_CHECK(whole);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel, outlen;
	char *text, *out;
	size_t n;

	if (size < 2)
		return 0;
	sel = data[0];
	outlen = data[1];
	n = size - 2;
	text = malloc(n ? n : 1);
	if (!text)
		return 0;
	memcpy(text, data + 2, n);
	if (sel & 1) {
		out = malloc(outlen ? outlen : 1);
		if (out) {
			if (cgroup__v2_mount(text, n, out, outlen) == 0) {
				size_t m = strnlen(out, outlen);

				FUZZ_CHECK(m > 0 && m < outlen);
			} else if (outlen) {
				FUZZ_CHECK(out[0] == '\0');
			}
			free(out);
		}
	} else {
		struct cgroup_ident c;
		int rc = cgroup__parse_proc(text, n, &c);

		check_ident(&c, text, n);
		FUZZ_CHECK(rc == 0 || (!c.line[0] && !c.container_id[0] && !c.pod_uid[0]));
		cgroup__ident_from_path(text, n, &c);
		FUZZ_CHECK(strnlen(c.container_id, sizeof(c.container_id)) < sizeof(c.container_id));
		FUZZ_CHECK(!c.container_id[0] || memmem(text, n, c.container_id, 64));
	}
	free(text);
	return 0;
}
