/* SPDX-License-Identifier: GPL-2.0-or-later
 * RACES.md bug 3 as a bug reporter would write it: a sparse image on the ext4
 * under test, attached as a loop device with direct I/O on; FIFREEZE the
 * backing filesystem; pwrite 4 KiB with O_DIRECT to /dev/loopN; thaw.
 * Oracle: the write completes while the filesystem is frozen (on a fixed
 * kernel it blocks until FITHAW).
 * Usage: ref_loop_freeze DIR BUDGET_S
 */
#include "ref_common.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int dev_fd, loop_fd;
static void *buf;
static volatile int write_done;

static void *writer(void *arg)
{
	(void)arg;
	if (pwrite(dev_fd, buf, 4096, 0) != 4096)
		die("pwrite to the loop device");
	write_done = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	char img[4096], dev[64];
	unsigned long it;
	double budget;
	int ctl, n, img_fd, dir_fd;

	budget = ref_args(argc, argv, "img", img, sizeof(img));
	if (posix_memalign(&buf, 4096, 4096))
		die("posix_memalign");
	memset(buf, 0x5a, 4096);
	img_fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (img_fd < 0 || ftruncate(img_fd, 64 << 20) < 0)
		die("image");
	ctl = open("/dev/loop-control", O_RDWR);
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (n < 0)
		die("LOOP_CTL_GET_FREE");
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	dev_fd = open(dev, O_RDWR);
	if (dev_fd < 0 || ioctl(dev_fd, LOOP_SET_FD, img_fd) < 0)
		die("LOOP_SET_FD");
	if (ioctl(dev_fd, LOOP_SET_DIRECT_IO, 1) < 0)
		die("LOOP_SET_DIRECT_IO");
	loop_fd = dev_fd;
	dev_fd = open(dev, O_RDWR | O_DIRECT);
	dir_fd = open(argv[1], O_RDONLY);
	if (dev_fd < 0 || dir_fd < 0)
		die("open");
	ref_start();
	for (it = 0; ref_elapsed() < budget; it++) {
		pthread_t t;
		int done;

		write_done = 0;
		if (ioctl(dir_fd, FIFREEZE, 0) < 0)
			die("FIFREEZE");
		pthread_create(&t, NULL, writer, NULL);
		usleep(1000000);
		done = write_done;
		if (ioctl(dir_fd, FITHAW, 0) < 0)
			die("FITHAW");
		pthread_join(t, NULL);
		if (done) {
			char what[64];
			snprintf(what, sizeof(what), "write completed while frozen, iteration %lu", it);
			close(dev_fd);
			ioctl(loop_fd, LOOP_CLR_FD, 0);
			ref_detected(what);
		}
	}
	close(dev_fd);
	ioctl(loop_fd, LOOP_CLR_FD, 0);
	ref_not_detected(it);
}
