//go:build cgo

package main

// SQLite is the only user of C's malloc in dendfit. glibc gives each
// thread that calls it its own arena, and grows a thread's arena a page
// at a time, with an mprotect call each: opening a database (SQLite
// parses the schema, whose points view alone is 25 KB of SQL) made about
// 300 of them, a sweep of 100,000 points 650. System calls are slow on
// virtual machines; one arena, grown 128 KiB at a time by brk, makes
// about 30 (a 2-point sweep on a new database 49 -> 46 ms of CPU, one of
// 100,000 points 157 -> 152 ms). A constructor sets it, before the Go
// runtime starts the threads that would take arenas of their own.

/*
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
__attribute__((constructor)) static void dendfitOneMallocArena(void) { mallopt(M_ARENA_MAX, 1); }
#endif
*/
import "C"
