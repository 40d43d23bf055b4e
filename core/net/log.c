// One line per event on stderr, prefixed with wall time so interleaved lines from threads read in order.
#include "net_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void sh_log(const char* fmt, ...)
{
    char line[512];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld simhost: ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    // One fputs of a whole line: stdio locks the stream, so lines from threads never interleave.
    fprintf(stderr, "%s\n", line);
}
