/* SPDX-License-Identifier: GPL-2.0-or-later
 * ci/bench.d: reference reproducers for the side-by-side bench, written from
 * the "Trigger" and "Oracle" paragraphs of shared/RACES.md the way a bug
 * reporter would write them: plain, no tuning. Each one prints
 *   REF DETECTED <seconds since start> <what>   (exit 0), or
 *   REF NOT-DETECTED <seconds> <iterations>     (exit 1) when its budget ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static struct timespec ref_t0;

static double ref_elapsed(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - ref_t0.tv_sec) + (t.tv_nsec - ref_t0.tv_nsec) / 1e9;
}

static void ref_start(void) { clock_gettime(CLOCK_MONOTONIC, &ref_t0); }

static void ref_detected(const char *what)
{
	printf("REF DETECTED %.3f %s\n", ref_elapsed(), what);
	fflush(stdout);
	exit(0);
}

static void ref_not_detected(unsigned long iterations)
{
	printf("REF NOT-DETECTED %.3f %lu\n", ref_elapsed(), iterations);
	fflush(stdout);
	exit(1);
}

static void die(const char *what)
{
	printf("REF ERROR %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(2);
}

/* The references' command line: DIR BUDGET_S; path = DIR/file. */
static inline double ref_args(int argc, char **argv, const char *file, char *path, size_t n)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR BUDGET_S\n", argv[0]);
		exit(2);
	}
	snprintf(path, n, "%s/%s", argv[1], file);
	return atof(argv[2]);
}

/* A fresh file of 4096 bytes, all hole (ftruncate), opened O_DIRECT. */
static inline int ref_fresh_hole(const char *path)
{
	int fd;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0644);
	if (fd < 0)
		die("open O_DIRECT");
	if (ftruncate(fd, 4096) < 0)
		die("ftruncate");
	return fd;
}
