# SPDX-License-Identifier: GPL-2.0-only
# nft-offload: plain Makefile. All build output goes to build/. V=1 for verbose.

VERSION     := 0.1.0
BUILD       := build
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      := $(PREFIX)/sbin
MANDIR      := $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system

CC          ?= gcc
CLANG       ?= clang
BPFTOOL     ?= bpftool
ARCH        := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH   := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS        := libbpf libmnl libnftables libnftnl
# The Debian package that provides each pkg-config name above.
DEB_libbpf := libbpf-dev
DEB_libmnl := libmnl-dev
DEB_libnftables := libnftables-dev
DEB_libnftnl := libnftnl-dev
CFLAGS      ?= -O2 -g
CFLAGS      += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
               -D_GNU_SOURCE -DNFO_VERSION='"$(VERSION)"' \
               -Iinclude -Ilib -Idaemon -Icli -I$(BUILD) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS      += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz

BPF_CFLAGS  := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
               -Iinclude -I/usr/include/$(MULTIARCH)

LIB_SRCS    := $(wildcard lib/*.c)
DAEMON_SRCS := $(wildcard daemon/*.c)
CLI_SRCS    := $(wildcard cli/*.c)
APP_OBJS    := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS) $(DAEMON_SRCS) $(CLI_SRCS))
LIB_OBJS    := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
BPF_OBJ     := $(BUILD)/nfo_fastpath.bpf.o
SKEL        := $(BUILD)/nfo_fastpath.skel.h
BIN         := $(BUILD)/nft-offload
# Every tests/unit/*_test.c is a unit test program (tests/unit/run.sh runs them all).
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/*_test.c))
# The BPF layer also runs the benchmark's BPF_PROG_TEST_RUN harness (each run checks its verdicts).
TEST_BINS   := $(BUILD)/tests/fastpath_test $(BUILD)/bench/test_run_bench $(UNIT_BINS)
# What the e2e tests run beside the daemon: conntrack entries in bulk (test_dumps),
# VLAN-tagged frames as a driver hands them over (test_vlan), packets counted by
# skb priority at a router's egress (test_priority).
E2E_BINS    := $(BUILD)/bench/ct_flood $(BUILD)/tests/vlan_push.bpf.o \
               $(BUILD)/tests/prio_count.bpf.o

.PHONY: all deps check test-unit test-bpf test-cli test-e2e bench demo install uninstall clean format man \
        deb check-deb check-systemd

all: $(BIN) $(BUILD)/nft-offload.8

$(BPF_OBJ): bpf/nfo_fastpath.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $(BPF_OBJ:.o=.d) -c $< -o $@

-include $(BPF_OBJ:.o=.d)

$(BUILD)/tests/%.bpf.o: tests/e2e/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name nfo_fastpath > $@.tmp && mv $@.tmp $@

# Header dependencies from the compiler (-MMD); every object waits for the
# skeleton, which some of them include.
$(BUILD)/%.o: %.c $(SKEL) | $(BUILD)/.pkgs-ok
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(APP_OBJS:.o=.d)

# Name what is missing instead of failing later on a header.
$(BUILD)/.pkgs-ok:
	$(Q)missing=""; for p in $(PKGS); do pkg-config --exists $$p || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		debs=""; for p in $$missing; do case $$p in \
			libbpf) debs="$$debs $(DEB_libbpf)";; libmnl) debs="$$debs $(DEB_libmnl)";; \
			libnftables) debs="$$debs $(DEB_libnftables)";; libnftnl) debs="$$debs $(DEB_libnftnl)";; \
		esac; done; \
		echo "build: pkg-config does not find$$missing: install$$debs (or run 'sudo make deps')" >&2; exit 1; \
	fi
	$(Q)mkdir -p $(BUILD) && touch $@

$(BIN): $(APP_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/bpf/%.c $(LIB_OBJS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/nft-offload.8: $(BIN)
	$(call msg,MAN,$@)
	$(Q)$(BIN) --man > $@.tmp && mv $@.tmp $@

man: $(BUILD)/nft-offload.8

# Debian packages the build, the tests, the demo and the benchmark need.
deps:
	$(Q)./scripts/install-deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all $(TEST_BINS) $(E2E_BINS)
	$(Q)./tests/run-all.sh

test-bpf: all $(TEST_BINS)
	$(Q)./tests/bpf/run.sh

test-unit: all $(TEST_BINS)
	$(Q)./tests/unit/run.sh

test-cli: all
	$(Q)./tests/cli/run.sh

test-e2e: all $(E2E_BINS)
	$(Q)./tests/e2e/run.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/bench/test_run_bench
	$(Q)./bench/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./demo/demo.sh

$(BUILD)/bench/%: bench/%.c $(LIB_OBJS)
	$(Q)mkdir -p $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

install: all
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/nft-offload
	install -D -m 0644 $(BUILD)/nft-offload.8 $(DESTDIR)$(MANDIR)/man8/nft-offload.8
	install -D -m 0644 packaging/nft-offload.service $(DESTDIR)$(UNITDIR)/nft-offload.service
	sed -i 's|@BINDIR@|$(BINDIR)|g' $(DESTDIR)$(UNITDIR)/nft-offload.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/nft-offload.conf ]; then \
		echo "  keeping existing $(DESTDIR)$(SYSCONFDIR)/nft-offload.conf"; \
	else \
		install -D -m 0644 packaging/nft-offload.conf $(DESTDIR)$(SYSCONFDIR)/nft-offload.conf; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nft-offload $(DESTDIR)$(MANDIR)/man8/nft-offload.8 \
	      $(DESTDIR)$(UNITDIR)/nft-offload.service
	@echo "  left $(DESTDIR)$(SYSCONFDIR)/nft-offload.conf in place (your configuration)"

# Debian package (debian/): dpkg-buildpackage writes to the parent
# directory; the results are moved to build/deb/ so nothing stays outside
# the checkout.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_ARCH    = $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILES   = nft-offload_$(DEB_VERSION)_$(DEB_ARCH).deb \
              nft-offload-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb \
              nft-offload_$(DEB_VERSION)_$(DEB_ARCH).buildinfo \
              nft-offload_$(DEB_VERSION)_$(DEB_ARCH).changes

deb:
	$(Q)test "$(DEB_VERSION)" = "$(VERSION)" || \
		{ echo "debian/changelog is at $(DEB_VERSION), the Makefile at $(VERSION)" >&2; exit 1; }
	$(Q)rm -f $(addprefix ../,$(DEB_FILES))
	$(Q)dpkg-buildpackage -b -us -uc
	$(Q)mkdir -p $(BUILD)/deb
	$(Q)cd .. && mv -f $(DEB_FILES) $(CURDIR)/$(BUILD)/deb/
	$(Q)echo "  DEB      $(BUILD)/deb/nft-offload_$(DEB_VERSION)_$(DEB_ARCH).deb"

# Build the package, lint it, install, remove and purge it on this machine.
check-deb:
	$(Q)./tests/pkg/check-deb.sh

# The unit under a real systemd: a Debian root (cached in build/systemd/)
# booted with systemd-nspawn, the package installed inside.
check-systemd:
	$(Q)./tests/pkg/check-systemd.sh

format:
	clang-format -i $(wildcard include/*.h bpf/*.c lib/*.[ch] daemon/*.[ch] cli/*.[ch] tests/bpf/*.c bench/*.c)

clean:
	rm -rf $(BUILD)
