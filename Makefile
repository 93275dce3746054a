# Plinth build. `make` builds build/plinth.elf and build/plinth.iso;
# `make run` boots it in QEMU; `make test` runs every test.

BUILD := build
HOSTCC ?= gcc
CC := gcc
NASM := nasm
PYTHON ?= python3

# ---------------------------------------------------------------- host unit tests
UNIT_TESTS :=
include $(sort $(wildcard tests/unit/*.mk))

UNIT_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -I. -Iinclude \
               -DPLINTH_HOST_TEST -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all
UNIT_LDLIBS := -lcmocka
UNIT_BINS := $(addprefix $(BUILD)/unit/test_,$(UNIT_TESTS))

define unit_rule
$(BUILD)/unit/test_$(1): tests/unit/test_$(1).c $$(UNIT_SRCS_$(1)) $$(wildcard hv/*.h arch/x86/*.h drivers/*.h include/plinth/*.h tests/unit/*.h)
	@mkdir -p $$(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $$@ tests/unit/test_$(1).c $$(UNIT_SRCS_$(1)) $(UNIT_LDLIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

.PHONY: unit-build unit
unit-build: $(UNIT_BINS)
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done
