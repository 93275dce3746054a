UNIT_TESTS += dom0_util
UNIT_SRCS_dom0_util := dom0/kernel/util.c hv/format.c
UNIT_TESTS += dom0_lineedit
UNIT_SRCS_dom0_lineedit := dom0/kernel/lineedit.c
UNIT_TESTS += dom0_format
UNIT_SRCS_dom0_format := dom0/kernel/format.c hv/format.c
