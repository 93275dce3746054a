UNIT_TESTS += virtio_isr
UNIT_SRCS_virtio_isr := hv/virtio_isr.c
