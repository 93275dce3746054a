; Interrupt and exception entry stubs: one per vector, all funnelling into
; trap_entry_common, which saves the general registers as a struct trap_frame
; (arch/x86/trap.h) and calls trap_dispatch(frame).

extern trap_dispatch
global isr_stub_table

section .text
bits 64

; Vectors for which the CPU pushes an error code (SDM Vol. 3A 6.13, table 6-1).
%define HAS_ERRCODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%assign v 0
%rep 256
align 16
isr_stub_ %+ v:
%if !HAS_ERRCODE(v)
    push 0
%endif
    push v
    jmp trap_entry_common
%assign v v + 1
%endrep

trap_entry_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
    mov rdi, rsp
    call trap_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                         ; vector and error code
    iretq

section .rodata
align 8
isr_stub_table:
%assign v 0
%rep 256
    dq isr_stub_ %+ v
%assign v v + 1
%endrep
