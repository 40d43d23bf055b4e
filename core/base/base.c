#include "simhost/base.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Process-wide byte counter (see base.h): a statistic for diagnostics, never used to decide anything.
static atomic_llong byte_count;

bool sh_error_set(sh_error* err, const char* fmt, ...)
{
    if (err == NULL)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    // An error is one line wherever it goes (a log line, an HTTP body, a CLI message): text from outside
    // can carry newlines, e.g. SQLite's "malformed database schema (...)" quotes the file's own schema,
    // which fuzz_recording found splitting a refused recording's reason over two lines.
    for (char* c = err->message; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    return false;
}

void* sh_alloc(size_t size)
{
    void* p = malloc(size == 0 ? 1 : size);
    if (p != NULL)
        atomic_fetch_add(&byte_count, (long long)size);
    return p;
}

void* sh_alloc_zeroed(size_t size)
{
    void* p = calloc(1, size == 0 ? 1 : size);
    if (p != NULL)
        atomic_fetch_add(&byte_count, (long long)size);
    return p;
}

void* sh_realloc(void* p, size_t old_size, size_t new_size)
{
    void* q = realloc(p, new_size == 0 ? 1 : new_size);
    if (q != NULL)
        atomic_fetch_add(&byte_count, (long long)new_size - (long long)old_size);
    return q;
}

void sh_free(void* p, size_t size)
{
    if (p == NULL)
        return;
    atomic_fetch_sub(&byte_count, (long long)size);
    free(p);
}

int64_t sh_alloc_bytes(void)
{
    return (int64_t)atomic_load(&byte_count);
}
