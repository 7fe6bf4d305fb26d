// The C reference for `npm run bench:uring`: the same NOP loop as bench/uring.ts, on raw
// io_uring syscalls (no liburing), one ring per thread. Prints "<nops> <seconds>" per thread.
// Usage: uring-nop BATCH NOPS THREADS
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static unsigned batch, nops;

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct result { double seconds; unsigned long long sum; int cpu; };

static void *run(void *arg) {
	struct result *out = arg;
	// Thread n runs on CPU n, as the JS workers do: the same placement for both.
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(out->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int fd = syscall(__NR_io_uring_setup, 128, &p);
	if (fd < 0) { perror("io_uring_setup"); exit(1); }
	size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	size_t ring_size = sq_size > cq_size ? sq_size : cq_size;
	char *ring = mmap(0, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (ring == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); exit(1); }
	unsigned *sq_head = (unsigned *)(ring + p.sq_off.head), *sq_tail = (unsigned *)(ring + p.sq_off.tail);
	unsigned sq_mask = *(unsigned *)(ring + p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(ring + p.sq_off.array);
	unsigned *cq_head = (unsigned *)(ring + p.cq_off.head), *cq_tail = (unsigned *)(ring + p.cq_off.tail);
	unsigned cq_mask = *(unsigned *)(ring + p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);
	for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;
	(void)sq_head;

	unsigned tail = *sq_tail;
	unsigned long long sum = 0;
	double start = now();
	for (unsigned done = 0; done < nops; done += batch) {
		for (unsigned i = 0; i < batch; i++) {
			// What liburing's io_uring_prep_nop writes: every field of the 64-byte SQE.
			struct io_uring_sqe *sqe = &sqes[tail & sq_mask];
			memset(sqe, 0, sizeof(*sqe));
			sqe->opcode = IORING_OP_NOP;
			sqe->fd = -1;
			sqe->user_data = i;
			tail++;
		}
		__atomic_store_n(sq_tail, tail, __ATOMIC_RELEASE);
		if (syscall(__NR_io_uring_enter, fd, batch, batch, IORING_ENTER_GETEVENTS, NULL, 0) < 0) { perror("io_uring_enter"); exit(1); }
		unsigned head = *cq_head, ctail = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
		while (head != ctail) {
			struct io_uring_cqe *cqe = &cqes[head & cq_mask];
			if (cqe->res != 0) { fprintf(stderr, "NOP failed: %d\n", cqe->res); exit(1); }
			sum += cqe->user_data;
			head++;
		}
		__atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
	}
	out->seconds = now() - start;
	out->sum = sum;
	close(fd);
	return NULL;
}

int main(int argc, char **argv) {
	if (argc != 4) { fprintf(stderr, "usage: %s BATCH NOPS THREADS\n", argv[0]); return 2; }
	batch = atoi(argv[1]);
	nops = atoi(argv[2]);
	int threads = atoi(argv[3]);
	pthread_t tids[64];
	struct result results[64];
	for (int t = 0; t < threads; t++) {
		results[t].cpu = t;
		pthread_create(&tids[t], NULL, run, &results[t]);
	}
	for (int t = 0; t < threads; t++) pthread_join(tids[t], NULL);
	for (int t = 0; t < threads; t++) printf("%u %.9f %llu\n", nops, results[t].seconds, results[t].sum);
	return 0;
}
