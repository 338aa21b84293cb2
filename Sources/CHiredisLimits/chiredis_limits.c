// hiredis 0.14 allocates an array reply's element table as soon as it reads the header, however
// many elements the header claims: "*764388000" made it ask for 6 GB (found by the fuzzer). No
// command of ours gets more than a few thousand elements back, so a larger array is refused as a
// protocol error (hiredis reports "Out of memory") and the connection is replaced.
#include "chiredis_limits.h"
#include <pthread.h>
#include <stdlib.h>

static redisReplyObjectFunctions limited_functions;
static void *(*create_array)(const redisReadTask *, int);
static pthread_once_t limited_once = PTHREAD_ONCE_INIT;

static void *create_limited_array(const redisReadTask *task, int elements) {
    if (elements > CHIREDIS_MAX_ARRAY_ELEMENTS) return NULL;
    return create_array(task, elements);
}

// hiredis' own functions are static: they are reached through a new reader's table.
static void make_limited_functions(void) {
    redisReader *reader = redisReaderCreate();
    if (reader == NULL) abort();
    limited_functions = *reader->fn;
    create_array = reader->fn->createArray;
    limited_functions.createArray = create_limited_array;
    redisReaderFree(reader);
}

void chiredis_limit_arrays(redisReader *reader) {
    if (reader == NULL) return;
    pthread_once(&limited_once, make_limited_functions);
    reader->fn = &limited_functions;
}
