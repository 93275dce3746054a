# libFuzzer targets of the dom0 virtio backends (docs/virtio-backend.md).
# Included by the top Makefile. `make fuzz-smoke` builds them with clang and
# runs each for a bounded number of inputs from the checked-in seed corpus
# (tests/fuzz/corpus/<target>); `make test` runs the same smoke via
# tests/run_all.py. Longer runs: build/fuzz/fuzz_<t> -max_total_time=600 DIR tests/fuzz/corpus/<t>
FUZZ_TARGETS := virtq blk mmio net
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=c11 -g -O1 -I. -Iinclude -DPLINTH_HOST_TEST -Wall -Wextra -Werror \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SRCS := dom0/virtio/virtq.c dom0/virtio/mmio_dev.c dom0/virtio/blk_backend.c dom0/virtio/net_backend.c \
             dom0/virtio/vswitch.c
FUZZ_BINS := $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(wildcard dom0/virtio/*.h) tests/unit/test_virtio_drv.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS)

.PHONY: fuzz-build fuzz-smoke
fuzz-build: $(FUZZ_BINS)
fuzz-smoke: fuzz-build
	$(PYTHON) tests/fuzz/smoke.py

# virtio-console (dom0/virtio/console_backend.c); seeds: tests/fuzz/make_seeds_console.py
FUZZ_SRCS += dom0/virtio/console_backend.c
FUZZ_BINS += $(BUILD)/fuzz/fuzz_console
$(BUILD)/fuzz/fuzz_console: dom0/virtio/console_backend.c
fuzz-build: $(BUILD)/fuzz/fuzz_console
