/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, force-included into every object of the
 * module by Kbuild.  The rest of the code is written against the newest
 * supported kernel (6.12) and never tests LINUX_VERSION_CODE itself; what an
 * older kernel lacks is provided here under the newer name.
 */
#ifndef KAP_COMPAT_H
#define KAP_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "kapolicy supports Linux 6.1 and later"
#endif

#endif /* KAP_COMPAT_H */
