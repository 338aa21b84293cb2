// glibc extensions that Swift's Glibc module does not include: malloc_trim, naming a thread
// (Foundation's Thread.name does not reach the kernel on Linux, so top -H and gdb showed none),
// starting a file's writeback early, and a close-on-exec pipe.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <pthread.h>
#include <fcntl.h>
#include <unistd.h>

static inline void cglibc_name_this_thread(const char *name) {
    char truncated[16];  // The kernel keeps 15 bytes and a NUL.
    int i = 0;
    for (; name[i] != 0 && i < 15; i++) truncated[i] = name[i];
    truncated[i] = 0;
    pthread_setname_np(pthread_self(), truncated);
}

/// Starts writing `count` bytes at `offset` of `fd` to the disk, without waiting for it.
static inline int cglibc_start_writeback(int fd, long long offset, long long count) {
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
}

/// A pipe whose ends a process spawned by another thread does not inherit.
static inline int cglibc_pipe_cloexec(int ends[2]) {
    return pipe2(ends, O_CLOEXEC);
}
