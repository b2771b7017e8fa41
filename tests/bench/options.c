/*
 * mtrprobe-bench: the command line.  One row of opt_table per option: its
 * names, its argument, its bounds, the field of struct options it sets,
 * its default and its help.  The parser, the error messages and the usage
 * text all come from the table; the checks across options follow it.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mtrprobe/protocol.h"

/* What an option takes. */
enum opt_arg {
	ARG_FLAG,   /* none: sets a bool */
	ARG_LONG,   /* an integer from min to max */
	ARG_DOUBLE, /* a number from min to max */
	ARG_STRING, /* any string: sets a const char * */
	ARG_CUSTOM, /* parsed by the row's parse() */
	ARG_HELP,   /* none: print the usage, exit 0 */
};

/* One option. */
struct opt_row {
	const char *name;     /* long name without "--", or NULL */
	int letter;           /* short letter, or 0 */
	enum opt_arg arg;
	const char *metavar;  /* the argument's name in the usage text */
	double min, max;      /* ARG_LONG, ARG_DOUBLE */
	size_t field;         /* offsetof(struct options, ...) */
	const char *def;      /* default, parsed as an argument; NULL: zero */
	bool (*parse)(const char *s, void *field); /* ARG_CUSTOM */
	const char *what;     /* "must be WHAT from MIN to MAX"; NULL: by arg */
	const char *err;      /* the whole complaint about a bad value; NULL: the above */
	const char *help;     /* usage text; '\n' continues on an indented line */
};

/* --protocol: icmp or udp. */
static bool parse_protocol(const char *s, void *field)
{
	if (strcmp(s, "icmp") && strcmp(s, "udp"))
		return false;
	*(const char **)field = s;
	return true;
}

/* --passes: a comma-separated list of pass names into a bit set. */
static bool parse_passes(const char *s, void *field)
{
	char buf[256], *save = NULL, *tok;
	unsigned *bits = field;
	int i, n = pass_def_count();

	if (strlen(s) >= sizeof(buf))
		return false;
	memcpy(buf, s, strlen(s) + 1);
	*bits = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n; i++)
			if (!strcmp(tok, pass_def_at(i)->name))
				break;
		if (i == n)
			return false;
		*bits |= 1u << i;
	}
	return *bits != 0;
}

#define F(member) offsetof(struct options, member)

