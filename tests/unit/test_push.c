/* test_push.c -- the Pushgateway grouping path, sample counting, and pushes to a loopback peer that answers
 * 200, 400, nothing (the timeout) or is not there */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export/push.h"

START_TEST(group_path)
{
	char out[512];

	ck_assert_int_eq(push__group_path("backup", "db-1.example", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/metrics/job/backup/instance/db-1.example");
	/* a '/' anywhere: base64url with padding (RFC 4648 section 5) */
	ck_assert_int_eq(push__group_path("/usr/bin/tar", "h", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/metrics/job@base64/L3Vzci9iaW4vdGFy/instance/h");
	ck_assert_int_eq(push__group_path("a/b?", "h", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/metrics/job@base64/YS9iPw==/instance/h"); /* "a/b?" -> YS9iPw== */
	ck_assert_int_eq(push__group_path("ab>>", "h", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/metrics/job/ab%3E%3E/instance/h");
	ck_assert_int_eq(push__group_path("\xff\xfe/", "h", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/metrics/job@base64/__4v/instance/h"); /* the alphabet's '-' and '_' */
	/* empty: "=" as the Pushgateway asks */
	ck_assert_int_eq(push__group_path("j", "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/metrics/job/j/instance@base64/=");
	ck_assert_int_eq(push__group_path("my job", "h", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/metrics/job/my%20job/instance/h");
	ck_assert_int_eq(push__group_path("j", "h", out, 20), -1); /* does not fit */
}
END_TEST

START_TEST(samples)
{
	const char *t = "# HELP a x\n# TYPE a counter\na_total 1\n\nb{x=\"1\"} 2\nc 3";

	ck_assert_uint_eq(push__count_samples(t, strlen(t)), 3);
	ck_assert_uint_eq(push__count_samples("", 0), 0);
	ck_assert_uint_eq(push__count_samples("\n\n#\n", 4), 0);
}
END_TEST

/* ---- a peer on loopback: one connection, the request kept, a fixed answer (or none) ---- */

struct peer {
	int fd, port;
	const char *answer; /* NULL: read and never answer */
	int accepts;
	char req[8192];
	size_t len;
	pthread_t th;
};

static void *peer_run(void *arg)
{
	struct peer *p = arg;

	for (int i = 0; i < p->accepts; i++) {
		int c = accept(p->fd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			break;
		p->len = 0;
		/* the head and the body (its length is small): read until the body is all there */
		while ((n = read(c, p->req + p->len, sizeof(p->req) - 1 - p->len)) > 0) {
			char *body;

			p->len += (size_t)n;
			p->req[p->len] = '\0';
			body = strstr(p->req, "\r\n\r\n");
			if (body && strstr(p->req, "Content-Length: ") &&
			    p->len - (size_t)(body + 4 - p->req) >=
				    (size_t)atol(strstr(p->req, "Content-Length: ") + 16))
				break;
		}
		if (p->answer) {
			if (write(c, p->answer, strlen(p->answer)) < 0)
				break;
		} else {
			sleep(1); /* longer than the test's timeout */
		}
		close(c);
	}
	return NULL;
}

static void peer_start(struct peer *p, const char *answer, int accepts)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(p, 0, sizeof(*p));
	p->answer = answer;
	p->accepts = accepts;
	p->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(p->fd, 0);
	ck_assert_int_eq(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(p->fd, 8), 0);
	getsockname(p->fd, (struct sockaddr *)&a, &alen);
	p->port = ntohs(a.sin_port);
	pthread_create(&p->th, NULL, peer_run, p);
}

static void peer_join(struct peer *p)
{
	pthread_join(p->th, NULL);
	close(p->fd);
}

static int renders;

static char *render(void *ctx, size_t *len)
{
	(void)ctx;
	renders++;
	*len = strlen("# TYPE x counter\nx_total 7\ny 1\n");
	return strdup("# TYPE x counter\nx_total 7\ny 1\n");
}

/* a generous time limit where the peer answers (a loaded machine, valgrind), 300 ms where it must run out */
static struct pusher *pusher_to(int port, int interval_ms, int timeout_ms)
{
	char url[64], err[256];
	struct push_opts o = { .gateway = url,
			       .job = "j/1",
			       .instance = "h",
			       .interval_ms = interval_ms,
			       .timeout_ms = timeout_ms,
			       .render = render };
	struct pusher *p;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	p = pusher__new(&o, err, sizeof(err));
	ck_assert_msg(p, "%s", err);
	return p;
}

START_TEST(push_ok)
{
	struct peer peer;
	struct push_stats st;
	struct pusher *p;

	peer_start(&peer, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 1);
	p = pusher_to(peer.port, 0, 10000);
	ck_assert_int_eq(pusher__push(p), 0);
	peer_join(&peer);
	ck_assert_msg(!strncmp(peer.req, "PUT /metrics/job@base64/ai8x/instance/h HTTP/1.1\r\n", 50), "%s", peer.req);
	ck_assert_ptr_nonnull(strstr(peer.req, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(peer.req, "\r\n\r\n# TYPE x counter\nx_total 7\ny 1\n"));
	pusher__stats(p, &st);
	ck_assert_uint_eq(st.pushed, 1);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_uint_eq(st.last_samples, 2);
	ck_assert_str_eq(st.last_error, "");
	pusher__free(p);
}
END_TEST

START_TEST(push_refused_answer)
{
	struct peer peer;
	struct push_stats st;
	struct pusher *p;

	peer_start(&peer,
		   "HTTP/1.1 400 Bad Request\r\nContent-Length: 25\r\nConnection: close\r\n\r\n"
		   "inconsistent\x01metrics\nmore",
		   1);
	p = pusher_to(peer.port, 0, 10000);
	ck_assert_int_eq(pusher__push(p), -1);
	peer_join(&peer);
	pusher__stats(p, &st);
	ck_assert_uint_eq(st.pushed, 0);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_str_eq(st.last_error, "HTTP 400: inconsistent metrics"); /* first line, control characters out */
	pusher__free(p);
}
END_TEST

START_TEST(push_timeout_and_down)
{
	struct peer peer;
	struct push_stats st;
	struct pusher *p;
	int port;

	peer_start(&peer, NULL, 1); /* reads, never answers: the 300 ms timeout ends the push */
	p = pusher_to(peer.port, 0, 300);
	ck_assert_int_eq(pusher__push(p), -1);
	pusher__stats(p, &st);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_msg(strstr(st.last_error, "imeout") || strstr(st.last_error, "timed out"), "%s", st.last_error);
	pusher__free(p);
	peer_join(&peer);
	port = peer.port; /* closed now: nothing listens there */
	p = pusher_to(port, 0, 10000);
	ck_assert_int_eq(pusher__push(p), -1);
	pusher__stats(p, &st);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(st.pushed, 0);
	pusher__free(p);
}
END_TEST

START_TEST(push_interval)
{
	struct peer peer;
	struct push_stats st;
	struct pusher *p;

	peer_start(&peer, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 3);
	p = pusher_to(peer.port, 50, 10000);
	renders = 0;
	ck_assert_int_eq(pusher__start(p), 0);
	peer_join(&peer); /* three pushes taken: the thread made them, none of them by this thread */
	pusher__stop(p);
	pusher__stats(p, &st);
	ck_assert_uint_ge(st.pushed, 3);
	ck_assert_uint_eq(st.pushed + st.failed, (uint64_t)renders);
	pusher__stop(p); /* idempotent */
	pusher__free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("push");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, group_path);
	tcase_add_test(tc, samples);
	tcase_add_test(tc, push_ok);
	tcase_add_test(tc, push_refused_answer);
	tcase_add_test(tc, push_timeout_and_down);
	tcase_add_test(tc, push_interval);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
