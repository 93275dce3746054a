/* SPDX-License-Identifier: MIT */
/* 32-bit multiboot (v1) guest entry: protected mode, paging off, flat
 * segments, EAX = 0x2BADB002, EBX = multiboot info. Keep the registers,
 * set a stack, clear .bss, then run guest_start() in runtime.c. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text.start, "ax"
    .globl _start
    .code32
_start:
    movl %eax, boot_reg_a
    movl %ebx, boot_reg_b
    movl $stack_top, %esp
    pushfl
    popl boot_rflags
    cli
    cld

    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    xorl %ebp, %ebp
    call guest_start
1:  cli
    hlt
    jmp 1b

    .bss
    .align 16
    .space 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