static const struct opt_row opt_table[] = {
	{ NULL, 's', ARG_STRING, "SOCKET", 0, 0, F(socket), NULL, NULL, NULL, NULL,
	  "daemon socket (default $" MP_SOCKET_ENV ", else\n" MP_DEFAULT_SOCKET ")" },
	{ NULL, 'n', ARG_LONG, "N", 1, N_MAX, F(n), XSTR(N_DEFAULT), NULL, NULL, NULL,
	  "probes per pass (default " XSTR(N_DEFAULT) ")" },
	{ NULL, 'w', ARG_LONG, "WINDOW", 0, N_MAX, F(window), NULL, NULL, NULL, NULL,
	  "throughput pass: most requests outstanding on the\n"
	  "connection (default 0: all N at once)" },
	{ "latency-window", 0, ARG_LONG, "W", 1, N_MAX, F(latency_window),
	  XSTR(LATENCY_WINDOW_DEFAULT), NULL, NULL, NULL,
	  "latency pass: most outstanding (default " XSTR(LATENCY_WINDOW_DEFAULT) ")" },
	{ "rate", 0, ARG_DOUBLE, "PPS", 1, 10000000, F(rate), NULL, NULL, NULL, NULL,
	  "latency pass: also pace requests at PPS per second,\n"
	  "and add a paced direct pass (the floor)" },
	{ "paced-n", 0, ARG_LONG, "N", 1, N_MAX, F(paced_n), NULL, NULL, NULL, NULL,
	  "probes in the paced passes (default: -n)" },
	{ "direct-window", 0, ARG_LONG, "W", 1, DIRECT_WINDOW_MAX, F(direct_window),
	  XSTR(DIRECT_WINDOW_DEFAULT), NULL, NULL, NULL,
	  "direct pass: most in flight in mtr-packet (default " XSTR(DIRECT_WINDOW_DEFAULT) ")" },
	{ "protocol", 0, ARG_CUSTOM, "P", 0, 0, F(protocol), "icmp", parse_protocol, NULL,
	  "must be icmp or udp", "icmp (default) or udp" },
	{ "mtr-packet", 0, ARG_STRING, "PATH", 0, 0, F(mtr_packet), NULL, NULL, NULL, NULL,
	  "mtr-packet for the direct pass (default $MTR_PACKET,\n"
	  "else mtr-packet from PATH)" },
	{ "target", 0, ARG_STRING, "ADDR", 0, 0, F(target), NULL, NULL, NULL, NULL,
	  "127.x.x.x or ::1 (default 127.0.0.1)" },
	{ "targets", 0, ARG_LONG, "N", 1, TARGETS_MAX, F(targets_arg), NULL, NULL, NULL, NULL,
	  "N distinct addresses from 127.0.1.1 spread evenly over\n"
	  "127.0.0.0/8, probed round-robin (1 to " XSTR(TARGETS_MAX) ")" },
	{ "print-targets", 0, ARG_FLAG, NULL, 0, 0, F(print_targets), NULL, NULL, NULL, NULL,
	  "print the --targets addresses, one a line, and exit" },
	{ "probe-timeout", 0, ARG_LONG, "SEC", 1, PROBE_TIMEOUT_MAX, F(probe_timeout),
	  XSTR(PROBE_TIMEOUT_DEFAULT), NULL, NULL, NULL,
	  "each probe's timeout (default " XSTR(PROBE_TIMEOUT_DEFAULT) ")" },
	{ "timeout", 0, ARG_DOUBLE, "SEC", 1, 86400, F(timeout_s), XSTR(OVERALL_TIMEOUT_DEFAULT),
	  NULL, "a number of seconds", NULL,
	  "give up on the whole run after SEC s (default " XSTR(OVERALL_TIMEOUT_DEFAULT) ")" },
	{ "passes", 0, ARG_CUSTOM, "LIST", 0, 0, F(passes), NULL, parse_passes, NULL,
	  "a comma-separated list of throughput, latency, direct, direct-latency, "
	  "relay, relay-latency",
	  "comma-separated passes to run, of: throughput,\n"
	  "latency, direct, direct-latency, relay, relay-latency\n"
	  "(default: the first three, and direct-latency with\n"
	  "--rate; the relay passes only when named)" },
	{ "direct-only", 0, ARG_FLAG, NULL, 0, 0, F(direct_only), NULL, NULL, NULL, NULL,
	  "only the direct passes" },
	{ "daemon-only", 0, ARG_FLAG, NULL, 0, 0, F(daemon_only), NULL, NULL, NULL, NULL,
	  "only the daemon passes" },
	{ "json", 0, ARG_FLAG, NULL, 0, 0, F(json), NULL, NULL, NULL, NULL,
	  "print one JSON object instead of a table" },
	{ "summary", 0, ARG_FLAG, NULL, 0, 0, F(summary), NULL, NULL, NULL, NULL,
	  "print one line per pass instead of a table:\n"
	  "pass KEY probes answered lost probes/s p50 p99 max wall_s" },
	{ "daemon-pid", 0, ARG_LONG, "PID", 1, INT_MAX, F(daemon_pid), NULL, NULL, NULL,
	  "must be a process id", "memory modes: the daemon whose VmRSS is read" },
	{ "hold-probes", 0, ARG_LONG, "N", 1, N_MAX, F(hold_probes), NULL, NULL, NULL, NULL,
	  "memory mode: hold N probes in flight on one connection\n"
	  "to --target, which may also be an address of\n"
	  "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 or\n"
	  "2001:db8::/32 when run in a network namespace with\n"
	  "no default route and an address of that network\n"
	  "(one of your own, where the target does not answer,\n"
	  "as run-all.sh makes); report VmRSS before and with" },
	{ "hold-connections", 0, ARG_LONG, "N", 1, HOLD_CONNS_MAX, F(hold_conns), NULL, NULL,
	  NULL, NULL,
	  "memory mode: open N idle connections, then N more\n"
	  "that each had a version request answered; report\n"
	  "VmRSS before and with each set" },
	{ "deadline-probes", 0, ARG_LONG, "N", 1, N_MAX, F(deadline_probes), NULL, NULL, NULL,
	  NULL,
	  "memory mode: hold N probes in flight to --target (a\n"
	  "documentation address, as for --hold-probes) until\n"
	  "their deadline; report how they were answered, how\n"
	  "late after their deadline, and VmRSS" },
	{ "connections", 0, ARG_LONG, "C", 1, HOLD_CONNS_MAX, F(connections), "1", NULL, NULL,
	  NULL, "--deadline-probes: spread them over C connections\n"
	  "(default 1)" },
	{ "help", 'h', ARG_HELP, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, "print this help" },
};

