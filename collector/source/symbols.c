/* symbols.c -- reads ELF symbol tables with libelf and maps functions to uprobe file offsets */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "source/procs.h"
#include "source/symbols.h"

struct sym {
	char *name;
	uint64_t addr, offset, size;
	int rank; /* lower is more canonical: global 0, weak 1, local 2 */
};

struct elf_syms {
	struct sym *v;
	int n, cap;
	bool stripped, is_static;
	char *strings; /* one block for every name */
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct sym *)a)->name, ((const struct sym *)b)->name);
}

/* file offset of a virtual address: the PT_LOAD segment holding it */
static bool vaddr_to_offset(Elf *e, size_t nph, uint64_t addr, uint64_t *off)
{
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_memsz) {
			*off = addr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

static int add_sym(struct elf_syms *s, const char *name, uint64_t addr, uint64_t off, uint64_t size, int rank)
{
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 1024;
		struct sym *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct sym){ .name = strdup(name), .addr = addr, .offset = off, .size = size, .rank = rank };
	return s->v[s->n - 1].name ? 0 : -1;
}

struct elf_syms *elf_syms__open(const char *path, char *err, size_t errlen)
{
	struct elf_syms *s = NULL;
	Elf *e = NULL;
	Elf_Scn *scn = NULL;
	size_t nph = 0;
	bool interp = false, dynamic = false;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nph)) {
		snprintf(err, errlen, "%s is not an ELF file", path);
		goto fail;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	s->stripped = true;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, i, &ph))
			continue;
		interp |= ph.p_type == PT_INTERP;
		dynamic |= ph.p_type == PT_DYNAMIC;
	}
	s->is_static = !interp && !dynamic;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t count;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			s->stripped = false;
		data = elf_getdata(scn, NULL);
		count = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; data && i < count; i++) {
			GElf_Sym sym;
			const char *name;
			uint64_t off;
			int type, bind;

			if (!gelf_getsym(data, i, &sym))
				continue;
			type = GELF_ST_TYPE(sym.st_info);
			bind = GELF_ST_BIND(sym.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			/* "f.cold" is the out-of-line tail of f, not an entry point: a probe there never fires right */
			if (!name || !*name || strstr(name, ".cold") || !vaddr_to_offset(e, nph, sym.st_value, &off))
				continue;
			if (add_sym(s, name, sym.st_value, off, sym.st_size,
				    bind == STB_GLOBAL ? 0
				    : bind == STB_WEAK ? 1
						       : 2))
				goto oom;
		}
	}
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), by_name);
	/* .symtab and .dynsym repeat exported names: keep one entry per (name, address) */
	{
		int j = 0;

		for (int i = 0; i < s->n; i++) {
			if (j && !strcmp(s->v[j - 1].name, s->v[i].name) && s->v[j - 1].addr == s->v[i].addr) {
				free(s->v[i].name);
				continue;
			}
			s->v[j++] = s->v[i];
		}
		s->n = j;
	}
	elf_end(e);
	close(fd);
	return s;
oom:
	snprintf(err, errlen, "out of memory reading %s", path);
fail:
	elf_syms__free(s);
	if (e)
		elf_end(e);
	close(fd);
	return NULL;
}

void elf_syms__free(struct elf_syms *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	free(s);
}

bool elf_syms__stripped(const struct elf_syms *s)
{
	return s->stripped;
}

bool elf_syms__is_static(const struct elf_syms *s)
{
	return s->is_static;
}

static int by_addr(const void *a, const void *b)
{
	const struct sym *x = *(const struct sym *const *)a, *y = *(const struct sym *const *)b;

	return x->addr < y->addr ? -1 : x->addr > y->addr ? 1 : 0;
}

static int match_by_name(const void *a, const void *b)
{
	return strcmp(((const struct sym_match *)a)->name, ((const struct sym_match *)b)->name);
}

/* the alias a reader expects: global before weak before local, then the shortest, then alphabetical */
static bool more_canonical(const struct sym *a, const struct sym *b)
{
	size_t la = strlen(a->name), lb = strlen(b->name);

	if (a->rank != b->rank)
		return a->rank < b->rank;
	if (la != lb)
		return la < lb;
	return strcmp(a->name, b->name) < 0;
}

