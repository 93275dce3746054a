# virtio backends of dom0 (dom0/virtio): guest-memory views, split
# virtqueues, the virtio-mmio register model and virtio-blk.
VIRTIO_SRCS := dom0/virtio/virtq.c dom0/virtio/mmio_dev.c dom0/virtio/blk_backend.c
UNIT_TESTS += virtio_blk virtio_virtq virtio_mmio
UNIT_SRCS_virtio_blk := $(VIRTIO_SRCS)
UNIT_SRCS_virtio_virtq := dom0/virtio/virtq.c
UNIT_SRCS_virtio_mmio := dom0/virtio/virtq.c dom0/virtio/mmio_dev.c
# The unit rule's header list does not cover dom0/virtio.
$(BUILD)/unit/test_virtio_blk $(BUILD)/unit/test_virtio_virtq $(BUILD)/unit/test_virtio_mmio: \
    $(wildcard dom0/virtio/*.h) tests/unit/test_virtio_drv.h
