/* SPDX-License-Identifier: GPL-2.0-or-later
 * RACES.md bug 4 as a bug reporter would write it: in a child process, a
 * userfaultfd over 4 MiB of anonymous memory (missing mode); a handler thread
 * resolves faults with UFFDIO_ZEROPAGE; a reader thread loops pread(O_DIRECT)
 * into the region, then MADV_DONTNEED; the main thread closes the userfaultfd
 * after a random 2..22 ms. Oracle: the child does not finish within 5 s (a
 * hang); SIGKILL ends it. One child per iteration.
 * Usage: ref_uffd_release DIR BUDGET_S
 */
#include "ref_common.h"
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REGION (4 << 20)

static int uffd, data_fd;
static char *region;
static volatile int stop;

static void *handler(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&p, 1, 100) < 0 || (p.revents & (POLLNVAL | POLLERR)))
			return NULL;
		if (stop)
			return NULL;
		if (!(p.revents & POLLIN) || read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_PAGEFAULT) {
			struct uffdio_zeropage z = {
				.range = { .start = msg.arg.pagefault.address & ~4095ULL, .len = 4096 },
			};
			ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		}
	}
}

static void *reader(void *arg)
{
	(void)arg;
	while (!stop) {
		if (pread(data_fd, region, REGION, 0) < 0 && errno != EFAULT)
			break;
		madvise(region, REGION, MADV_DONTNEED);
	}
	return NULL;
}

static void child(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	pthread_t h, r;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0)
		die("userfaultfd");
	region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		die("mmap");
	reg.range.start = (unsigned long)region;
	reg.range.len = REGION;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		die("UFFDIO_REGISTER");
	pthread_create(&h, NULL, handler, NULL);
	pthread_create(&r, NULL, reader, NULL);
	usleep(2000 + rand() % 20001);
	close(uffd);
	stop = 1;
	pthread_join(r, NULL);
	pthread_join(h, NULL);
	_exit(0);
}

int main(int argc, char **argv)
{
	char path[4096];
	unsigned long it;
	double budget;
	void *buf;
	int fd;

	budget = ref_args(argc, argv, "data", path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || posix_memalign(&buf, 4096, REGION))
		die("data file");
	memset(buf, 0x3c, REGION);
	if (write(fd, buf, REGION) != REGION || fsync(fd) < 0)
		die("write data file");
	close(fd);
	data_fd = open(path, O_RDONLY | O_DIRECT);
	if (data_fd < 0)
		die("open O_DIRECT");
	ref_start();
	for (it = 0; ref_elapsed() < budget; it++) {
		pid_t pid;
		double t;
		int status;

		srand(it * 7919 + getpid());
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0)
			child();
		t = ref_elapsed();
		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (ref_elapsed() - t > 5.0) {
				char what[64];
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				snprintf(what, sizeof(what), "child hung over 5 s, iteration %lu", it);
				ref_detected(what);
			}
			usleep(10000);
		}
	}
	ref_not_detected(it);
}
