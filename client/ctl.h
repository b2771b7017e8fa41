/*
 * What mtrprobectl's commands share: the exit statuses, the connection,
 * one request and its answer, and the helpers that print.  The commands
 * of mtrprobectl.c use them, and those with a file of their own
 * (ctl_monitor.c).
 */
#ifndef MTRPROBE_CTL_H
#define MTRPROBE_CTL_H

#include <stdbool.h>

#include <jansson.h>

#include "clientlib.h"

#define PROG "mtrprobectl"

/* Exit statuses, documented in mtrprobectl(1). */
enum {
	EXIT_OK = 0,             /* success */
	EXIT_NO_REPLY = 1,       /* no probe got a reply; feature unsupported */
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_UNREACHABLE = 3,    /* cannot connect, connection lost, garbage */
	EXIT_ERROR_RESPONSE = 4, /* the daemon answered with an error */
	EXIT_LOCAL = 5,          /* out of memory, cannot write the output */
};

/* Returned by steps that want their caller to go on. */
#define CONTINUE (-1)

/* Global options and the connection; owned by main(). */
struct ctl {
	const char *socket;    /* -s, or NULL */
	bool json;             /* --json */
	struct mpc_conn conn;
	bool closed;           /* the daemon closed its end */
};

/*
 * Send req (taken; its id is set to 1), connecting first if needed, and
 * wait for its answer.  EXIT_OK with the success answer in *ret_resp;
 * else an exit status, an error answer reported (and printed as it came
 * under --json).
 */
int ctl_request(struct ctl *ctl, json_t *req, json_t **ret_resp);
/*
 * After a request answered by ctl_request(), hand every further line of
 * the connection (parsed; the caller's reference is borrowed) to fn until
 * SIGINT (EXIT_OK), the daemon closes the connection (EXIT_OK), or fn
 * returns an exit status.  Under --json the lines are not printed here.
 */
int ctl_follow(struct ctl *ctl, int (*fn)(void *arg, json_t *line), void *arg);
/* Write s to stdout, control characters shown as '?'. */
void put_text(const char *s);
/* Report a command-line mistake; returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...);
/* Report that memory ran out; returns EXIT_LOCAL. */
int oom(void);
/* Report an answer whose field has the wrong shape (resp released); EXIT_UNREACHABLE. */
int response_malformed(json_t *resp, const char *field);
/* Print every member of an answer but its id as an indented tree. */
void print_response(json_t *resp);
/* A JSON string of a command-line argument: CONTINUE, EXIT_USAGE (not UTF-8) or EXIT_LOCAL. */
int arg_string(const char *what, const char *s, json_t **ret);

/* `monitor ...` (ctl_monitor.c). */
int cmd_monitor(struct ctl *ctl, int argc, char **argv);

#endif
