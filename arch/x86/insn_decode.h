/* Decoder for the x86 instructions that touch MMIO, so an EPT violation /
 * nested page fault on an emulated device page can be completed in
 * software. Pure logic: given the instruction bytes (fetched from guest
 * memory, see guest_walk.h) and the code segment's default size, it says
 * what the instruction accesses and how; two helpers then carry out the
 * register side of the access.
 *
 * Accepted (SDM Vol. 2, the forms compilers emit for device accesses):
 *   88 /r  mov r/m8, r8           89 /r  mov r/m16/32/64, r
 *   8A /r  mov r8, r/m8           8B /r  mov r, r/m16/32/64
 *   C6 /0 ib  mov r/m8, imm8      C7 /0 iw/id  mov r/m16/32/64, imm
 *                                  (64-bit: imm32 sign-extended)
 *   0F B6 / 0F B7  movzx r, r/m8 / r/m16
 *   0F BE / 0F BF  movsx r, r/m8 / r/m16
 *   A0-A3  mov al/eAX <-> moffs (moffs is as wide as the address size)
 *   84 /r, 85 /r        test r/m, r              (read only, sets flags)
 *   F6 /0 ib, F7 /0 iw/id  test r/m, imm         (read only, sets flags)
 *   80 /7 ib, 81 /7 iw/id, 83 /7 ib  cmp r/m, imm (read only, sets flags)
 * with prefixes 66 (operand size), 67 (address size: only changes the
 * length of the ModRM addressing bytes), segment overrides 26 2E 36 3E 64
 * 65 (accepted and ignored: the exit already reports the guest-physical
 * address), and in 64-bit mode REX (40-4F; W R X B). A REX followed by
 * another prefix is ignored, as the CPU does. LOCK (F0), REP/REPNE (F2/F3),
 * register-only ModRM (mod == 3) and every other opcode (string moves,
 * XCHG, SSE moves such as MOVAPS 0F 28/29, ...) are rejected.
 *
 * Pure logic, no state: built into the hypervisor and on the host for the
 * unit tests. */
#ifndef ARCH_X86_INSN_DECODE_H
#define ARCH_X86_INSN_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest legal x86 instruction; fetch this many bytes when you can. */
#define INSN_MAX_LEN 15

/* Default operand/address size of the code segment:
 * 64 when EFER.LMA and CS.L; otherwise 32 when CS.D, else 16 (this includes
 * real and virtual-8086 mode). */
enum insn_mode { INSN_MODE_16 = 16, INSN_MODE_32 = 32, INSN_MODE_64 = 64 };

enum insn_op {
    INSN_MOV,    /* plain move, either direction */
    INSN_MOVZX,  /* read, zero-extended into a wider register */
    INSN_MOVSX,  /* read, sign-extended into a wider register */
    INSN_TEST,   /* read, AND with reg/imm, only RFLAGS changes */
    INSN_CMP,    /* read, memory minus imm, only RFLAGS changes */
};

/* How a value read from memory is widened to the register operand size. */
enum insn_ext {
    INSN_EXT_NONE,  /* same size (mov), or no register destination */
    INSN_EXT_ZERO,  /* movzx */
    INSN_EXT_SIGN,  /* movsx */
};

struct insn {
    enum insn_op op;
    bool write;        /* the guest stores to memory (mov to r/m or moffs) */
    uint8_t size;      /* bytes of the memory access: 1, 2, 4 or 8 */
    uint8_t op_size;   /* bytes of the register operand (== size except for
                        * movzx/movsx, where it is the destination width) */
    int8_t reg;        /* GPR (enum gpr numbering, 0-15) that is the source
                        * or destination; -1 when the source is imm */
    bool high_byte;    /* reg names AH/CH/DH/BH: bits 15:8 of reg 0-3 */
    enum insn_ext ext;
    uint64_t imm;      /* immediate (reg == -1, or cmp/test with imm),
                        * sign-extended as the CPU does, truncated to size */
    uint8_t length;    /* total bytes, prefixes to immediate: RIP += length */
};

/* Decode bytes[0..len) as an instruction run with the given default size.
 * Returns 0 with *out filled, or -PL_EINVAL when the instruction is not one
 * of the forms above, has mod == 3 (does not address memory), is longer
 * than INSN_MAX_LEN, or needs more than len bytes. */
int insn_decode(const uint8_t *bytes, size_t len, enum insn_mode mode, struct insn *out);

/* The value a write (in->write) stores: the source register (bits 15:8 for
 * AH..BH) or the immediate, truncated to in->size bytes. */
uint64_t insn_write_value(const struct insn *in, const uint64_t gprs[16]);

/* Complete a mov/movzx/movsx read: place value (the in->size bytes read from
 * the device; higher bits are ignored) in the destination register, widened
 * per in->ext to in->op_size bytes and then written as the CPU writes a
 * register of that size: 1 or 2 bytes merge into the low byte (or bits 15:8
 * for AH..BH) / low word and keep the rest; 4 bytes zero the upper half (the
 * CPU does so in 64-bit mode; outside it the upper half is architecturally
 * undefined, and zero is what hardware leaves); 8 bytes replace it all.
 * Returns 0, or -PL_EINVAL (nothing changed) for a write, TEST or CMP. */
int insn_apply_read(const struct insn *in, uint64_t gprs[16], uint64_t value);

/* RFLAGS bits changed by TEST and CMP. */
#define INSN_FLAG_CF (1ull << 0)
#define INSN_FLAG_PF (1ull << 2)
#define INSN_FLAG_AF (1ull << 4)
#define INSN_FLAG_ZF (1ull << 6)
#define INSN_FLAG_SF (1ull << 7)
#define INSN_FLAG_OF (1ull << 11)
#define INSN_ARITH_FLAGS (INSN_FLAG_CF | INSN_FLAG_PF | INSN_FLAG_AF | INSN_FLAG_ZF | \
                          INSN_FLAG_SF | INSN_FLAG_OF)

/* Complete a TEST or CMP read: the new RFLAGS, given the old one and the
 * value read. CF PF AF ZF SF OF are computed as the CPU does (TEST clears
 * CF, OF and AF, the last being architecturally undefined); all other bits
 * are kept. For other instructions returns rflags unchanged. */
uint64_t insn_compare_flags(const struct insn *in, const uint64_t gprs[16], uint64_t value,
                            uint64_t rflags);

#endif
