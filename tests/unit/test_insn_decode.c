#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/insn_decode.h"
#include "plinth/errno.h"

/* Register numbers as in hv/vcpu.h enum gpr (ModRM order). */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

#define M16 INSN_MODE_16
#define M32 INSN_MODE_32
#define M64 INSN_MODE_64
#define RD false
#define WR true
#define NOEXT INSN_EXT_NONE
#define ZX INSN_EXT_ZERO
#define SX INSN_EXT_SIGN

/* ------------------------------------------------------------------ decode table
 *
 * Byte sequences as GNU as assembles them (checked with objdump). */

struct dcase {
    const char *name;
    enum insn_mode mode;
    uint8_t n;
    uint8_t bytes[INSN_MAX_LEN];
    struct insn want;
};

#define E(op_, wr_, size_, opsz_, reg_, hi_, ext_, imm_, len_) \
    { .op = (op_), .write = (wr_), .size = (size_), .op_size = (opsz_), .reg = (reg_), \
      .high_byte = (hi_), .ext = (ext_), .imm = (imm_), .length = (len_) }
#define B(...) sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ }

static const struct dcase cases[] = {
    /* mov r/m, r and mov r, r/m */
    { "mov eax,[rdi]", M64, B(0x8b, 0x07), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 2) },
    { "mov [rsi],ecx", M64, B(0x89, 0x0e), E(INSN_MOV, WR, 4, 4, RCX, false, NOEXT, 0, 2) },
    { "mov rax,[rdi+8]", M64, B(0x48, 0x8b, 0x47, 0x08), E(INSN_MOV, RD, 8, 8, RAX, false, NOEXT, 0, 4) },
    { "mov [rsp+0x10],r8d", M64, B(0x44, 0x89, 0x44, 0x24, 0x10),
      E(INSN_MOV, WR, 4, 4, R8, false, NOEXT, 0, 5) },
    { "mov [rsi],ax", M64, B(0x66, 0x89, 0x06), E(INSN_MOV, WR, 2, 2, RAX, false, NOEXT, 0, 3) },
    { "mov [rsi],ah", M64, B(0x88, 0x26), E(INSN_MOV, WR, 1, 1, RAX, true, NOEXT, 0, 2) },
    { "mov [rsi],spl", M64, B(0x40, 0x88, 0x26), E(INSN_MOV, WR, 1, 1, RSP, false, NOEXT, 0, 3) },
    { "mov ah,[rsi]", M64, B(0x8a, 0x26), E(INSN_MOV, RD, 1, 1, RAX, true, NOEXT, 0, 2) },
    { "mov bh,[rsi]", M64, B(0x8a, 0x3e), E(INSN_MOV, RD, 1, 1, RBX, true, NOEXT, 0, 2) },
    { "mov sil,[rsi]", M64, B(0x40, 0x8a, 0x36), E(INSN_MOV, RD, 1, 1, RSI, false, NOEXT, 0, 3) },
    { "mov dl,[rsi]", M64, B(0x8a, 0x16), E(INSN_MOV, RD, 1, 1, RDX, false, NOEXT, 0, 2) },
    /* REX.R extends reg; REX.B and REX.X only select address registers */
    { "mov r15,[rdi]", M64, B(0x4c, 0x8b, 0x3f), E(INSN_MOV, RD, 8, 8, R15, false, NOEXT, 0, 3) },
    { "mov [r14],r9b", M64, B(0x45, 0x88, 0x0e), E(INSN_MOV, WR, 1, 1, R9, false, NOEXT, 0, 3) },
    { "mov r13b,[rsi]", M64, B(0x44, 0x8a, 0x2e), E(INSN_MOV, RD, 1, 1, R13, false, NOEXT, 0, 3) },
    { "mov eax,[r15]", M64, B(0x41, 0x8b, 0x07), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 3) },
    { "mov eax,[rsi+r9*4]", M64, B(0x42, 0x8b, 0x04, 0x8e), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 4) },
    { "mov r8,[rbp+0]", M64, B(0x4c, 0x8b, 0x45, 0x00), E(INSN_MOV, RD, 8, 8, R8, false, NOEXT, 0, 4) },
    { "mov eax,[r13+0] (REX.B rm=5 mod 1 is not rip-rel)", M64, B(0x41, 0x8b, 0x45, 0x00),
      E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 4) },
    { "mov eax,[r12] (REX.B rm=4 still has SIB)", M64, B(0x41, 0x8b, 0x04, 0x24),
      E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 4) },
    /* addressing forms */
    { "mov eax,[rip+0x100]", M64, B(0x8b, 0x05, 0x00, 0x01, 0x00, 0x00),
      E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 6) },
    { "mov eax,[rsi+rcx*4+0x1000]", M64, B(0x8b, 0x84, 0x8e, 0x00, 0x10, 0x00, 0x00),
      E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 7) },
    { "mov eax,[rcx*4+0x1000] (SIB no base)", M64, B(0x8b, 0x04, 0x8d, 0x00, 0x10, 0x00, 0x00),
      E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 7) },
    { "mov eax,[rsp]", M64, B(0x8b, 0x04, 0x24), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 3) },
    { "mov eax,[edi] (67)", M64, B(0x67, 0x8b, 0x07), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 3) },
    { "mov eax,[eip+x] (67)", M64, B(0x67, 0x8b, 0x05, 1, 2, 3, 4), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 7) },
    { "mov eax,fs:[rbx]", M64, B(0x64, 0x8b, 0x03), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 3) },
    { "mov rax,gs:0", M64, B(0x65, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00),
      E(INSN_MOV, RD, 8, 8, RAX, false, NOEXT, 0, 9) },
    { "mov ecx,es:cs:ss:ds:[rdx]", M64, B(0x26, 0x2e, 0x36, 0x3e, 0x8b, 0x0a),
      E(INSN_MOV, RD, 4, 4, RCX, false, NOEXT, 0, 6) },
    /* prefix interplay */
    { "REX.W beats 66", M64, B(0x66, 0x48, 0x8b, 0x07), E(INSN_MOV, RD, 8, 8, RAX, false, NOEXT, 0, 4) },
    { "REX before 66 is ignored", M64, B(0x48, 0x66, 0x8b, 0x07), E(INSN_MOV, RD, 2, 2, RAX, false, NOEXT, 0, 4) },
    { "REX before seg is ignored: ah", M64, B(0x40, 0x3e, 0x88, 0x26), E(INSN_MOV, WR, 1, 1, RAX, true, NOEXT, 0, 4) },
    { "last REX counts", M64, B(0x4c, 0x40, 0x8b, 0x07), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 4) },
    { "REX.W ignored for 8-bit", M64, B(0x48, 0x88, 0x07), E(INSN_MOV, WR, 1, 1, RAX, false, NOEXT, 0, 3) },
    /* immediates */
    { "mov dword [rdi+4],0x12345678", M64, B(0xc7, 0x47, 0x04, 0x78, 0x56, 0x34, 0x12),
      E(INSN_MOV, WR, 4, 4, -1, false, NOEXT, 0x12345678, 7) },
    { "mov qword [rdi],-1", M64, B(0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff),
      E(INSN_MOV, WR, 8, 8, -1, false, NOEXT, 0xffffffffffffffffull, 7) },
    { "mov qword [rdi],0x7fffffff", M64, B(0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0x7f),
      E(INSN_MOV, WR, 8, 8, -1, false, NOEXT, 0x7fffffffull, 7) },
    { "mov dword [rdi],0x80000000", M64, B(0xc7, 0x07, 0x00, 0x00, 0x00, 0x80),
      E(INSN_MOV, WR, 4, 4, -1, false, NOEXT, 0x80000000ull, 6) },
    { "mov word [rdi],0x1234", M64, B(0x66, 0xc7, 0x07, 0x34, 0x12),
      E(INSN_MOV, WR, 2, 2, -1, false, NOEXT, 0x1234, 5) },
    { "mov byte [rdi],0x80", M64, B(0xc6, 0x07, 0x80), E(INSN_MOV, WR, 1, 1, -1, false, NOEXT, 0x80, 3) },
    { "mov byte [rsp+8],1 (SIB+disp8+imm8)", M64, B(0xc6, 0x44, 0x24, 0x08, 0x01),
      E(INSN_MOV, WR, 1, 1, -1, false, NOEXT, 1, 5) },
    { "mov dword [rip+x],imm (disp32+imm32)", M64, B(0xc7, 0x05, 1, 2, 3, 4, 0xef, 0xbe, 0xad, 0xde),
      E(INSN_MOV, WR, 4, 4, -1, false, NOEXT, 0xdeadbeef, 10) },
    /* movzx / movsx */
    { "movzx eax,byte [rdi]", M64, B(0x0f, 0xb6, 0x07), E(INSN_MOVZX, RD, 1, 4, RAX, false, ZX, 0, 3) },
    { "movzx eax,word [rdi+2]", M64, B(0x0f, 0xb7, 0x47, 0x02), E(INSN_MOVZX, RD, 2, 4, RAX, false, ZX, 0, 4) },
    { "movzx r10,byte [rdi] (REX.WR)", M64, B(0x4c, 0x0f, 0xb6, 0x17), E(INSN_MOVZX, RD, 1, 8, R10, false, ZX, 0, 4) },
    { "movzx esp,byte [rdi]: no high byte", M64, B(0x0f, 0xb6, 0x27), E(INSN_MOVZX, RD, 1, 4, RSP, false, ZX, 0, 3) },
    { "movsx rax,byte [rdi]", M64, B(0x48, 0x0f, 0xbe, 0x07), E(INSN_MOVSX, RD, 1, 8, RAX, false, SX, 0, 4) },
    { "movsx ecx,word [rsi+2]", M64, B(0x0f, 0xbf, 0x4e, 0x02), E(INSN_MOVSX, RD, 2, 4, RCX, false, SX, 0, 4) },
    { "movsx ax,byte [rdi]", M64, B(0x66, 0x0f, 0xbe, 0x07), E(INSN_MOVSX, RD, 1, 2, RAX, false, SX, 0, 4) },
    /* moffs */
    { "mov eax,[moffs64]", M64, B(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
      E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 9) },
    { "mov rax,[moffs64]", M64, B(0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
      E(INSN_MOV, RD, 8, 8, RAX, false, NOEXT, 0, 10) },
    { "mov [moffs64],al", M64, B(0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
      E(INSN_MOV, WR, 1, 1, RAX, false, NOEXT, 0, 9) },
    { "mov [moffs64],ax", M64, B(0x66, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
      E(INSN_MOV, WR, 2, 2, RAX, false, NOEXT, 0, 10) },
    { "mov al,[moffs32] (67)", M64, B(0x67, 0xa0, 0x78, 0x56, 0x34, 0x12),
      E(INSN_MOV, RD, 1, 1, RAX, false, NOEXT, 0, 6) },
    { "mov eax,[moffs32] 32-bit", M32, B(0xa1, 0x34, 0x12, 0x00, 0x00), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 5) },
    { "mov [moffs32],ax 32-bit", M32, B(0x66, 0xa3, 0x78, 0x56, 0x34, 0x12),
      E(INSN_MOV, WR, 2, 2, RAX, false, NOEXT, 0, 6) },
    { "mov eax,[moffs16] 32-bit (67)", M32, B(0x67, 0xa1, 0x34, 0x12), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 4) },
    { "mov ax,[moffs16] 16-bit", M16, B(0xa1, 0x34, 0x12), E(INSN_MOV, RD, 2, 2, RAX, false, NOEXT, 0, 3) },
    { "mov eax,[moffs16] 16-bit", M16, B(0x66, 0xa1, 0x34, 0x12), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 4) },
    { "mov al,[moffs16] 16-bit", M16, B(0xa0, 0x34, 0x12), E(INSN_MOV, RD, 1, 1, RAX, false, NOEXT, 0, 3) },
    /* 32-bit code */
    { "32: mov eax,[esi]", M32, B(0x8b, 0x06), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 2) },
    { "32: mov eax,[disp32]", M32, B(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 6) },
    { "32: mov eax,[ebx+disp32]", M32, B(0x8b, 0x83, 0x78, 0x56, 0x34, 0x12), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 6) },
    { "32: mov eax,[bx+2] (67)", M32, B(0x67, 0x8b, 0x47, 0x02), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 4) },
    { "32: mov eax,[disp16] (67)", M32, B(0x67, 0x8b, 0x06, 0x34, 0x12), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 5) },
    { "32: mov eax,[si] (67, rm=4 has no SIB)", M32, B(0x67, 0x8b, 0x04), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 3) },
    { "32: mov [esi],ah", M32, B(0x88, 0x26), E(INSN_MOV, WR, 1, 1, RAX, true, NOEXT, 0, 2) },
    { "32: movzx eax,word [edi+2]", M32, B(0x0f, 0xb7, 0x47, 0x02), E(INSN_MOVZX, RD, 2, 4, RAX, false, ZX, 0, 4) },
    { "32: mov word [edi],0x1234", M32, B(0x66, 0xc7, 0x07, 0x34, 0x12), E(INSN_MOV, WR, 2, 2, -1, false, NOEXT, 0x1234, 5) },
    /* 16-bit code */
    { "16: mov ax,[disp16]", M16, B(0x8b, 0x06, 0x34, 0x12), E(INSN_MOV, RD, 2, 2, RAX, false, NOEXT, 0, 4) },
    { "16: mov eax,[disp16] (66)", M16, B(0x66, 0x8b, 0x06, 0x34, 0x12), E(INSN_MOV, RD, 4, 4, RAX, false, NOEXT, 0, 5) },
    { "16: mov ax,[si]", M16, B(0x8b, 0x04), E(INSN_MOV, RD, 2, 2, RAX, false, NOEXT, 0, 2) },
    { "16: mov ax,[esp] (67: SIB)", M16, B(0x67, 0x8b, 0x04, 0x24), E(INSN_MOV, RD, 2, 2, RAX, false, NOEXT, 0, 4) },
    { "16: mov ax,[bp+di+0x5678]", M16, B(0x8b, 0x83, 0x78, 0x56), E(INSN_MOV, RD, 2, 2, RAX, false, NOEXT, 0, 4) },
    { "16: mov word [bx],0x1234", M16, B(0xc7, 0x07, 0x34, 0x12), E(INSN_MOV, WR, 2, 2, -1, false, NOEXT, 0x1234, 4) },
    { "16: mov dword [bx],imm32 (66)", M16, B(0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12),
      E(INSN_MOV, WR, 4, 4, -1, false, NOEXT, 0x12345678, 7) },
    /* test / cmp */
    { "test [rdi],eax", M64, B(0x85, 0x07), E(INSN_TEST, RD, 4, 4, RAX, false, NOEXT, 0, 2) },
    { "test [rdi],ah", M64, B(0x84, 0x27), E(INSN_TEST, RD, 1, 1, RAX, true, NOEXT, 0, 2) },
    { "test byte [rdi],1", M64, B(0xf6, 0x07, 0x01), E(INSN_TEST, RD, 1, 1, -1, false, NOEXT, 1, 3) },
    { "test dword [rdi],0x80000000", M64, B(0xf7, 0x07, 0x00, 0x00, 0x00, 0x80),
      E(INSN_TEST, RD, 4, 4, -1, false, NOEXT, 0x80000000, 6) },
    { "cmp dword [rdi],0", M64, B(0x83, 0x3f, 0x00), E(INSN_CMP, RD, 4, 4, -1, false, NOEXT, 0, 3) },
    { "cmp qword [rdi+8],-1", M64, B(0x48, 0x83, 0x7f, 0x08, 0xff),
      E(INSN_CMP, RD, 8, 8, -1, false, NOEXT, 0xffffffffffffffffull, 5) },
    { "cmp dword [rdi],-1 (83: imm8 sign-extended)", M64, B(0x83, 0x3f, 0xff),
      E(INSN_CMP, RD, 4, 4, -1, false, NOEXT, 0xffffffffull, 3) },
    { "cmp byte [rsi],0x7f", M64, B(0x80, 0x3e, 0x7f), E(INSN_CMP, RD, 1, 1, -1, false, NOEXT, 0x7f, 3) },
    { "cmp dword [rdi+4],0x12345678", M64, B(0x81, 0x7f, 0x04, 0x78, 0x56, 0x34, 0x12),
      E(INSN_CMP, RD, 4, 4, -1, false, NOEXT, 0x12345678, 7) },
    { "cmp word [rdi],0x1234", M64, B(0x66, 0x81, 0x3f, 0x34, 0x12), E(INSN_CMP, RD, 2, 2, -1, false, NOEXT, 0x1234, 5) },
};

