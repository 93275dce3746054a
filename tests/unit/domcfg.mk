UNIT_TESTS += domcfg
UNIT_SRCS_domcfg := dom0/domcfg.c hv/format.c
