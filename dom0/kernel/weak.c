/* Defaults for what dom0/drivers provides, so that the kernel links and
 * runs with no drivers: their real (strong) definitions replace these. */
#include "dom0/drivers/dev.h"
#include "dom0/kernel/kernel.h"

__attribute__((weak)) void drivers_init(void)
{
    kprintf("dom0: no device drivers built in\n");
}

__attribute__((weak)) const struct shell_cmd driver_shell_cmds[1] = { { 0 } };
__attribute__((weak)) const unsigned driver_shell_cmd_count = 0;

static struct blkdev *blks[MAX_BLKDEVS];
static struct netdev *nets[MAX_NETDEVS];
static unsigned nblk, nnet;

__attribute__((weak)) int blkdev_register(struct blkdev *b)
{
    if (nblk >= MAX_BLKDEVS)
        return -PL_ENOSPC;
    ksnprintf(b->name, sizeof(b->name), "disk%u", nblk);
    blks[nblk++] = b;
    return 0;
}

__attribute__((weak)) int netdev_register(struct netdev *n)
{
    if (nnet >= MAX_NETDEVS)
        return -PL_ENOSPC;
    ksnprintf(n->name, sizeof(n->name), "net%u", nnet);
    nets[nnet++] = n;
    return 0;
}

__attribute__((weak)) unsigned blkdev_count(void) { return nblk; }
__attribute__((weak)) unsigned netdev_count(void) { return nnet; }
__attribute__((weak)) struct blkdev *blkdev_get(unsigned i) { return i < nblk ? blks[i] : NULL; }
__attribute__((weak)) struct netdev *netdev_get(unsigned i) { return i < nnet ? nets[i] : NULL; }

__attribute__((weak)) struct blkdev *blkdev_find(const char *name)
{
    for (unsigned i = 0; i < nblk; i++)
        if (strcmp(blks[i]->name, name) == 0)
            return blks[i];
    return NULL;
}

__attribute__((weak)) struct netdev *netdev_find(const char *name)
{
    for (unsigned i = 0; i < nnet; i++)
        if (strcmp(nets[i]->name, name) == 0)
            return nets[i];
    return NULL;
}