static void check_insn(const char *name, const struct insn *got, const struct insn *want)
{
#define FIELD(f) \
    if ((int64_t)got->f != (int64_t)want->f) \
        fail_msg("%s: " #f " is %" PRId64 ", want %" PRId64, name, (int64_t)got->f, (int64_t)want->f)
    FIELD(op);
    FIELD(write);
    FIELD(size);
    FIELD(op_size);
    FIELD(reg);
    FIELD(high_byte);
    FIELD(ext);
    FIELD(length);
    if (got->imm != want->imm)
        fail_msg("%s: imm is %#" PRIx64 ", want %#" PRIx64, name, got->imm, want->imm);
#undef FIELD
}

static void test_decode_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dcase *c = &cases[i];
        struct insn got;
        memset(&got, 0x5a, sizeof(got));
        int rc = insn_decode(c->bytes, c->n, c->mode, &got);
        if (rc != 0)
            fail_msg("%s: decode returned %d", c->name, rc);
        check_insn(c->name, &got, &c->want);
        if (got.length != c->n)
            fail_msg("%s: length %u but the case has %u bytes", c->name, got.length, c->n);
    }
}

/* Bytes after the instruction (the next one, or junk) are not consumed. */
static void test_trailing_bytes_ignored(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dcase *c = &cases[i];
        uint8_t buf[INSN_MAX_LEN + 8];
        memset(buf, 0x0f, sizeof(buf)); /* would be an escape byte if read */
        memcpy(buf, c->bytes, c->n);
        struct insn got;
        int rc = insn_decode(buf, sizeof(buf), c->mode, &got);
        if (rc != 0)
            fail_msg("%s (+trailing): decode returned %d", c->name, rc);
        check_insn(c->name, &got, &c->want);
    }
}

