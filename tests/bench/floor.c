/* floor.c -- loads floor.bpf.o: "floor sys" attaches the empty syscall programs (all tasks),
 * "floor func BIN OFFSET PID" the empty uprobe pair; "floor stats" loads nothing and holds a BPF_ENABLE_STATS
 * descriptor (the kernel's run-time statistics on, as obsprobe --probe-stats has them; "floor sys OBJ stats" does
 * both); "floor clock OBJ" attaches a sys_enter program that reads the clock twice; "floor time OBJ PID..." the
 * timing floor (the least a syscall latency histogram of those processes needs: floor.bpf.c); runs until stdin
 * closes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	int func = argc > 1 && !strcmp(argv[1], "func"), clock = argc > 1 && !strcmp(argv[1], "clock"),
	    timing = argc > 1 && !strcmp(argv[1], "time");
	char c;

	if (argc > 1 && !strcmp(argv[1], "stats")) {
		int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

		if (fd < 0) {
			fprintf(stderr, "floor: BPF_ENABLE_STATS: %s\n", strerror(errno));
			return 1;
		}
		printf("attached\n");
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
		close(fd);
		return 0;
	}
	/* "floor sys OBJ stats": the statistics on too, for as long as the programs are attached */
	if (!func && argc > 3 && !strcmp(argv[3], "stats") && bpf_enable_stats(BPF_STATS_RUN_TIME) < 0) {
		fprintf(stderr, "floor: BPF_ENABLE_STATS: %s\n", strerror(errno));
		return 1;
	}
	if (argc < 3 || (func && argc < 6) || (timing && (argc < 4 || argc > 11))) {
		fprintf(stderr, "usage: floor sys OBJ [stats] | floor func OBJ BIN OFFSET PID | floor clock OBJ | "
				"floor time OBJ PID... (at most 8) | floor stats\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[2], NULL);
	if (!obj)
		return 1;
	bpf_object__for_each_program(p, obj)
	{
		const char *name = bpf_program__name(p);
		int is_uprobe = strstr(name, "uprobe") || strstr(name, "uretprobe"),
		    is_clock = !strncmp(name, "clock", 5), is_time = !strncmp(name, "time_", 5);

		bpf_program__set_autoload(p, func     ? is_uprobe
					     : clock  ? is_clock
					     : timing ? is_time
						      : !is_uprobe && !is_clock && !is_time);
	}
	if (timing) {
		/* time_tgids is floor.bpf.c's only read-only global: all of .rodata */
		struct bpf_map *ro = bpf_object__find_map_by_name(obj, ".rodata");
		unsigned int tgids[8] = { 0 };

		for (int i = 3; i < argc; i++)
			tgids[i - 3] = (unsigned int)atoi(argv[i]);
		if (!ro || bpf_map__set_initial_value(ro, tgids, sizeof(tgids))) {
			fprintf(stderr, "floor: no .rodata of 8 pids in %s\n", argv[2]);
			return 1;
		}
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "floor: load: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(p, obj)
	{
		struct bpf_link *l;

		if (!bpf_program__autoload(p))
			continue;
		if (func) {
			LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = !!strstr(bpf_program__name(p), "uretprobe"));
			l = bpf_program__attach_uprobe_opts(p, atoi(argv[5]), argv[3], strtoull(argv[4], NULL, 0), &o);
		} else {
			l = bpf_program__attach(p);
		}
		if (!l) {
			fprintf(stderr, "floor: attach %s: %s\n", bpf_program__name(p), strerror(errno));
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
