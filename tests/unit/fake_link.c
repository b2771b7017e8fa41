/* A fake worker link for the engine's unit tests: see fake_link.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_link.h"

static struct {
	struct fake_proc **procs;
	int n, cap;
	int start_calls;
	int fail_err, fail_count;
	bool hold_pings;
	char hold_feature[40];
} F;

/* Abort on allocation failure: a test cannot go on without its records. */
static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q) {
		fprintf(stderr, "fake_link: out of memory\n");
		abort();
	}
	return q;
}

void fake_reset(void)
{
	for (int i = 0; i < F.n; i++) {
		struct fake_proc *p = F.procs[i];

		for (size_t j = 0; j < p->n_lines; j++)
			free(p->lines[j].text);
		free(p->lines);
		free(p->pending_q);
		free(p);
	}
	free(F.procs);
	memset(&F, 0, sizeof(F));
}

int fake_count(void)
{
	return F.n;
}

int fake_start_calls(void)
{
	return F.start_calls;
}

struct fake_proc *fake_proc(int i)
{
	return i >= 0 && i < F.n ? F.procs[i] : NULL;
}

struct fake_proc *fake_by_pid(pid_t pid)
{
	for (int i = 0; i < F.n; i++)
		if (F.procs[i]->pid == pid)
			return F.procs[i];
	return NULL;
}

bool fake_live(const struct fake_proc *p)
{
	return p && !p->closed && !p->killed && !p->reaped && !p->destroyed;
}

void fake_fail_starts(int err, int count)
{
	F.fail_err = err;
	F.fail_count = count;
}

void fake_hold_pings(bool hold)
{
	F.hold_pings = hold;
}

void fake_hold_feature(const char *feature)
{
	snprintf(F.hold_feature, sizeof(F.hold_feature), "%s", feature ? feature : "");
}

/* start(): a record and the next pid, or the failure the test asked for. */
static void *fake_start(const char *path, const struct wlink_cbs *cbs, void *arg, pid_t *ret_pid,
			int *ret_err)
{
	struct fake_proc *p;

	F.start_calls++;
	if (F.fail_count > 0) {
		F.fail_count--;
		*ret_err = F.fail_err;
		return NULL;
	}
	p = xrealloc(NULL, sizeof(*p));
	memset(p, 0, sizeof(*p));
	if (F.n == F.cap) {
		F.cap = F.cap ? F.cap * 2 : 8;
		F.procs = xrealloc(F.procs, (size_t)F.cap * sizeof(*F.procs));
	}
	p->index = F.n;
	p->pid = FAKE_PID_BASE + F.n;
	p->cbs = cbs;
	p->arg = arg;
	F.procs[F.n++] = p;
	*ret_pid = p->pid;
	*ret_err = 0;
	return p;
}

/* Keep one line (without its '\n') and classify it. */
static void fake_record(struct fake_proc *p, const char *s, size_t len)
{
	struct fake_line *l;
	const char *q;

	if (p->n_lines == p->cap_lines) {
		p->cap_lines = p->cap_lines ? p->cap_lines * 2 : 64;
		p->lines = xrealloc(p->lines, p->cap_lines * sizeof(*p->lines));
	}
	l = &p->lines[p->n_lines];
	memset(l, 0, sizeof(*l));
	l->text = xrealloc(NULL, len + 1);
	memcpy(l->text, s, len);
	l->text[len] = '\0';
	l->token = (uint32_t)strtoul(l->text, NULL, 10);
	l->probe = strstr(l->text, " send-probe ") != NULL;
	q = strstr(l->text, " check-support feature ");
	if (q) {
		l->question = true;
		snprintf(l->feature, sizeof(l->feature), "%s", q + strlen(" check-support feature "));
		if (strcmp(l->feature, "version") == 0) {
			l->ping = p->saw_version;
			p->saw_version = true;
		}
		if (p->n_pending_q == p->cap_pending_q) {
			p->cap_pending_q = p->cap_pending_q ? p->cap_pending_q * 2 : 16;
			p->pending_q = xrealloc(p->pending_q, p->cap_pending_q * sizeof(*p->pending_q));
		}
		p->pending_q[p->n_pending_q++] = p->n_lines;
	}
	p->n_lines++;
}

