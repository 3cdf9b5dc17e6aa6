/* logcap.c -- the shim's log capture: stdout/stderr writes become log records, lines served get tagged */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/clock.h"
#include "preload/inject.h"
#include "preload/logcap.h"
#include "preload/seg.h"
#include "preload/vmread.h"

bool logcap_tag;

void logcap__init(void)
{
	const char *t = getenv("OBSPROBE_LOG_TAG");

	logcap_tag = t && !strcmp(t, "1");
}

/* fd 1 and 2: 0 = not looked at, 1 = a device that discards writes without reading them (/dev/null,
 * /dev/zero: a bad pointer succeeds there), -1 = anything else (a successful write read every byte) */
static int8_t log_fd_kind[3];

void logcap__fd_reset(int fd)
{
	if (fd >= 0 && fd < 3)
		__atomic_store_n(&log_fd_kind[fd], 0, __ATOMIC_RELAXED);
}

static bool log_fd_discards(int fd)
{
	int8_t k = __atomic_load_n(&log_fd_kind[fd], __ATOMIC_RELAXED);
	struct stat st;

	if (!k) {
		k = !fstat(fd, &st) && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
				    (minor(st.st_rdev) == 3 || minor(st.st_rdev) == 5)
			    ? 1
			    : -1;
		__atomic_store_n(&log_fd_kind[fd], k, __ATOMIC_RELAXED);
	}
	return k > 0;
}

/* Bytes of char-at-a-time stdio calls (fputc, putc, putchar), held per thread until their line ends: one record
 * per line, not per byte.  Any other record of the thread sends them first, so its records keep the order in
 * which it produced the text. */
static __thread struct {
	uint16_t n;
	uint8_t fd;
	bool ctx;
	uint8_t trace_id[16], span_id[8];
	char text[LOGCAP_PENDING];
} pending;

/* the record's ids, one syscall per process and per thread (a syscall costs microseconds on some hosts) */
static int32_t log_pid;
static __thread int32_t log_tid;

static void log_bytes(int fd, const struct iovec *iov, int iovcnt, size_t n, bool all, bool readable,
		      const uint8_t *trace_id, const uint8_t *span_id);

static void pending_flush(void)
{
	struct iovec v = { pending.text, pending.n };

	pending.n = 0; /* first: the record below must not send it again */
	log_bytes(pending.fd, &v, 1, v.iov_len, true, true, pending.ctx ? pending.trace_id : NULL,
		  pending.ctx ? pending.span_id : NULL);
}

void logcap__stdio_char(int fd, char c, const uint8_t *trace_id, const uint8_t *span_id)
{
	if (pending.n && pending.fd != fd)
		pending_flush();
	if (!pending.n) {
		pending.fd = (uint8_t)fd;
		pending.ctx = trace_id && span_id;
		if (pending.ctx) {
			memcpy(pending.trace_id, trace_id, 16);
			memcpy(pending.span_id, span_id, 8);
		}
	}
	pending.text[pending.n++] = c;
	if (c == '\n' || pending.n == sizeof(pending.text))
		pending_flush();
}

void logcap__stdio_flush(void)
{
	if (pending.n)
		pending_flush();
}

void logcap__atfork_child(void)
{
	pending.n = 0; /* the parent's bytes, logged by the parent */
	log_pid = 0;
	log_tid = 0;
}

void logcap__write(int fd, const struct iovec *iov, int iovcnt, size_t n, const uint8_t *trace_id,
		   const uint8_t *span_id)
{
	log_bytes(fd, iov, iovcnt, n, true, false, trace_id, span_id);
}

void logcap__stdio(int fd, const struct iovec *iov, int iovcnt, size_t n, bool all, const uint8_t *trace_id,
		   const uint8_t *span_id)
{
	log_bytes(fd, iov, iovcnt, n, all, true, trace_id, span_id);
}

/* @all false: the text went on past these @n bytes, not logged (its last record says cut = 2); @readable: the
 * bytes are known readable (else, on a descriptor that discards writes unread, they are copied with vmread) */
