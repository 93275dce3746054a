/* SPDX-License-Identifier: MIT */
/* 64-bit interrupt entry: 256 stubs, 16 bytes apart, and a common path that
 * saves the general registers as a struct int_frame for isr_dispatch(). */

    .text
    .globl isr_stubs
    .align 16
isr_stubs:
    .set .Lvec, 0
    .rept 256
    .align 16
    /* The CPU pushes an error code for these vectors; push 0 for the rest. */
    .if !(.Lvec == 8 || (.Lvec >= 10 && .Lvec <= 14) || .Lvec == 17 || .Lvec == 21 || .Lvec == 29 || .Lvec == 30)
    pushq $0
    .endif
    pushq $.Lvec
    jmp isr_common
    .set .Lvec, .Lvec + 1
    .endr

isr_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rbx
    pushq %rbp
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi         /* 22 quadwords pushed since the CPU aligned RSP: still 16-byte aligned */
    cld
    call isr_dispatch
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rbp
    popq %rbx
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp          /* vector, error code */
    iretq

    .section .note.GNU-stack, "", @progbits
