; Embeds the flat AP trampoline in the hypervisor image.
global ap_trampoline_start
global ap_trampoline_end
section .rodata
align 16
ap_trampoline_start:
    incbin "build/ap_trampoline.bin"
ap_trampoline_end:
