/* SPDX-License-Identifier: GPL-2.0-or-later
 * RACES.md bug 2 as a bug reporter would write it: a 4096-byte file made by
 * ftruncate, opened O_DIRECT, one 8192-byte READ at offset 0 on a ring made
 * with IORING_SETUP_IOPOLL. Oracle: cqe->res is 0 where 4096 is due.
 * Usage: ref_iopoll_eof DIR BUDGET_S
 */
#include "ref_common.h"
#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	unsigned long it;
	double budget;
	void *buf;

	budget = ref_args(argc, argv, "f", path, sizeof(path));
	if (posix_memalign(&buf, 4096, 8192))
		die("posix_memalign");
	ref_start();
	for (it = 0; ref_elapsed() < budget; it++) {
		struct io_uring ring;
		struct io_uring_sqe *sqe;
		struct io_uring_cqe *cqe;
		int fd, ret, res;

		fd = ref_fresh_hole(path);
		ret = io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL);
		if (ret < 0) {
			errno = -ret;
			die("io_uring_queue_init(IOPOLL)");
		}
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, fd, buf, 8192, 0);
		io_uring_submit(&ring);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret < 0) {
			errno = -ret;
			die("io_uring_wait_cqe");
		}
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		io_uring_queue_exit(&ring);
		close(fd);
		if (res != 4096) {
			char what[64];
			snprintf(what, sizeof(what), "cqe->res %d where 4096 is due, iteration %lu", res, it);
			ref_detected(what);
		}
	}
	ref_not_detected(it);
}
