; Application-processor start-up code, assembled as a flat binary and copied
; to a page below 1 MiB whose number is the SIPI vector (SDM Vol. 3A 8.4.4).
; The AP starts in real mode at CS:IP = page<<8 : 0. This code is position
; independent: the C side patches the fields at TRAMPOLINE_PARAMS with
; absolute addresses before each start (arch/x86/smp.c).

%define PARAMS 0xF00
%define P_GDTR       (PARAMS + 0x00)   ; u16 limit, u32 base
%define P_PM_JUMP    (PARAMS + 0x08)   ; u32 offset, u16 selector
%define P_LM_JUMP    (PARAMS + 0x10)   ; u32 offset, u16 selector
%define P_CR3        (PARAMS + 0x18)
%define P_EFER       (PARAMS + 0x20)   ; EFER bits to set
%define P_STACK      (PARAMS + 0x28)
%define P_ENTRY      (PARAMS + 0x30)
%define P_ARG        (PARAMS + 0x38)
%define P_GDT        (PARAMS + 0x40)

%include "boot/x86.inc"

bits 16
org 0
start16:
    cli
    cld
    mov ax, cs
    mov ds, ax
    xor ebx, ebx
    mov bx, ax
    shl ebx, 4                          ; linear base of this page, kept in EBX
    o32 lgdt [P_GDTR]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    o32 jmp far [P_PM_JUMP]

bits 32
start32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, [ebx + P_CR3]
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, [ebx + P_EFER]
    wrmsr
    ; An AP leaves INIT with CR0.CD and CR0.NW set (SDM Vol. 3A 9.1.1,
    ; table 9-1): turn caching on, or this CPU runs uncached.
    mov eax, cr0
    and eax, ~(CR0_CD | CR0_NW)
    or eax, CR0_PG | CR0_WP
    mov cr0, eax
    jmp far [ebx + P_LM_JUMP]

bits 64
start64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, [rbx + P_STACK]
    mov rdi, [rbx + P_ARG]
    mov rax, [rbx + P_ENTRY]
    xor ebp, ebp
    push 0                              ; fake return address ends backtraces
    jmp rax

times PARAMS - ($ - $$) db 0
params:
    dw 0x1F                             ; P_GDTR: limit (4 descriptors)
    dd 0                                ;   base: patched
    times 2 db 0
    dd start32                          ; P_PM_JUMP: offset, patched += base
    dw 0x08
    times 2 db 0
    dd start64                          ; P_LM_JUMP: offset, patched += base
    dw 0x18
    times 2 db 0
    dq 0                                ; P_CR3
    dq 0                                ; P_EFER
    dq 0                                ; P_STACK
    dq 0                                ; P_ENTRY
    dq 0                                ; P_ARG
; Accessed bits are preset: the page is mapped read-only once paging is on,
; and a CPU that sets the bit on a descriptor load would fault on the write
; (Bochs does; SDM Vol. 3A 3.4.5.1).
gdt:                                    ; P_GDT
    dq 0
    dq 0x00CF9B000000FFFF               ; 0x08: 32-bit code
    dq 0x00CF93000000FFFF               ; 0x10: data
    dq 0x00AF9B000000FFFF               ; 0x18: 64-bit code
%if gdt - start16 != P_GDT
%error "trampoline parameter layout drifted"
%endif