/* Every strict prefix of every instruction is too short. Each cut is copied
 * into a buffer of exactly that size, so AddressSanitizer catches a
 * decoder that looks past len. */
static void test_truncated_at_every_cut(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dcase *c = &cases[i];
        for (size_t k = 0; k <= c->n; k++) {
            uint8_t *buf = malloc(k ? k : 1);
            assert_non_null(buf);
            memcpy(buf, c->bytes, k);
            struct insn got;
            int rc = insn_decode(buf, k, c->mode, &got);
            free(buf);
            if (k < c->n && rc != -PL_EINVAL)
                fail_msg("%s cut to %zu of %u bytes: returned %d", c->name, k, c->n, rc);
            if (k == c->n && rc != 0)
                fail_msg("%s at full length: returned %d", c->name, rc);
        }
    }
}

/* ------------------------------------------------------------------ rejections */

struct rcase {
    const char *name;
    enum insn_mode mode;
    uint8_t n;
    uint8_t bytes[INSN_MAX_LEN + 2];
};

static const struct rcase rejects[] = {
    /* mod == 3: register operands, no memory access */
    { "mov eax,ecx (89 c8)", M64, B(0x89, 0xc8) },
    { "mov eax,ecx (8b c1)", M64, B(0x8b, 0xc1) },
    { "mov al,ah (88 e0)", M64, B(0x88, 0xe0) },
    { "mov eax,1 (c7 c0)", M64, B(0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00) },
    { "mov al,1 (c6 c0)", M64, B(0xc6, 0xc0, 0x01) },
    { "movzx eax,al", M64, B(0x0f, 0xb6, 0xc0) },
    { "movsx eax,ax", M64, B(0x0f, 0xbf, 0xc0) },
    { "cmp eax,0 (83 f8)", M64, B(0x83, 0xf8, 0x00) },
    { "test eax,eax", M64, B(0x85, 0xc0) },
    { "mov rax,r8 16-bit-addressing mod3", M16, B(0x8b, 0xc0) },
    /* LOCK and REP */
    { "lock mov", M64, B(0xf0, 0x89, 0x07) },
    { "lock add", M64, B(0xf0, 0x83, 0x07, 0x01) },
    { "lock after seg", M64, B(0x3e, 0xf0, 0x89, 0x07) },
    { "rep movsd", M64, B(0xf3, 0xa5) },
    { "rep mov", M64, B(0xf3, 0x89, 0x07) },
    { "repne mov", M64, B(0xf2, 0x8b, 0x07) },
    { "movsd xmm0,[rdi]", M64, B(0xf2, 0x0f, 0x10, 0x07) },
    /* other opcodes */
    { "movaps xmm0,[rdi]", M64, B(0x0f, 0x28, 0x07) },
    { "movaps [rdi],xmm0", M64, B(0x0f, 0x29, 0x07) },
    { "movdqa (66 0f 6f)", M64, B(0x66, 0x0f, 0x6f, 0x07) },
    { "movsb", M64, B(0xa4) },
    { "stosd", M64, B(0xab) },
    { "add [rdi],eax", M64, B(0x01, 0x07) },
    { "inc dword [rdi]", M64, B(0xff, 0x07) },
    { "xchg [rdi],eax", M64, B(0x87, 0x07) },
    { "lea eax,[rdi]", M64, B(0x8d, 0x07) },
    { "mov [rdi],es", M64, B(0x8c, 0x07) },
    { "add byte [rdi],1 (80 /0)", M64, B(0x80, 0x07, 0x01) },
    { "or dword [rdi],1 (83 /1)", M64, B(0x83, 0x0f, 0x01) },
    { "and dword [rdi],imm (81 /4)", M64, B(0x81, 0x27, 0x01, 0x00, 0x00, 0x00) },
    { "not byte [rdi] (f6 /2)", M64, B(0xf6, 0x17) },
    { "neg dword [rdi] (f7 /3)", M64, B(0xf7, 0x1f) },
    { "c6 /1", M64, B(0xc6, 0x4f, 0x01, 0x00) },
    { "c7 /7", M64, B(0xc7, 0x3f, 0x00, 0x00, 0x00, 0x00) },
    { "0f b8 (jmpe/popcnt without f3)", M64, B(0x0f, 0xb8, 0x07) },
    { "0f alone", M64, B(0x0f) },
    { "empty", M64, B(0x90) }, /* nop: not a memory access */
    { "prefixes only", M64, B(0x66, 0x67, 0x48) },
    /* 40-4F are INC/DEC outside 64-bit mode */
    { "32: 48 8b 07", M32, B(0x48, 0x8b, 0x07) },
    { "32: 40 88 26", M32, B(0x40, 0x88, 0x26) },
    { "16: 41 8b 07", M16, B(0x41, 0x8b, 0x07) },
    /* longer than 15 bytes: 14 prefixes + 8b 07 */
    { "16 bytes", M64, B(0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e,
                         0x8b, 0x07) },
    { "16 bytes (imm at the end)", M64, B(0x3e, 0x3e, 0x3e, 0x3e, 0x48, 0xc7, 0x84, 0x24,
                                         0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12) },
};

