; AMD-V world switch (AMD APM Vol. 2, 15.5 VMRUN, 15.17 GIF).
;
; void svm_world_switch(uint64_t guest_vmcb_pa, uint64_t *gprs, uint64_t host_vmcb_pa)
;
; VMRUN saves and restores only part of the host state; FS, GS, TR, LDTR,
; KernelGSBase and the SYSCALL MSRs are handled with VMSAVE/VMLOAD on a
; per-CPU host VMCB. Guest RAX and RSP live in the VMCB; the other general
; registers are swapped here from/to gprs[] (enum gpr order: rax rcx rdx rbx
; rsp rbp rsi rdi r8..r15).
;
; Entered with RFLAGS.IF=0. GIF is cleared, then IF set, so physical
; interrupts stay held until VMRUN: with V_INTR_MASKING the host IF at
; VMRUN lets them cause #VMEXIT(INTR) while the guest runs. After the exit
; IF is cleared before GIF is set, so a pending host interrupt waits for the
; caller to enable interrupts.

global svm_world_switch

%include "arch/x86/gprs.inc"

section .text
bits 64
svm_world_switch:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    push rdx                    ; [rsp+16] host vmcb pa
    push rsi                    ; [rsp+8]  gprs
    push rdi                    ; [rsp+0]  guest vmcb pa

    clgi
    mov rax, rdx
    vmsave                   ; host FS/GS/TR/LDTR/... into the host VMCB
    mov rax, [rsp]
    vmload                   ; guest FS/GS/TR/LDTR/...

    mov rax, rsi
    LOAD_GUEST_GPRS_EXCEPT_RAX
    mov rax, [rsp]
    sti
    vmrun                       ; implicit operand: rAX = VMCB
    ; #VMEXIT: host RAX/RSP/RIP are back, GIF=0.
    mov rax, [rsp + 8]
    SAVE_GUEST_GPRS_EXCEPT_RAX

    mov rax, [rsp]
    vmsave                   ; guest FS/GS/... back into its VMCB
    mov rax, [rsp + 16]
    vmload                   ; host FS/GS/TR/... (our GS base is per-CPU data)
    cli
    stgi

    add rsp, 24
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
