#ifndef CHIREDIS_LIMITS_H
#define CHIREDIS_LIMITS_H
#include <hiredis/hiredis.h>

/// The most elements an array reply may announce (see chiredis_limits.c).
#define CHIREDIS_MAX_ARRAY_ELEMENTS (1 << 20)

/// Makes `reader` (a context's, or one of its own) refuse array replies that announce more than
/// CHIREDIS_MAX_ARRAY_ELEMENTS elements: reading one fails as if out of memory.
void chiredis_limit_arrays(redisReader *reader);
#endif
