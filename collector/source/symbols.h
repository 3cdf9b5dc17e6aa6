/* symbols.h -- function symbols of ELF files (libelf): globs, aliases, uprobe offsets */
#ifndef OBSPROBE_SYMBOLS_H
#define OBSPROBE_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct elf_syms;

struct sym_match {
	char name[128];	 /* canonical name of the function at this address */
	uint64_t addr;	 /* st_value */
	uint64_t offset; /* file offset, what a uprobe attaches to */
	uint64_t size;
};

/* .symtab and .dynsym, defined functions only; NULL with a reason in @err */
struct elf_syms *elf_syms__open(const char *path, char *err, size_t errlen);
void elf_syms__free(struct elf_syms *s);
/* functions with any name matching @glob (fnmatch), one per address, sorted by name;
 * *out is malloc'd (free it), *n may be 0 */
int elf_syms__match(const struct elf_syms *s, const char *glob, struct sym_match **out, int *n);
/* no .symtab: only exported (.dynsym) functions are visible */
bool elf_syms__stripped(const struct elf_syms *s);
/* no PT_INTERP and no PT_DYNAMIC: LD_PRELOAD cannot work */
bool elf_syms__is_static(const struct elf_syms *s);

/* the first object @pid maps with functions matching @glob: its basename in @lib and
 * how many match, or -1 (for the hint "use --func 'LIB:GLOB'") */
int symbols_find_in_libs(pid_t pid, const char *glob, char *lib, size_t len);

/* obsprobe symbols: list "OBJECT FUNCTION" for a binary, or a process's binary and libraries */
int symbols_cmd_list(pid_t pid, const char *binary, const char *glob, FILE *out);

#endif