#undef F

/* Where the help text of every option starts. */
#define HELP_COLUMN 22

/* The option as the user writes it: "-n", "--rate". */
static const char *opt_name(const struct opt_row *row, char *buf, size_t len)
{
	if (row->name)
		snprintf(buf, len, "--%s", row->name);
	else
		snprintf(buf, len, "-%c", (char)row->letter);
	return buf;
}

/* The option as the usage text shows it: "-h, --help", "--rate PPS". */
static const char *opt_synopsis(const struct opt_row *row, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (row->letter)
		n += (size_t)snprintf(buf, len, "-%c%s", (char)row->letter, row->name ? ", " : "");
	if (row->name && n < len)
		n += (size_t)snprintf(buf + n, len - n, "--%s", row->name);
	if (row->metavar && n < len)
		snprintf(buf + n, len - n, " %s", row->metavar);
	return buf;
}

/* Print the usage text to f. */
static void usage(FILE *f)
{
	size_t i;

	fputs("Usage: " PROG " [-s SOCKET] [-n N] [-w WINDOW] [--protocol icmp|udp]\n"
	      "       [--rate PPS] [--paced-n N] [--latency-window W] [--direct-window W]\n"
	      "       [--mtr-packet PATH] [--target ADDR | --targets N] [--probe-timeout SEC]\n"
	      "       [--timeout SEC] [--passes LIST | --direct-only | --daemon-only]\n"
	      "       [--json | --summary]\n"
	      "   or: " PROG " --print-targets --targets N\n"
	      "   or: " PROG " -s SOCKET --daemon-pid PID --hold-probes N --target ADDR\n"
	      "       [--probe-timeout SEC]\n"
	      "   or: " PROG " -s SOCKET --daemon-pid PID --hold-connections N\n"
	      "   or: " PROG " -s SOCKET --daemon-pid PID --deadline-probes N --target ADDR\n"
	      "       [--connections C] [--probe-timeout SEC]\n"
	      "Measure mtrprobed's throughput and added latency against one mtr-packet\n"
	      "process driven directly.  Probes go to loopback only.\n"
	      "\n", f);
	for (i = 0; i < ARRAY_LEN(opt_table); i++) {
		char names[64];
		const char *h;

		fprintf(f, "  %-*s ", HELP_COLUMN - 3,
			opt_synopsis(&opt_table[i], names, sizeof(names)));
		for (h = opt_table[i].help; *h; h++) {
			fputc(*h, f);
			if (*h == '\n')
				fprintf(f, "%*s", HELP_COLUMN, "");
		}
		fputc('\n', f);
	}
	fputs("\nExit status: 0 when every pass completed (even with lost probes),\n"
	      "1 when one did not (timeout, lost connection, cannot start), 2 on usage.\n", f);
}

/* Store s, the argument of row, into o; false after a message if it is bad. */
static bool opt_store(const struct opt_row *row, const char *s, struct options *o)
{
	void *field = (char *)o + row->field;
	char name[64];
	bool ok = true;

	switch (row->arg) {
	case ARG_FLAG:
		*(bool *)field = true;
		break;
	case ARG_STRING:
		*(const char **)field = s;
		break;
	case ARG_LONG:
		ok = parse_long(s, (long)row->min, (long)row->max, field);
		break;
	case ARG_DOUBLE:
		ok = parse_double(s, row->min, row->max, field);
		break;
	case ARG_CUSTOM:
		ok = row->parse(s, field);
		break;
	case ARG_HELP:
		break;
	}
	if (ok)
		return true;
	opt_name(row, name, sizeof(name));
	if (row->err)
		fprintf(stderr, PROG ": %s: %s\n", name, row->err);
	else if (row->arg == ARG_LONG)
		fprintf(stderr, PROG ": %s: must be %s from %ld to %ld\n", name,
			row->what ? row->what : "an integer", (long)row->min, (long)row->max);
	else
		fprintf(stderr, PROG ": %s: must be %s from %.15g to %.15g\n", name,
			row->what ? row->what : "a number", row->min, row->max);
	return false;
}

