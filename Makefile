# obsprobe -- one entry point: make, make test, make demo, make bench, make install
#
#   make              the collector (build/obsprobe), the shim (build/libobsshim.so) and the test targets; needs
#                     clang, bpftool and kernel BTF (/sys/kernel/btf/vmlinux); x86_64 only (see HOST_ARCH below)
#   make unit         build and run the Check unit tests (tests/unit/test_*.c): no root, no BTF, no bpftool -- they
#                     link build/libcollector.a, the collector's objects without the BPF skeleton users
#   make asan         the unit tests again under ASan + UBSan (then: for t in build/asan/tests/*; do $$t; done)
#   make test         as root: dependencies, everything built, every test (tests/run.sh); asserts exact counts,
#                     never speed
#   make bench        as root: speed (the timing bounds live here, never in make test)
#   make fuzz-build   the libFuzzer harnesses (tests/fuzz); make fuzz runs each for FUZZ_SECONDS
#   make format       clang-format -i over the tree (.clang-format); make format-check only reports (part of make test)
#   make demo, make soak, make install, make clean;  V=1 shows the commands
.DELETE_ON_ERROR:
.SECONDARY:
.DEFAULT_GOAL := all

OUT      := build
VERSION  := 0.1.0
PREFIX   ?= /usr/local
CLANG    ?= clang
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
CC       ?= gcc
HOST_ARCH ?= $(shell uname -m)
ARCH     := $(patsubst x86_64,x86,$(HOST_ARCH))

# Only x86_64 is real: the BPF programs read syscall arguments from x86_64 registers (regs->di ...) and syscall
# numbers are x86_64's (scripts/gen-syscall-table.sh, abi/segment.h). Stop here rather than build something wrong.
ifneq ($(HOST_ARCH),x86_64)
ifneq ($(filter-out clean format format-check,$(or $(MAKECMDGOALS),all)),)
$(error obsprobe builds on x86_64 only, this machine is $(HOST_ARCH): its BPF programs read x86_64 registers \
	and syscall numbers (make clean, make format and make format-check work anywhere))
endif
endif

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS      := libbpf libelf zlib libmicrohttpd libcjson libcurl libcap yaml-0.1 gnutls libcrypt libnghttp2
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -DOBSPROBE_VERSION='"$(VERSION)"' \
	    -I$(OUT) -I. -Icollector $(PKG_CFLAGS)
DEPFLAGS := -MMD -MP
# x86-64: GCC expands a copy or clear whose size it can only bound (a field cut to its buffer, a 976-byte
# exchange cleared) as `rep movsq` / `rep stosq`, which take ~30 cycles to start on CPUs without fast short rep
# moves; glibc's memcpy/memset pick vector moves for these sizes.  Measured under nginx + wrk, alternating builds:
# collector CPU per exchange 1.18 -> 0.96..1.01 µs (README "Benchmarks").  Only where the compiler takes the option
STRINGOPS := $(shell $(CC) -mstringop-strategy=libcall -x c -c /dev/null -o /dev/null 2>/dev/null && \
	       echo -mstringop-strategy=libcall)
CFLAGS   += $(STRINGOPS)
LDLIBS   += $(PKG_LIBS) -lpthread -lm -lrt

# The system include dirs clang would use, passed with -idirafter so BPF code
# finds <asm/…> headers (libbpf-bootstrap does the same).
CLANG_SYS_INCLUDES = $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUT) -I. $(CLANG_SYS_INCLUDES) \
	      -Wall -Wno-unused-function

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