static void test_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
        const struct rcase *c = &rejects[i];
        struct insn got;
        int rc = insn_decode(c->bytes, c->n, c->mode, &got);
        if (rc != -PL_EINVAL)
            fail_msg("%s: returned %d, want -PL_EINVAL", c->name, rc);
    }
}

static void test_fifteen_bytes_is_the_limit(void **state)
{
    (void)state;
    /* 13 prefixes + 8b 07 = 15 bytes: legal */
    uint8_t b[INSN_MAX_LEN];
    memset(b, 0x3e, 13);
    b[13] = 0x8b;
    b[14] = 0x07;
    struct insn in;
    assert_int_equal(insn_decode(b, sizeof(b), M64, &in), 0);
    assert_int_equal(in.length, 15);
    assert_int_equal(in.size, 4);
    /* one prefix more no longer fits (see rejects), even if len allows it */

    /* 3 prefixes + mov qword [rsp+0x100],imm32: ends exactly at byte 15 */
    const uint8_t c[] = { 0x3e, 0x3e, 0x3e, 0x48, 0xc7, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00,
                          0x78, 0x56, 0x34, 0x12, 0x90 };
    assert_int_equal(insn_decode(c, sizeof(c), M64, &in), 0);
    assert_int_equal(in.length, 15);
    assert_int_equal(in.size, 8);
    assert_int_equal(in.imm, 0x12345678);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const uint8_t b[] = { 0x8b, 0x07 };
    struct insn in;
    assert_int_equal(insn_decode(b, sizeof(b), M64, &in), 0);
    assert_int_equal(insn_decode(NULL, sizeof(b), M64, &in), -PL_EINVAL);
    assert_int_equal(insn_decode(b, sizeof(b), M64, NULL), -PL_EINVAL);
    assert_int_equal(insn_decode(b, sizeof(b), (enum insn_mode)8, &in), -PL_EINVAL);
    assert_int_equal(insn_decode(b, 0, M64, &in), -PL_EINVAL);
}

