# SPDX-License-Identifier: GPL-2.0
#
# A small stand-in for the kernel's tools/testing/selftests/lib.mk, with the
# same variables: TEST_PROGS (scripts run in place), TEST_GEN_PROGS (built
# into $(OUTPUT)), TEST_PROGS_EXTENDED and TEST_FILES (support files).
# (-Wno-unused-parameter: kselftest_harness.h itself trips it.)
# kselftest_harness.h comes from Debian's linux-source-6.1 (scripts/deps.sh).
top := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
OUTPUT ?= $(top)/build/selftests
KSFT_DIR ?= $(top)/build/kernel-tools/tools/testing/selftests

CFLAGS += -O2 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -I$(KSFT_DIR) -I$(CURDIR)

GEN := $(addprefix $(OUTPUT)/,$(TEST_GEN_PROGS))

all: $(GEN)

$(OUTPUT):
	mkdir -p $@

$(OUTPUT)/%: %.c $(wildcard *.h) | $(OUTPUT)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

print-tests:
	@echo $(addprefix $(CURDIR)/,$(TEST_PROGS)) $(GEN)

run_tests:
	@$(CURDIR)/run.sh --output $(OUTPUT)

clean:
	rm -f $(GEN)

.PHONY: all print-tests run_tests clean
