# dom0, the control domain: build/dom0.elf (see docs/dom0.md). Included by
# the top Makefile. It is the first Multiboot2 module; the device drivers
# (dom0/drivers/*.c) and the virtio backends (dom0/virtio/*.c) are built in
# whatever is there.

DOM0_OUT := $(BUILD)/dom0
DOM0_CFLAGS := -std=c11 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -m64 -mcmodel=small \
               -fno-stack-protector -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
               -O2 -g -Wall -Wextra -Werror -Iinclude -I. -MMD -MP
DOM0_LDFLAGS := -nostdlib -static -no-pie -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack \
                -Wl,--build-id=none -T dom0/kernel/dom0.ld

# start.S first so that _start opens .text; hv/format.c is shared with the hypervisor.
DOM0_SRCS := dom0/kernel/start.S $(sort $(wildcard dom0/kernel/*.c) $(wildcard dom0/drivers/*.c) $(wildcard dom0/virtio/*.c)) \
             dom0/domcfg.c hv/format.c
DOM0_OBJS := $(patsubst %,$(DOM0_OUT)/%.o,$(DOM0_SRCS))

.PHONY: dom0
dom0: $(BUILD)/dom0.elf

$(DOM0_OUT)/%.o: % dom0/dom0.mk
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(DOM0_CFLAGS) -c $< -o $@

$(BUILD)/dom0.elf: $(DOM0_OBJS) dom0/kernel/dom0.ld
	$(CC) $(DOM0_CFLAGS) $(DOM0_LDFLAGS) -o $@ $(DOM0_OBJS)

-include $(shell find $(DOM0_OUT) -name '*.d' 2>/dev/null)
