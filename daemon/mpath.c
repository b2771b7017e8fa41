/* The path of a trace monitor: per-TTL counters, the current cycle, the path and its id. */
#include "daemon/mpath.h"
#include "daemon/mplan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mpath_init(struct mpath *p, int first_ttl, int max_ttl)
{
	memset(p, 0, sizeof(*p));
	if (first_ttl < 1 || max_ttl > 255 || first_ttl > max_ttl)
		return -EINVAL;
	p->first_ttl = first_ttl;
	p->n = max_ttl - first_ttl + 1;
	p->hop = calloc((size_t)p->n, sizeof(*p->hop));
	p->cur = calloc((size_t)p->n, sizeof(*p->cur));
	p->path = calloc((size_t)p->n, sizeof(*p->path));
	if (!p->hop || !p->cur || !p->path) {
		mpath_free(p);
		return -ENOMEM;
	}
	return 0;
}

void mpath_free(struct mpath *p)
{
	free(p->hop);
	free(p->cur);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

int mpath_limit(const struct mpath *p)
{
	int max = p->first_ttl + p->n - 1;

	if (!p->reached || p->reached >= max)
		return max;
	return p->reached + 1;
}

void mpath_begin(struct mpath *p, uint64_t seq)
{
	p->seq = seq;
	memset(p->cur, 0, (size_t)p->n * sizeof(*p->cur));
}

/* The current cycle's slot of ttl in cycle seq, or NULL. */
static struct mpath_probe *mpath_slot(struct mpath *p, uint64_t seq, int ttl)
{
	int i = ttl - p->first_ttl;

	if (seq != p->seq || i < 0 || i >= p->n)
		return NULL;
	return &p->cur[i];
}

void mpath_probed(struct mpath *p, uint64_t seq, int ttl)
{
	struct mpath_probe *c = mpath_slot(p, seq, ttl);

	if (c)
		c->probed = true;
}

void mpath_record(struct mpath *p, uint64_t seq, int ttl, enum mpath_outcome o, double rtt_ms,
		  const char *responder)
{
	struct mpath_probe *c = mpath_slot(p, seq, ttl);
	size_t n;

	if (!c || o == MPATH_PENDING)
		return;
	c->outcome = (uint8_t)o;
	c->rtt_ms = o == MPATH_NONE || rtt_ms < 0 ? 0 : (float)rtt_ms;
	n = strnlen(responder, MP_ADDR_MAX - 1);
	memcpy(c->responder, responder, n);
	c->responder[n] = '\0';
}

uint64_t mpath_id(char (*path)[MP_ADDR_MAX], int hops)
{
	uint64_t h = MPLAN_HASH_START;

	if (hops <= 0)
		return 0;
	for (int i = 0; i < hops; i++)
		h = mplan_hash_add(i ? mplan_hash_add(h, ",") : h, path[i]);
	h >>= 11;
	return h ? h : 1;
}

bool mpath_end(struct mpath *p, const struct mhist_bounds *b, double now)
{
	int reached = 0, hops = 0;
	uint64_t id;
	bool changed;

	for (int i = 0; i < p->n && !reached; i++)
		if (p->cur[i].outcome == MPATH_TARGET)
			reached = p->first_ttl + i;
	/* Count the hops up to the target, or every TTL probed. */
	for (int i = 0; i < p->n; i++) {
		const struct mpath_probe *c = &p->cur[i];
		struct mpath_hop *h = &p->hop[i];

		if (!c->probed || (reached && p->first_ttl + i > reached))
			continue;
		h->counted = true;
		h->sent++;
		if (c->outcome == MPATH_HOP || c->outcome == MPATH_TARGET) {
			h->received++;
			mhist_observe(&h->hist, b, c->rtt_ms / 1000.0);
		}
		hops = i + 1;
	}
	p->reached = reached;
	/* Without the target: the path ends at the last hop that answered. */
	if (!reached)
		while (hops > 0 && p->cur[hops - 1].outcome != MPATH_HOP)
			hops--;
	for (int i = 0; i < hops; i++) {
		const struct mpath_probe *c = &p->cur[i];

		if (c->outcome == MPATH_HOP || c->outcome == MPATH_TARGET)
			memcpy(p->path[i], c->responder, MP_ADDR_MAX);
		else
			p->path[i][0] = '\0';
	}
	id = mpath_id(p->path, hops);
	changed = p->have_path && (id != p->id || hops != p->hops);
	if (changed) {
		p->changes++;
		p->changed_at = now;
	}
	p->have_path = true;
	p->id = id;
	p->hops = hops;
	return changed;
}