/* getopt_long()'s view of the table: the short letters and the long names;
 * a row without a letter answers 256 + its index. */
static void opt_getopt_tables(char *shorts, struct option *longs)
{
	size_t i, ns = 0, nl = 0;

	for (i = 0; i < ARRAY_LEN(opt_table); i++) {
		const struct opt_row *row = &opt_table[i];
		int has_arg = row->arg == ARG_FLAG || row->arg == ARG_HELP ? no_argument :
									     required_argument;

		if (row->letter) {
			shorts[ns++] = (char)row->letter;
			if (has_arg == required_argument)
				shorts[ns++] = ':';
		}
		if (row->name)
			longs[nl++] = (struct option){ row->name, has_arg, NULL,
						       row->letter ? row->letter : 256 + (int)i };
	}
	shorts[ns] = '\0';
	longs[nl] = (struct option){ NULL, 0, NULL, 0 };
}

/* The row getopt_long() answered c for, or NULL. */
static const struct opt_row *opt_row_of(int c)
{
	size_t i;

	if (c >= 256 && (size_t)(c - 256) < ARRAY_LEN(opt_table))
		return &opt_table[c - 256];
	for (i = 0; i < ARRAY_LEN(opt_table); i++)
		if (opt_table[i].letter && opt_table[i].letter == c)
			return &opt_table[i];
	return NULL;
}

/* Set o to the table's defaults. */
static void opt_defaults(struct options *o)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < ARRAY_LEN(opt_table); i++)
		if (opt_table[i].def && !opt_store(&opt_table[i], opt_table[i].def, o))
			abort(); /* a default the table itself refuses */
}

/* Read argv into o by the table; EXIT_DONE, HELP_SHOWN or EXIT_USAGE. */
static int opt_read(struct options *o, int argc, char **argv)
{
	char shorts[2 * ARRAY_LEN(opt_table) + 1];
	struct option longs[ARRAY_LEN(opt_table) + 1];
	const struct opt_row *row;
	int c;

	opt_defaults(o);
	opt_getopt_tables(shorts, longs);
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		row = opt_row_of(c);
		if (!row) {
			usage(stderr);
			return EXIT_USAGE;
		}
		if (row->arg == ARG_HELP) {
			usage(stdout);
			return HELP_SHOWN;
		}
		if (!opt_store(row, optarg, o))
			return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	return EXIT_DONE;
}

/* The options that exclude each other or need another; EXIT_DONE, or
 * EXIT_USAGE after a message. */
static int opt_check_together(const struct options *o)
{
	int modes = (o->print_targets ? 1 : 0) + (o->hold_probes ? 1 : 0) + (o->hold_conns ? 1 : 0) +
		    (o->deadline_probes ? 1 : 0);
	const char *why = NULL;

	if (modes > 1)
		why = "--print-targets, --hold-probes, --hold-connections and --deadline-probes "
		      "exclude each other";
	else if (o->direct_only + o->daemon_only + (o->passes != 0) > 1)
		why = "--passes, --direct-only and --daemon-only exclude each other";
	else if (o->json && o->summary)
		why = "--json and --summary exclude each other";
	else if (o->targets_arg && o->target)
		why = "--target and --targets exclude each other";
	else if (o->print_targets && !o->targets_arg)
		why = "--print-targets needs --targets N";
	else if ((o->hold_probes || o->hold_conns || o->deadline_probes) && !o->daemon_pid)
		why = "the memory modes need --daemon-pid PID";
	else if (o->connections > 1 && !o->deadline_probes)
		why = "--connections needs --deadline-probes N";
	if (!why)
		return EXIT_DONE;
	fprintf(stderr, PROG ": %s\n", why);
	return EXIT_USAGE;
}

