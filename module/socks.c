// SPDX-License-Identifier: GPL-2.0
/*
 * What kapolicy knows of one socket: its identity (the key policies match,
 * its address family, its service port), read off the socket, and its
 * per-socket state.
 *
 * Per-socket state: what kapolicy remembers of a TCP socket between two
 * hook calls (which way it was opened, the probe in flight, an ICMP error
 * that answered it).  The kernel gives a module no room in struct sock, so
 * the state lives in a table keyed by the socket's address.
 *
 * Memory is bounded and allocated once, at module load: max_sockets entries
 * (module parameter, default 65536; 112 bytes each on x86-64) and a bucket array
 * of the next power of two.  Hooks never allocate: an entry comes from the
 * free list; when the list is empty, a socket a policy is about to govern
 * takes the entry of an ungoverned one (limits/sockets_evicted), and any
 * other socket goes untracked, which is counted (limits/sockets_overflow)
 * and costs only the answer time of its probes and the exact direction of
 * its opening (see kap_service_port_guess).  So no number of ungoverned
 * sockets, which any user can open, keeps a policy from governing.
 *
 * Entries are made for sockets with keepalive activity (keepalive on when
 * they open, or a probe sent) and freed by the tcp_destroy_sock tracepoint.
 * A socket that reaches ESTABLISHED resets any stale entry at its address.
 *
 * Context: called from hooks in softirq and process context, with or
 * without the socket lock.  Buckets are guarded by hashed raw spinlocks
 * taken with interrupts off (raw: hook handlers run with preemption off,
 * also on PREEMPT_RT); every access to an entry's state happens under its
 * bucket lock, through kap_sock_call().
 */
#include <linux/cgroup.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "kapolicy.h"
#include "socks.h"

#define KAP_SOCKS_MIN		1024
#define KAP_SOCKS_LIMIT		(16U << 20)
#define KAP_SOCK_LOCK_BITS	10	/* 1024 hashed bucket locks */
#define KAP_EVICT_TRIES		8	/* ungoverned entries tried for one */

/* ---- identity ---------------------------------------------------------- */

/* IPv4, or IPv4-mapped IPv6: what family=4 matches. */
bool kap_sock_is_v4(const struct sock *sk)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		return ipv6_addr_v4mapped(&sk->sk_v6_daddr);
#endif
	return true;
}

void kap_sock_key(const struct sock *sk, struct kap_sock_key *k)
{
	k->m.lport = inet_sk(sk)->inet_num;
	k->m.rport = ntohs(inet_sk(sk)->inet_dport);
	k->m.family = kap_sock_is_v4(sk) ? 4 : 6;
	k->m.netns = sock_net(sk)->net_cookie;
	k->cgrp = sock_cgroup_ptr((struct sock_cgroup_data *)&sk->sk_cgrp_data);
}

/*
 * The service port of a connection whose opening kapolicy did not see
 * (established before the module, or untracked then): the local port if it
 * lies outside the namespace's ephemeral range (net.ipv4.ip_local_port_range:
 * a server's port, or one a client bound on purpose), else the remote port.
 * A connection seen opening has its port in its state: the local port of an
 * accepted one, the remote port of one the host opened.
 */
u16 kap_service_port_guess(const struct sock *sk)
{
	/* not inet_num: closing (TCP_CLOSE) releases the port and zeroes it */
	u16 lport = ntohs(inet_sk(sk)->inet_sport);
	int low, high;

	kap_local_port_range(sock_net(sk), &low, &high);
	if (lport < low || lport > high)
		return lport;
	return ntohs(inet_sk(sk)->inet_dport);
}

/* ---- state -------------------------------------------------------------- */

static unsigned int max_sockets = 65536;
module_param(max_sockets, uint, 0444);
MODULE_PARM_DESC(max_sockets,
		 "sockets whose keepalive state is tracked at once (1024-16777216, default 65536)");

struct kap_sock {
	struct hlist_node node;		/* in a bucket, or in the free list */
	const struct sock *sk;		/* key; NULL while free */
	struct list_head observed;	/* in kap_observed while ungoverned */
	u32 bucket;
	bool governed;			/* st.policy != 0, as last seen */
	struct kap_sock_state st;
};

static struct kap_sock *kap_pool;
static struct hlist_head *kap_buckets;
static unsigned int kap_bucket_bits;
static raw_spinlock_t kap_bucket_locks[1 << KAP_SOCK_LOCK_BITS];

