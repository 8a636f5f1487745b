//go:build cgo

package main

// SQLite is the only user of C's malloc in dendfit, and two habits of
// glibc's malloc cost it more than its work on virtual machines, where
// system calls and page faults are slow (a fault about 12 us here).
// Constructors set malloc up before the Go runtime starts any thread.
//
// One arena: glibc gives each thread that calls malloc an arena of its
// own and grows it a page at a time, with an mprotect call each: opening
// a database (SQLite parses the schema, whose points view alone is 25 KB
// of SQL) made about 300 of them, a sweep of 100,000 points 650. One
// arena grown by brk makes about 30 (a 2-point sweep on a new database
// 49 -> 46 ms of CPU).
//
// Memory filled in at once: every first touch of a page of the heap is a
// fault, about 480 a sweep (parsing the schema, SQLite's page cache). The
// heap is grown by 4 MiB at the start and the kernel fills those pages in
// one call (MADV_POPULATE_WRITE, Linux 5.14; older kernels refuse it and
// nothing changes), and memory is kept once had: blocks up to 8 MiB come
// from the heap, not from mmap (SQLite's page cache takes 1.3 MB at once,
// which mmap would give as fresh pages again at each connection), and
// the heap is trimmed only past 16 MiB free. A 2-point sweep 1196 -> 705
// faults, 55 -> 52 ms; peak memory 6 MB more.

/*
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

__attribute__((constructor)) static void dendfitMallocSetup(void) {
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	mallopt(M_TOP_PAD, 4 << 20);
	// The first malloc grows the heap by the pad; fill in from the block
	// it gave to the heap's end, when that is the brk heap just grown.
	char *p = malloc(1);
	char *end = sbrk(0);
	if (p != NULL && end != (char *)-1) {
		char *lo = (char *)((uintptr_t)p & ~(uintptr_t)4095);
		if (end > lo && end - lo <= (8 << 20)) {
			madvise(lo, end - lo, MADV_POPULATE_WRITE);
		}
	}
	free(p);
}
#endif
*/
import "C"