/* ------------------------------------------------------------------ helpers */

static struct insn dec(enum insn_mode mode, const uint8_t *b, size_t n)
{
    struct insn in;
    assert_int_equal(insn_decode(b, n, mode, &in), 0);
    assert_int_equal(in.length, n);
    return in;
}
#define DEC(mode, ...) dec((mode), (const uint8_t[]){ __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }))

static uint64_t write_value_of(const uint64_t g[16], enum insn_mode mode, const uint8_t *b, size_t n)
{
    struct insn in = dec(mode, b, n);
    assert_true(in.write);
    return insn_write_value(&in, g);
}
#define WV(mode, ...) write_value_of(g, (mode), (const uint8_t[]){ __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }))

static void fill(uint64_t g[16])
{
    for (int i = 0; i < 16; i++)
        g[i] = 0x1111111111111111ull * (uint64_t)(i + 1); /* distinct in every byte */
}

/* All registers but `except` still hold fill() values. */
static void others_untouched(const uint64_t g[16], int except)
{
    uint64_t ref[16];
    fill(ref);
    for (int i = 0; i < 16; i++)
        if (i != except && g[i] != ref[i])
            fail_msg("register %d changed to %#" PRIx64, i, g[i]);
}

static void test_apply_byte(void **state)
{
    (void)state;
    uint64_t g[16];
    struct insn in;

    in = DEC(M64, 0x8a, 0x26); /* mov ah,[rsi] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0xFFABull), 0); /* bits above size ignored */
    assert_int_equal(g[RAX], 0x111111111111AB11ull);
    others_untouched(g, RAX);

    in = DEC(M64, 0x8a, 0x3e); /* mov bh,[rsi] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0xCD), 0);
    assert_int_equal(g[RBX], 0x444444444444CD44ull);
    others_untouched(g, RBX);

    in = DEC(M64, 0x8a, 0x16); /* mov dl,[rsi] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0xCD), 0);
    assert_int_equal(g[RDX], 0x33333333333333CDull);
    others_untouched(g, RDX);

    in = DEC(M64, 0x40, 0x8a, 0x36); /* mov sil,[rsi] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x5A), 0);
    assert_int_equal(g[RSI], 0x777777777777775Aull);
    others_untouched(g, RSI);

    in = DEC(M64, 0x44, 0x8a, 0x2e); /* mov r13b,[rsi] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x00), 0);
    assert_int_equal(g[R13], 0xEEEEEEEEEEEEEE00ull);
    others_untouched(g, R13);

    in = DEC(M64, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8); /* mov al,[moffs] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x99), 0);
    assert_int_equal(g[RAX], 0x1111111111111199ull);
}

static void test_apply_word_merges(void **state)
{
    (void)state;
    uint64_t g[16];
    struct insn in = DEC(M64, 0x66, 0x8b, 0x0f); /* mov cx,[rdi] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x12BEEFull), 0);
    assert_int_equal(g[RCX], 0x222222222222BEEFull);
    others_untouched(g, RCX);

    in = DEC(M16, 0x8b, 0x06, 0x34, 0x12); /* 16-bit code: mov ax,[0x1234] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0xBEEF), 0);
    assert_int_equal(g[RAX], 0x111111111111BEEFull);
}

static void test_apply_dword_zero_extends(void **state)
{
    (void)state;
    uint64_t g[16];
    struct insn in = DEC(M64, 0x8b, 0x07); /* mov eax,[rdi] */
    fill(g);
    g[RAX] = ~0ull;
    assert_int_equal(insn_apply_read(&in, g, 0xAAAAAAAA87654321ull), 0);
    assert_int_equal(g[RAX], 0x87654321ull);

    in = DEC(M64, 0x44, 0x8b, 0x07); /* mov r8d,[rdi] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x12345678), 0);
    assert_int_equal(g[R8], 0x12345678ull);
    others_untouched(g, R8);

    in = DEC(M64, 0x48, 0x8b, 0x07); /* mov rax,[rdi] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x8877665544332211ull), 0);
    assert_int_equal(g[RAX], 0x8877665544332211ull);

    in = DEC(M32, 0xa1, 0x00, 0x10, 0x00, 0x00); /* 32-bit code: mov eax,[0x1000] */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0xCAFEF00D), 0);
    assert_int_equal(g[RAX], 0xCAFEF00Dull);
}

