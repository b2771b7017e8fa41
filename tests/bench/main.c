/*
 * mtrprobe-bench: measure mtrprobed's throughput and the latency it adds,
 * side by side with one mtr-packet process driven directly.  Probes go to
 * loopback only (127.0.0.0/8 or ::1).  Not a test: it reports figures and
 * exits 0 once every pass completed, lost probes or not.
 *
 * Passes, in order (--passes picks some):
 *   1. daemon, throughput: N probes pipelined on one connection, at most
 *      WINDOW outstanding (0: all of them; the daemon applies back-pressure).
 *   2. daemon, latency: the same with a small window (and --rate if given),
 *      so that the observed time is not dominated by the client's backlog.
 *   3. direct: N probes written into one mtr-packet process, at most 100
 *      in flight.
 *   4. direct, latency (with --rate): the same paced, the measurement floor.
 *   5. relay, relay-latency (only when named): the direct passes through a
 *      bare relay process, the floor of any design with a process between
 *      client and mtr-packet.
 * "Added latency" is, per probe that got a reply, the time from the write
 * of its request to the read of its answer (CLOCK_MONOTONIC) minus the
 * round-trip time mtr-packet measured.
 *
 * With --targets N the probes go round-robin to N distinct addresses spread
 * over 127.0.0.0/8 (--print-targets lists them, for fping -f).
 *
 * The memory modes (pass_memory.c, pass_deadline.c) measure the daemon's
 * resident set, and how it answers probes held to their deadline, instead
 * of running passes.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* The pass families, in the order their passes run and are reported. */
static const struct pass_family *const families[] = {
	&family_throughput,
	&family_latency,
	&family_direct,
	&family_relay,
};

int pass_family_count(void)
{
	return (int)ARRAY_LEN(families);
}

const struct pass_family *pass_family_at(int i)
{
	return families[i];
}

int pass_def_count(void)
{
	int i, n = 0;

	for (i = 0; i < pass_family_count(); i++)
		n += families[i]->ndefs;
	return n;
}

/* Pass i of all the families' passes in order. */
const struct pass_def *pass_def_at(int i)
{
	int f;

	for (f = 0; f < pass_family_count(); f++) {
		if (i < families[f]->ndefs)
			return &families[f]->defs[i];
		i -= families[f]->ndefs;
	}
	return NULL;
}

/* Set up the passes the options pick; false when out of memory. */
static bool build_run(struct run *r, const struct options *o)
{
	bool ok = true;
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < pass_def_count() && r->npasses < PASSES_MAX; i++)
		if (o->passes & (1u << i))
			ok &= pass_init(&r->passes[r->npasses++], pass_def_at(i), o);
	return ok;
}

/* Run the passes in order until one does not complete; whether all did. */
static bool run_passes(struct run *r, const struct options *o, int64_t deadline)
{
	bool complete = true;
	int i;

	for (i = 0; i < r->npasses && complete; i++) {
		struct pass *p = &r->passes[i];

		if (!o->json && !o->summary)
			fprintf(stderr, PROG ": running \"%s\" ...\n", p->label);
		p->def->run(p, o, deadline);
		pass_summarise(p);
		complete = p->complete;
	}
	return complete;
}

/* Release the passes of r. */
static void free_run(struct run *r)
{
	int i;

	for (i = 0; i < r->npasses; i++)
		pass_free(&r->passes[i]);
}

/* --print-targets: the targets, one a line.  An exit status. */
static int print_targets(const struct options *o)
{
	long i;

	for (i = 0; i < o->ntargets; i++)
		printf("%s\n", o->targets[i]);
	return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_DONE : EXIT_INCOMPLETE;
}

/* Run the passes o asks for and report; the exit status. */
static int run_and_report(const struct options *o)
{
	struct daemon_info info;
	struct run r;
	char err[256];
	int64_t deadline;
	int ret = 0;
	bool complete;

	memset(&info, 0, sizeof(info));
	deadline = now_ns() + (int64_t)(o->timeout_s * (double)NS_PER_S);
	if (o->run_daemon && daemon_hello(o->socket, &info, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return EXIT_INCOMPLETE;
	}
	if (!build_run(&r, o)) {
		fprintf(stderr, PROG ": out of memory for %ld probes\n", o->n);
		free_run(&r);
		return EXIT_INCOMPLETE;
	}
	complete = run_passes(&r, o, deadline);
	if (o->json)
		ret = print_json(o, &info, &r, complete);
	else if (o->summary)
		print_summary(&r);
	else
		print_table(o, &info, &r);
	free_run(&r);
	if (ret < 0 || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write the report\n");
		return EXIT_INCOMPLETE;
	}
	return complete ? EXIT_DONE : EXIT_INCOMPLETE;
}

/* The mode the options pick, or the passes; the exit status. */
int main(int argc, char **argv)
{
	struct options o;
	int ret;

	ret = parse_options(&o, argc, argv);
	if (ret == EXIT_DONE) {
		signal(SIGPIPE, SIG_IGN);
		if (o.print_targets)
			ret = print_targets(&o);
		else if (o.hold_probes)
			ret = hold_probes(&o);
		else if (o.hold_conns)
			ret = hold_connections(&o);
		else if (o.deadline_probes)
			ret = deadline_probes(&o);
		else
			ret = run_and_report(&o);
	} else if (ret == HELP_SHOWN) {
		ret = EXIT_DONE;
	}
	free_targets(&o);
	return ret;
}
