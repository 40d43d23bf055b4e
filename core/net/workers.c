// The worker pool that runs actors (workers.h). An actor is in the ready queue at most once; one
// worker at a time runs it, so a session's Lua state and world never need locks (docs/modules.md).
//
// Timers live here rather than on the lws service thread: a tick only ever wakes a worker, and
// routing it through the service thread would add a cross-thread hop (and its latency) to every
// frame. Workers sleep on a condition variable until the earliest due timer; with at most
// max_sessions (64) actors a linear scan for due timers costs less than keeping a heap.
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct sh_job
{
    struct sh_job* next;
    void (*fn)(void* arg);
    void* arg;
} sh_job;

struct sh_workers
{
    pthread_mutex_t lock;
    pthread_cond_t cond; // sh_cond_init: waits on sh_now()'s clock
    sh_actor *ready_head, *ready_tail;
    sh_actor* all; // every registered actor (timers are scanned here)
    int registered;
    sh_job *jobs_head, *jobs_tail;
    bool stopping;
    int count;
    pthread_t threads[];
};

static void push_ready(sh_workers* w, sh_actor* a)
{
    a->state = SH_ACTOR_QUEUED;
    a->ready_next = NULL;
    if (w->ready_tail == NULL)
        w->ready_head = a;
    else
        w->ready_tail->ready_next = a;
    w->ready_tail = a;
}

// A due timer set with sh_workers_set_timer_ahead: the actor runs next, before the queue.
static void push_due(sh_workers* w, sh_actor* a)
{
    if (!a->ahead || w->ready_head == NULL)
    {
        push_ready(w, a);
        return;
    }
    a->state = SH_ACTOR_QUEUED;
    a->ready_next = w->ready_head;
    w->ready_head = a;
}

static sh_actor* pop_ready(sh_workers* w)
{
    sh_actor* a = w->ready_head;
    if (a != NULL)
    {
        w->ready_head = a->ready_next;
        if (w->ready_head == NULL)
            w->ready_tail = NULL;
        a->ready_next = NULL;
    }
    return a;
}

static void unregister(sh_workers* w, sh_actor* a)
{
    if (a->all_prev != NULL)
        a->all_prev->all_next = a->all_next;
    else
        w->all = a->all_next;
    if (a->all_next != NULL)
        a->all_next->all_prev = a->all_prev;
    a->all_next = a->all_prev = NULL;
    a->state = SH_ACTOR_NONE;
    w->registered--;
}

// Queues idle actors whose timer is due; returns the earliest future due time (or -1).
static double scan_timers(sh_workers* w, double now)
{
    double next = -1;
    for (sh_actor* a = w->all; a != NULL; a = a->all_next)
    {
        if (a->due < 0)
            continue;
        if (a->due <= now)
        {
            if (a->state == SH_ACTOR_IDLE)
                push_due(w, a);
        }
        else if (next < 0 || a->due < next)
            next = a->due;
    }
    return next;
}

// Under a real-time policy (the host started with chrt, as bench-live's measurements are) a worker
// runs one priority level below the thread that created the pool (the lws service thread, which only
// writes what the workers made), so that thread preempts them. At the same level a burst of ticks that
// kept both cores busy (30 sessions' first contacts: about 60 ms of CPU due within one 16 ms period)
// left every frame made during it unwritten for up to 38 ms after it was queued (issue 18,
// docs/frames.md "Frame pacing"). The default policy is left alone: its fair scheduler already
// favours a thread that mostly sleeps, as the service thread does, when it wakes.
static void below_service_thread(void)
{
    struct sched_param sp;
    int policy;
    if (pthread_getschedparam(pthread_self(), &policy, &sp) != 0 ||
        (policy != SCHED_FIFO && policy != SCHED_RR))
        return;
    if (sp.sched_priority > sched_get_priority_min(policy))
    {
        sp.sched_priority--;
        pthread_setschedparam(pthread_self(), policy, &sp);
    }
}

static void* worker_main(void* arg)
{
    sh_workers* w = arg;
    below_service_thread();
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
        sh_actor* a = pop_ready(w);
        if (a == NULL)
        {
            if (w->stopping && w->registered == 0)
                break;
            if (next < 0)
                pthread_cond_wait(&w->cond, &w->lock);
            else
                sh_cond_wait_until(&w->cond, &w->lock, next);
            continue;
        }
        a->state = SH_ACTOR_RUNNING;
        a->pending = false;
        bool tick = a->due >= 0 && a->due <= now;
        if (tick)
            a->due = -1;
        pthread_mutex_unlock(&w->lock);

        bool finished = a->ops->run(a, tick);

        pthread_mutex_lock(&w->lock);
        if (finished)
        {
            unregister(w, a);
            pthread_mutex_unlock(&w->lock);
            a->ops->release(a); // the workers' reference
            pthread_mutex_lock(&w->lock);
            if (w->stopping && w->registered == 0)
                pthread_cond_broadcast(&w->cond);
            continue;
        }
        // Another worker may be asleep; this one also loops, so one signal is enough.
        if (a->due >= 0 && a->due <= sh_now())
        {
            push_due(w, a);
            pthread_cond_signal(&w->cond);
        }
        else if (a->pending)
        {
            push_ready(w, a);
            pthread_cond_signal(&w->cond);
        }
        else
            a->state = SH_ACTOR_IDLE;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

bool sh_workers_create(int count, sh_workers** out, sh_error* err)
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
    pthread_mutex_init(&w->lock, NULL);
    sh_cond_init(&w->cond);

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

void sh_workers_register(sh_workers* w, sh_actor* a)
{
    a->ops->retain(a);
    pthread_mutex_lock(&w->lock);
    a->state = SH_ACTOR_IDLE;
    a->due = -1;
    a->all_prev = NULL;
    a->all_next = w->all;
    if (w->all != NULL)
        w->all->all_prev = a;
    w->all = a;
    w->registered++;
    pthread_mutex_unlock(&w->lock);
}

void sh_workers_wake(sh_workers* w, sh_actor* a)
{
    pthread_mutex_lock(&w->lock);
    if (a->state == SH_ACTOR_IDLE)
    {
        push_ready(w, a);
        pthread_cond_signal(&w->cond);
    }
    else if (a->state != SH_ACTOR_NONE)
        a->pending = true;
    pthread_mutex_unlock(&w->lock);
}

static void set_timer(sh_workers* w, sh_actor* a, double due, bool ahead)
{
    pthread_mutex_lock(&w->lock);
    a->due = due;
    a->ahead = ahead;
    // Sleeping workers computed their wake-up from the old timers.
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void sh_workers_set_timer(sh_workers* w, sh_actor* a, double due)
{
    set_timer(w, a, due, false);
}

void sh_workers_set_timer_ahead(sh_workers* w, sh_actor* a, double due)
{
    set_timer(w, a, due, true);
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

sh_actor* sh_workers_find(sh_workers* w, unsigned id)
{
    pthread_mutex_lock(&w->lock);
    sh_actor* a = w->all;
    while (a != NULL && a->id != id)
        a = a->all_next;
    if (a != NULL)
        a->ops->retain(a);
    pthread_mutex_unlock(&w->lock);
    return a;
}

sh_actor** sh_workers_actors(sh_workers* w, int* count)
{
    *count = 0;
    pthread_mutex_lock(&w->lock);
    int n = w->registered;
    sh_actor** out = n > 0 ? sh_alloc((size_t)n * sizeof *out) : NULL;
    if (out != NULL)
    {
        for (sh_actor* a = w->all; a != NULL && *count < n; a = a->all_next)
        {
            a->ops->retain(a);
            out[(*count)++] = a;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return out;
}
