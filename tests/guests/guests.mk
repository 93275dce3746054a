# Plinth test guests: build/guests/<name>.elf (see tests/guests/README.md).
# Included by the top Makefile, or standalone: make -f tests/guests/guests.mk
# (run from the top of the tree). Targets: guests, guests-clean.

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := guests
endif

BUILD ?= build
GUEST_CC ?= gcc
GUEST_PYTHON ?= python3
GUEST_SRC := tests/guests
GUEST_OUT := $(BUILD)/guests

GUESTS64 := hello64 cpuid msr io hlt hypercall mmio interrupts reinject crtest64 shutdown spin smp yield ctl victim noctl \
            bad_memory triple_fault bad_hypercall bad_msr bench vblk
GUESTS64 += evtchn_a evtchn_b
GUESTS64 += vcons
GUESTS64 += grant_a grant_b
GUESTS64 += badvirtio
GUESTS64 += vblkbench
GUESTS64 += vnet
GUESTS32 := hello32 crtest32
GUESTS := $(GUESTS64) $(GUESTS32)
GUEST_ELFS := $(addprefix $(GUEST_OUT)/,$(addsuffix .elf,$(GUESTS)))

GUEST_CFLAGS := -std=c11 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
                -fno-stack-protector -fno-asynchronous-unwind-tables -nostdlib -static -O2 \
                -Wall -Wextra -Werror -Iinclude -I$(GUEST_SRC)/lib -MMD -MP
GUEST_CFLAGS64 := $(GUEST_CFLAGS) -m64 -mcmodel=small
GUEST_CFLAGS32 := $(GUEST_CFLAGS) -m32
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack \
                 -Wl,--build-id=none -T $(GUEST_SRC)/lib/guest.ld

GUEST_LIB64 := start64.S isr.S runtime.c console.c cpu64.c virtio.c
GUEST_LIB32 := start32.S runtime.c console.c
# start*.S must come first so that _start opens .text.
GUEST_LIB64_OBJS := $(patsubst %,$(GUEST_OUT)/obj64/lib/%.o,$(GUEST_LIB64))
GUEST_LIB32_OBJS := $(patsubst %,$(GUEST_OUT)/obj32/lib/%.o,$(GUEST_LIB32))

.PHONY: guests guests-clean
guests: $(GUEST_ELFS)

$(GUEST_OUT)/obj64/%.o: $(GUEST_SRC)/% $(GUEST_SRC)/guests.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS64) -c $< -o $@

$(GUEST_OUT)/obj32/%.o: $(GUEST_SRC)/% $(GUEST_SRC)/guests.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS32) -c $< -o $@

# Link, then check the ELF (class, load addresses, multiboot header).
$(addprefix $(GUEST_OUT)/,$(addsuffix .elf,$(GUESTS64))): $(GUEST_OUT)/%.elf: \
		$(GUEST_LIB64_OBJS) $(GUEST_OUT)/obj64/%.c.o $(GUEST_SRC)/lib/guest.ld $(GUEST_SRC)/check_elf.py
	$(GUEST_CC) $(GUEST_CFLAGS64) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB64_OBJS) $(GUEST_OUT)/obj64/$*.c.o
	@$(GUEST_PYTHON) $(GUEST_SRC)/check_elf.py 64 $@ || { rm -f $@; exit 1; }

$(addprefix $(GUEST_OUT)/,$(addsuffix .elf,$(GUESTS32))): $(GUEST_OUT)/%.elf: \
		$(GUEST_LIB32_OBJS) $(GUEST_OUT)/obj32/%.c.o $(GUEST_SRC)/lib/guest.ld $(GUEST_SRC)/check_elf.py
	$(GUEST_CC) $(GUEST_CFLAGS32) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB32_OBJS) $(GUEST_OUT)/obj32/$*.c.o
	@$(GUEST_PYTHON) $(GUEST_SRC)/check_elf.py 32 $@ || { rm -f $@; exit 1; }

guests-clean:
	rm -rf $(GUEST_OUT)

-include $(shell find $(GUEST_OUT) -name '*.d' 2>/dev/null)
