/* SPDX-License-Identifier: GPL-2.0-or-later
 * RACES.md bug 1 as a bug reporter would write it: on an ext4 made with
 * -O inline_data, per iteration a fresh file truncated to 4096 (a hole);
 * thread A pwrite()s 4096 bytes at 0 with O_DIRECT while thread B, after a
 * random spin of 0..20000 loop turns, pwrite()s 5 bytes at 0 through the page
 * cache. Oracle: A's write fails with ERANGE.
 * Usage: ref_ext4_inline DIR BUDGET_S
 */
#include "ref_common.h"
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static int fd_direct, fd_buffered;
static void *buf;
static ssize_t result_a;
static int errno_a;
static unsigned spin;

static void *writer_a(void *arg)
{
	(void)arg;
	result_a = pwrite(fd_direct, buf, 4096, 0);
	errno_a = errno;
	return NULL;
}

static void *writer_b(void *arg)
{
	volatile unsigned sink = 0;
	(void)arg;
	for (unsigned i = 0; i < spin; i++)
		sink += i;
	if (pwrite(fd_buffered, "hello", 5, 0) != 5)
		die("buffered pwrite");
	return NULL;
}

int main(int argc, char **argv)
{
	char path[4096];
	unsigned long it;
	double budget;

	budget = ref_args(argc, argv, "f", path, sizeof(path));
	if (posix_memalign(&buf, 4096, 4096))
		die("posix_memalign");
	memset(buf, 0xab, 4096);
	srand(getpid());
	ref_start();
	for (it = 0; ref_elapsed() < budget; it++) {
		pthread_t a, b;

		fd_direct = ref_fresh_hole(path);
		fd_buffered = open(path, O_RDWR);
		if (fd_buffered < 0)
			die("open");
		spin = rand() % 20001;
		pthread_create(&a, NULL, writer_a, NULL);
		pthread_create(&b, NULL, writer_b, NULL);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		close(fd_direct);
		close(fd_buffered);
		if (result_a < 0 && errno_a == ERANGE) {
			char what[64];
			snprintf(what, sizeof(what), "ERANGE at iteration %lu", it);
			ref_detected(what);
		}
	}
	ref_not_detected(it);
}