/* write(): every line is kept; a killed process takes nothing. */
static int fake_write(void *link, const char *data, size_t len)
{
	struct fake_proc *p = link;
	size_t start = 0;

	if (p->killed || p->closed) {
		p->writes_after_kill++;
		return -EPIPE;
	}
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			fake_record(p, data + start, i - start);
			start = i + 1;
		}
	}
	if (start < len)
		fake_record(p, data + start, len - start);
	return 0;
}

static void fake_kill(void *link)
{
	((struct fake_proc *)link)->killed = true;
}

static void fake_reaped(void *link, char *buf, size_t buflen)
{
	struct fake_proc *p = link;

	p->reaped = true;
	snprintf(buf, buflen, "%s", p->last_stderr);
}

static void fake_destroy(void *link)
{
	struct fake_proc *p = link;

	p->killed = true;
	p->destroyed = true;
}

const struct wlink_ops fake_link_ops = {
	.start = fake_start,
	.write = fake_write,
	.kill = fake_kill,
	.reaped = fake_reaped,
	.destroy = fake_destroy,
};

int fake_inject(struct fake_proc *p, const char *line)
{
	if (!fake_live(p))
		return -1;
	p->cbs->line(p->arg, line, strlen(line));
	return 0;
}

void fake_batch_done(struct fake_proc *p)
{
	if (fake_live(p))
		p->cbs->batch_done(p->arg);
}

void fake_close(struct fake_proc *p)
{
	if (!fake_live(p))
		return;
	p->closed = true;
	p->cbs->closed(p->arg);
}

/* True if the answer to question line l is held back. */
static bool held(const struct fake_line *l)
{
	if (l->ping && F.hold_pings)
		return true;
	return F.hold_feature[0] && strcmp(l->feature, F.hold_feature) == 0;
}

/* Answer p's pending questions that are not held back. */
static int fake_answer_proc(struct fake_proc *p)
{
	size_t n = p->n_pending_q, kept = 0, *v;
	int answered = 0;

	if (!n || !fake_live(p))
		return 0;
	/* Answering may make the worker write more questions: work on a copy. */
	v = xrealloc(NULL, n * sizeof(*v));
	memcpy(v, p->pending_q, n * sizeof(*v));
	for (size_t k = 0; k < n; k++) {
		struct fake_line *l = &p->lines[v[k]];
		char buf[128];

		if (!fake_live(p) || held(l)) {
			v[kept++] = v[k];
			continue;
		}
		l->answered = true;
		snprintf(buf, sizeof(buf), "%u feature-support support %s", (unsigned)l->token,
			 strcmp(l->feature, "version") == 0 ? "0.95" : "ok");
		answered++;
		p->cbs->line(p->arg, buf, strlen(buf));
		l = NULL; /* p->lines may have moved */
	}
	/* Still pending: the ones kept, then whatever was written meanwhile. */
	size_t added = p->n_pending_q - n;

	memmove(p->pending_q + kept, p->pending_q + n, added * sizeof(*v));
	memcpy(p->pending_q, v, kept * sizeof(*v));
	p->n_pending_q = kept + added;
	free(v);
	if (answered)
		fake_batch_done(p);
	return answered;
}

int fake_answer_questions(void)
{
	int total = 0;

	for (int i = 0; i < F.n; i++)
		total += fake_answer_proc(F.procs[i]);
	return total;
}

int fake_reply(struct fake_proc *p, size_t i, const char *rest)
{
	char buf[256];

	if (!fake_live(p) || i >= p->n_lines || p->lines[i].answered)
		return -1;
	p->lines[i].answered = true;
	snprintf(buf, sizeof(buf), "%u %s", (unsigned)p->lines[i].token, rest);
	fake_inject(p, buf);
	fake_batch_done(p);
	return 0;
}

size_t fake_probes(const struct fake_proc *p)
{
	size_t n = 0;

	for (size_t i = 0; p && i < p->n_lines; i++)
		n += p->lines[i].probe;
	return n;
}

size_t fake_unanswered_probes(const struct fake_proc *p)
{
	size_t n = 0;

	for (size_t i = 0; p && i < p->n_lines; i++)
		n += p->lines[i].probe && !p->lines[i].answered;
	return n;
}

long fake_field(const char *text, const char *name)
{
	char key[48];
	const char *s;

	snprintf(key, sizeof(key), " %s ", name);
	s = strstr(text, key);
	return s ? strtol(s + strlen(key), NULL, 10) : -1;
}
