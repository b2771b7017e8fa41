/*
 * Per-hop statistics of a trace, as mtr's report mode computes them.  Pure:
 * no I/O; the trace module feeds it what each probe of a hop got.
 */
#ifndef MTRPROBED_HOPSTATS_H
#define MTRPROBED_HOPSTATS_H

#include <jansson.h>
#include <stdbool.h>

#include "mtrprobe/protocol.h"

/* Distinct responder addresses kept per hop (more are counted, not listed). */
#define HOP_RESPONDERS_MAX 16

struct hop_responder {
	char address[MP_ADDR_MAX];
	int count;
};

/* One answered probe of a hop. */
struct hop_sample {
	int round;       /* 0-based round it was sent in */
	double rtt_ms;
};

/* Everything one TTL got over a trace.  Owned by the trace; hop_free() releases. */
struct hop {
	int ttl;
	int sent;                      /* probes sent (answered or not) */
	struct hop_sample *samples;    /* answered probes, kept in round order */
	int n_samples, cap_samples;
	struct hop_responder responders[HOP_RESPONDERS_MAX];
	int n_responders;
	struct mp_mpls mpls[MP_MPLS_MAX]; /* of the answer from the latest round */
	int mpls_count;
	int mpls_round;                /* round of that answer, -1 if none */
};

/* The numbers of a hop; has_* false where there is no data (JSON null). */
struct hop_summary {
	int sent, received;
	bool has_loss;   double loss_pct;   /* 100 * (1 - received / sent) */
	bool has_rtt;    double last_ms, avg_ms, best_ms, worst_ms;
	double stdev_ms;                    /* sample stdev; 0 with one answer */
	double jitter_ms;                   /* mean |rtt(n) - rtt(n-1)| in round order; 0 with one */
};

void hop_init(struct hop *h, int ttl);
void hop_free(struct hop *h);
/* Count one probe sent for this hop. */
void hop_record_sent(struct hop *h);
/*
 * Record an answer (reply or ttl-expired) to the probe of round, from
 * responder, whatever order answers arrive in (a second answer for a
 * round is ignored).  0, -ENOMEM, or -EINVAL for impossible values.
 */
int hop_record_answer(struct hop *h, int round, double rtt_ms, const char *responder,
		      const struct mp_mpls *mpls, int mpls_count);
void hop_summarize(const struct hop *h, struct hop_summary *ret);
/*
 * The hop as the trace response shows it (new reference): ttl, responders,
 * sent, received, loss_pct, last_ms, avg_ms, best_ms, worst_ms, stdev_ms,
 * jitter_ms, mpls.
 */
json_t *hop_to_json(const struct hop *h);

#endif
