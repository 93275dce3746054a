; VT-x world switch (SDM Vol. 3C 27 VM entries, 28 VM exits, 31.3 VMLAUNCH/
; VMRESUME).
;
; int vmx_world_switch(uint64_t *gprs, uint64_t launched)
;
; The current VMCS (VMPTRLD by the caller) holds everything but the general
; registers: guest RSP/RIP/RFLAGS and host RIP (= vmx_vmexit), CR0/3/4,
; segments... HOST_RSP is written here, with the stack pointer the exit
; must come back to. Guest RSP lives in the VMCS; the other registers are
; swapped here from/to gprs[] (enum gpr order: rax rcx rdx rbx rsp rbp rsi
; rdi r8..r15).
;
; Entered with RFLAGS.IF=0; a VM exit loads RFLAGS with only bit 1 set
; (28.5.3), so it returns with interrupts still disabled. External
; interrupts cause exits (pin-based control) and, since "acknowledge
; interrupt on exit" is 0, stay pending in the LAPIC for the host to take.
;
; Returns 0 after a VM exit, 1 when VMLAUNCH/VMRESUME failed with
; VMfailInvalid (CF=1), 2 with VMfailValid (ZF=1: VM_INSTRUCTION_ERROR
; says why). After a failure the host registers are as they were (the
; instruction did nothing but set flags).

global vmx_world_switch
global vmx_vmexit

%define VMCS_HOST_RSP 0x6C14

%include "arch/x86/gprs.inc"

section .text
bits 64
vmx_world_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi                    ; [rsp] = gprs, found again after the exit

    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp            ; the exit resumes at vmx_vmexit on this stack
    jbe .fail_nocheck           ; no current VMCS or field refused

    test rsi, rsi               ; ZF = first entry; MOVs below keep the flags
    mov rax, rdi
    LOAD_GUEST_GPRS_EXCEPT_RAX
    mov rax, [rax + G_RAX]
    jnz .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    ; Only reached when the entry failed: CF=1 invalid, ZF=1 valid.
    mov eax, 1
    jc vmx_switch_out
    mov eax, 2
    jmp vmx_switch_out
.fail_nocheck:
    mov eax, 1
    jc vmx_switch_out
    mov eax, 2
    jmp vmx_switch_out

vmx_vmexit:
    ; RSP = HOST_RSP: [rsp] = gprs. Every other register holds guest values.
    push rax
    mov rax, [rsp + 8]
    SAVE_GUEST_GPRS_EXCEPT_RAX
    pop qword [rax + G_RAX]
    xor eax, eax

vmx_switch_out:
    add rsp, 8                  ; gprs
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
