# dom0's network backends (dom0/virtio): the virtio-net device on the
# virtio-mmio model, and the learning switch with VLANs between domUs.
UNIT_TESTS += virtio_net vswitch
UNIT_SRCS_virtio_net := dom0/virtio/virtq.c dom0/virtio/mmio_dev.c dom0/virtio/net_backend.c
UNIT_SRCS_vswitch := dom0/virtio/vswitch.c
# The unit rule's header list does not cover dom0/virtio.
$(BUILD)/unit/test_virtio_net $(BUILD)/unit/test_vswitch: $(wildcard dom0/virtio/*.h) tests/unit/test_virtio_drv.h
