#include "arch/x86/insn_decode.h"

#include "hv/compiler.h"
#include "plinth/errno.h"

#define REX_W 0x8u
#define REX_R 0x4u
#define REX_X 0x2u /* only selects the SIB index register: no effect on length */
#define REX_B 0x1u /* only selects the base / rm register: no effect on length */

static uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1; }

/* v's low size bytes, sign-extended to 64 bits. */
static uint64_t sign_extend(uint64_t v, unsigned size)
{
    if (size >= 8)
        return v;
    uint64_t sign = 1ull << (size * 8 - 1);
    v &= size_mask(size);
    return (v ^ sign) - sign;
}

/* Bytes still to be consumed: bounded by both the buffer and the 15-byte
 * architectural limit (longer instructions raise #GP, so never run). */
struct cursor {
    const uint8_t *b;
    size_t end;
    size_t pos;
};

static bool have(const struct cursor *c, size_t n) { return c->end - c->pos >= n; }

static bool next(struct cursor *c, uint8_t *byte)
{
    if (!have(c, 1))
        return false;
    *byte = c->b[c->pos++];
    return true;
}

static bool skip(struct cursor *c, size_t n)
{
    if (!have(c, n))
        return false;
    c->pos += n;
    return true;
}

/* Little-endian immediate of n bytes, sign-extended to 64 bits. */
static bool imm_signed(struct cursor *c, unsigned n, uint64_t *v)
{
    if (!have(c, n))
        return false;
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x |= (uint64_t)c->b[c->pos + i] << (8 * i);
    c->pos += n;
    *v = sign_extend(x, n);
    return true;
}

/* Consume the SIB byte and displacement that follow a ModRM byte which
 * addresses memory (SDM Vol. 2 tables 2-1 to 2-3). addr_size is 2, 4 or 8.
 * In 64-bit mode mod 00 rm 101 is RIP-relative (disp32), with the same
 * length as the absolute disp32 it replaces. */
static bool modrm_memory(struct cursor *c, uint8_t modrm, unsigned addr_size)
{
    unsigned mod = modrm >> 6, rm = modrm & 7u;
    if (mod == 3)
        return false;
    if (addr_size == 2) /* no SIB; [bp] with mod 00 means disp16 */
        return skip(c, mod == 1 ? 1 : mod == 2 ? 2 : rm == 6 ? 2 : 0);
    size_t disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (rm == 4) {
        uint8_t sib;
        if (!next(c, &sib))
            return false;
        if (mod == 0 && (sib & 7u) == 5)
            disp = 4; /* no base register */
    } else if (mod == 0 && rm == 5) {
        disp = 4;
    }
    return skip(c, disp);
}

static bool is_seg_override(uint8_t b)
{
    return b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65;
}

