// glibc extensions that Swift's Glibc module does not include: malloc_trim, and naming a thread
// (Foundation's Thread.name does not reach the kernel on Linux, so top -H and gdb showed none).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <pthread.h>

static inline void cglibc_name_this_thread(const char *name) {
    char truncated[16];  // The kernel keeps 15 bytes and a NUL.
    int i = 0;
    for (; name[i] != 0 && i < 15; i++) truncated[i] = name[i];
    truncated[i] = 0;
    pthread_setname_np(pthread_self(), truncated);
}