/* Whether pass def runs when --passes is not given. */
static bool opt_pass_by_default(const struct options *o, const struct pass_def *def)
{
	if (o->direct_only && def->kind != PASS_DIRECT)
		return false;
	if (o->daemon_only && def->kind != PASS_DAEMON)
		return false;
	return def->by_default == PASS_DEFAULT_YES ||
	       (def->by_default == PASS_DEFAULT_WITH_RATE && o->rate > 0);
}

/* Settle which passes run; EXIT_DONE, or EXIT_USAGE after a message. */
static int opt_pick_passes(struct options *o)
{
	int i, n = pass_def_count();

	if (!o->passes)
		for (i = 0; i < n; i++)
			if (opt_pass_by_default(o, pass_def_at(i)))
				o->passes |= 1u << i;
	for (i = 0; i < n; i++) {
		const struct pass_def *def = pass_def_at(i);

		if (!(o->passes & (1u << i)))
			continue;
		if (def->needs_rate && o->rate <= 0) {
			fprintf(stderr, PROG ": --passes %s needs --rate PPS\n", def->name);
			return EXIT_USAGE;
		}
		if (def->kind == PASS_DAEMON)
			o->run_daemon = true;
		else
			o->run_direct = true;
	}
	if (o->hold_conns)
		o->run_direct = false;
	if (!o->paced_n)
		o->paced_n = o->n;
	return EXIT_DONE;
}

/* Whether the paced passes fit in the overall --timeout; EXIT_DONE, or
 * EXIT_USAGE after a message. */
static int opt_check_paced(const struct options *o)
{
	double paced = 0;
	int i;

	/* Each paced pass takes N / PPS, plus a probe timeout if one is lost. */
	for (i = 0; i < pass_def_count(); i++)
		if ((o->passes & (1u << i)) && pass_def_at(i)->paced)
			paced += 1.0;
	paced *= (double)o->paced_n / (o->rate > 0 ? o->rate : 1.0) + (double)o->probe_timeout + 1;
	if (o->rate > 0 && !o->hold_probes && !o->hold_conns && !o->deadline_probes &&
	    !o->print_targets && paced >= o->timeout_s) {
		fprintf(stderr, PROG ": --rate: the paced passes of %ld probes at %g/s need up "
			"to %.0f s, more than the overall --timeout of %.0f s; lower --paced-n or "
			"raise --timeout\n", o->paced_n, o->rate, paced, o->timeout_s);
		return EXIT_USAGE;
	}
	return EXIT_DONE;
}

/* What the environment supplies when the command line did not. */
static void opt_from_environment(struct options *o)
{
	const char *env;

	if (!o->socket) {
		env = getenv(MP_SOCKET_ENV);
		o->socket = env && *env ? env : MP_DEFAULT_SOCKET;
	}
	if (!o->mtr_packet) {
		env = getenv("MTR_PACKET");
		o->mtr_packet = env && *env ? env : "mtr-packet";
	}
}

/* Fill o from the command line; EXIT_DONE to go on, HELP_SHOWN, or an
 * exit status. */
int parse_options(struct options *o, int argc, char **argv)
{
	bool doc = false;
	int ret;

	ret = opt_read(o, argc, argv);
	if (ret == EXIT_DONE)
		ret = opt_check_together(o);
	if (ret == EXIT_DONE)
		ret = opt_pick_passes(o);
	if (ret != EXIT_DONE)
		return ret;
	if (o->targets_arg) {
		o->ip_version = 4;
		o->target = NULL;
	} else {
		if (!o->target)
			o->target = "127.0.0.1";
		ret = target_check(o, o->hold_probes || o->deadline_probes, &doc);
		if (ret != EXIT_DONE)
			return ret;
	}
	ret = opt_check_paced(o);
	if (ret != EXIT_DONE)
		return ret;
	opt_from_environment(o);
	if (!make_targets(o, o->targets_arg ? o->targets_arg : 1)) {
		fprintf(stderr, PROG ": out of memory for %ld targets\n",
			o->targets_arg ? o->targets_arg : 1);
		return EXIT_INCOMPLETE;
	}
	if (!o->target)
		o->target = o->targets[0];
	if (o->print_targets || o->hold_conns)
		return EXIT_DONE;
	return resolve_sources(o, doc);
}
