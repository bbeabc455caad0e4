// SPDX-License-Identifier: GPL-2.0-or-later
// A check of diorace's finding prog_ext4_inline_falloc_dio_stale written apart
// from diorace: on ext4 made with -O inline_data, a buffered write that returned,
// then fallocate(ZERO_RANGE) beyond it racing an O_DIRECT read of the written bytes.
//   gcc -O2 -pthread -o repro ext4-inline-falloc-dio-stale.c
//   ./repro MOUNTPOINT ITERATIONS [1: no fallocate]   (exit 1: some read missed the write)
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static const char *dir;
static int fd_rw;
static pthread_barrier_t bar;
static char path[4096];
static int mode;  // 0: race, 1: no fallocate
static void *falloc_thread(void *a) {
  pthread_barrier_wait(&bar);
  if (mode == 0 && fallocate(fd_rw, FALLOC_FL_ZERO_RANGE, 4096, 16384) < 0) perror("fallocate");
  return NULL;
}
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  dir = argv[1];
  int iters = atoi(argv[2]);
  mode = argc > 3 ? atoi(argv[3]) : 0;
  void *buf = NULL;
  if (argc < 3 || posix_memalign(&buf, 4096, 4096) != 0) {
    fprintf(stderr, "usage: %s MOUNTPOINT ITERATIONS [1: no fallocate]\n", argv[0]);
    return 2;
  }
  char data[82];
  memset(data, 'A', sizeof data);
  int bad = 0, stale_nonzero = 0;
  for (int i = 0; i < iters; i++) {
    snprintf(path, sizeof path, "%s/f%d", dir, i);
    fd_rw = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd_rw < 0) { perror("open"); return 2; }
    if (ftruncate(fd_rw, 2560) < 0) { perror("ftruncate"); return 2; }
    if (pwrite(fd_rw, data, sizeof data, 0) != sizeof data) { perror("pwrite"); return 2; }
    int fd_d = open(path, O_RDONLY | O_DIRECT);
    pthread_t t;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&t, NULL, falloc_thread, NULL);
    memset(buf, 0xfa, 4096);
    pthread_barrier_wait(&bar);
    ssize_t n = pread(fd_d, buf, 512, 0);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&bar);
    if (n != 512) { fprintf(stderr, "iter %d: pread returned %zd\n", i, n); }
    if (memcmp(buf, data, sizeof data) != 0) {
      bad++;
      unsigned char c = ((unsigned char *)buf)[0];
      if (c != 0) stale_nonzero++;
      if (bad <= 3) fprintf(stderr, "iter %d: the written bytes read back as 0x%02x (not 'A')\n", i, c);
    }
    close(fd_d);
    close(fd_rw);
    unlink(path);
  }
  printf("mode %d: %d of %d reads missed the completed write (%d with nonzero stale bytes)\n", mode, bad, iters, stale_nonzero);
  return bad ? 1 : 0;
}
