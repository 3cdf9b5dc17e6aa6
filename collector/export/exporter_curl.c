/* exporter_curl.c -- the exporter's libcurl set-up and callbacks, request headers (OTLP/HTTP's, gRPC's), gzip */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <zlib.h>

#include "export/exporter_send.h"
#include "base/log.h"
#include "export/otlp_grpc.h"

/* "K=V" -> "K: V" for libcurl; the name must be an HTTP token, the value a single line */
static int header_line(const char *kv, char *out, size_t outlen)
{
	const char *eq = strchr(kv, '='), *p;

	if (!eq || eq == kv)
		return -1;
	for (p = kv; p < eq; p++)
		if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
			return -1;
	if (strpbrk(eq + 1, "\r\n"))
		return -1;
	if (snprintf(out, outlen, "%.*s: %s", (int)(eq - kv), kv, eq + 1) >= (int)outlen)
		return -1;
	return 0;
}

/* keep the start of the body (a partial_success is small); a body past RESP_MAX ends the transfer, so an
 * endless answer cannot hold the sender until its timeout */
static size_t keep_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct exporter *e = ud;
	size_t n = size * nmemb;

	if (n > RESP_MAX - e->resp_len) {
		e->resp_cut = true;
		return 0;
	}
	memcpy(e->resp + e->resp_len, ptr, n);
	e->resp_len += n;
	return n;
}

/* "Retry-After: <seconds>" (the HTTP-date form is ignored: the backoff applies); gRPC: the status, from the
 * headers of a trailers-only answer or from the trailers (libcurl hands both to this callback) */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct exporter *e = ud;
	size_t n = size * nmemb;
	char tmp[64];

	if (e->grpc)
		otlp_grpc__header(&e->gst, ptr, n);
	else if (n > 12 && n < sizeof(tmp) && !strncasecmp(ptr, "Retry-After:", 12)) {
		char *end;
		long v;

		memcpy(tmp, ptr + 12, n - 12);
		tmp[n - 12] = '\0';
		v = strtol(tmp, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (end != tmp && !*end && v >= 0)
			e->retry_after_ms = v > 3600 ? 3600000 : v * 1000;
	}
	return n;
}

/* gRPC's headers for one call: the fixed ones and its deadline */
int exporter_send__grpc_headers(struct exporter *e, long timeout_ms)
{
	char line[64];

	curl_slist_free_all(e->call_hdrs);
	e->call_hdrs = NULL;
	if (otlp_grpc__timeout_header(line, sizeof(line), timeout_ms) < 0)
		return -1;
	for (const struct curl_slist *h = e->hdrs; h; h = h->next)
		if (!(e->call_hdrs = curl_slist_append(e->call_hdrs, h->data)))
			return -1;
	if (!(e->call_hdrs = curl_slist_append(e->call_hdrs, line)))
		return -1;
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->call_hdrs);
	return 0;
}

int exporter_send__gzip(struct otlp_buf *out, const struct otlp_buf *in)
{
	z_stream zs = { 0 };
	uLong bound;
	int err = -ENOMEM;

	otlp_buf__reset(out);
	/* windowBits 15 + 16: a gzip wrapper, which is what Content-Encoding: gzip means */
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, (uLong)in->len);
	if (out->cap < bound + 1) { /* grow once to the worst case */
		uint8_t *p = realloc(out->data, bound + 1);

		if (!p)
			goto cleanup;
		out->data = p;
		out->cap = bound + 1;
	}
	zs.next_in = in->data;
	zs.avail_in = (uInt)in->len;
	zs.next_out = out->data;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		err = -EIO;
		goto cleanup;
	}
	out->len = zs.total_out;
	err = 0;
cleanup:
	deflateEnd(&zs);
	return err;
}

/* gRPC: the response message out of its frame, gunzipped into @tmp when the receiver compressed it; -1 when the
 * body is not one message */
int exporter_send__grpc_message(struct exporter *e, uint8_t *tmp, const uint8_t **msg, size_t *len)
{
	z_stream zs = { 0 };
	bool compressed;
	int r = otlp_grpc__unframe((const uint8_t *)e->resp, e->resp_len, msg, len, &compressed), zr;

	if (r == 1) /* no message: an empty response */
		*len = 0;
	if (r < 0 || !compressed)
		return r < 0 ? -1 : 0;
	if (!e->gst.gzip || inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)(uintptr_t)*msg;
	zs.avail_in = (uInt)*len;
	zs.next_out = tmp;
	zs.avail_out = RESP_MAX;
	zr = inflate(&zs, Z_FINISH);
	*msg = tmp;
	*len = zs.total_out;
	inflateEnd(&zs);
	return zr == Z_STREAM_END ? 0 : -1;
}

int exporter_send__setup_curl(struct exporter *e)
{
	char line[1024];

	e->curl = curl_easy_init();
	e->multi = curl_multi_init();
	if (!e->curl || !e->multi)
		return -ENOMEM;
	e->hdrs = curl_slist_append(NULL, e->grpc   ? "Content-Type: application/grpc"
					  : e->json ? "Content-Type: application/json"
						    : "Content-Type: application/x-protobuf");
	if (e->grpc) { /* the deadline (grpc-timeout) is added per call */
		e->hdrs = curl_slist_append(e->hdrs, "TE: trailers");
		if (e->gzip) {
			e->hdrs = curl_slist_append(e->hdrs, "grpc-encoding: gzip");
			e->hdrs = curl_slist_append(e->hdrs, "grpc-accept-encoding: gzip");
		}
	} else if (e->gzip) {
		e->hdrs = curl_slist_append(e->hdrs, "Content-Encoding: gzip");
	}
	e->hdrs = curl_slist_append(e->hdrs, "Expect:"); /* no 100-continue round trip for big bodies */
	for (int i = 0; i < e->o.nheaders; i++) {
		if (header_line(e->o.headers[i], line, sizeof(line))) {
			elog("otlp: header '%.*s' is not Key=Value with an HTTP token as key and a one-line value",
			     (int)strcspn(e->o.headers[i], "\r\n"), e->o.headers[i]);
			return -EINVAL;
		}
		e->hdrs = curl_slist_append(e->hdrs, line);
	}
	if (!e->hdrs)
		return -ENOMEM;
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->hdrs);
	curl_easy_setopt(e->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->curl, CURLOPT_USERAGENT, "obsprobe/" OBSPROBE_VERSION);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e->curl, CURLOPT_HEADERDATA, e);
	if (e->grpc && strncasecmp(e->spans.url, "https://", 8)) {
		/* h2c with prior knowledge for http://; libcurl before 8.0.0 (Debian 12: 7.88.1) fails every call on a
		 * reused prior-knowledge connection ("Error in the HTTP2 framing layer", curl issue 10634, fixed in
		 * 8.0.0): there, one connection per call */
		curl_easy_setopt(e->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
		if (curl_version_info(CURLVERSION_NOW)->version_num < 0x080000)
			curl_easy_setopt(e->curl, CURLOPT_FORBID_REUSE, 1L);
	} else if (e->grpc) { /* ALPN h2 for https:// */
		curl_easy_setopt(e->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	}
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	return 0;
}