static void test_apply_movzx_movsx(void **state)
{
    (void)state;
    uint64_t g[16];
    struct insn in;

    in = DEC(M64, 0x0f, 0xb6, 0x07); /* movzx eax,byte */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x1FF), 0);
    assert_int_equal(g[RAX], 0xFFull);

    in = DEC(M64, 0x0f, 0xb7, 0x47, 0x02); /* movzx eax,word */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0xFFFF8001ull), 0);
    assert_int_equal(g[RAX], 0x8001ull);

    in = DEC(M64, 0x66, 0x0f, 0xb6, 0x07); /* movzx ax,byte: merges into the low word */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0xFF), 0);
    assert_int_equal(g[RAX], 0x11111111111100FFull);

    in = DEC(M64, 0x0f, 0xbe, 0x07); /* movsx eax,byte: upper half zeroed */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x80), 0);
    assert_int_equal(g[RAX], 0xFFFFFF80ull);
    assert_int_equal(insn_apply_read(&in, g, 0x7F), 0);
    assert_int_equal(g[RAX], 0x7Full);

    in = DEC(M64, 0x48, 0x0f, 0xbe, 0x07); /* movsx rax,byte */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x80), 0);
    assert_int_equal(g[RAX], 0xFFFFFFFFFFFFFF80ull);

    in = DEC(M64, 0x48, 0x0f, 0xbf, 0x07); /* movsx rax,word */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x8000), 0);
    assert_int_equal(g[RAX], 0xFFFFFFFFFFFF8000ull);
    assert_int_equal(insn_apply_read(&in, g, 0x17FFF), 0); /* bit 16 is not the sign */
    assert_int_equal(g[RAX], 0x7FFFull);

    in = DEC(M64, 0x66, 0x0f, 0xbe, 0x07); /* movsx ax,byte */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x80), 0);
    assert_int_equal(g[RAX], 0x111111111111FF80ull);

    in = DEC(M64, 0x0f, 0xbf, 0x4e, 0x02); /* movsx ecx,word */
    fill(g);
    assert_int_equal(insn_apply_read(&in, g, 0x8000), 0);
    assert_int_equal(g[RCX], 0xFFFF8000ull);
    others_untouched(g, RCX);
}

