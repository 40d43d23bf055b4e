// The worker pool that runs session actors. A session is in the ready queue at most once; one
// worker at a time runs it, so its Lua state and world never need locks (docs/protocol.md "Threads").
//
// Timers live here rather than on the lws service thread: a tick only ever wakes a worker, and
// routing it through the service thread would add a cross-thread hop (and its latency) to every
// frame. Workers sleep on a condition variable until the earliest due timer; with at most
// max_sessions (64) sessions a linear scan for due timers costs less than keeping a heap.
#include "net_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct sh_job
{
    struct sh_job* next;
    void (*fn)(void* arg);
    void* arg;
} sh_job;

struct sh_workers
{
    sh_server* server;
    pthread_mutex_t lock;
    pthread_cond_t cond; // CLOCK_MONOTONIC
    sh_session *ready_head, *ready_tail;
    sh_session* all; // every registered session (timers are scanned here)
    int registered;
    sh_job *jobs_head, *jobs_tail;
    bool stopping;
    int count;
    pthread_t threads[];
};

static void push_ready(sh_workers* w, sh_session* s)
{
    s->sched = SH_SCHED_QUEUED;
    s->sched_next = NULL;
    if (w->ready_tail == NULL)
        w->ready_head = s;
    else
        w->ready_tail->sched_next = s;
    w->ready_tail = s;
}

static sh_session* pop_ready(sh_workers* w)
{
    sh_session* s = w->ready_head;
    if (s != NULL)
    {
        w->ready_head = s->sched_next;
        if (w->ready_head == NULL)
            w->ready_tail = NULL;
        s->sched_next = NULL;
    }
    return s;
}

static void unregister(sh_workers* w, sh_session* s)
{
    if (s->all_prev != NULL)
        s->all_prev->all_next = s->all_next;
    else
        w->all = s->all_next;
    if (s->all_next != NULL)
        s->all_next->all_prev = s->all_prev;
    s->all_next = s->all_prev = NULL;
    s->sched = SH_SCHED_NONE;
    w->registered--;
}

// Queues idle sessions whose timer is due; returns the earliest future due time (or -1).
static double scan_timers(sh_workers* w, double now)
{
    double next = -1;
    for (sh_session* s = w->all; s != NULL; s = s->all_next)
    {
        if (s->due < 0)
            continue;
        if (s->due <= now)
        {
            if (s->sched == SH_SCHED_IDLE)
                push_ready(w, s);
        }
        else if (next < 0 || s->due < next)
            next = s->due;
    }
    return next;
}

