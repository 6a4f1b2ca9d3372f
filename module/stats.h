/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting an event: globally, for the connection's service port and for
 * its governing policy (stats.c).
 */
#ifndef KAP_STATS_H
#define KAP_STATS_H

#include <linux/types.h>

#include "counters.h"

struct kap_counters {
	u64 c[KAP_NR_COUNTERS];
};

void kap_count(enum kap_counter c, u16 port,
	       struct kap_counters __percpu *policy);
void kap_stats_sum(struct kap_counters __percpu *pcpu,
		   u64 out[KAP_NR_COUNTERS]);

#endif /* KAP_STATS_H */
