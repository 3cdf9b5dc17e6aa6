#!/usr/bin/env bash
# gen-syscall-table.sh -- syscall number -> name table from the installed UAPI header.
set -euo pipefail
hdr=${1:-$(echo '#include <asm/unistd_64.h>' | cpp -H -o /dev/null 2>&1 | awk '/unistd_64.h/{print $2; exit}')}
echo "/* generated from $hdr by scripts/gen-syscall-table.sh */"
echo "static const char *const syscall_table[] = {"
awk '/^#define __NR_[a-z0-9_]+[ \t]+[0-9]+/ { name=$2; sub(/^__NR_/, "", name); printf "\t[%d] = \"%s\",\n", $3, name }' "$hdr"
# syscalls newer than the build's headers (x86_64 numbers from the kernel's syscall_64.tbl)
if [ "$(uname -m)" = x86_64 ]; then
	for e in 335:uretprobe 451:cachestat 452:fchmodat2 453:map_shadow_stack 454:futex_wake 455:futex_wait \
		456:futex_requeue 457:statmount 458:listmount 459:lsm_get_self_attr 460:lsm_set_self_attr \
		461:lsm_list_modules 462:mseal 463:setxattrat 464:getxattrat 465:listxattrat 466:removexattrat \
		467:open_tree_attr 468:file_getattr 469:file_setattr; do
		n=${e%%:*}
		grep -qE "^#define __NR_[a-z0-9_]+[[:space:]]+$n\$" "$hdr" || printf '\t[%d] = "%s",\n' "$n" "${e#*:}"
	done
fi
echo "};"
