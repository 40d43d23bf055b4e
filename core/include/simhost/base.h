#pragma once
// Shared basics of the core: the error line, counted allocation, the monotonic clock, asserts.
// Every module includes this and nothing else from outside its own directory.

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SH_VERSION "0.1.0"

// One human-readable line describing why a fallible call failed. Caller-owned, written by the callee
// (the SQLite errmsg / luaL_fileresult pattern): functions return false and fill it.
typedef struct sh_error
{
    char message[256];
} sh_error;

// Formats into err (if non-NULL) and returns false, so `return sh_error_set(err, ...)` reads naturally.
bool sh_error_set(sh_error* err, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

// All core memory goes through these so the bytes in use can be read (sh_alloc_bytes) — the Box3D
// b3GetByteCount idea. The counter is process-wide and atomic: it is a statistic, never a decision input.
void* sh_alloc(size_t size);
void* sh_alloc_zeroed(size_t size);
void* sh_realloc(void* p, size_t old_size, size_t new_size);
void sh_free(void* p, size_t size);
int64_t sh_alloc_bytes(void);

// The task interface a parallel stage is handed (Box2D v3's b2EnqueueTaskCallback / b2FinishTaskCallback,
// taken by the physics world in its def): a task runs items [begin, end) of a stage on worker 0 … threads-1
// and writes only those items' outputs. enqueue splits [0, count) into ranges of at least min_range items
// and starts them; it may run everything inline and return NULL. finish waits until every range of the
// task it returned has run. The split never changes a result: each item's outputs are its own.
typedef void sh_task_fn(int begin, int end, int worker, void* task_ctx);
typedef void* sh_enqueue_task_fn(sh_task_fn* fn, int count, int min_range, void* task_ctx, void* user_ctx);
typedef void sh_finish_task_fn(void* task, void* user_ctx);

// Seconds on the monotonic clock (CLOCK_MONOTONIC): the one clock for timers, deadlines, pacing and
// timings in every layer (a session's set_timer, the step timings, the benches). Its zero is arbitrary.
double sh_now(void);
// Sleeps for `seconds` (<= 0: returns at once).
void sh_sleep(double seconds);
// A condition variable whose timed waits run on sh_now()'s clock, so a wall-clock jump neither cuts a
// wait short nor stretches it. sh_cond_wait_until waits until signalled or sh_now() >= until, and
// returns what pthread_cond_timedwait returns (ETIMEDOUT once `until` has passed).
void sh_cond_init(pthread_cond_t* cond);
int sh_cond_wait_until(pthread_cond_t* cond, pthread_mutex_t* lock, double until);

// Writes s as a JSON string literal, quotes included, through put(ctx, bytes, n): '"' and '\\' are
// backslash-escaped, control characters (< 0x20) written as \u00XX, every other byte (UTF-8 included)
// passes through. The one JSON string escaper: the Lua module's frames and the net layer's replies.
void sh_json_string(const char* s, void (*put)(void* ctx, const char* bytes, size_t n), void* ctx);

// Our own invariants: on in debug and sanitizer builds (SH_DEBUG), compiled out in release.
#if defined(SH_DEBUG)
#include <stdio.h>
#include <stdlib.h>
#define SH_ASSERT(c)                                                                                         \
    do                                                                                                       \
    {                                                                                                        \
        if (!(c))                                                                                            \
        {                                                                                                    \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c);                        \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)
// An expression (usable in `if (SH_NEVER(x))`): aborts in debug when x holds.
#define SH_NEVER(c)                                                                                          \
    ((c) ? (fprintf(stderr, "%s:%d: cannot happen: %s\n", __FILE__, __LINE__, #c), abort(), 1) : 0)
#else
#define SH_ASSERT(c) ((void)0)
// "Cannot happen" at a boundary: asserts in debug, still evaluates (and lets the caller handle) in release.
#define SH_NEVER(c)  (c)
#endif

// Costly whole-structure checks, behind -DSH_VALIDATE.
#if defined(SH_VALIDATE)
#define SH_VALIDATE_ON 1
#else
#define SH_VALIDATE_ON 0
#endif
