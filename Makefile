# SPDX-License-Identifier: GPL-2.0
#
# The front door.  Build and install kapolicy.ko and kapctl for a kernel:
#
#   make                      module + kapctl for the running kernel
#   make KERNELRELEASE=6.12.x module for another installed kernel
#   sudo make install         install both (DESTDIR= for staging, PREFIX=)
#   sudo make uninstall       remove exactly what install put there
#   sudo make dkms            the module's sources to /usr/src, then dkms
#                             add, build and install (rebuilt by DKMS on
#                             each new kernel); "make dkms-remove" undoes it
#   sudo make demo            the problem and its fix, in a VM (2-3 min)
#   sudo make session         the README's kapctl session, in a VM
#   sudo make check           the full test suite (packages, unit tests, VMs)
#   sudo make check-debug     the selftests on a debug kernel (KASAN,
#                             lockdep, kmemleak, fault injection), built once
#   sudo make vm              a shell in a VM with the module loaded
#   make lint                 checkpatch.pl --strict and sparse
#   make fuzz                 the policy parser, 10 million libFuzzer runs
#
# KDIR= alone names the kernel too: its release is read from the tree.
ifneq ($(KDIR),)
KERNELRELEASE ?= $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
endif
KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
DESTDIR ?=
# make -C runs in other directories: a relative DESTDIR is made absolute.
override DESTDIR := $(if $(DESTDIR),$(abspath $(DESTDIR)))
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Where kapolicy.ko is built (the selftests build it in build/kernel/REL).
MODBUILD ?= $(CURDIR)
MODDIR := /lib/modules/$(KERNELRELEASE)/updates
DKMSSRC = /usr/src/kapolicy-$(VERSION)
# The kernels "make dkms" builds for: every one with headers installed.
DKMS_KERNELS ?= $(patsubst /lib/modules/%/build,%,$(wildcard /lib/modules/*/build))

VERSION := $(shell sed -n 's/^\#define KAP_VERSION "\(.*\)"/\1/p' module/version.h)
export VERSION

# What DKMS gets: the module's sources only, no tools, tests or build tree.
MODULE_SOURCES := Kbuild $(wildcard module/*.[ch]) $(wildcard sysfs/*.[ch])

all: module kapctl

module:
	$(MAKE) -C $(KDIR) M=$(MODBUILD) modules

kapctl:
	$(MAKE) -C userspace

# modules_install puts the module in updates/ (it wins over an in-tree one).
# Debian's kernels have no signing key in their headers: the module is
# installed unsigned (see the README on Secure Boot), and uncompressed
# whatever the kernel compresses its own with (one name to uninstall).
# depmod runs only for a real install; a DESTDIR staging tree gets no
# module index.
install: all
	$(MAKE) -C $(KDIR) M=$(MODBUILD) modules_install \
		INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates \
		CONFIG_MODULE_SIG_ALL= CONFIG_MODULE_COMPRESS_ALL=
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	[ -n "$(DESTDIR)" ] || depmod -a $(KERNELRELEASE)

# Everything but the module (which DKMS installs).
install-userspace: kapctl
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

# On a real host the unit is disabled first (its wants/ link goes); a
# loaded module stays loaded until "modprobe -r kapolicy".
uninstall:
	@if [ -z "$(DESTDIR)" ] && command -v systemctl > /dev/null && \
	    [ -e $(DESTDIR)$(shell $(MAKE) -s -C userspace print-unitdir PREFIX=$(PREFIX))/kapolicy.service ]; then \
		echo "systemctl disable kapolicy.service"; \
		systemctl disable kapolicy.service || true; \
	fi
	rm -f $(addprefix $(DESTDIR)$(MODDIR)/kapolicy.ko,"" .xz .gz .zst)
	-rmdir --ignore-fail-on-non-empty $(DESTDIR)$(MODDIR)
	$(MAKE) -C userspace uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	[ -n "$(DESTDIR)" ] || depmod -a $(KERNELRELEASE)
	@if [ -z "$(DESTDIR)" ] && command -v systemctl > /dev/null; then systemctl daemon-reload || true; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /sys/module/kapolicy ]; then \
		echo "kapolicy is still loaded: modprobe -r kapolicy unloads it"; fi

# The DKMS source tree, with dkms.conf's version set from module/version.h.
dkms-src:
	rm -rf $(DESTDIR)$(DKMSSRC)
	for f in $(MODULE_SOURCES); do \
		install -D -m 0644 $$f $(DESTDIR)$(DKMSSRC)/$$f || exit 1; \
	done
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' dkms.conf > $(DESTDIR)$(DKMSSRC)/dkms.conf

# Run again after an update: the version already registered is replaced.
# A module from "make install" would shadow DKMS's: refused.
dkms:
	@for k in $(DKMS_KERNELS); do \
		for f in /lib/modules/$$k/updates/kapolicy.ko*; do \
			[ ! -e "$$f" ] || { echo "$$f is from make install: make uninstall first" >&2; exit 1; }; \
		done; \
	done
	-dkms remove kapolicy/$(VERSION) --all > /dev/null 2>&1
	$(MAKE) dkms-src DESTDIR=
	dkms add kapolicy/$(VERSION)
	for k in $(DKMS_KERNELS); do \
		dkms install kapolicy/$(VERSION) -k $$k || exit 1; \
	done

# Every version of kapolicy DKMS knows, and their sources.
dkms-remove:
	for v in $$(dkms status kapolicy 2>/dev/null | sed -n 's|^kapolicy/\([^,:]*\)[,:].*|\1|p' | sort -u); do \
		dkms remove kapolicy/$$v --all || exit 1; \
	done
	rm -rf /usr/src/kapolicy-*

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	rm -rf build

# Installs every Debian package the build and the tests need (as root).
deps:
	scripts/deps.sh

# The test command: packages, userspace unit tests, both kernel lines in VMs.
check:
	scripts/check.sh

# The selftests on a 6.12 kernel built from Debian's linux-source-6.12 with
# KASAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak and fault injection (not part
# of the test command): built once, cached in ~/.cache/kapolicy, resumable
# (scripts/check-debug.sh).  KAP_TEST_FILTER= runs a part of the suite.
check-debug:
	scripts/deps.sh
	$(MAKE) -C userspace
	scripts/check-debug.sh test

# An interactive shell in a VM booting an installed Debian kernel, with the
# module built and loaded.  VM_KERNEL= picks the kernel (default: newest).
vm:
	scripts/deps.sh
	selftests/vm/vm.sh shell $(VM_KERNEL)

# The problem kapolicy solves and its fix, shown by real programs in a VM.
demo:
	scripts/deps.sh
	selftests/vm/vm.sh demo $(VM_KERNEL)

# The README's session ("A session"), from a real run in a VM.
session:
	scripts/deps.sh
	selftests/vm/vm.sh session $(VM_KERNEL)

# Benchmarks (not part of the test command): on each installed kernel line
# but PREEMPT_RT, one VM each at once; ratios side by side (scripts/bench.sh,
# BENCHMARKS.md).  BENCH_ROUNDS, BENCH_SECONDS, BENCH_ONLY, BENCH_MEM_CONNS.
bench:
	scripts/deps.sh
	selftests/vm/vm.sh bench

lint:
	scripts/lint.sh

# The policy parser under libFuzzer for FUZZ_RUNS executions (default 10
# million); new coverage goes into userspace/tests/corpus/.
fuzz:
	scripts/deps.sh
	$(MAKE) -C userspace/tests fuzz

.PHONY: all module kapctl install install-userspace uninstall dkms-src dkms dkms-remove clean deps check check-debug vm demo session bench lint fuzz
