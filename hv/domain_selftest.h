#ifndef HV_DOMAIN_SELFTEST_H
#define HV_DOMAIN_SELFTEST_H

#include <stdbool.h>

/* Create and destroy domains of several sizes in a loop; false if any
 * frame was not returned (selftest=domains). */
bool domain_selftest(void);

#endif
