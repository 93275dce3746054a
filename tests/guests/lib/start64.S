/* SPDX-License-Identifier: MIT */
/* 64-bit guest entry: the loader starts us in long mode at _start with IF=0.
 * Set our own GDT and stack, clear .bss, then run guest_start() in runtime.c. */

    .section .text.start, "ax"
    .globl _start
    .code64
_start:
    movq $stack_top, %rsp
    movq %rdi, boot_reg_a(%rip)
    pushfq
    popq boot_rflags(%rip)
    cli
    cld

    lgdt gdtr(%rip)
    pushq $0x08
    leaq 1f(%rip), %rax
    pushq %rax
    lretq                   /* reload CS from our GDT */
1:  movl $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xorl %eax, %eax
    mov %eax, %fs
    mov %eax, %gs

    movq $__bss_start, %rdi
    movq $__bss_end, %rcx
    subq %rdi, %rcx
    rep stosb               /* the stack is in .bss but holds nothing yet */

    xorl %ebp, %ebp
    call guest_start
2:  cli
    hlt
    jmp 2b

    .section .rodata
    .align 16
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff    /* 0x10: data, 4 GiB, DPL 0 */
gdt_end:
    .align 4
    .word 0
gdtr:
    .word gdt_end - gdt - 1
    .quad gdt

    .bss
    .align 16
    .space 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
