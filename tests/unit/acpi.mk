UNIT_TESTS += acpi
UNIT_SRCS_acpi := hv/acpi.c hv/format.c