# lib/: pure code built into both the collector and the shim; collector/: everything else of obsprobe
PURE_SRCS  := $(wildcard lib/*.c lib/*/*.c)
COLL_SRCS  := $(wildcard collector/*/*.c) $(PURE_SRCS)
USER_OBJS  := $(patsubst %.c,$(OUT)/obj/%.o,$(COLL_SRCS))
# The only sources that need generated BPF headers (a skeleton, from build/vmlinux.h and bpftool), and the one
# that needs the syscall table (from the kernel's UAPI headers); nothing else depends on generated headers.
SKEL_SRCS  := $(shell grep -l -e '\.skel\.h"' -e '"vmlinux\.h"' $(COLL_SRCS))
TABLE_SRCS := $(shell grep -l '"syscall_table\.h"' $(COLL_SRCS))
SKEL_OBJS  := $(patsubst %.c,$(OUT)/obj/%.o,$(SKEL_SRCS))
TABLE_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(TABLE_SRCS))
# Unit tests and benches link this archive: every collector object but main and the skeleton users, so they build
# without BTF or bpftool, and each test binary takes from it only what it calls.
LIB_OBJS   := $(filter-out $(OUT)/obj/collector/cli/main.o $(SKEL_OBJS),$(USER_OBJS))
COLL_LIB   := $(OUT)/libcollector.a
HDRS       := $(wildcard abi/*.h lib/*.h lib/*/*.h collector/*/*.h preload/*.h bpf/*.h)

SHIM_SRCS  := $(wildcard preload/*.c)
# lib/ (no malloc, no stdio, no locks) is built a second time for the shim, -fPIC and hidden
SHIM_OBJS  := $(patsubst %.c,$(OUT)/shim/%.o,$(SHIM_SRCS) $(PURE_SRCS))
SHIM_CFLAGS := -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden \
	       -ftls-model=initial-exec -I. $(DEPFLAGS) $(STRINGOPS)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
TARGET_SRCS := $(wildcard tests/targets/*.c)
TARGET_BINS := $(patsubst tests/targets/%.c,$(OUT)/targets/%,$(TARGET_SRCS))


.PHONY: all deps test unit demo bench soak install clean format format-check check-root fuzz fuzz-build asan
all: $(OUT)/obsprobe $(if $(SHIM_SRCS),$(OUT)/libobsshim.so) $(TARGET_BINS)

# ---- generated headers -------------------------------------------------------
$(OUT)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(OUT)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

# syscall number -> name, from the installed kernel UAPI headers
$(OUT)/syscall_table.h: scripts/gen-syscall-table.sh
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(OUT)
	$(Q)bash $< > $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h $(wildcard bpf/*.h abi/*.h)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- collector ---------------------------------------------------------------
# header dependencies come from -MMD (the .d files included at the end); generated headers are named here
$(OUT)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(SKEL_OBJS): $(SKELS)
$(TABLE_OBJS) $(patsubst $(OUT)/obj/%,$(OUT)/asan/%,$(TABLE_OBJS)): $(OUT)/syscall_table.h

$(COLL_LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(OUT)/obsprobe: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# ---- shim --------------------------------------------------------------------
$(OUT)/shim/%.o: %.c
	$(call msg,CC-SHIM,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SHIM_CFLAGS) -c $< -o $@

$(OUT)/libobsshim.so: $(SHIM_OBJS) $(wildcard preload/*.map)
	$(call msg,LINK,$@)
	$(Q)$(CC) -shared -Wl,--version-script=preload/obsshim.map -Wl,-z,now $(SHIM_OBJS) \
		-ldl -lpthread -lrt -o $@

# ---- tests -------------------------------------------------------------------
$(OUT)/tests/%: tests/unit/%.c $(COLL_LIB) $(HDRS) $(wildcard tests/unit/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags check) $< $(COLL_LIB) \
		$(LDLIBS) $(shell pkg-config --libs check) -o $@

# tests/unit/test_shim_*.c also link the shim's capture code (not shim.c, stdiowrap.c: their wrappers would interpose libc)
SHIMCAP_SRCS := $(filter-out preload/shim.c preload/stdiowrap.c,$(SHIM_SRCS))
SHIMCAP_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(SHIMCAP_SRCS))
SHIMCAP_TESTS := $(wildcard tests/unit/test_shim_*.c)
$(patsubst tests/unit/%.c,$(OUT)/tests/%,$(SHIMCAP_TESTS)): $(OUT)/tests/%: tests/unit/%.c $(SHIMCAP_OBJS) $(COLL_LIB) \
		$(HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags check) $< $(SHIMCAP_OBJS) $(COLL_LIB) \
		$(LDLIBS) $(shell pkg-config --libs check) -o $@

$(OUT)/targets/%: tests/targets/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -fno-inline -no-pie $< -lpthread -o $@

# statically linked targets (the shim must refuse them)
$(OUT)/targets/static_%: tests/targets/static_%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -Wall -Werror -static $< -o $@

# As root, or re-run through sudo when it exists (SPEC: "Layout and build").
check-root:
	@if [ "$$(id -u)" -ne 0 ]; then \
		if command -v sudo >/dev/null; then exec sudo $(MAKE) $(MAKECMDGOALS); \
		else echo "make: '$(MAKECMDGOALS)' needs root (installs packages, loads BPF): become root and run it again" >&2; exit 1; fi; \
	fi

deps:
	$(Q)bash scripts/install-deps.sh

# test_symbols reads build/targets/ (plain C programs: no BTF needed either)
unit: $(UNIT_BINS) $(TARGET_BINS)
	$(Q)for t in $(UNIT_BINS); do CK_VERBOSITY=minimal CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-60} $$t || exit 1; done

test: check-root
	$(Q)if [ "$$(id -u)" -eq 0 ]; then bash scripts/install-deps.sh && \
		$(MAKE) all $(UNIT_BINS) $(ASAN_BINS) $(FUZZ_BINS) && \
		FUZZ_TEST_SECONDS=$(FUZZ_TEST_SECONDS) bash tests/run.sh; fi

demo: check-root
	$(Q)if [ "$$(id -u)" -eq 0 ]; then bash scripts/install-deps.sh && $(MAKE) all && bash scripts/demo.sh; fi

$(OUT)/bench/floor.bpf.o $(OUT)/bench/touch.bpf.o: $(OUT)/bench/%.bpf.o: tests/bench/%.bpf.c $(OUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/floor: tests/bench/floor.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LDLIBS) -o $@

$(OUT)/bench/stats_cost: tests/bench/stats_cost.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LDLIBS) -o $@

$(OUT)/bench/spawn_time: tests/bench/spawn_time.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE $< -o $@

$(OUT)/bench/scrape_bench: tests/bench/scrape_bench.c $(COLL_LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(COLL_LIB) $(LDLIBS) -o $@

$(OUT)/bench/exchange_bench: tests/bench/exchange_bench.c $(COLL_LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(COLL_LIB) $(LDLIBS) -o $@

# issue 13: the OTLP encoders' instructions per span under callgrind (tests/bench/encode_bench.sh)
$(OUT)/bench/encode_bench: tests/bench/encode_bench.c $(COLL_LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(COLL_LIB) $(LDLIBS) -o $@

$(OUT)/bench/ingest_bench: tests/bench/ingest_bench.c $(COLL_LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(COLL_LIB) $(LDLIBS) -o $@

$(OUT)/bench/span_bench: tests/bench/span_bench.c tests/bench/h2sink.c tests/bench/h2sink.h $(COLL_LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< tests/bench/h2sink.c $(COLL_LIB) $(LDLIBS) -o $@

# issue 13: instructions per exchange under callgrind (tests/bench/parse_bench.sh): the parser alone, the shim
$(OUT)/bench/parse_bench: tests/bench/parse_bench.c $(COLL_LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(COLL_LIB) $(LDLIBS) -o $@

$(OUT)/bench/http_pair: tests/bench/http_pair.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE $< -o $@

bench: check-root
	$(Q)if [ "$$(id -u)" -eq 0 ]; then $(MAKE) all $(OUT)/bench/floor.bpf.o $(OUT)/bench/floor $(OUT)/bench/span_bench \
		$(OUT)/bench/spawn_time $(OUT)/bench/stats_cost $(OUT)/bench/exchange_bench $(OUT)/bench/touch.bpf.o && \
		bash tests/bench/run.sh && echo && bash tests/bench/stats_cost.sh && echo && bash tests/bench/http_bench.sh && echo && bash tests/bench/tls_bench.sh && \
		echo && taskset -c 0 $(OUT)/bench/span_bench 300000 && taskset -c 0 $(OUT)/bench/span_bench 300000 grpc && \
		echo && BIN=$(OUT)/bench/exchange_bench bash tests/bench/exchange_bench.sh && \
		echo && bash tests/bench/shim_start.sh && \
		echo && bash tests/bench/spine_timing.sh && echo && bash tests/bench/nginx_bench.sh && \
		echo && $(MAKE) $(OUT)/bench/scrape_bench && bash tests/bench/scrape_bench.sh && \
		echo && $(MAKE) $(OUT)/bench/parse_bench $(OUT)/bench/http_pair && bash tests/bench/parse_bench.sh && \
		echo && $(MAKE) $(OUT)/bench/ingest_bench && bash tests/bench/ingest_bench.sh && \
		echo && $(MAKE) $(OUT)/bench/encode_bench && bash tests/bench/encode_bench.sh && \
		echo && bash tests/bench/touch_cost.sh; fi

# nginx under wrk on both capture paths for SOAK_SECONDS (default 600) each; not part of `make test`
soak: check-root
	$(Q)if [ "$$(id -u)" -eq 0 ]; then $(MAKE) all && bash tests/soak/soak.sh; fi

install: all
	install -D -m 0755 $(OUT)/obsprobe $(DESTDIR)$(PREFIX)/bin/obsprobe
	install -D -m 0755 $(OUT)/libobsshim.so $(DESTDIR)$(PREFIX)/lib/obsprobe/libobsshim.so

# what clang-format owns (.clang-format: kernel-derived, tabs, 120 columns); generated headers are not in it
FORMAT_SRCS := $(wildcard abi/*.h lib/*.[ch] lib/*/*.[ch] bpf/*.[ch] collector/*/*.[ch] preload/*.[ch] \
		tests/unit/*.c tests/targets/*.c tests/fuzz/*.[ch] tests/bench/*.c)
format:
	clang-format -i $(FORMAT_SRCS)

# what make format would change, as errors (make test runs it: lint/format)
format-check:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf $(OUT)

# header dependencies as the compiler saw them (-MMD)
-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
# ---- sanitizers: the unit tests and the collector objects again, under ASan + UBSan ----------------
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_OBJS  := $(patsubst $(OUT)/obj/%.o,$(OUT)/asan/%.o,$(LIB_OBJS))
ASAN_LIB   := $(OUT)/asan/libcollector.a
ASAN_BINS  := $(patsubst tests/unit/%.c,$(OUT)/asan/tests/%,$(UNIT_SRCS))

$(OUT)/asan/%.o: %.c
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) $(DEPFLAGS) -c $< -o $@

$(ASAN_LIB): $(ASAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(OUT)/asan/tests/%: tests/unit/%.c $(ASAN_LIB) $(HDRS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) $(shell pkg-config --cflags check) $< $(ASAN_LIB) \
		$(LDLIBS) $(shell pkg-config --libs check) -o $@

$(patsubst tests/unit/%.c,$(OUT)/asan/tests/%,$(SHIMCAP_TESTS)): $(OUT)/asan/tests/%: tests/unit/%.c \
		$(patsubst %.c,$(OUT)/asan/%.o,$(SHIMCAP_SRCS)) $(ASAN_LIB) $(HDRS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) $(shell pkg-config --cflags check) $< \
		$(patsubst %.c,$(OUT)/asan/%.o,$(SHIMCAP_SRCS)) $(ASAN_LIB) $(LDLIBS) $(shell pkg-config --libs check) -o $@

asan: $(ASAN_BINS)

# ---- fuzzing: libFuzzer harnesses tests/fuzz/fuzz_<name>.c -------------------------------------------
# A harness's first line, "/* fuzz-srcs: lib/a.c collector/signal/b.c */", lists the project sources it links;
# each harness is built from itself and those, all with the fuzzer and sanitizers.
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	       -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -DOBSPROBE_VERSION='"$(VERSION)"' \
	       -Wno-missing-field-initializers \
	       -I$(OUT) -I. -Icollector -Itests/fuzz $(PKG_CFLAGS)
# (clang 14 warns of designated initializers that leave members zero, as the metric family table does; gcc
# does not, and the project builds with gcc's -Wextra)
FUZZ_SECONDS      ?= 600
FUZZ_TEST_SECONDS ?= 10
fuzz_srcs = $(shell sed -n '1s/.*fuzz-srcs:\(.*\)\*\/.*/\1/p' $(1))

.SECONDEXPANSION:
$(OUT)/fuzz/%: tests/fuzz/%.c $$(call fuzz_srcs,tests/fuzz/$$*.c) $(wildcard tests/fuzz/*.h) $(HDRS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(call fuzz_srcs,$<) $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# each harness for FUZZ_SECONDS (default 600) on a copy of its corpus, one after another; new inputs go
# to build/fuzz/corpus-<name> (merge minimised finds into tests/fuzz/corpus/ by hand)
fuzz: $(FUZZ_BINS)
	$(Q)bash tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_BINS)
