UNIT_TESTS += evtchn
UNIT_SRCS_evtchn := hv/evtchn_core.c