int insn_decode(const uint8_t *bytes, size_t len, enum insn_mode mode, struct insn *out)
{
    if (!bytes || !out || (mode != INSN_MODE_16 && mode != INSN_MODE_32 && mode != INSN_MODE_64))
        return -PL_EINVAL;

    struct cursor c = { bytes, MIN(len, (size_t)INSN_MAX_LEN), 0 };
    bool opsize_prefix = false, addrsize_prefix = false;
    unsigned rex = 0; /* the whole REX byte, 0 when absent */
    uint8_t b;

    for (;;) {
        if (!next(&c, &b))
            return -PL_EINVAL;
        if (mode == INSN_MODE_64 && (b & 0xF0) == 0x40) {
            rex = b; /* only counts if the opcode follows directly */
            continue;
        }
        if (b == 0x66)
            opsize_prefix = true;
        else if (b == 0x67)
            addrsize_prefix = true;
        else if (!is_seg_override(b))
            break; /* opcode; LOCK F0 and REP F2/F3 fall out as unknown below */
        rex = 0; /* a REX before a legacy prefix is ignored (SDM Vol. 2 2.2.1) */
    }

    unsigned osize, asize;
    if (mode == INSN_MODE_16) {
        osize = opsize_prefix ? 4 : 2;
        asize = addrsize_prefix ? 4 : 2;
    } else {
        osize = opsize_prefix ? 2 : 4;
        if (mode == INSN_MODE_64) {
            asize = addrsize_prefix ? 4 : 8;
            if (rex & REX_W)
                osize = 8; /* REX.W wins over 66 */
        } else {
            asize = addrsize_prefix ? 2 : 4;
        }
    }
    unsigned imm_size = MIN(osize, 4u); /* iz: 64-bit forms take imm32 */

    struct insn in = { .op = INSN_MOV, .ext = INSN_EXT_NONE, .reg = -1 };
    bool has_modrm = true, byte_reg = false;
    int need_modrm_reg = -1; /* ModRM.reg value an opcode extension requires */
    unsigned imm_bytes = 0;

    switch (b) {
    case 0x88: in.write = true; in.size = 1; byte_reg = true; break;
    case 0x89: in.write = true; in.size = (uint8_t)osize; break;
    case 0x8A: in.size = 1; byte_reg = true; break;
    case 0x8B: in.size = (uint8_t)osize; break;
    case 0xC6: in.write = true; in.size = 1; need_modrm_reg = 0; imm_bytes = 1; break;
    case 0xC7: in.write = true; in.size = (uint8_t)osize; need_modrm_reg = 0; imm_bytes = imm_size; break;
    case 0x84: in.op = INSN_TEST; in.size = 1; byte_reg = true; break;
    case 0x85: in.op = INSN_TEST; in.size = (uint8_t)osize; break;
    case 0xF6: in.op = INSN_TEST; in.size = 1; need_modrm_reg = 0; imm_bytes = 1; break;
    case 0xF7: in.op = INSN_TEST; in.size = (uint8_t)osize; need_modrm_reg = 0; imm_bytes = imm_size; break;
    case 0x80: in.op = INSN_CMP; in.size = 1; need_modrm_reg = 7; imm_bytes = 1; break;
    case 0x81: in.op = INSN_CMP; in.size = (uint8_t)osize; need_modrm_reg = 7; imm_bytes = imm_size; break;
    case 0x83: in.op = INSN_CMP; in.size = (uint8_t)osize; need_modrm_reg = 7; imm_bytes = 1; break;
    case 0xA0: case 0xA1: case 0xA2: case 0xA3:
        has_modrm = false;
        in.write = b >= 0xA2;
        in.size = (b & 1) ? (uint8_t)osize : 1;
        in.reg = 0; /* AL / AX / EAX / RAX, never AH */
        if (!skip(&c, asize))
            return -PL_EINVAL;
        break;
    case 0x0F:
        if (!next(&c, &b))
            return -PL_EINVAL;
        switch (b) {
        case 0xB6: in.op = INSN_MOVZX; in.ext = INSN_EXT_ZERO; in.size = 1; break;
        case 0xB7: in.op = INSN_MOVZX; in.ext = INSN_EXT_ZERO; in.size = 2; break;
        case 0xBE: in.op = INSN_MOVSX; in.ext = INSN_EXT_SIGN; in.size = 1; break;
        case 0xBF: in.op = INSN_MOVSX; in.ext = INSN_EXT_SIGN; in.size = 2; break;
        default: return -PL_EINVAL; /* includes MOVAPS 0F 28/29 and all SSE */
        }
        in.op_size = (uint8_t)osize;
        break;
    default:
        return -PL_EINVAL; /* LOCK, REP, INC/DEC outside 64-bit mode, ... */
    }
    if (!in.op_size)
        in.op_size = in.size;

    if (has_modrm) {
        uint8_t modrm;
        if (!next(&c, &modrm))
            return -PL_EINVAL;
        unsigned reg = (modrm >> 3) & 7u;
        if (need_modrm_reg >= 0) {
            if (reg != (unsigned)need_modrm_reg)
                return -PL_EINVAL;
        } else {
            reg |= (rex & REX_R) ? 8u : 0u;
            if (byte_reg && !rex && reg >= 4 && reg < 8) {
                in.high_byte = true; /* AH CH DH BH: without REX, 4-7 mean these */
                reg -= 4;
            }
            in.reg = (int8_t)reg;
        }
        if (!modrm_memory(&c, modrm, asize))
            return -PL_EINVAL;
    }

    if (imm_bytes) {
        uint64_t imm;
        if (!imm_signed(&c, imm_bytes, &imm))
            return -PL_EINVAL;
        in.imm = imm & size_mask(in.size);
    }

    in.length = (uint8_t)c.pos;
    *out = in;
    return 0;
}

uint64_t insn_write_value(const struct insn *in, const uint64_t gprs[16])
{
    uint64_t v;
    if (in->reg < 0)
        v = in->imm;
    else if (in->high_byte)
        v = gprs[in->reg & 3] >> 8;
    else
        v = gprs[in->reg & 15];
    return v & size_mask(in->size);
}

int insn_apply_read(const struct insn *in, uint64_t gprs[16], uint64_t value)
{
    if (in->write || in->reg < 0 || in->reg > 15 ||
        (in->op != INSN_MOV && in->op != INSN_MOVZX && in->op != INSN_MOVSX))
        return -PL_EINVAL;
    uint64_t v = value & size_mask(in->size);
    if (in->ext == INSN_EXT_SIGN)
        v = sign_extend(v, in->size);
    v &= size_mask(in->op_size);

    uint64_t *r = &gprs[in->reg];
    switch (in->op_size) {
    case 1:
        if (in->high_byte)
            *r = (*r & ~0xFF00ull) | (v << 8);
        else
            *r = (*r & ~0xFFull) | v;
        break;
    case 2:
        *r = (*r & ~0xFFFFull) | v;
        break;
    case 4: /* zero-extends into bits 63:32 */
    case 8:
        *r = v;
        break;
    default:
        return -PL_EINVAL;
    }
    return 0;
}

static bool parity_even(uint64_t v)
{
    unsigned x = (unsigned)(v & 0xFF);
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return !(x & 1);
}

uint64_t insn_compare_flags(const struct insn *in, const uint64_t gprs[16], uint64_t value,
                            uint64_t rflags)
{
    if (in->write || (in->op != INSN_TEST && in->op != INSN_CMP))
        return rflags;
    uint64_t m = size_mask(in->size);
    uint64_t sign = 1ull << (in->size * 8 - 1);
    uint64_t a = value & m;
    uint64_t s = insn_write_value(in, gprs); /* the reg or imm operand */
    uint64_t res, f = 0;

    if (in->op == INSN_TEST) {
        res = a & s; /* CF = OF = 0; AF undefined, left 0 */
    } else {
        res = (a - s) & m;
        if (a < s)
            f |= INSN_FLAG_CF;
        if ((a ^ s) & (a ^ res) & sign)
            f |= INSN_FLAG_OF;
        if ((a ^ s ^ res) & 0x10)
            f |= INSN_FLAG_AF;
    }
    if (!res)
        f |= INSN_FLAG_ZF;
    if (res & sign)
        f |= INSN_FLAG_SF;
    if (parity_even(res))
        f |= INSN_FLAG_PF;
    return (rflags & ~INSN_ARITH_FLAGS) | f;
}
