/* floor.c -- loads floor.bpf.o: "floor sys" attaches the empty syscall programs (all tasks),
 * "floor func BIN OFFSET PID" the empty uprobe pair; runs until stdin closes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	int func = argc > 1 && !strcmp(argv[1], "func");
	char c;

	if (argc < 3 || (func && argc < 6)) {
		fprintf(stderr, "usage: floor OBJ sys | floor OBJ func BIN OFFSET PID\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[2], NULL);
	if (!obj)
		return 1;
	bpf_object__for_each_program(p, obj)
	{
		const char *name = bpf_program__name(p);
		int is_uprobe = strstr(name, "uprobe") || strstr(name, "uretprobe");

		bpf_program__set_autoload(p, func ? is_uprobe : !is_uprobe);
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
