UNIT_TESTS += pagetable
UNIT_SRCS_pagetable := arch/x86/pagetable.c
