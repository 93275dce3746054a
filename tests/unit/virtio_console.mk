# virtio-console backend of dom0 (dom0/virtio/console_backend.c).
UNIT_TESTS += virtio_console
UNIT_SRCS_virtio_console := dom0/virtio/virtq.c dom0/virtio/mmio_dev.c dom0/virtio/console_backend.c
# The unit rule's header list does not cover dom0/virtio.
$(BUILD)/unit/test_virtio_console: $(wildcard dom0/virtio/*.h) tests/unit/test_virtio_drv.h
