// The task pool (simhost/task_pool.h): threads - 1 workers sleeping on a condition variable, one task at a
// time. A task is cut into ranges claimed through an atomic counter, so a worker that wakes late takes
// fewer ranges and none waits on another.
#include "simhost/task_pool.h"

#include <stdatomic.h>
#include <unistd.h>

// Ranges per thread: more ranges than threads lets a thread that finishes early take another (a narrow
// phase range of fresh 32-point hull pairs costs many times one of resting cubes).
#define RANGES_PER_THREAD 4

// Polls of the task counter before a worker sleeps, and of the workers before the caller does: a step hands
// over tasks back to back (the solve's levels: 708 tasks a step on many_pyramids), and a condition
// variable's wake-up costs some 10-50 µs each on this machine; 1000 pauses are about 20-100 µs of spin.
#define SPIN 1000

struct sh_task_pool
{
    int threads;
    pthread_t workers[SH_TASK_POOL_MAX_THREADS];
    int started; // workers created
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    // The current task, written under lock before generation moves on.
    sh_task_fn* fn;
    void* ctx;
    int count, ranges;
    atomic_uint generation;
    atomic_int next;     // next range to claim
    atomic_int finished; // ranges run
    atomic_int active;   // workers inside the current task
    int sleepers;        // workers waiting on wake (under lock)
    bool waiting;        // the caller waits on done (under lock)
    atomic_bool stop;
};

typedef struct worker_arg
{
    sh_task_pool* pool;
    int index;
} worker_arg;

static void pause_once(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_ranges(sh_task_pool* p, sh_task_fn* fn, void* ctx, int count, int ranges, int worker)
{
    for (;;)
    {
        int r = atomic_fetch_add(&p->next, 1);
        if (r >= ranges)
            return;
        int begin = (int)((long long)count * r / ranges), end = (int)((long long)count * (r + 1) / ranges);
        fn(begin, end, worker, ctx);
        atomic_fetch_add(&p->finished, 1);
    }
}

static void* worker_main(void* arg)
{
    sh_task_pool* p = ((worker_arg*)arg)->pool;
    int index = ((worker_arg*)arg)->index;
    sh_free(arg, sizeof(worker_arg));
    unsigned seen = 0;
    for (;;)
    {
        for (int k = 0; k < SPIN && atomic_load(&p->generation) == seen && !atomic_load(&p->stop); k++)
            pause_once();
        pthread_mutex_lock(&p->lock);
        while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen)
        {
            p->sleepers++;
            pthread_cond_wait(&p->wake, &p->lock);
            p->sleepers--;
        }
        if (atomic_load(&p->stop))
        {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        seen = atomic_load(&p->generation);
        // Copied under the lock, and active counted before the lock is let go: the next task is published
        // only once active is 0 (enqueue), so this worker never claims its ranges with this task's fn.
        sh_task_fn* fn = p->fn;
        void* ctx = p->ctx;
        int count = p->count, ranges = p->ranges;
        atomic_fetch_add(&p->active, 1);
        pthread_mutex_unlock(&p->lock);
        run_ranges(p, fn, ctx, count, ranges, index);
        if (atomic_fetch_sub(&p->active, 1) == 1)
        {
            pthread_mutex_lock(&p->lock);
            if (p->waiting)
                pthread_cond_broadcast(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

// Until no worker is inside a task (spinning first, then on done).
static void wait_idle(sh_task_pool* p)
{
    for (int k = 0; k < SPIN && atomic_load(&p->active) > 0; k++)
        pause_once();
    if (atomic_load(&p->active) == 0)
        return;
    pthread_mutex_lock(&p->lock);
    p->waiting = true;
    while (atomic_load(&p->active) > 0)
        pthread_cond_wait(&p->done, &p->lock);
    p->waiting = false;
    pthread_mutex_unlock(&p->lock);
}

bool sh_task_pool_create(int threads, sh_task_pool** out, sh_error* err)
{
    *out = NULL;
    if (threads < 1 || threads > SH_TASK_POOL_MAX_THREADS)
        return sh_error_set(err, "threads must be an integer in 1 … %d", SH_TASK_POOL_MAX_THREADS);
    sh_task_pool* p = sh_alloc_zeroed(sizeof *p);
    if (p == NULL)
        return sh_error_set(err, "out of memory");
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 1; i < threads; i++)
    {
        worker_arg* a = sh_alloc(sizeof *a);
        if (a == NULL)
        {
            sh_task_pool_destroy(p);
            return sh_error_set(err, "out of memory");
        }
        *a = (worker_arg){p, i};
        if (pthread_create(&p->workers[p->started], NULL, worker_main, a) != 0)
        {
            sh_free(a, sizeof *a);
            sh_task_pool_destroy(p);
            return sh_error_set(err, "cannot start a worker thread");
        }
        p->started++;
    }
    *out = p;
    return true;
}

void sh_task_pool_destroy(sh_task_pool* p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    sh_free(p, sizeof *p);
}

int sh_task_pool_threads(const sh_task_pool* p)
{
    return p->threads;
}

void* sh_task_pool_enqueue(sh_task_fn* fn, int count, int min_range, void* task_ctx, void* pool)
{
    sh_task_pool* p = pool;
    if (count <= 0)
        return NULL;
    int most = min_range > 0 ? count / min_range : count;
    int ranges = p->threads * RANGES_PER_THREAD < most ? p->threads * RANGES_PER_THREAD : most;
    if (p->threads == 1 || ranges <= 1)
    {
        fn(0, count, 0, task_ctx);
        return NULL;
    }
    // A worker that woke after the last task was finished may still be inside it (claiming nothing): the
    // next task's counters are reset only once it is out.
    // wait_idle spins for the common case; the check that counts is under the lock, where a worker counts
    // itself in.
    wait_idle(p);
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->active) > 0)
    {
        p->waiting = true;
        pthread_cond_wait(&p->done, &p->lock);
    }
    p->waiting = false;
    p->fn = fn;
    p->ctx = task_ctx;
    p->count = count;
    p->ranges = ranges;
    atomic_store(&p->next, 0);
    atomic_store(&p->finished, 0);
    atomic_fetch_add(&p->generation, 1);
    if (p->sleepers > 0)
        pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return p;
}

void sh_task_pool_finish(void* task, void* pool)
{
    sh_task_pool* p = pool;
    if (task == NULL)
        return;
    run_ranges(p, p->fn, p->ctx, p->count, p->ranges, 0);
    // Every range is claimed now; the workers still running theirs are counted in active.
    wait_idle(p);
}

int sh_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > SH_TASK_POOL_MAX_THREADS ? SH_TASK_POOL_MAX_THREADS : (int)n;
}
