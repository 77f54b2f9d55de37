// SPDX-License-Identifier: GPL-2.0
/*
 * Rate state for `rate N/T` predicates: per (session, rule) event counts
 * over a sliding window of T, kept as RATE_SLOTS slots of T/RATE_SLOTS
 * each.  So the count is exact to one slot: it covers between
 * (RATE_SLOTS-1)/RATE_SLOTS of T and T, and memory per entry is fixed
 * whatever N is.  At most max entries; the least recently used goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules_impl.h"

#define RATE_SLOTS 16
#define NIL UINT32_MAX

struct rate_ent {
	uint64_t session, key, window_ns, last_slot;
	uint32_t counts[RATE_SLOTS];
	uint32_t chain;                 /* next in hash bucket */
	uint32_t lru_prev, lru_next;    /* lru_prev toward most recent */
};

struct ratetab {
	struct rate_ent *e;
	size_t max, n;
	uint32_t *heads;
	size_t mask;
	uint32_t mru, lru;
};

struct ratetab *ratetab__new(size_t max)
{
	struct ratetab *rt;
	size_t nb = 16;

	if (max == 0)
		max = 4096;
	if (max > (1u << 24))
		max = 1u << 24;
	while (nb < max)
		nb *= 2;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return NULL;
	rt->e = calloc(max, sizeof(*rt->e));
	rt->heads = malloc(nb * sizeof(*rt->heads));
	if (!rt->e || !rt->heads) {
		ratetab__free(rt);
		return NULL;
	}
	memset(rt->heads, 0xff, nb * sizeof(*rt->heads));
	rt->max = max;
	rt->mask = nb - 1;
	rt->mru = rt->lru = NIL;
	return rt;
}

void ratetab__free(struct ratetab *rt)
{
	if (!rt)
		return;
	free(rt->e);
	free(rt->heads);
	free(rt);
}

size_t ratetab__count(const struct ratetab *rt)
{
	return rt ? rt->n : 0;
}

static size_t bucket_of(const struct ratetab *rt, uint64_t session, uint64_t key)
{
	uint64_t h = (session ^ (key * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;

	return (size_t)(h ^ (h >> 29)) & rt->mask;
}

static void lru_unlink(struct ratetab *rt, uint32_t i)
{
	struct rate_ent *e = &rt->e[i];

	if (e->lru_prev != NIL)
		rt->e[e->lru_prev].lru_next = e->lru_next;
	else
		rt->mru = e->lru_next;
	if (e->lru_next != NIL)
		rt->e[e->lru_next].lru_prev = e->lru_prev;
	else
		rt->lru = e->lru_prev;
}

static void lru_push(struct ratetab *rt, uint32_t i)
{
	struct rate_ent *e = &rt->e[i];

	e->lru_prev = NIL;
	e->lru_next = rt->mru;
	if (rt->mru != NIL)
		rt->e[rt->mru].lru_prev = i;
	rt->mru = i;
	if (rt->lru == NIL)
		rt->lru = i;
}

static void chain_unlink(struct ratetab *rt, uint32_t i)
{
	uint32_t *pp = &rt->heads[bucket_of(rt, rt->e[i].session, rt->e[i].key)];

	while (*pp != NIL && *pp != i)
		pp = &rt->e[*pp].chain;
	if (*pp == i)
		*pp = rt->e[i].chain;
}

static uint32_t lookup_or_add(struct ratetab *rt, uint64_t session, uint64_t key, bool *fresh)
{
	size_t b = bucket_of(rt, session, key);
	uint32_t i;

	for (i = rt->heads[b]; i != NIL; i = rt->e[i].chain)
		if (rt->e[i].session == session && rt->e[i].key == key) {
			lru_unlink(rt, i);
			lru_push(rt, i);
			*fresh = false;
			return i;
		}
	if (rt->n < rt->max) {
		i = (uint32_t)rt->n++;
	} else {
		i = rt->lru;
		lru_unlink(rt, i);
		chain_unlink(rt, i);
	}
	memset(&rt->e[i], 0, sizeof(rt->e[i]));
	rt->e[i].session = session;
	rt->e[i].key = key;
	rt->e[i].chain = rt->heads[b];
	rt->heads[b] = i;
	lru_push(rt, i);
	*fresh = true;
	return i;
}

uint32_t ratetab__hit(struct ratetab *rt, uint64_t session, uint64_t key, uint64_t now_ns,
		      uint64_t window_ns)
{
	uint64_t width = window_ns / RATE_SLOTS ? window_ns / RATE_SLOTS : 1, slot = now_ns / width;
	struct rate_ent *e;
	uint64_t sum = 0;
	bool fresh;
	size_t k;

	if (!rt)
		return 1;
	e = &rt->e[lookup_or_add(rt, session, key, &fresh)];
	if (fresh || e->window_ns != window_ns) {
		memset(e->counts, 0, sizeof(e->counts));
		e->window_ns = window_ns;
		e->last_slot = slot;
	}
	if (slot > e->last_slot) {
		uint64_t steps = slot - e->last_slot;

		if (steps >= RATE_SLOTS)
			memset(e->counts, 0, sizeof(e->counts));
		else
			for (k = 1; k <= steps; k++)
				e->counts[(e->last_slot + k) % RATE_SLOTS] = 0;
		e->last_slot = slot;
	}
	/* A clock that went back counts into the newest slot. */
	if (e->counts[e->last_slot % RATE_SLOTS] < UINT32_MAX)
		e->counts[e->last_slot % RATE_SLOTS]++;
	for (k = 0; k < RATE_SLOTS; k++)
		sum += e->counts[k];
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}
