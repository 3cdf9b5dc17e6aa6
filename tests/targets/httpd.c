/* httpd.c -- a small prefork HTTP/1.1 server with known routes, the bundled demo service and a test target.
 *
 * usage: httpd PORT [WORKERS]   (default 2 workers, like nginx: a master that forks them)
 * routes: GET /             200 "hello"
 *         GET /api/users/N  200 JSON, calls handle_user() once
 *         GET /slow         200 after ~5 ms in handle_slow()
 *         GET /error        500
 *         GET /json         200, logs a JSON line {"level":"warn",...} instead of the plain one
 *         GET /chain/PORT   GET http://127.0.0.1:PORT/ while serving (a client call), answers its status;
 *                           ?via=writev or ?via=sendmsg sends that request with writev(2)/sendmsg(2) instead of send(2)
 *         GET /debug        200, and logs the request's Authorization and Cookie headers (a leaky debug log)
 *         anything else     404
 * Keep-alive is supported. Each request logs one line to stderr while it is served (before the
 * response is written): "INFO GET /path 200"; the start-up line goes to stdout, outside any request, and a
 * worker sent SIGUSR1 logs "NOTICE reopening logs" to stderr between requests. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) int handle_user(const char *id, char *out, size_t len)
{
	return snprintf(out, len, "{\"id\":%ld,\"name\":\"user%ld\"}", atol(id), atol(id));
}

__attribute__((noinline)) void handle_slow(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* one GET to 127.0.0.1:@port on a fresh connection (the calls a traced service makes downstream) */
__attribute__((noinline)) int call_downstream(int port, const char *via)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), code = 502;
	char req[128], resp[1024];
	ssize_t n, have = 0;
	int len;

	if (fd < 0)
		return 502;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		len = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
			       port);
		ssize_t sent;

		if (!strcmp(via, "writev")) {
			struct iovec iov[2] = { { req, 10 }, { req + 10, len - 10 } };

			sent = writev(fd, iov, 2);
		} else if (!strcmp(via, "sendmsg")) {
			struct iovec iov[1] = { { req, len } };
			struct msghdr m = { .msg_iov = iov, .msg_iovlen = 1 };

			sent = sendmsg(fd, &m, 0);
		} else {
			sent = send(fd, req, len, 0);
		}
		if (sent == len) {
			while (have < (ssize_t)sizeof(resp) - 1 &&
			       (n = read(fd, resp + have, sizeof(resp) - 1 - have)) > 0)
				have += n;
			resp[have] = '\0';
			if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
				code = 502;
		}
	}
	close(fd);
	return code;
}

/* route one request: fills status and body; @query may be "" */
__attribute__((noinline)) int handle_request(const char *method, const char *path, const char *query, char *body,
					     size_t len)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return snprintf(body, len, "method not allowed"), 405;
	if (!strcmp(path, "/"))
		return snprintf(body, len, "hello"), 200;
	if (!strncmp(path, "/api/users/", 11)) {
		handle_user(path + 11, body, len);
		return 200;
	}
	if (!strcmp(path, "/slow")) {
		handle_slow();
		return snprintf(body, len, "slow"), 200;
	}
	if (!strcmp(path, "/error"))
		return snprintf(body, len, "boom"), 500;
	if (!strcmp(path, "/json"))
		return snprintf(body, len, "json"), 200;
	if (!strcmp(path, "/debug"))
		return snprintf(body, len, "debug"), 200;
	if (!strncmp(path, "/chain/", 7)) {
		int code = call_downstream(atoi(path + 7), strstr(query, "via=writev")	  ? "writev"
							   : strstr(query, "via=sendmsg") ? "sendmsg"
											  : "send");

		return snprintf(body, len, "downstream %d", code), code == 200 ? 200 : 502;
	}
	return snprintf(body, len, "not found"), 404;
}

static const char *reason(int code)
{
	return code == 200   ? "OK"
	       : code == 404 ? "Not Found"
	       : code == 405 ? "Method Not Allowed"
			     : "Internal Server Error";
}