/* The free list and the ungoverned entries in use, oldest first. */
static HLIST_HEAD(kap_free);
static LIST_HEAD(kap_observed);
static DEFINE_RAW_SPINLOCK(kap_free_lock);
static unsigned int kap_used;
static atomic64_t kap_overflow = ATOMIC64_INIT(0);
static atomic64_t kap_evicted = ATOMIC64_INIT(0);

static u32 kap_sock_hash(const struct sock *sk)
{
	return hash_ptr(sk, kap_bucket_bits);
}

static raw_spinlock_t *kap_bucket_lock(u32 bucket)
{
	return &kap_bucket_locks[bucket & ((1 << KAP_SOCK_LOCK_BITS) - 1)];
}

/*
 * Most sockets have no state (no keepalive, no policy): their lookups, a
 * few per connection, see an empty bucket without taking its lock.  The
 * state of sk is only ever made by a hook on sk itself, in a context that
 * owns the socket or runs its timer: made before this call, it is visible
 * here through that ownership's ordering; made concurrently, the lookup
 * may as well have come first.
 */
static bool kap_bucket_empty(u32 bucket)
{
	return hlist_empty(&kap_buckets[bucket]);
}

static struct kap_sock *kap_sock_find(struct hlist_head *head,
				      const struct sock *sk)
{
	struct kap_sock *ks;

	hlist_for_each_entry(ks, head, node)
		if (ks->sk == sk)
			return ks;
	return NULL;
}

/*
 * The oldest ungoverned entry whose bucket lock can be had at once (the
 * caller holds the lock of bucket, and kap_free_lock): taken out of its
 * bucket for a governed socket.  Only a few are tried; a trylock never
 * waits, so the lock order (bucket, then free list) holds.
 */
/* An ungoverned entry leaves its bucket (locked) for another socket. */
static struct kap_sock *kap_sock_take(struct kap_sock *ks)
{
	hlist_del(&ks->node);
	list_del_init(&ks->observed);
	atomic64_inc(&kap_evicted);
	return ks;
}

static struct kap_sock *kap_sock_evict(u32 bucket)
{
	raw_spinlock_t *mine = kap_bucket_lock(bucket), *theirs;
	struct kap_sock *ks;
	int tries = 0;

	list_for_each_entry(ks, &kap_observed, observed) {
		if (tries++ == KAP_EVICT_TRIES)
			break;
		theirs = kap_bucket_lock(ks->bucket);
		if (theirs == mine)
			return kap_sock_take(ks);
		if (raw_spin_trylock(theirs)) {
			kap_sock_take(ks);
			raw_spin_unlock(theirs);
			return ks;
		}
	}
	return NULL;
}

/* A free entry; for a governed socket, an ungoverned one if none is free. */
static struct kap_sock *kap_sock_alloc(u32 bucket, enum kap_sock_want want)
{
	struct kap_sock *ks = NULL;

	raw_spin_lock(&kap_free_lock);
	if (!hlist_empty(&kap_free)) {
		ks = hlist_entry(kap_free.first, struct kap_sock, node);
		hlist_del(&ks->node);
		kap_used++;
	} else if (want == KAP_SOCK_GOVERN) {
		ks = kap_sock_evict(bucket);
	}
	if (ks) {
		list_add_tail(&ks->observed, &kap_observed);
		ks->governed = false;
	}
	raw_spin_unlock(&kap_free_lock);
	return ks;
}

static void kap_sock_release(struct kap_sock *ks)
{
	ks->sk = NULL;
	raw_spin_lock(&kap_free_lock);
	list_del_init(&ks->observed);
	hlist_add_head(&ks->node, &kap_free);
	kap_used--;
	raw_spin_unlock(&kap_free_lock);
}

/* A governed entry is never evicted; an ungoverned one may be. */
static void kap_sock_classify(struct kap_sock *ks)
{
	bool governed = ks->st.policy != 0;

	if (governed == ks->governed)
		return;
	raw_spin_lock(&kap_free_lock);
	if (governed)
		list_del_init(&ks->observed);
	else
		list_add_tail(&ks->observed, &kap_observed);
	ks->governed = governed;
	raw_spin_unlock(&kap_free_lock);
}

/*
 * Calls fn(state, arg) with the socket's state locked.  A socket without
 * state gets a zeroed one first if want says so: KAP_SOCK_OBSERVE from the
 * free entries, KAP_SOCK_GOVERN (a policy is about to govern it) also in
 * place of an ungoverned socket's, so that no number of ungoverned sockets
 * keeps a policy from governing.  Returns false, without calling fn, when
 * the socket has no state and none was made.
 */
