UNIT_TESTS += ept_npt
UNIT_SRCS_ept_npt := arch/x86/pagetable.c
