// The monotonic clock (base.h), one definition for every layer: sh_now(), sleeping, and condition
// variables that wait until an sh_now() deadline.
#include "simhost/base.h"

#include <time.h>

double sh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// t seconds on the clock as a timespec; the nanoseconds rounded down can reach 1e9 when t's fraction
// is within half an ulp of 1, so they carry.
static struct timespec to_timespec(double t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    return ts;
}

void sh_sleep(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts = to_timespec(seconds);
    nanosleep(&ts, NULL);
}

void sh_cond_init(pthread_cond_t* cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); // sh_now()'s clock
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

int sh_cond_wait_until(pthread_cond_t* cond, pthread_mutex_t* lock, double until)
{
    struct timespec ts = to_timespec(until);
    return pthread_cond_timedwait(cond, lock, &ts);
}