static void serve_conn(int fd)
{
	char buf[16384];
	size_t have = 0;

	for (;;) {
		char *end, method[16], path[2048], body[512], resp[4096];
		ssize_t n;
		int code, hl, bl;
		size_t used;
		int close_after;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == sizeof(buf))
				return;
			n = read(fd, buf + have, sizeof(buf) - have);
			if (n <= 0)
				return;
			have += n;
		}
		used = end + 4 - buf;
		buf[used - 1] = '\0';
		if (sscanf(buf, "%15s %2047s", method, path) != 2)
			return;
		close_after = strcasestr(buf, "\r\nConnection: close") != NULL;
		{
			char route[2048];

			/* routes match without the query; the log line shows the request as it came */
			snprintf(route, sizeof(route), "%.*s", (int)strcspn(path, "?"), path);
			code = handle_request(method, route, path + strlen(route), body, sizeof(body));
		}
		bl = strlen(body);
		hl = snprintf(resp, sizeof(resp),
			      "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n", code,
			      reason(code), bl, close_after ? "Connection: close\r\n" : "");
		if (strcmp(method, "HEAD"))
			memcpy(resp + hl, body, bl), hl += bl;
		{
			/* write(2) itself, as nginx does: stdio's internal writes are invisible to LD_PRELOAD */
			char line[2300];
			int ll;

			if (!strncmp(path, "/debug", 6)) {
				const char *au = strcasestr(buf, "\r\nAuthorization:"),
					   *ck = strcasestr(buf, "\r\nCookie:");

				ll = snprintf(line, sizeof(line), "DEBUG headers: %.*s | %.*s\n",
					      au ? (int)strcspn(au + 2, "\r") : 0, au ? au + 2 : "",
					      ck ? (int)strcspn(ck + 2, "\r") : 0, ck ? ck + 2 : "");
			} else if (!strncmp(path, "/json", 5))
				ll = snprintf(line, sizeof(line),
					      "{\"level\":\"warn\",\"msg\":\"json route\",\"path\":\"%s\"}\n", path);
			else
				ll = snprintf(line, sizeof(line), "%s %s %s %d\n", code >= 500 ? "ERROR" : "INFO",
					      method, path, code);
			if (ll > (int)sizeof(line) - 1)
				ll = sizeof(line) - 1;
			if (write(2, line, ll) != ll)
				return;
		}
		if (write(fd, resp, hl) != hl)
			return;
		memmove(buf, buf + used, have - used);
		have -= used;
		if (close_after)
			return;
	}
}

static volatile sig_atomic_t reopen;
static void on_usr1(int sig)
{
	(void)sig;
	reopen = 1;
}

static void worker(int lfd)
{
	struct sigaction sa = { .sa_handler = on_usr1 }; /* no SA_RESTART: accept returns EINTR */

	sigaction(SIGUSR1, &sa, NULL);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR) {
				static const char msg[] = "NOTICE reopening logs\n";

				if (reopen && write(2, msg, sizeof(msg) - 1) < 0)
					_exit(1);
				reopen = 0;
				continue;
			}
			_exit(1);
		}
		serve_conn(fd);
		close(fd);
	}
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8080, nworkers = argc > 2 ? atoi(argv[2]) : 2, one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	pid_t kids[64];
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	setvbuf(stderr, NULL, _IOLBF, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 128)) {
		perror("httpd: bind");
		return 1;
	}
	if (nworkers <= 0) {
		worker(lfd);
		return 0;
	}
	if (nworkers > 64)
		nworkers = 64;
	for (int i = 0; i < nworkers; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			worker(lfd);
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("httpd listening on 127.0.0.1:%d with %d workers\n", port, nworkers);
	fflush(stdout);
	while (!stop)
		pause();
	for (int i = 0; i < nworkers; i++)
		kill(kids[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	return 0;
}
