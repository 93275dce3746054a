/* Message-signalled interrupts of the control domain's devices: the
 * hypervisor writes the device's MSI capability (PCI 3.0 6.8.1) so that it
 * sends a host vector of ours to CPU 0 (SDM Vol. 3A 11.11: address
 * 0xFEE00000 | APIC ID << 12, physical destination; data = vector, fixed,
 * edge), and the core forwards it. */
#include "arch/x86/percpu.h"
#include "arch/x86/spinlock.h"
#include "arch/x86/trap.h"
#include "hv/arch_cpu.h"
#include "hv/devices.h"
#include "plinth/errno.h"

#define VEC_MSI_FIRST 0x90
#define VEC_MSI_LAST 0xDF
#define PCI_CAP_MSI 0x05
#define MSI_CTRL 2
#define MSI_CTRL_ENABLE (1u << 0)
#define MSI_CTRL_MME_MASK (7u << 4)
#define MSI_CTRL_64BIT (1u << 7)
#define MSI_ADDR_LO 4
#define MSI_ADDR_HI 8
#define MSI_DATA_32 8
#define MSI_DATA_64 12
#define MSI_ADDRESS_BASE 0xFEE00000u
#define MSI_DEST_SHIFT 12

struct msi_slot {
    void (*handler)(unsigned id);
    unsigned id;
    uint16_t bdf;
    bool used;
};

static struct msi_slot slots[VEC_MSI_LAST - VEC_MSI_FIRST + 1];
static spinlock_t msi_lock = SPINLOCK_INIT;

static void msi_fired(struct trap_frame *f)
{
    struct msi_slot *s = &slots[f->vector - VEC_MSI_FIRST];
    void (*fn)(unsigned) = __atomic_load_n(&s->handler, __ATOMIC_ACQUIRE);
    if (fn)
        fn(s->id);
}

int arch_msi_enable(uint16_t bdf, void (*handler)(unsigned id), unsigned id)
{
    unsigned cap = pci_find_cap(bdf, PCI_CAP_MSI);
    if (!cap)
        return -PL_ENOENT;
    uint64_t flags = spin_lock_irqsave(&msi_lock);
    int vec = -1;
    /* A device enabled again keeps its vector: one slot per device, so
     * re-binding cannot use up the vectors. */
    for (unsigned i = 0; i < sizeof(slots) / sizeof(slots[0]) && vec < 0; i++)
        if (slots[i].used && slots[i].bdf == bdf)
            vec = (int)(VEC_MSI_FIRST + i);
    for (unsigned i = 0; i < sizeof(slots) / sizeof(slots[0]) && vec < 0; i++)
        if (!slots[i].used)
            vec = (int)(VEC_MSI_FIRST + i);
    if (vec >= 0)
        slots[vec - VEC_MSI_FIRST] = (struct msi_slot){ .handler = handler, .id = id, .bdf = bdf, .used = true };
    spin_unlock_irqrestore(&msi_lock, flags);
    if (vec < 0)
        return -PL_ENOSPC;
    trap_set_irq_handler((unsigned)vec, msi_fired);
    uint16_t ctrl = (uint16_t)pci_cfg_read(bdf, cap + MSI_CTRL, 2);
    /* Disabled while the message changes; one message (MME 0). */
    pci_cfg_write(bdf, cap + MSI_CTRL, 2, ctrl & ~(MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK));
    pci_cfg_write(bdf, cap + MSI_ADDR_LO, 4, MSI_ADDRESS_BASE | (cpus[0]->apic_id << MSI_DEST_SHIFT));
    if (ctrl & MSI_CTRL_64BIT) {
        pci_cfg_write(bdf, cap + MSI_ADDR_HI, 4, 0);
        pci_cfg_write(bdf, cap + MSI_DATA_64, 2, (uint16_t)vec);
    } else {
        pci_cfg_write(bdf, cap + MSI_DATA_32, 2, (uint16_t)vec);
    }
    pci_cfg_write(bdf, cap + MSI_CTRL, 2, (ctrl & ~MSI_CTRL_MME_MASK) | MSI_CTRL_ENABLE);
    return vec;
}

void arch_msi_disable(uint16_t bdf)
{
    unsigned cap = pci_find_cap(bdf, PCI_CAP_MSI);
    if (cap) {
        uint16_t ctrl = (uint16_t)pci_cfg_read(bdf, cap + MSI_CTRL, 2);
        pci_cfg_write(bdf, cap + MSI_CTRL, 2, ctrl & ~MSI_CTRL_ENABLE);
    }
    uint64_t flags = spin_lock_irqsave(&msi_lock);
    for (unsigned i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
        if (slots[i].used && slots[i].bdf == bdf)
            slots[i] = (struct msi_slot){ 0 };
    spin_unlock_irqrestore(&msi_lock, flags);
}