static void log_bytes(int fd, const struct iovec *iov, int iovcnt, size_t n, bool all, bool readable,
		      const uint8_t *trace_id, const uint8_t *span_id)
{
	struct obs_segment *s = seg__get();
	struct obs_seg_log rec;
	size_t off = 0, used = 0;
	bool check;

	if (!s || fd < 1 || fd > 2)
		return;
	if (__builtin_expect(pending.n != 0, 0))
		pending_flush();
	check = !readable && log_fd_discards(fd); /* the bytes were never read: copy them without faulting */
	if (__builtin_expect(!log_tid, 0))
		log_tid = (int32_t)syscall(SYS_gettid);
	if (__builtin_expect(!__atomic_load_n(&log_pid, __ATOMIC_RELAXED), 0))
		__atomic_store_n(&log_pid, (int32_t)syscall(SYS_getpid), __ATOMIC_RELAXED);
	rec.pid = __atomic_load_n(&log_pid, __ATOMIC_RELAXED);
	rec.tid = log_tid;
	rec.time_ns = mono_ns();
	rec.stream = fd;
	rec.pad = 0;
	if (trace_id && span_id) {
		memcpy(rec.trace_id, trace_id, 16);
		memcpy(rec.span_id, span_id, 8);
	} else {
		memset(rec.trace_id, 0, 16);
		memset(rec.span_id, 0, 8);
	}
	/* the bytes, record by record; a long write continues in the next (cut = 1 on all but the last; 2 on the
	 * last when the rest is not logged) */
	for (int i = 0; i < iovcnt && n; i++) {
		const char *p = iov[i].iov_base;
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;

		n -= k;
		while (k) {
			size_t room = OBS_SEG_LOG_TEXT - used, take = k < room ? k : room;

			if (!check)
				memcpy(rec.text + used, p, take);
			else if (!vmread__copy(rec.text + used, p, take))
				return; /* not readable: a write to /dev/null never read it */
			used += take;
			p += take;
			k -= take;
			off += take;
			if (used == OBS_SEG_LOG_TEXT && (k || n)) {
				rec.len = used;
				rec.cut = off >= 16 * OBS_SEG_LOG_TEXT ? 2 : 1;
				obs_seg_ring_put(s, OBS_REC_LOG, &rec, sizeof(rec));
				used = 0;
				if (rec.cut == 2)
					return; /* a huge write: the rest is not logged (lines marked truncated) */
			}
		}
		if (i == iovcnt - 1 || !n) {
			rec.len = used;
			rec.cut = all ? 0 : 2;
			obs_seg_ring_put(s, OBS_REC_LOG, &rec, offsetof(struct obs_seg_log, text) + used);
			return;
		}
	}
}

/* OBSPROBE_LOG_TAG=1: " trace_id=… span_id=…" before the newline of a line written while serving, when the
 * tagged line still fits in one atomic pipe write (PIPE_BUF). */
static __thread char tag_line[PIPE_BUF];

const char *logcap__tag_plan(const void *buf, size_t n, const uint8_t trace_id[16], const uint8_t span_id[8],
			     size_t *len)
{
	if (!logcap_tag || !trace_id || !span_id || n == 0 || n + LOGTAG_LEN > sizeof(tag_line) ||
	    !vmread__copy(tag_line, buf, n))
		return NULL; /* passed as it is (a bad buffer gets the real call's EFAULT) */
	*len = logtag__build(tag_line, sizeof(tag_line), tag_line, n, trace_id, span_id);
	return *len ? tag_line : NULL; /* NULL: not one whole line per write */
}

ssize_t logcap__tag_done(int fd, size_t n, size_t len, ssize_t k, const uint8_t trace_id[16], const uint8_t span_id[8])
{
	/* the program's bytes are the line without its newline, then the newline: a cut tag counts as its text */
	ssize_t ret = k < 0 || (size_t)k < n - 1 ? k : k == (ssize_t)len ? (ssize_t)n : (ssize_t)(n - 1);

	if (ret > 0) {
		struct iovec v = { tag_line, (size_t)ret < n ? (size_t)ret : n - 1 };

		if ((size_t)ret == n) { /* the line as the program wrote it, for the log record */
			memcpy(tag_line + n - 1, "\n", 1);
			v.iov_len = n;
		}
		logcap__write(fd, &v, 1, v.iov_len, trace_id, span_id);
	}
	return ret;
}