static void test_apply_rejects_non_reads(void **state)
{
    (void)state;
    uint64_t g[16], ref[16];
    fill(g);
    fill(ref);
    struct insn in = DEC(M64, 0x89, 0x07); /* store */
    assert_int_equal(insn_apply_read(&in, g, 0x1234), -PL_EINVAL);
    in = DEC(M64, 0x85, 0x07); /* test */
    assert_int_equal(insn_apply_read(&in, g, 0x1234), -PL_EINVAL);
    in = DEC(M64, 0x83, 0x3f, 0x00); /* cmp */
    assert_int_equal(insn_apply_read(&in, g, 0x1234), -PL_EINVAL);
    in = DEC(M64, 0xc7, 0x07, 1, 0, 0, 0); /* store imm */
    assert_int_equal(insn_apply_read(&in, g, 0x1234), -PL_EINVAL);
    assert_memory_equal(g, ref, sizeof(g));
}

static void test_write_value(void **state)
{
    (void)state;
    uint64_t g[16];
    fill(g);
    g[RAX] = 0x1122334455667788ull;
    g[RCX] = 0xAAAABBBBCCCCDDDDull;
    g[RSP] = 0x00000000000012A5ull;
    g[R8] = 0x0102030405060708ull;

    assert_int_equal(WV(M64, 0x88, 0x26), 0x77);          /* ah */
    assert_int_equal(WV(M64, 0x88, 0x06), 0x88);          /* al */
    assert_int_equal(WV(M64, 0x40, 0x88, 0x26), 0xA5);    /* spl */
    assert_int_equal(WV(M32, 0x88, 0x26), 0x77);          /* ah, 32-bit */
    assert_int_equal(WV(M64, 0x66, 0x89, 0x06), 0x7788);  /* ax */
    assert_int_equal(WV(M64, 0x89, 0x0e), 0xCCCCDDDD);    /* ecx */
    assert_int_equal(WV(M64, 0x44, 0x89, 0x44, 0x24, 0x10), 0x05060708); /* r8d */
    assert_int_equal(WV(M64, 0x4c, 0x89, 0x07), 0x0102030405060708ull); /* r8 */
    assert_int_equal(WV(M64, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 0x55667788); /* eax */
    assert_int_equal(WV(M64, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8),
                     0x1122334455667788ull);
    assert_int_equal(WV(M64, 0xc7, 0x47, 0x04, 0x78, 0x56, 0x34, 0x12), 0x12345678);
    assert_int_equal(WV(M64, 0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff),
                     0xFFFFFFFFFFFFFFFFull);
    assert_int_equal(WV(M64, 0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80),
                     0xFFFFFFFF80000000ull);
    assert_int_equal(WV(M64, 0x66, 0xc7, 0x07, 0x34, 0x12), 0x1234);
    assert_int_equal(WV(M64, 0xc6, 0x07, 0x80), 0x80);
}

/* ------------------------------------------------------------------ test / cmp flags */

#define CF INSN_FLAG_CF
#define PF INSN_FLAG_PF
#define AF INSN_FLAG_AF
#define ZF INSN_FLAG_ZF
#define SF INSN_FLAG_SF
#define OF INSN_FLAG_OF
#define OTHER 0x202ull /* reserved bit 1 and IF: must survive */

static uint64_t flags_after(const struct insn *in, const uint64_t g[16], uint64_t value, uint64_t before)
{
    uint64_t f = insn_compare_flags(in, g, value, before);
    assert_int_equal(f & ~INSN_ARITH_FLAGS, before & ~INSN_ARITH_FLAGS);
    return f & INSN_ARITH_FLAGS;
}

static void test_cmp_flags(void **state)
{
    (void)state;
    uint64_t g[16];
    fill(g);
    const uint64_t all = OTHER | INSN_ARITH_FLAGS;

    struct insn in = DEC(M64, 0x80, 0x3e, 0x7f); /* cmp byte [rsi],0x7f */
    assert_int_equal(flags_after(&in, g, 0x7f, all), ZF | PF);
    assert_int_equal(flags_after(&in, g, 0x80, OTHER), OF | AF);       /* -128 - 127 overflows; 0x01 odd */
    assert_int_equal(flags_after(&in, g, 0x00, OTHER), CF | SF | AF | PF); /* 0x81: borrow, even parity */
    assert_int_equal(flags_after(&in, g, 0x1ff, all), SF);             /* low byte only: 0xff-0x7f = 0x80 */
    assert_int_equal(flags_after(&in, g, 0x90, all), OF | AF | PF);    /* -112 - 127 overflows; 0x11 even */

    in = DEC(M64, 0x83, 0x3f, 0x00); /* cmp dword [rdi],0 */
    assert_int_equal(flags_after(&in, g, 0x80000000, all), SF | PF);
    assert_int_equal(flags_after(&in, g, 0x100000000ull, OTHER), ZF | PF); /* bit 32 is outside */
    assert_int_equal(flags_after(&in, g, 0x1, all), 0);

    in = DEC(M64, 0x48, 0x83, 0x7f, 0x08, 0xff); /* cmp qword [rdi+8],-1 */
    assert_int_equal(flags_after(&in, g, ~0ull, OTHER), ZF | PF);
    assert_int_equal(flags_after(&in, g, 0, OTHER), CF | AF);            /* 0 - (-1) = 1 */
    assert_int_equal(flags_after(&in, g, 0x8000000000000000ull, OTHER), CF | SF | AF); /* min+1: no OF */

    in = DEC(M64, 0x66, 0x81, 0x3f, 0x34, 0x12); /* cmp word [rdi],0x1234 */
    assert_int_equal(flags_after(&in, g, 0x1234, OTHER), ZF | PF);
    assert_int_equal(flags_after(&in, g, 0x8000, OTHER), OF | PF | AF); /* 0x6dcc; 0xcc has 4 bits */
}

static void test_test_flags(void **state)
{
    (void)state;
    uint64_t g[16];
    fill(g);
    const uint64_t all = OTHER | INSN_ARITH_FLAGS;

    g[RAX] = 0xFF00;
    struct insn in = DEC(M64, 0x85, 0x07); /* test [rdi],eax */
    assert_int_equal(flags_after(&in, g, 0x0F0F, all), PF);            /* 0x0f00: low byte 0 */
    assert_int_equal(flags_after(&in, g, 0x00FF, all), ZF | PF);
    g[RAX] = 0x80000001;
    assert_int_equal(flags_after(&in, g, 0xFFFFFFFF, OTHER), SF);      /* low byte 0x01: odd */

    g[RAX] = 0x8000;
    in = DEC(M64, 0x84, 0x27); /* test [rdi],ah */
    assert_int_equal(flags_after(&in, g, 0x80, OTHER), SF);
    assert_int_equal(flags_after(&in, g, 0x7F, all), ZF | PF);

    in = DEC(M64, 0xf6, 0x07, 0x01); /* test byte [rdi],1 */
    assert_int_equal(flags_after(&in, g, 0xFE, all), ZF | PF);
    assert_int_equal(flags_after(&in, g, 0x01, all), 0);

    /* non-compare instructions leave RFLAGS alone */
    in = DEC(M64, 0x8b, 0x07);
    assert_int_equal(insn_compare_flags(&in, g, 0, all), all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_table),
        cmocka_unit_test(test_trailing_bytes_ignored),
        cmocka_unit_test(test_truncated_at_every_cut),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_fifteen_bytes_is_the_limit),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_apply_byte),
        cmocka_unit_test(test_apply_word_merges),
        cmocka_unit_test(test_apply_dword_zero_extends),
        cmocka_unit_test(test_apply_movzx_movsx),
        cmocka_unit_test(test_apply_rejects_non_reads),
        cmocka_unit_test(test_write_value),
        cmocka_unit_test(test_cmp_flags),
        cmocka_unit_test(test_test_flags),
    };
    return cmocka_run_group_tests_name("insn_decode", tests, NULL, NULL);
}
