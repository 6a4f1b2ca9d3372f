/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting an event: globally, for the connection's service port and for
 * its governing policy (stats.c).
 */
#ifndef KAP_STATS_H
#define KAP_STATS_H

#include <linux/bits.h>
#include <linux/types.h>

#include "counters.h"

struct kap_counters {
	u64 c[KAP_NR_COUNTERS];
};

void kap_count(enum kap_counter c, u16 port,
	       struct kap_counters __percpu *policy);
void kap_stats_sum(struct kap_counters __percpu *pcpu,
		   u64 out[KAP_NR_COUNTERS]);

/*
 * An established connection died after an idle period (no data either way):
 * how, for the deaths file and the idle_death trace event.
 */
enum kap_death_kind {
	KAP_DEATH_RESET,	/* a RST answered the first segment after idle */
	KAP_DEATH_RETRANS,	/* that segment was never acknowledged: RTO */
	KAP_DEATH_KEEPALIVE,	/* keepalive probes unanswered */
	KAP_NR_DEATHS
};

/* Which side of the connection the service port is (the deaths file). */
#define KAP_DEATH_LOCAL		BIT(0)	/* local port: an accepted connection */
#define KAP_DEATH_REMOTE	BIT(1)	/* remote port: one this host opened */

void kap_count_death(enum kap_death_kind kind, u16 port, u8 side,
		     bool governed, u32 idle_ms);

#endif /* KAP_STATS_H */
