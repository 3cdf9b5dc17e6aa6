/* parse_bench.c -- the protocol parsing both capture paths share (lib/proto/conn.c over HTTP/1), alone: N keep-alive
 * request/response exchanges of a fixed kind fed as a server sees them, one read and one write each.
 *
 *   parse_bench KIND N      KIND: wrk (wrk's request, nginx's 700-byte answer), browser (a browser's request with
 *                           cookies and a dozen headers), traced (wrk's request with traceparent and tracestate),
 *                           chunked (a chunked response in 3 writes), body (a POST with a 4 KiB body)
 *
 * Meant to run under callgrind (tests/bench/parse_bench.sh): the instructions of N exchanges minus those of a
 * smaller N, divided by the difference, are the parser's instructions per exchange -- a figure that does not
 * move with the machine's load.  Prints the exchanges it saw, which must be N (a wrong parser is no benchmark). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/conn.h"

static unsigned long requests, exchanges, statuses;

static void on_request(void *ctx, struct obs_exchange *x, const struct trace_ctx *in)
{
	(void)ctx;
	(void)x;
	requests += in->valid;
	requests++;
}

static void on_exchange(void *ctx, struct obs_exchange *x)
{
	(void)ctx;
	exchanges++;
	statuses += x->status == 200;
}

static const struct proto_sink sink = { .on_request = on_request, .on_exchange = on_exchange };

static const char wrk_req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1:7700\r\n\r\n";

static const char browser_req[] =
	"GET /api/v1/users/1234/orders?page=2&sort=desc HTTP/1.1\r\n"
	"Host: shop.example.com\r\n"
	"Connection: keep-alive\r\n"
	"sec-ch-ua: \"Chromium\";v=\"118\", \"Google Chrome\";v=\"118\", \"Not=A?Brand\";v=\"99\"\r\n"
	"sec-ch-ua-mobile: ?0\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 "
	"Safari/537.36\r\n"
	"sec-ch-ua-platform: \"Linux\"\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
	"Sec-Fetch-Site: same-origin\r\n"
	"Sec-Fetch-Mode: navigate\r\n"
	"Sec-Fetch-User: ?1\r\n"
	"Sec-Fetch-Dest: document\r\n"
	"Referer: https://shop.example.com/api/v1/users/1234/orders?page=1\r\n"
	"Accept-Encoding: gzip, deflate, br\r\n"
	"Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
	"Cookie: session=2f6a1c9e8b7d4e3f; theme=dark; _ga=GA1.2.1234567890.1690000000; consent=yes\r\n"
	"\r\n";

static const char traced_req[] = "GET /checkout HTTP/1.1\r\nHost: 127.0.0.1:7700\r\n"
				 "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
				 "tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE\r\n\r\n";

static const char post_req_head[] = "POST /upload HTTP/1.1\r\nHost: 127.0.0.1:7700\r\nContent-Type: "
				    "application/octet-stream\r\nContent-Length: 4096\r\n\r\n";

static const char nginx_resp_head[] = "HTTP/1.1 200 OK\r\n"
				      "Server: nginx/1.22.1\r\n"
				      "Date: Mon, 07 Dec 2026 09:36:00 GMT\r\n"
				      "Content-Type: text/html\r\n"
				      "Content-Length: 700\r\n"
				      "Last-Modified: Mon, 07 Dec 2026 09:00:00 GMT\r\n"
				      "Connection: keep-alive\r\n"
				      "ETag: \"6570f0e0-2bc\"\r\n"
				      "Accept-Ranges: bytes\r\n"
				      "\r\n";

static const char chunked_head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
				   "chunked\r\nConnection: keep-alive\r\n\r\n";

static char resp[8192], req[8192];

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "wrk";
	long n = argc > 2 ? atol(argv[2]) : 100000;
	struct proto_conn *c = calloc(1, sizeof(*c));
	size_t reqlen = 0, resplen = 0, body = 0;
	uint64_t t = 1000;

	if (!c || n <= 0)
		return 2;
	memset(resp, 'x', sizeof(resp));
	memset(req, 'y', sizeof(req));
	if (!strcmp(kind, "wrk") || !strcmp(kind, "browser") || !strcmp(kind, "traced")) {
		const char *r = !strcmp(kind, "wrk") ? wrk_req : !strcmp(kind, "browser") ? browser_req : traced_req;

		reqlen = strlen(r);
		memcpy(req, r, reqlen);
		resplen = strlen(nginx_resp_head);
		memcpy(resp, nginx_resp_head, resplen);
		resplen += 700; /* the page follows in the same write (nginx: writev of head and file) */
	} else if (!strcmp(kind, "body")) {
		reqlen = strlen(post_req_head);
		memcpy(req, post_req_head, reqlen);
		body = 4096;
		resplen = strlen(nginx_resp_head);
		memcpy(resp, nginx_resp_head, resplen);
		resplen += 700;
	} else if (!strcmp(kind, "chunked")) {
		reqlen = strlen(wrk_req);
		memcpy(req, wrk_req, reqlen);
		resplen = strlen(chunked_head);
		memcpy(resp, chunked_head, resplen);
	} else {
		fprintf(stderr, "parse_bench: unknown kind '%s' (wrk, browser, traced, chunked, body)\n", kind);
		return 2;
	}
	proto_conn__init(c, &sink, NULL);
	for (long i = 0; i < n; i++) {
		proto_conn__feed(c, PROTO_IN, req, reqlen, reqlen, t++);
		if (body)
			proto_conn__feed(c, PROTO_IN, req + 4096, body, body, t++);
		proto_conn__feed(c, PROTO_OUT, resp, resplen, resplen, t++);
		if (!strcmp(kind, "chunked")) {
			static const char c1[] = "200\r\n", c2[] = "\r\n0\r\n\r\n";
			char data[512];

			memset(data, 'z', sizeof(data));
			proto_conn__feed(c, PROTO_OUT, c1, 5, 5, t++);
			proto_conn__feed(c, PROTO_OUT, data, sizeof(data), sizeof(data), t++);
			proto_conn__feed(c, PROTO_OUT, c2, 7, 7, t++);
		}
	}
	printf("kind %s exchanges %lu of %ld (status 200: %lu, requests %lu)\n", kind, exchanges, n, statuses,
	       requests);
	free(c);
	return exchanges == (unsigned long)n && statuses == (unsigned long)n ? 0 : 1;
}
