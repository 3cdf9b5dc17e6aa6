/* span.h -- the span and log record the collector exports: fixed-size, pointer-free, cheap to queue by copy */
#ifndef OBSPROBE_SPAN_H
#define OBSPROBE_SPAN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define SPAN_NAME_LEN 96
#define SPAN_TRACE_STATE_LEN 256 /* W3C allows 512: producers cut at a list-member boundary */
#define SPAN_MAX_ATTRS 16
#define SPAN_ATTR_KEY_LEN 48
#define SPAN_ATTR_STR_LEN 192
#define SPAN_RES_STR_LEN 64 /* service.name, process.executable.name */

/* OTLP Span.SpanKind numbers */
enum span_kind {
	SPAN_KIND_UNSPECIFIED = 0,
	SPAN_KIND_INTERNAL = 1,
	SPAN_KIND_SERVER = 2,
	SPAN_KIND_CLIENT = 3,
};

/* OTLP Status.StatusCode numbers */
enum span_status {
	SPAN_STATUS_UNSET = 0,
	SPAN_STATUS_OK = 1,
	SPAN_STATUS_ERROR = 2,
};

/* OTLP Span.flags: the low 8 bits are the W3C trace flags; bits 8/9 say whether the parent was remote */
#define SPAN_FLAG_SAMPLED 0x01u
#define SPAN_FLAG_HAS_IS_REMOTE 0x100u
#define SPAN_FLAG_IS_REMOTE 0x200u

enum span_attr_type {
	SPAN_ATTR_NONE = 0,
	SPAN_ATTR_STR = 1,
	SPAN_ATTR_INT = 2,
};

struct span_attr {
	int64_t int_value; /* SPAN_ATTR_INT */
	char key[SPAN_ATTR_KEY_LEN];
	char str_value[SPAN_ATTR_STR_LEN]; /* SPAN_ATTR_STR, NUL-terminated */
	uint8_t type;			   /* enum span_attr_type */
};

#define SPAN_CONTAINER_ID_LEN 65 /* 64 hex digits */
#define SPAN_POD_UID_LEN 37	 /* 8-4-4-4-12 */
#define SPAN_CGROUP_LEN 256

/* The container a process runs in, from its /proc/PID/cgroup (SPEC "Container identity"); "" = omitted. */
struct span_container {
	char id[SPAN_CONTAINER_ID_LEN]; /* container.id */
	char pod_uid[SPAN_POD_UID_LEN]; /* k8s.pod.uid */
	char cgroup[SPAN_CGROUP_LEN];	/* process.linux.cgroup: the "0::/path" line */
};

struct metrics_ctr;

/* Who produced the telemetry: becomes the OTLP Resource (host.name is the exporter's, not per span). */
struct span_resource {
	char service_name[SPAN_RES_STR_LEN];	/* service.name */
	char executable_name[SPAN_RES_STR_LEN]; /* process.executable.name ("" = omitted) */
	int32_t pid;				/* process.pid (0 = omitted) */
	struct span_container ctr;
	const struct metrics_ctr *mctr; /* --container-labels: ctr as metric labels (signal/metrics.h); NULL: off */
};

struct span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8]; /* all zero: a root span */
	char name[SPAN_NAME_LEN];
	uint8_t kind;	     /* enum span_kind */
	uint8_t status_code; /* enum span_status */
	uint8_t nattrs;
	uint32_t flags;				/* SPAN_FLAG_* */
	uint64_t start_ns, end_ns;		/* unix epoch ns */
	char trace_state[SPAN_TRACE_STATE_LEN]; /* W3C tracestate, "" = none */
	struct span_resource resource;
	struct span_attr attrs[SPAN_MAX_ATTRS];
	uint16_t dropped_attrs; /* attributes that did not fit */
};

#define LOG_BODY_LEN 1024
#define LOG_SEVERITY_TEXT_LEN 16

/* A trace-tagged line a traced process wrote (SPEC "Logs"). */
struct log_record {
	uint64_t time_ns;     /* when it was written, unix epoch ns */
	uint64_t observed_ns; /* when the collector saw it */
	int severity_number;  /* OTLP SeverityNumber: 0 unspecified, 5 DEBUG, 9 INFO, 13 WARN, 17 ERROR, 21 FATAL */
	char severity_text[LOG_SEVERITY_TEXT_LEN];
	char body[LOG_BODY_LEN]; /* the line, without its newline */
	uint8_t trace_id[16];	 /* all zero outside a request */
	uint8_t span_id[8];
	int pid, tid;
	char stream[8];			/* "stdout" / "stderr" */
	char service[SPAN_RES_STR_LEN]; /* service.name */
	char exe[SPAN_RES_STR_LEN];	/* process.executable.name ("" = omitted) */
	struct span_container ctr;
};

/* Helpers for producers.  Strings are truncated to fit; an attribute past SPAN_MAX_ATTRS is
 * counted in dropped_attrs. */
/* strnlen with the source's array bound hidden from gcc (-Wstringop-overread warns when max exceeds a small
 * source array, though strnlen stops at its NUL) */
static inline size_t span__strnlen(const char *s, size_t max)
{
	__asm__("" : "+r"(s));
	return strnlen(s, max);
}

static inline void span__copy_str(char *dst, size_t size, const char *src)
{
	/* the length first, then one copy: a byte loop here was a third of building a span */
	size_t n = src ? span__strnlen(src, size - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static inline struct span_attr *span__next_attr(struct span *s, const char *key)
{
	struct span_attr *a;

	if (s->nattrs >= SPAN_MAX_ATTRS) {
		s->dropped_attrs++;
		return NULL;
	}
	a = &s->attrs[s->nattrs++];
	span__copy_str(a->key, sizeof(a->key), key);
	return a;
}

static inline void span__add_str(struct span *s, const char *key, const char *value)
{
	struct span_attr *a = span__next_attr(s, key);

	if (!a)
		return;
	a->type = SPAN_ATTR_STR;
	a->int_value = 0;
	span__copy_str(a->str_value, sizeof(a->str_value), value);
}

static inline void span__add_int(struct span *s, const char *key, int64_t value)
{
	struct span_attr *a = span__next_attr(s, key);

	if (!a)
		return;
	a->type = SPAN_ATTR_INT;
	a->int_value = value;
	a->str_value[0] = '\0';
}

static inline bool span__id_is_zero(const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (id[i])
			return false;
	return true;
}

#endif
