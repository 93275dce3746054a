/* SPDX-License-Identifier: MIT */
/* Runs until the control domain destroys it (management tests). */
#include "guest.h"

GUEST("victim");

volatile uint64_t progress;

int main(void)
{
    printf("victim: running until destroyed\n");
    for (;;)
        progress++;
}
