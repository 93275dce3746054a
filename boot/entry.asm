; Multiboot2 header and 32-bit entry: check for long mode, build the early
; page tables, enter 64-bit mode and jump to the high-half C entry.
; Multiboot2 specification 1.0, sections 3.1 (header) and 3.3 (machine state).

%define KERNEL_VMA        0xFFFFFFFF80000000
%define MB2_HEADER_MAGIC  0xE85250D6
%define MB2_ARCH_I386     0
%define MB2_TAG_END       0
%define MB2_TAG_INFO_REQ  1
%define MB2_TAG_ALIGN     6

%define PTE_P   (1 << 0)
%define PTE_W   (1 << 1)
%define PTE_PS  (1 << 7)

%include "boot/x86.inc"
%define CPUID_EXT_LM (1 << 29)      ; CPUID 8000_0001h EDX (SDM Vol. 2A, CPUID)
%define CPUID_EXT_NX (1 << 20)

%define COM1 0x3F8

%define PHYS(x) ((x) - KERNEL_VMA)

extern hv_main
extern __bss_start
extern __bss_end
global _start
global boot_pml4
global boot_stack_top
global boot_entry_tsc
global boot_nx_enabled

section .multiboot2
align 8
mb2_header:
    dd MB2_HEADER_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    ; Ask for the tags we rely on; GRUB fails the load if it cannot
    ; provide a requested tag, so only the memory map is mandatory.
    align 8
    dw MB2_TAG_INFO_REQ, 0
    dd 12
    dd 6                                ; memory map
    align 8
    dw MB2_TAG_END, 0
    dd 8
mb2_header_end:

section .boot.text
bits 32
_start:
    cli
    cld
    mov edi, eax                        ; bootloader magic, checked in C
    mov esi, ebx                        ; physical address of the boot info
    mov esp, PHYS(boot_stack_top)

    rdtsc                               ; first instruction timestamp for bench/
    mov [PHYS(boot_entry_tsc)], eax
    mov [PHYS(boot_entry_tsc) + 4], edx

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, CPUID_EXT_LM
    jz .no_long_mode
    mov ebp, edx                        ; keep NX support bit

    ; Early tables: identity map of the first 4 GiB (boot info, modules and
    ; the transition code live there) and the kernel window at -2 GiB,
    ; both with 2 MiB pages. C replaces them with final tables.
    mov ecx, 0
.fill_pd:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_P | PTE_W | PTE_PS
    mov [PHYS(boot_pd) + ecx * 8], eax
    mov eax, ecx
    shr eax, 11                         ; bits 32+ of (ecx << 21)
    mov [PHYS(boot_pd) + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 2048
    jb .fill_pd

    mov ecx, 0
.fill_pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, PHYS(boot_pd) + (PTE_P | PTE_W)
    mov [PHYS(boot_pdpt_low) + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb .fill_pdpt

    mov eax, PHYS(boot_pd) + (PTE_P | PTE_W)          ; first GiB again
    mov [PHYS(boot_pdpt_high) + 510 * 8], eax
    mov eax, PHYS(boot_pdpt_low) + (PTE_P | PTE_W)
    mov [PHYS(boot_pml4)], eax
    mov eax, PHYS(boot_pdpt_high) + (PTE_P | PTE_W)
    mov [PHYS(boot_pml4) + 511 * 8], eax

    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PHYS(boot_pml4)
    mov cr3, eax

    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    test ebp, CPUID_EXT_NX
    jz .no_nx
    or eax, EFER_NXE
    mov dword [PHYS(boot_nx_enabled)], 1
.no_nx:
    wrmsr

    ; Caches on: firmware normally leaves them so, but nothing guarantees it
    ; (SDM Vol. 3A 11.5.1, table 11-5).
    mov eax, cr0
    and eax, ~(CR0_CD | CR0_NW)
    or eax, CR0_PG | CR0_WP | CR0_PE
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    jmp 0x08:long_mode_entry

.no_long_mode:
    mov ebx, msg_no_long_mode
.print:
    mov dx, COM1 + 5
.wait_thre:
    in al, dx
    test al, 0x20
    jz .wait_thre
    mov al, [ebx]
    test al, al
    jz .halt
    mov dx, COM1
    out dx, al
    inc ebx
    jmp .print
.halt:
    hlt
    jmp .halt

bits 64
long_mode_entry:
    ; Register upper halves are undefined after the switch to 64-bit mode.
    mov edi, edi
    mov esi, esi
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rax, high_entry
    jmp rax

section .boot.data
align 8
boot_gdt:
    dq 0
    dq 0x00AF9B000000FFFF               ; 0x08: 64-bit code, DPL 0, accessed
    dq 0x00CF93000000FFFF               ; 0x10: data, accessed
boot_gdt_end:
boot_gdt_ptr:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt
msg_no_long_mode:
    db "Plinth: this CPU has no 64-bit long mode; cannot boot.", 13, 10, 0

section .text.entry
bits 64
high_entry:
    mov rsp, boot_stack_top
    ; GRUB zeroes .bss when loading the ELF; clear it again so a loader that
    ; does not cannot leave stale state.
    push rdi
    push rsi
    mov rdi, __bss_start
    mov rcx, __bss_end
    sub rcx, rdi
    shr rcx, 3
    ; boot_pml4 and friends live in .boot_pt, not .bss, so this is safe.
    xor eax, eax
    rep stosq
    pop rsi
    pop rdi
    xor ebp, ebp                        ; end of the backtrace chain
    push 0
    jmp hv_main                         ; (magic, mbi_phys); never returns

section .boot_pt nobits write align=4096
boot_pml4:      resb 4096
boot_pdpt_low:  resb 4096
boot_pdpt_high: resb 4096
boot_pd:        resb 4 * 4096

section .boot_stack nobits write align=16
boot_stack:     resb 16384
boot_stack_top:

section .data
align 8
boot_entry_tsc:   dq 0
boot_nx_enabled:  dd 0
