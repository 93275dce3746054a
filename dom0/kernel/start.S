/* dom0 entry. The hypervisor starts us in 64-bit long mode with its
 * identity map of the first 4 GiB, RSP = 0x80000, IF = 0, and RDI = RBX =
 * the guest-physical address of struct plinth_start_info (0 from a
 * hypervisor that does not pass one). Load our own GDT, switch to our
 * stack, clear .bss and call kmain(start_info). */

    .section .text.start, "ax"
    .globl _start
    .code64
_start:
    cli
    cld
    movq %rdi, %r12             /* start info, kept across the .bss clear */
    movq $stack_top, %rsp

    lgdt gdtr(%rip)
    pushq $0x08
    leaq 1f(%rip), %rax
    pushq %rax
    lretq                       /* reload CS from our GDT */
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
    xorl %eax, %eax
    rep stosb                   /* the stack is in .bss but holds nothing yet */

    movq %r12, %rdi
    xorl %ebp, %ebp
    call kmain
2:  cli
    hlt
    jmp 2b

/* Interrupt entry: 256 stubs, 16 bytes apart, then a common path saving
 * the general registers as a struct trap_frame for trap_dispatch(). */
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
    movq %rsp, %rdi             /* 22 quadwords since the CPU aligned RSP: 16-byte aligned */
    cld
    call trap_dispatch
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
    addq $16, %rsp              /* vector, error code */
    iretq

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
    .align 4096
    .space 65536
    .globl stack_top
stack_top:

    .section .note.GNU-stack, "", @progbits
