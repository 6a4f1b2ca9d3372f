# SPDX-License-Identifier: GPL-2.0
#
# The front door.  Build and install kapolicy.ko and kapctl for a kernel:
#
#   make                      module + kapctl for the running kernel
#   make KERNELRELEASE=6.12.x module for another installed kernel
#   sudo make install         install both (DESTDIR= for staging)
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
MODDIR ?= /lib/modules/$(KERNELRELEASE)/updates

VERSION := $(shell sed -n 's/^\#define KAP_VERSION "\(.*\)"/\1/p' module/version.h)
export VERSION

all: module kapctl

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

kapctl:
	$(MAKE) -C userspace

install: all
	install -D -m 0644 kapolicy.ko $(DESTDIR)$(MODDIR)/kapolicy.ko
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) SBINDIR=$(SBINDIR) \
		MANDIR=$(MANDIR) BASHCOMPDIR=$(BASHCOMPDIR)
	[ -n "$(DESTDIR)" ] || depmod -a $(KERNELRELEASE)

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

lint:
	scripts/lint.sh

.PHONY: all module kapctl install clean deps check vm lint
