# agentwatch: bpf/*.bpf.c -> .bpf.o -> linked object -> skeleton -> agentwatch
# Outputs go to .output/.  `make V=1` shows the full commands.

OUTPUT    := .output
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
MARCH     := $(shell uname -m)
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_H ?= vmlinux/$(MARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

# System include dirs clang would use for the host, so that BPF code finds
# asm/ headers the same way (libbpf-bootstrap does the same).
CLANG_BPF_SYS_INCLUDES = $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

LIBBPF_CFLAGS := $(shell pkg-config --cflags libbpf 2>/dev/null)
LIBBPF_LIBS   := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz
# libcrypto for the audit log's SHA-256 chain (a well-kept implementation
# beats a hand-written one), zlib for its compressed segments.
EXTRA_LIBS    := -lcrypto -lz -lpthread

CFLAGS   ?= -g -O2
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
INCLUDES := -Iinclude -Iuser -I$(OUTPUT)
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $(LIBBPF_CFLAGS)

BPF_SRCS  := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/*.bpf.h) include/agentwatch.h

# Userspace modules that need libbpf; everything else in user/ is plain C
# that the unit tests link directly.
USER_BPF  := user/main.c user/sensor.c user/collector.c user/doctor.c user/probe.c
USER_SRCS := $(sort $(wildcard user/*.c))
USER_PURE := $(filter-out $(USER_BPF),$(USER_SRCS))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard user/*.h) include/agentwatch.h

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all deps deps-test deps-bench deps-e2e e2e run test unit integration bench clean vmlinux fuzz install

all: deps agentwatch

deps:
	$(Q)scripts/deps.sh build

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/user $(OUTPUT)/unit:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_H) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Wno-gnu-variable-sized-type-not-at-end \
		-Iinclude -Ibpf -I$(dir $(VMLINUX_H)) $(CLANG_BPF_SYS_INCLUDES) \
		-c $< -o $@

# All concerns link into one object, so they share maps (declared __weak in
# bpf/maps.bpf.h) and load as one skeleton.
$(OUTPUT)/agentwatch.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/agentwatch.skel.h: $(OUTPUT)/agentwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name agentwatch_bpf > $@

$(OUTPUT)/user/%.o: user/%.c $(USER_HDRS) $(OUTPUT)/agentwatch.skel.h | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

agentwatch: $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBBPF_LIBS) $(EXTRA_LIBS) -o $@

# Unit tests: plain userspace modules under ASan and UBSan.  Tests are found
# by name (every `void test_*(void)` in tests/unit/), so none is forgotten.
$(OUTPUT)/unit/tests.inc: $(UNIT_SRCS) | $(OUTPUT)/unit
	$(call msg,GEN,$@)
	$(Q)tests/unit/gen-tests.sh $(UNIT_SRCS) > $@

$(OUTPUT)/unit/unit-tests: $(UNIT_SRCS) $(USER_PURE) $(USER_HDRS) tests/unit/test.h $(OUTPUT)/unit/tests.inc
	$(call msg,CC-SAN,$@)
	$(Q)$(CLANG) -g -O1 $(SAN_FLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) -I$(OUTPUT)/unit \
		-Itests/unit $(UNIT_SRCS) $(USER_PURE) $(EXTRA_LIBS) -o $@

# Fuzz targets: libFuzzer with ASan and UBSan over the parsers.
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60

$(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(USER_PURE) $(USER_HDRS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $< $(USER_PURE) $(EXTRA_LIBS) -o $@

fuzz: deps-test $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS)

unit: deps-test $(OUTPUT)/unit/unit-tests
	$(Q)$(OUTPUT)/unit/unit-tests

deps-test:
	$(Q)scripts/deps.sh test

run: deps agentwatch
	./agentwatch run

test: deps-test agentwatch $(OUTPUT)/unit/unit-tests $(FUZZ_BINS)
	$(Q)tests/run.sh

integration: deps-test agentwatch
	$(Q)python3 tests/integration/run.py

# The real agent CLIs (Claude Code, Codex, Gemini CLI) from npm, each driven
# by a scripted model on loopback.  Kept out of `make test`; skips (and says
# why) when the npm registry is unreachable and nothing is cached.
deps-e2e:
	$(Q)scripts/deps.sh e2e

e2e: deps-e2e agentwatch
	$(Q)timeout 1800 python3 tests/e2e/run.py

# Benchmark tools linked against the real userspace modules, optimised:
# mklog writes a big audit log for the query timings, procbench fills the
# process table, matchbench times the rule engine against rules/.
BENCH_TOOLS := $(addprefix $(OUTPUT)/bench/,mklog procbench matchbench)

$(OUTPUT)/bench/%: tests/bench/%.c $(USER_PURE) $(USER_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $< $(USER_PURE) $(EXTRA_LIBS) -o $@

# The peers the bench compares against (auditd, execsnoop, bpftrace) are
# optional: one that can't be installed is left out of the tables, with why.
deps-bench:
	$(Q)scripts/deps.sh bench || echo "agentwatch: not every benchmark peer could be installed; make bench skips those" >&2

bench: deps-test deps-bench agentwatch $(BENCH_TOOLS)
	$(Q)python3 tests/bench/run.py

# make install [DESTDIR=staging] [PREFIX=/usr/local] [SYSCONFDIR=/etc]
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR    := $(PREFIX)/sbin
MANDIR     := $(PREFIX)/share/man
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
UNITDIR    := $(PREFIX)/lib/systemd/system

# Rules and signatures are installed root-owned and not writable by others:
# the collector refuses policy files anyone else could change.
install: agentwatch
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/default
	$(Q)install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/agentwatch $(DESTDIR)$(SYSCONFDIR)/agentwatch/rules.d
	$(Q)install -m 0755 agentwatch $(DESTDIR)$(SBINDIR)/agentwatch
	$(Q)install -m 0644 rules/*.rules $(DESTDIR)$(SYSCONFDIR)/agentwatch/rules.d/
	$(Q)install -m 0644 rules/agents.conf $(DESTDIR)$(SYSCONFDIR)/agentwatch/agents.conf
	$(Q)install -m 0644 dist/agentwatch.8 $(DESTDIR)$(MANDIR)/man8/agentwatch.8
	$(Q)install -m 0644 dist/agentwatch.bash-completion $(DESTDIR)$(BASHCOMPDIR)/agentwatch
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/default/agentwatch ] || \
		install -m 0644 dist/agentwatch.default $(DESTDIR)$(SYSCONFDIR)/default/agentwatch
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/agentwatch.service.in > $(DESTDIR)$(UNITDIR)/agentwatch.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/agentwatch.service
	$(Q)if [ "$$(id -u)" = 0 ]; then chown -R root:root $(DESTDIR)$(SYSCONFDIR)/agentwatch; fi

vmlinux:
	scripts/gen-vmlinux.sh

clean:
	rm -rf $(OUTPUT) agentwatch
