/* test_route.c -- http_route folding, and 100k distinct paths folding to a fixed handful of routes */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lib/proto/http1_route.h"

static const char *fold(const char *t)
{
	static char out[256];

	route__fold(t, strlen(t), out, sizeof(out));
	return out;
}

START_TEST(examples)
{
	ck_assert_str_eq(fold("/api/users/123"), "/api/users/{id}");
	ck_assert_str_eq(fold("/api/users/123?password=x#frag"), "/api/users/{id}");
	ck_assert_str_eq(fold("/orders/550e8400-e29b-41d4-a716-446655440000/items"), "/orders/{id}/items");
	ck_assert_str_eq(fold("/static/app.js"), "/static/app.js");
	ck_assert_str_eq(fold("/v1/traces"), "/v1/traces");
	ck_assert_str_eq(fold("/api/v2/users"), "/api/v2/users");
	ck_assert_str_eq(fold("/blob/3f786850e387550fdab836ed7e6dc881de23001b"), "/blob/{id}");
	ck_assert_str_eq(fold("/s/dGhpcyBpcyBhIHRva2VuMTIz"), "/s/{id}");
	ck_assert_str_eq(fold("/u/alice@example.com"), "/u/{id}");
	ck_assert_str_eq(fold("/files/a%20b"), "/files/{id}");
	ck_assert_str_eq(fold("/a/b/c/d/e/f/g/h/i/j"), "/a/b/c/d/e/f/g/h/{rest}");
	ck_assert_str_eq(fold(""), "/");
	ck_assert_str_eq(fold("/"), "/");
	ck_assert_str_eq(fold("?q=1"), "/");
	ck_assert_str_eq(fold("/api/"), "/api/");
	ck_assert_str_eq(fold("http://example.com/x/42"), "/x/{id}");
	ck_assert_str_eq(fold("//double//slash/7"), "/double/slash/{id}");
}
END_TEST

START_TEST(too_small)
{
	char out[4];

	ck_assert_int_eq(route__fold("/abcdef", 7, out, sizeof(out)), -1);
	ck_assert_str_eq(out, "/");
}
END_TEST

START_TEST(hundred_thousand_paths)
{
	char routes[16][64];
	int nroutes = 0;

	for (int i = 0; i < 100000; i++) {
		char path[160], out[128];

		switch (i % 4) {
		case 0:
			snprintf(path, sizeof(path), "/users/%d?session=%x", i, i * 7);
			break;
		case 1:
			snprintf(path, sizeof(path), "/item/%08x-%04x-4%03x-a%03x-%012x/reviews", i * 2654435761u,
				 i & 0xffff, i & 0xfff, (i >> 3) & 0xfff, i * 31);
			break;
		case 2:
			snprintf(path, sizeof(path), "/files/%08x%08x%08x%08x%08x", i, i * 3, i * 5, i * 7, i * 11);
			break;
		default:
			snprintf(path, sizeof(path), "/api/v1/orders/%d/lines/%d", i, i % 97);
			break;
		}
		route__fold(path, strlen(path), out, sizeof(out));
		{
			int k;

			for (k = 0; k < nroutes && strcmp(routes[k], out); k++)
				;
			if (k == nroutes) {
				ck_assert_msg(nroutes < 16, "too many routes, latest %s from %s", out, path);
				snprintf(routes[nroutes++], 64, "%.63s", out);
			}
		}
	}
	ck_assert_int_eq(nroutes, 4);
	ck_assert_str_eq(routes[0], "/users/{id}");
	ck_assert_str_eq(routes[1], "/item/{id}/reviews");
	ck_assert_str_eq(routes[2], "/files/{id}");
	ck_assert_str_eq(routes[3], "/api/v1/orders/{id}/lines/{id}");
}
END_TEST

/* the memo gives what folding gives: every path twice through a 256-slot memo (hits, evictions, collisions of
 * slots), with every output size from 0 up, paths up to past the memo's limit, a target with a query */
START_TEST(memo_same_as_fold)
{
	static struct route_memo m; /* zeroed, as the caller must give it */
	char path[300], want[256], got[256];
	uint64_t calls = 0;

	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 2000; i++) {
			int n = snprintf(path, sizeof(path), "/r%d/%s/%d/%.*s?q=%d", i % 300, i % 7 ? "item" : "x", i,
					 i % 150,
					 "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"
					 "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789",
					 i);
			size_t outsize = i % 41 == 0 ? (size_t)(i / 41 % 12) : sizeof(want);
			int rw, rg;

			memset(want, 'W', sizeof(want));
			memset(got, 'G', sizeof(got));
			rw = route__fold(path, n, want, outsize);
			rg = route__fold_memo(&m, path, n, got, outsize);
			calls++;
			ck_assert_int_eq(rg, rw);
			if (outsize >= 2)
				ck_assert_str_eq(got, want);
			else
				ck_assert_int_eq(got[0], 'G'); /* nothing written where nothing fits */
		}
	ck_assert_uint_gt(m.hits, 0);
	ck_assert_uint_gt(m.misses, 0);
	ck_assert_uint_le(m.hits + m.misses, calls);
	/* NULL: no memo, the same answer */
	ck_assert_int_eq(route__fold_memo(NULL, "/a/1", 4, got, sizeof(got)), 7);
	ck_assert_str_eq(got, "/a/{id}");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, examples);
	tcase_add_test(tc, too_small);
	tcase_add_test(tc, hundred_thousand_paths);
	tcase_add_test(tc, memo_same_as_fold);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