static void* worker_main(void* arg)
{
    sh_workers* w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;)
    {
        if (w->jobs_head != NULL)
        {
            sh_job* job = w->jobs_head;
            w->jobs_head = job->next;
            if (w->jobs_head == NULL)
                w->jobs_tail = NULL;
            pthread_mutex_unlock(&w->lock);
            job->fn(job->arg);
            sh_free(job, sizeof *job);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        double now = sh_now();
        double next = scan_timers(w, now);
        sh_session* s = pop_ready(w);
        if (s == NULL)
        {
            if (w->stopping && w->registered == 0)
                break;
            if (next < 0)
                pthread_cond_wait(&w->cond, &w->lock);
            else
            {
                struct timespec ts;
                ts.tv_sec = (time_t)next;
                ts.tv_nsec = (long)((next - (double)ts.tv_sec) * 1e9);
                if (ts.tv_nsec >= 1000000000L)
                    ts.tv_sec++, ts.tv_nsec -= 1000000000L;
                pthread_cond_timedwait(&w->cond, &w->lock, &ts);
            }
            continue;
        }
        s->sched = SH_SCHED_RUNNING;
        s->pending = false;
        bool tick = s->due >= 0 && s->due <= now;
        if (tick)
            s->due = -1;
        pthread_mutex_unlock(&w->lock);

        sh_session_run(s, tick);
        bool finished = sh_session_finished(s);

        pthread_mutex_lock(&w->lock);
        if (finished)
        {
            unregister(w, s);
            pthread_mutex_unlock(&w->lock);
            sh_session_unref(s); // the workers' reference
            pthread_mutex_lock(&w->lock);
            if (w->stopping && w->registered == 0)
                pthread_cond_broadcast(&w->cond);
            continue;
        }
        if (s->pending || (s->due >= 0 && s->due <= sh_now()))
        {
            push_ready(w, s);
            // Another worker may be asleep; this one also loops, so one signal is enough.
            pthread_cond_signal(&w->cond);
        }
        else
            s->sched = SH_SCHED_IDLE;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

bool sh_workers_create(sh_server* server, int count, sh_workers** out, sh_error* err)
{
    if (count <= 0)
    {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        count = n > 0 ? (int)n : 1;
    }
    if (count > 256)
        count = 256;
    sh_workers* w = sh_alloc_zeroed(sizeof *w + (size_t)count * sizeof(pthread_t));
    if (w == NULL)
        return sh_error_set(err, "out of memory");
    w->server = server;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);

    // Workers never take signals: SIGINT/SIGTERM go to the service thread, whose poll() they wake.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < count; i++)
    {
        int rc = pthread_create(&w->threads[i], NULL, worker_main, w);
        if (rc != 0)
        {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            w->count = i;
            sh_workers_destroy(w);
            return sh_error_set(err, "cannot start a worker thread: %s", strerror(rc));
        }
        w->count = i + 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *out = w;
    return true;
}

void sh_workers_destroy(sh_workers* w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->count; i++)
        pthread_join(w->threads[i], NULL);
    // Jobs submitted after the last worker left (none in practice: submit refuses when stopping).
    while (w->jobs_head != NULL)
    {
        sh_job* job = w->jobs_head;
        w->jobs_head = job->next;
        job->fn(job->arg);
        sh_free(job, sizeof *job);
    }
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    sh_free(w, sizeof *w + (size_t)w->count * sizeof(pthread_t));
}

void sh_workers_register(sh_workers* w, sh_session* s)
{
    sh_session_ref(s);
    pthread_mutex_lock(&w->lock);
    s->sched = SH_SCHED_IDLE;
    s->due = -1;
    s->all_prev = NULL;
    s->all_next = w->all;
    if (w->all != NULL)
        w->all->all_prev = s;
    w->all = s;
    w->registered++;
    pthread_mutex_unlock(&w->lock);
}

void sh_workers_wake(sh_workers* w, sh_session* s)
{
    pthread_mutex_lock(&w->lock);
    if (s->sched == SH_SCHED_IDLE)
    {
        push_ready(w, s);
        pthread_cond_signal(&w->cond);
    }
    else if (s->sched != SH_SCHED_NONE)
        s->pending = true;
    pthread_mutex_unlock(&w->lock);
}

void sh_workers_set_timer(sh_workers* w, sh_session* s, double due)
{
    pthread_mutex_lock(&w->lock);
    s->due = due;
    // Sleeping workers computed their wake-up from the old timers.
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

bool sh_workers_submit(sh_workers* w, void (*fn)(void* arg), void* arg)
{
    sh_job* job = sh_alloc(sizeof *job);
    if (job == NULL)
        return false;
    job->next = NULL;
    job->fn = fn;
    job->arg = arg;
    pthread_mutex_lock(&w->lock);
    if (w->stopping)
    {
        pthread_mutex_unlock(&w->lock);
        sh_free(job, sizeof *job);
        return false;
    }
    if (w->jobs_tail == NULL)
        w->jobs_head = job;
    else
        w->jobs_tail->next = job;
    w->jobs_tail = job;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return true;
}

sh_session* sh_workers_find(sh_workers* w, unsigned id)
{
    pthread_mutex_lock(&w->lock);
    sh_session* s = w->all;
    while (s != NULL && s->id != id)
        s = s->all_next;
    if (s != NULL)
        sh_session_ref(s);
    pthread_mutex_unlock(&w->lock);
    return s;
}

sh_session** sh_workers_sessions(sh_workers* w, int* count)
{
    *count = 0;
    pthread_mutex_lock(&w->lock);
    int n = w->registered;
    sh_session** out = n > 0 ? sh_alloc((size_t)n * sizeof *out) : NULL;
    if (out != NULL)
    {
        for (sh_session* s = w->all; s != NULL && *count < n; s = s->all_next)
        {
            sh_session_ref(s);
            out[(*count)++] = s;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return out;
}
