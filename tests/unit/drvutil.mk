UNIT_TESTS += drvutil
UNIT_SRCS_drvutil := dom0/drivers/drvutil.c
