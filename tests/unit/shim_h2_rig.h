/* shim_h2_rig.h -- what test_shim_h2_fold.c and test_shim_h2_threads.c share: a segment, a collector (metrics,
 * traces, the shm_h2 sessions) reading it, and their setup and teardown.  Define RIG_NAME (the temp file
 * prefix) and RIG_MAX_SPANS before including it. */
static struct obs_segment *s;
static char path[64];
static struct metrics *m;
static struct redactor *red;
static struct traces *t;
static struct shm_h2 *h;
static const struct span_resource res = { .service_name = "svc", .pid = 1 };

static void setup(void)
{
	static const uint64_t bounds[] = { 1000000 };
	struct metrics_opts mo = { .bounds_ns = bounds, .nbounds = 1 };
	struct traces_opts to;
	char err[128];
	int fd;

	s = calloc(1, sizeof(*s));
	ck_assert_ptr_nonnull(s);
	s->h.magic = OBS_SEG_MAGIC;
	s->h.version = OBS_SEG_VERSION;
	s->h.header_size = sizeof(s->h);
	s->h.total_size = sizeof(*s);
	s->h.pid = getpid();
	s->h.nslots = SEG_NSLOTS;
	unsetenv("OBSPROBE_BUCKETS");
	seg__use(s);
	memset(&netcap_serving, 0, sizeof(netcap_serving));
	snprintf(path, sizeof(path), "/tmp/" RIG_NAME ".XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	m = metrics__new(&mo);
	red = redactor__new(NULL, err, sizeof(err));
	to = (struct traces_opts){ .metrics = m,
				   .redactor = red,
				   .spans_file = path,
				   .host_name = "h",
				   .source = "preload",
				   .sample_ratio = 1.0,
				   .max_spans_per_second = RIG_MAX_SPANS };
	t = traces__new(&to, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	h = shm_h2__new(m, t);
	ck_assert_ptr_nonnull(h);
}

static void teardown(void)
{
	shm_h2__free(h);
	traces__free(t);
	redactor__free(red);
	metrics__free(m);
	unlink(path);
	seg__use(NULL);
	free(s);
}

static void tcp_pair(int *cli, int *srv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	*srv = accept(l, NULL, NULL);
	ck_assert_int_ge(*srv, 0);
	close(l);
	netcap__opened(*cli, OBS_FD_OUTBOUND, (struct sockaddr *)&a, sizeof(a));
	netcap__opened(*srv, OBS_FD_INBOUND, NULL, 0);
}

static void forget(int fd)
{
	netcap__fd_closed(fd);
	netcap__conn_close(fd);
	close(fd);
}
