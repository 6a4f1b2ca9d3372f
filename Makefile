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
#   sudo make check           the full test suite (packages, unit tests, VMs)
#   sudo make vm              a shell in a VM with the module loaded
#   make lint                 checkpatch.pl --strict and sparse
#
KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
DESTDIR ?=
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Where kapolicy.ko is built (the selftests build it in build/kernel/REL).
MODBUILD ?= $(CURDIR)
MODDIR := /lib/modules/$(KERNELRELEASE)/updates
DKMSSRC = /usr/src/kapolicy-$(VERSION)

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
# installed unsigned (see the README on Secure Boot).  depmod runs only for
# a real install; a DESTDIR staging tree gets no module index.
install: all
	$(MAKE) -C $(KDIR) M=$(MODBUILD) modules_install \
		INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates CONFIG_MODULE_SIG_ALL=
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	[ -n "$(DESTDIR)" ] || depmod -a $(KERNELRELEASE)

# Everything but the module (which DKMS installs).
install-userspace: kapctl
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

uninstall:
	rm -f $(DESTDIR)$(MODDIR)/kapolicy.ko
	-rmdir --ignore-fail-on-non-empty $(DESTDIR)$(MODDIR)
	$(MAKE) -C userspace uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	[ -n "$(DESTDIR)" ] || depmod -a $(KERNELRELEASE)

# The DKMS source tree, with dkms.conf's version set from module/version.h.
dkms-src:
	rm -rf $(DESTDIR)$(DKMSSRC)
	for f in $(MODULE_SOURCES); do \
		install -D -m 0644 $$f $(DESTDIR)$(DKMSSRC)/$$f || exit 1; \
	done
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' dkms.conf > $(DESTDIR)$(DKMSSRC)/dkms.conf

dkms: dkms-src
	dkms add kapolicy/$(VERSION)
	dkms build kapolicy/$(VERSION) -k $(KERNELRELEASE)
	dkms install kapolicy/$(VERSION) -k $(KERNELRELEASE)

dkms-remove:
	-dkms remove kapolicy/$(VERSION) --all
	rm -rf $(DKMSSRC)

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

# An interactive shell in a VM booting an installed Debian kernel, with the
# module built and loaded.  VM_KERNEL= picks the kernel (default: newest).
vm:
	scripts/deps.sh
	selftests/vm/vm.sh shell $(VM_KERNEL)

# The problem kapolicy solves and its fix, shown by real programs in a VM.
demo:
	scripts/deps.sh
	selftests/vm/vm.sh demo $(VM_KERNEL)

lint:
	scripts/lint.sh

.PHONY: all module kapctl install install-userspace uninstall dkms-src dkms dkms-remove clean deps check vm demo lint
