# Plinth build. `make` builds build/plinth.elf and build/plinth.iso;
# `make run` boots it in QEMU; `make test` runs every test.

BUILD := build
.DEFAULT_GOAL := all
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
$(BUILD)/unit/test_$(1): tests/unit/test_$(1).c $$(UNIT_SRCS_$(1)) $$(wildcard hv/*.h arch/x86/*.h drivers/*.h dom0/*.h include/plinth/*.h tests/unit/*.h)
	@mkdir -p $$(@D)
	$(HOSTCC) $(UNIT_CFLAGS) -o $$@ tests/unit/test_$(1).c $$(UNIT_SRCS_$(1)) $(UNIT_LDLIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

.PHONY: unit-build unit
unit-build: $(UNIT_BINS)
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done

# libFuzzer smoke runs (clang): fuzz-build, fuzz-smoke.
include tests/fuzz/fuzz.mk

# ---------------------------------------------------------------- hypervisor image
HV_CFLAGS := -std=c11 -ffreestanding -fno-stack-protector -fno-pic -fno-pie -mno-red-zone \
             -mgeneral-regs-only -mcmodel=kernel -fno-omit-frame-pointer -fno-tree-loop-distribute-patterns \
             -fno-asynchronous-unwind-tables -O2 -g -Wall -Wextra -Werror -I. -Iinclude -MMD -MP
HV_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=4096 -z noexecstack -T linker.ld

HV_C_SRCS := $(wildcard hv/*.c arch/x86/*.c arch/x86/*/*.c drivers/*.c)
HV_ASM_SRCS := boot/entry.asm arch/x86/isr.asm boot/ap_trampoline_blob.asm $(wildcard arch/x86/*/*.asm)
HV_OBJS := $(patsubst %.c,$(BUILD)/hv/%.o,$(HV_C_SRCS)) $(patsubst %.asm,$(BUILD)/hv/%.o,$(HV_ASM_SRCS))

.PHONY: all iso
all: $(BUILD)/plinth.elf $(BUILD)/plinth.iso guests dom0

include tests/guests/guests.mk
include dom0/dom0.mk

# V=1 shows full command lines.
Q := $(if $(V),,@)

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HV_CFLAGS) -c $< -o $@

ASM_INCLUDES := $(wildcard arch/x86/*.inc boot/*.inc)

$(BUILD)/hv/%.o: %.asm $(ASM_INCLUDES)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  NASM    $<")
	$(Q)$(NASM) -f elf64 -g -I./ -o $@ $<

$(BUILD)/ap_trampoline.bin: boot/ap_trampoline.asm $(ASM_INCLUDES)
	@mkdir -p $(@D)
	$(NASM) -f bin -I./ -o $@ $<

$(BUILD)/hv/boot/ap_trampoline_blob.o: $(BUILD)/ap_trampoline.bin

# Two links: the first has an empty symbol table; its text symbols become
# the table of the second. The table sits after all code, so code addresses
# do not move between the links (checked below).
$(BUILD)/ksyms0.c: tools/gensyms.py
	@mkdir -p $(@D)
	: > $(BUILD)/empty.nm
	$(PYTHON) tools/gensyms.py $(BUILD)/empty.nm $@

$(BUILD)/plinth.pass1.elf: $(HV_OBJS) $(BUILD)/ksyms0.o linker.ld
	$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJS) $(BUILD)/ksyms0.o

$(BUILD)/ksyms.c: $(BUILD)/plinth.pass1.elf tools/gensyms.py
	nm -n $< > $(BUILD)/pass1.nm
	$(PYTHON) tools/gensyms.py $(BUILD)/pass1.nm $@

$(BUILD)/%.o: $(BUILD)/%.c
	$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/plinth.elf: $(HV_OBJS) $(BUILD)/ksyms.o linker.ld
	$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJS) $(BUILD)/ksyms.o
	@nm -n $@ | grep -i ' t ' > $(BUILD)/pass2.text.nm
	@grep -i ' t ' $(BUILD)/pass1.nm | cmp -s - $(BUILD)/pass2.text.nm || \
	  { echo "error: code moved between link passes; backtraces would lie" >&2; rm -f $@; exit 1; }

# Hybrid BIOS + UEFI image (grub-mkrescue): dd it to a USB stick.
# It holds dom0 and two example domains (dom0/examples).
ISO_DOMAINS := $(BUILD)/guests/hello64.elf $(BUILD)/guests/victim.elf dom0/examples/hello.cfg \
               dom0/examples/spinner.cfg
$(BUILD)/plinth.iso: $(BUILD)/plinth.elf $(BUILD)/dom0.elf $(ISO_DOMAINS) grub.cfg
	rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub $(BUILD)/iso/boot/domains
	cp $(BUILD)/plinth.elf $(BUILD)/iso/boot/plinth.elf
	cp $(BUILD)/dom0.elf $(BUILD)/iso/boot/dom0.elf
	cp $(ISO_DOMAINS) $(BUILD)/iso/boot/domains/
	cp grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso 2> $(BUILD)/grub-mkrescue.log || { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# The test image: the same hypervisor, with the tests' GRUB menu.
$(BUILD)/plinth-test.iso: $(BUILD)/plinth.elf tests/integration/grub-test.cfg
	rm -rf $(BUILD)/iso-test && mkdir -p $(BUILD)/iso-test/boot/grub
	cp $(BUILD)/plinth.elf $(BUILD)/iso-test/boot/plinth.elf
	cp tests/integration/grub-test.cfg $(BUILD)/iso-test/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso-test 2> $(BUILD)/grub-mkrescue-test.log || { cat $(BUILD)/grub-mkrescue-test.log; exit 1; }

-include $(shell find $(BUILD)/hv -name '*.d' 2>/dev/null)

.PHONY: clean
clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------- run and test
QEMU_RUN := qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2 -no-reboot -nographic

.PHONY: deps run run-uefi test
deps:
	@tools/setup.sh

# Boots the ISO in QEMU with the serial console on this terminal.
# Quit with Ctrl-A then X.
run: deps
	$(MAKE) all
	$(QEMU_RUN) -cdrom $(BUILD)/plinth.iso

run-uefi: deps
	$(MAKE) all
	$(QEMU_RUN) -bios /usr/share/ovmf/OVMF.fd -cdrom $(BUILD)/plinth.iso

# Unit tests and fuzz smoke runs on the host, then integration tests booting
# the image in QEMU (AMD-V path; SeaBIOS and OVMF) and Bochs (VT-x path).
test: deps
	$(MAKE) all unit-build fuzz-build
	$(PYTHON) tests/run_all.py

.PHONY: bench
bench: all
	$(PYTHON) bench/boot_cost.py
	$(PYTHON) bench/exit_cost.py
	$(PYTHON) bench/domain_cost.py
	$(PYTHON) bench/switch_cost.py
	$(PYTHON) bench/pv_blk.py
	$(PYTHON) bench/pv_net.py