int elf_syms__match(const struct elf_syms *s, const char *glob, struct sym_match **out, int *n)
{
	const struct sym **hit = NULL;
	int nhit = 0;

	*out = NULL;
	*n = 0;
	if (!s->n)
		return 0;
	hit = malloc(s->n * sizeof(*hit));
	if (!hit)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		if (!fnmatch(glob, s->v[i].name, 0))
			hit[nhit++] = &s->v[i];
	if (!nhit) {
		free(hit);
		return 0;
	}
	qsort(hit, nhit, sizeof(*hit), by_addr);
	*out = calloc(nhit, sizeof(**out));
	if (!*out) {
		free(hit);
		return -ENOMEM;
	}
	for (int i = 0; i < nhit;) {
		const struct sym *best = hit[i];
		int j = i;

		/* aliases at one address are one function with one name, whichever alias the glob
		 * matched: two globs naming it never make two probes */
		for (int k = 0; k < s->n; k++)
			if (s->v[k].addr == hit[i]->addr && more_canonical(&s->v[k], best))
				best = &s->v[k];
		while (j < nhit && hit[j]->addr == hit[i]->addr)
			j++;
		snprintf((*out)[*n].name, sizeof((*out)[*n].name), "%s", best->name);
		(*out)[*n].addr = best->addr;
		(*out)[*n].offset = best->offset;
		(*out)[*n].size = best->size;
		(*n)++;
		i = j;
	}
	qsort(*out, *n, sizeof(**out), match_by_name);
	free(hit);
	return 0;
}

int symbols_find_in_libs(pid_t pid, const char *glob, char *lib, size_t len)
{
	char p[64], line[PATH_MAX + 128], mpath[PATH_MAX], err[256];
	FILE *f;
	int found = -1;

	snprintf(p, sizeof(p), "/proc/%d/maps", pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char full[PATH_MAX + 64];
		struct elf_syms *s;
		struct sym_match *m = NULL;
		int n = 0;

		if (!maps_parse_line(line, mpath, sizeof(mpath)))
			continue;
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, mpath);
		s = elf_syms__open(access(full, R_OK) ? mpath : full, err, sizeof(err));
		if (s && !elf_syms__match(s, glob, &m, &n) && n > 0) {
			snprintf(lib, len, "%s", strrchr(mpath, '/') + 1);
			found = n;
		}
		free(m);
		elf_syms__free(s);
	}
	fclose(f);
	return found;
}

static int list_object(const char *path, const char *label, const char *glob, FILE *out, int *total, bool note)
{
	char err[256];
	struct elf_syms *s = elf_syms__open(path, err, sizeof(err));
	struct sym_match *m = NULL;
	int n = 0;

	if (!s) {
		elog("symbols: %s", err);
		return 1;
	}
	elf_syms__match(s, glob ? glob : "*", &m, &n);
	for (int i = 0; i < n; i++)
		fprintf(out, "%-24s %s\n", label, m[i].name);
	*total += n;
	if (note && elf_syms__stripped(s))
		fprintf(stderr, "obsprobe: symbols: %s is stripped (no .symtab): only exported functions are listed\n",
			label);
	free(m);
	elf_syms__free(s);
	return 0;
}

int symbols_cmd_list(pid_t pid, const char *binary, const char *glob, FILE *out)
{
	int total = 0, rc = 0;

	if (binary) {
		const char *base = strrchr(binary, '/') ? strrchr(binary, '/') + 1 : binary;

		rc = list_object(binary, base, glob, out, &total, true);
	} else {
		char p[64], line[PATH_MAX + 128], mpath[PATH_MAX], seen[64][PATH_MAX / 8];
		int nseen = 0;
		FILE *f;

		if (!proc_exists(pid)) {
			elog("symbols: no process with pid %d (check it: ps -p %d)", pid, pid);
			return 1;
		}
		snprintf(p, sizeof(p), "/proc/%d/maps", pid);
		f = fopen(p, "r");
		if (!f) {
			elog("symbols: cannot read %s: %s", p, strerror(errno));
			return 1;
		}
		while (fgets(line, sizeof(line), f)) {
			char full[PATH_MAX + 64];
			const char *base;
			bool dup = false;

			if (!maps_parse_line(line, mpath, sizeof(mpath)))
				continue;
			base = strrchr(mpath, '/') + 1;
			for (int i = 0; i < nseen; i++)
				dup |= !strcmp(seen[i], base);
			if (dup || nseen == 64)
				continue;
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", base);
			snprintf(full, sizeof(full), "/proc/%d/root%s", pid, mpath);
			if (list_object(access(full, R_OK) ? mpath : full, base, glob, out, &total, false))
				rc = 1;
		}
		fclose(f);
	}
	if (!rc)
		fprintf(stderr, "obsprobe: symbols: %d function%s%s%s%s\n", total, total == 1 ? "" : "s",
			glob ? " match '" : "", glob ? glob : "", glob ? "'" : "");
	return rc;
}