bool kap_sock_call(const struct sock *sk, enum kap_sock_want want,
		   kap_sock_fn fn, void *arg)
{
	u32 bucket = kap_sock_hash(sk);
	raw_spinlock_t *lock = kap_bucket_lock(bucket);
	struct kap_sock *ks;
	unsigned long flags;

	if (want == KAP_SOCK_FIND && kap_bucket_empty(bucket))
		return false;
	raw_spin_lock_irqsave(lock, flags);
	ks = kap_sock_find(&kap_buckets[bucket], sk);
	if (!ks && want != KAP_SOCK_FIND) {
		ks = kap_sock_alloc(bucket, want);
		if (ks) {
			ks->sk = sk;
			ks->bucket = bucket;
			memset(&ks->st, 0, sizeof(ks->st));
			hlist_add_head(&ks->node, &kap_buckets[bucket]);
		} else {
			atomic64_inc(&kap_overflow);
		}
	}
	if (ks) {
		fn(&ks->st, arg);
		kap_sock_classify(ks);
	}
	raw_spin_unlock_irqrestore(lock, flags);
	return ks;
}

static void kap_sock_copy(struct kap_sock_state *st, void *arg)
{
	*(struct kap_sock_state *)arg = *st;
}

/* A copy of the socket's state; false (and st untouched) if it has none. */
bool kap_sock_get(const struct sock *sk, struct kap_sock_state *st)
{
	return kap_sock_call(sk, KAP_SOCK_FIND, kap_sock_copy, st);
}

/* The socket is being destroyed: its state goes back to the free list. */
void kap_sock_forget(const struct sock *sk)
{
	u32 bucket = kap_sock_hash(sk);
	raw_spinlock_t *lock = kap_bucket_lock(bucket);
	struct kap_sock *ks;
	unsigned long flags;

	if (kap_bucket_empty(bucket))
		return;
	raw_spin_lock_irqsave(lock, flags);
	ks = kap_sock_find(&kap_buckets[bucket], sk);
	if (ks) {
		hlist_del(&ks->node);
		kap_sock_release(ks);
	}
	raw_spin_unlock_irqrestore(lock, flags);
}

unsigned int kap_socks_used(void)
{
	return READ_ONCE(kap_used);
}

unsigned int kap_socks_max(void)
{
	return max_sockets;
}

u64 kap_socks_overflow(void)
{
	return atomic64_read(&kap_overflow);
}

u64 kap_socks_evicted(void)
{
	return atomic64_read(&kap_evicted);
}

int kap_socks_init(void)
{
	unsigned int i;

	if (max_sockets < KAP_SOCKS_MIN || max_sockets > KAP_SOCKS_LIMIT) {
		pr_err("max_sockets=%u is outside %u-%u\n", max_sockets,
		       KAP_SOCKS_MIN, KAP_SOCKS_LIMIT);
		return -EINVAL;
	}
	kap_bucket_bits = ilog2(roundup_pow_of_two(max_sockets));
	kap_buckets = __vcalloc(1U << kap_bucket_bits, sizeof(*kap_buckets),
				GFP_KERNEL | __GFP_NOWARN);
	kap_pool = __vcalloc(max_sockets, sizeof(*kap_pool),
			     GFP_KERNEL | __GFP_NOWARN);
	if (!kap_buckets || !kap_pool) {
		vfree(kap_buckets);
		vfree(kap_pool);
		pr_err("cannot allocate the socket table (max_sockets=%u, %zu KiB); not loading\n",
		       max_sockets, ((sizeof(*kap_buckets) << kap_bucket_bits) +
				     max_sockets * sizeof(*kap_pool)) >> 10);
		return -ENOMEM;
	}
	for (i = 0; i < ARRAY_SIZE(kap_bucket_locks); i++)
		raw_spin_lock_init(&kap_bucket_locks[i]);
	for (i = 0; i < max_sockets; i++) {
		INIT_LIST_HEAD(&kap_pool[i].observed);
		hlist_add_head(&kap_pool[i].node, &kap_free);
	}
	return 0;
}

/* Called after the hooks are gone: nothing can reach the table any more. */
void kap_socks_uninit(void)
{
	INIT_HLIST_HEAD(&kap_free);
	INIT_LIST_HEAD(&kap_observed);
	vfree(kap_pool);
	vfree(kap_buckets);
}
