/*
 * libFuzzer target: daemon/addrfmt.c against libc.  The input as text:
 * addr_parse() must answer what inet_pton() answers for it (NUL-terminated)
 * in both families, with the same bytes, leaving its output alone when it
 * answers 0 (and answer 0 for any input holding a NUL, where inet_pton()
 * would stop at the NUL); addr_canon() must give inet_ntop()'s text of what
 * was read.  The input as bytes: its first 4 (and first 16) bytes must be
 * written by addr_format() as inet_ntop() writes them, and that text must
 * parse back to them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "daemon/addrfmt.h"
#include "fuzz.h"

/* The text as a family's address. */
static void check_parse(int family, const char *text, size_t size, int has_nul)
{
	unsigned char want[16], got[16];
	char canon[MP_ADDR_MAX], libc[INET6_ADDRSTRLEN];
	int v = family == AF_INET ? 4 : 6, rw, rg, rc;

	memset(want, 0xa5, sizeof(want));
	memset(got, 0xa5, sizeof(got));
	rg = addr_parse(family, text, size, got);
	if (has_nul) {
		rw = 0;
	} else {
		char *copy = fuzz_cstr((const uint8_t *)text, size);

		rw = inet_pton(family, copy, want);
		free(copy);
	}
	FUZZ_CHECK(rg == rw, "IPv%d: addr_parse %d, inet_pton %d", v, rg, rw);
	FUZZ_CHECK(memcmp(got, want, sizeof(got)) == 0, "IPv%d: other bytes", v);

	memset(canon, 'X', sizeof(canon));
	rc = addr_canon(v, text, size, canon);
	if (rg != 1) {
		FUZZ_CHECK(rc == -EINVAL, "IPv%d: addr_canon %d on an invalid text", v, rc);
		for (size_t i = 0; i < sizeof(canon); i++)
			FUZZ_CHECK(canon[i] == 'X', "IPv%d: addr_canon wrote on failure", v);
		return;
	}
	FUZZ_CHECK(rc == 0, "IPv%d: addr_canon %d on a valid text", v, rc);
	FUZZ_CHECK(inet_ntop(family, got, libc, sizeof(libc)) != NULL, "inet_ntop failed");
	FUZZ_CHECK(strcmp(canon, libc) == 0, "IPv%d: addr_canon \"%s\", inet_ntop \"%s\"", v, canon,
		   libc);
	if (family == AF_INET)
		FUZZ_CHECK(strlen(canon) == size && memcmp(canon, text, size) == 0,
			   "IPv4 canonical form differs from a valid text");
}

/* The bytes as a family's address. */
static void check_format(int family, const uint8_t *bin)
{
	char want[INET6_ADDRSTRLEN], got[MP_ADDR_MAX];
	unsigned char back[16];
	size_t n, bin_size = family == AF_INET ? 4 : 16;

	FUZZ_CHECK(inet_ntop(family, bin, want, sizeof(want)) != NULL, "inet_ntop failed");
	n = addr_format(family, bin, got);
	FUZZ_CHECK(fuzz_terminated(got, sizeof(got)) && strcmp(got, want) == 0 && n == strlen(want),
		   "addr_format \"%.*s\" (%zu), inet_ntop \"%s\"", (int)sizeof(got), got, n, want);
	FUZZ_CHECK(addr_parse(family, got, n, back) == 1 && memcmp(back, bin, bin_size) == 0,
		   "\"%s\" does not parse back to its bytes", got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_copy(data, size);
	int has_nul = size > 0 && fuzz_terminated(text, size);

	check_parse(AF_INET, text, size, has_nul);
	check_parse(AF_INET6, text, size, has_nul);
	if (size >= 4)
		check_format(AF_INET, data);
	if (size >= 16)
		check_format(AF_INET6, data);
	free(text);
	return 0;
}
