/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kapolicy: keepalive policy and visibility for every TCP connection.
 *
 * The pieces, each a kap_<piece>_init()/kap_<piece>_uninit() pair called
 * from module init in the order below and torn down in reverse:
 *
 *   sysfs   /sys/kernel/kapolicy, the control and counter surface
 */
#ifndef KAP_KAPOLICY_H
#define KAP_KAPOLICY_H

#include "version.h"

int kap_sysfs_init(void);
void kap_sysfs_uninit(void);

#endif /* KAP_KAPOLICY_H */
