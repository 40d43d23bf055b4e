// The monotonic clock (base.h), one definition for every layer.
#include "simhost/base.h"

#include <time.h>

double sh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
