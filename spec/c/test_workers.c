// core/net/workers.c on its own: the pool schedules any sh_actor (here a probe that counts its runs), never a
// session. Every wait is on the probe's condition variable, never on a wall-clock bound.
#include "check.h"
#include "workers.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

typedef struct probe
{
    sh_actor actor; // first: the run function gets the probe back by a cast
    sh_workers* pool;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int runs, ticks;     // under lock
    int finish_at;       // the run that says "done" (0: never)
    atomic_int posted;   // work items the test posted (like a session's inbox)
    int handled;         // items taken by the runs: each run takes everything posted so far
    int finish_items;    // done once this many items are handled (0: never)
    bool wake_in_run;    // the first run wakes the probe itself (work arriving while it runs)
    atomic_bool inside;  // a run is in progress
    atomic_bool overlap; // two runs were in progress at once
    atomic_int refs;     // the test's own reference plus the pool's
    int first_run;       // the pool-wide count of runs when this probe first ran (1 = the first)
} probe;

static atomic_int runs_seen; // runs of every probe, for first_run

static bool probe_run(sh_actor* a, bool tick)
{
    probe* p = (probe*)a;
    if (atomic_exchange(&p->inside, true))
        atomic_store(&p->overlap, true);
    if (p->wake_in_run)
    {
        p->wake_in_run = false;
        sh_workers_wake(p->pool, a);
    }
    int seen = atomic_fetch_add(&runs_seen, 1) + 1;
    pthread_mutex_lock(&p->lock);
    if (p->runs == 0)
        p->first_run = seen;
    p->runs++;
    p->ticks += tick;
    p->handled = atomic_load(&p->posted);
    bool done = (p->finish_at > 0 && p->runs >= p->finish_at) ||
                (p->finish_items > 0 && p->handled >= p->finish_items);
    atomic_store(&p->inside, false);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return done;
}

static void probe_retain(sh_actor* a)
{
    atomic_fetch_add(&((probe*)a)->refs, 1);
}

static void probe_release(sh_actor* a)
{
    probe* p = (probe*)a;
    pthread_mutex_lock(&p->lock);
    atomic_fetch_sub(&p->refs, 1);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static const sh_actor_ops probe_ops = {.run = probe_run, .retain = probe_retain, .release = probe_release};

static void probe_init(probe* p, sh_workers* pool, unsigned id, int finish_at)
{
    *p = (probe){.actor = {.ops = &probe_ops, .id = id}, .pool = pool, .finish_at = finish_at};
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    atomic_init(&p->inside, false);
    atomic_init(&p->overlap, false);
    atomic_init(&p->refs, 1);
    atomic_init(&p->posted, 0);
}

static void probe_destroy(probe* p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}

// Waits until the probe has run `runs` times; returns its tick count then.
static int wait_runs(probe* p, int runs)
{
    pthread_mutex_lock(&p->lock);
    while (p->runs < runs)
        pthread_cond_wait(&p->cond, &p->lock);
    int ticks = p->ticks;
    pthread_mutex_unlock(&p->lock);
    return ticks;
}

// Waits until only the test's reference is left (the pool released the probe).
static void wait_released(probe* p)
{
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->refs) > 1)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static sh_workers* new_pool(int threads)
{
    sh_workers* w = NULL;
    sh_error err;
    CHECK(sh_workers_create(threads, &w, &err));
    return w;
}

static void test_wake_and_timer_run_the_actor(void)
{
    sh_workers* w = new_pool(2);
    probe p;
    probe_init(&p, w, 7, 3);
    sh_workers_register(w, &p.actor);
    CHECK(atomic_load(&p.refs) == 2); // the pool took one
    sh_workers_wake(w, &p.actor);
    CHECK(wait_runs(&p, 1) == 0); // woken: no tick
    sh_workers_set_timer(w, &p.actor, sh_now());
    CHECK(wait_runs(&p, 2) == 1); // the due timer: a tick
    sh_actor* found = sh_workers_find(w, 7);
    CHECK(found == &p.actor);
    if (found != NULL)
        found->ops->release(found);
    CHECK(sh_workers_find(w, 8) == NULL);
    sh_workers_set_timer(w, &p.actor, sh_now()); // the third run says done: the pool lets go
    CHECK(wait_runs(&p, 3) == 2);
    wait_released(&p);
    CHECK(sh_workers_find(w, 7) == NULL);
    CHECK(p.actor.state == SH_ACTOR_NONE);
    sh_workers_destroy(w);
    probe_destroy(&p);
}

static void test_work_arriving_during_a_run_runs_it_again(void)
{
    sh_workers* w = new_pool(4);
    probe p;
    probe_init(&p, w, 1, 2);
    p.wake_in_run = true;
    sh_workers_register(w, &p.actor);
    sh_workers_wake(w, &p.actor); // run 1 wakes the probe; the pool must run it a second time
    CHECK(wait_runs(&p, 2) == 0);
    wait_released(&p);
    sh_workers_destroy(w);
    probe_destroy(&p);
}

// Work posted to eight actors while four workers run them: one run at a time per actor, wakes that land
// while an actor is queued or running are not lost (every item is handled), and every actor ends.
static void test_one_run_at_a_time(void)
{
    enum
    {
        ACTORS = 8,
        ITEMS = 200,
    };
    sh_workers* w = new_pool(4);
    static probe ps[ACTORS];
    for (int i = 0; i < ACTORS; i++)
    {
        probe_init(&ps[i], w, (unsigned)i + 1, 0);
        ps[i].finish_items = ITEMS;
        sh_workers_register(w, &ps[i].actor);
    }
    int count = 0;
    sh_actor** all = sh_workers_actors(w, &count);
    CHECK(count == ACTORS);
    for (int i = 0; i < count; i++)
        all[i]->ops->release(all[i]);
    sh_free(all, (size_t)count * sizeof *all);
    for (int r = 0; r < ITEMS; r++)
        for (int i = 0; i < ACTORS; i++)
        {
            atomic_fetch_add(&ps[i].posted, 1);
            sh_workers_wake(w, &ps[i].actor);
        }
    for (int i = 0; i < ACTORS; i++)
    {
        wait_released(&ps[i]); // each says done once it has handled all ITEMS
        CHECK(!atomic_load(&ps[i].overlap));
        CHECK(ps[i].handled == ITEMS);
        CHECK(ps[i].runs >= 1 && ps[i].runs <= ITEMS);
    }
    sh_workers_destroy(w);
    for (int i = 0; i < ACTORS; i++)
        probe_destroy(&ps[i]);
}

// Destroy waits for a registered actor to be done, and runs a submitted job.
static void run_job(void* arg)
{
    atomic_store((atomic_bool*)arg, true);
}

static void test_destroy_waits_for_actors_and_runs_jobs(void)
{
    sh_workers* w = new_pool(1);
    probe p;
    probe_init(&p, w, 3, 1);
    sh_workers_register(w, &p.actor);
    atomic_bool job_ran;
    atomic_init(&job_ran, false);
    CHECK(sh_workers_submit(w, run_job, &job_ran));
    sh_workers_wake(w, &p.actor);
    sh_workers_destroy(w); // returns once the probe said done and was released
    CHECK(atomic_load(&p.refs) == 1);
    CHECK(p.runs == 1);
    CHECK(atomic_load(&job_ran));
    probe_destroy(&p);
}

// A worker asleep until a far timer is woken by an earlier one: the near actor runs while the far one has
// not (counts, never a wall-clock bound: the far timer is 1000 s away).
static void test_earlier_timer_wakes_a_sleeping_worker(void)
{
    sh_workers* w = new_pool(1);
    probe far, near;
    probe_init(&far, w, 1, 0);
    probe_init(&near, w, 2, 1);
    sh_workers_register(w, &far.actor);
    sh_workers_register(w, &near.actor);
    sh_workers_set_timer(w, &far.actor, sh_now() + 1000);
    sh_workers_wake(w, &far.actor); // one run, so the worker has seen the far timer before it sleeps
    CHECK(wait_runs(&far, 1) == 0);
    sh_workers_set_timer(w, &near.actor, sh_now());
    CHECK(wait_runs(&near, 1) == 1);
    wait_released(&near);
    CHECK(far.ticks == 0);
    far.finish_at = 2; // the next run says done
    sh_workers_wake(w, &far.actor);
    wait_released(&far);
    CHECK(far.ticks == 0);
    sh_workers_destroy(w);
    probe_destroy(&far);
    probe_destroy(&near);
}

// A gate a job waits at, so the one worker is busy while the test queues work behind it.
typedef struct gate
{
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered, open;
} gate;

static void wait_at_gate(void* arg)
{
    gate* g = arg;
    pthread_mutex_lock(&g->lock);
    g->entered = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

// A due timer set with sh_workers_set_timer_ahead (a session releasing a held frame) runs before an
// actor that was queued earlier; a plain due timer queues behind it.
static void test_ahead_timer_runs_before_the_queue(void)
{
    for (int ahead = 0; ahead <= 1; ahead++)
    {
        sh_workers* w = new_pool(1);
        gate g = {.entered = false, .open = false};
        pthread_mutex_init(&g.lock, NULL);
        pthread_cond_init(&g.cond, NULL);
        probe queued, timed;
        probe_init(&queued, w, 1, 1);
        probe_init(&timed, w, 2, 1);
        sh_workers_register(w, &queued.actor);
        sh_workers_register(w, &timed.actor);
        atomic_store(&runs_seen, 0);
        CHECK(sh_workers_submit(w, wait_at_gate, &g));
        pthread_mutex_lock(&g.lock);
        while (!g.entered)
            pthread_cond_wait(&g.cond, &g.lock);
        pthread_mutex_unlock(&g.lock);
        sh_workers_wake(w, &queued.actor); // queued while the worker is held at the gate
        if (ahead)
            sh_workers_set_timer_ahead(w, &timed.actor, sh_now());
        else
            sh_workers_set_timer(w, &timed.actor, sh_now());
        pthread_mutex_lock(&g.lock);
        g.open = true;
        pthread_cond_broadcast(&g.cond);
        pthread_mutex_unlock(&g.lock);
        wait_released(&queued);
        wait_released(&timed);
        CHECK(timed.first_run == (ahead ? 1 : 2));
        CHECK(queued.first_run == (ahead ? 2 : 1));
        sh_workers_destroy(w);
        probe_destroy(&queued);
        probe_destroy(&timed);
        pthread_cond_destroy(&g.cond);
        pthread_mutex_destroy(&g.lock);
    }
}

typedef struct sched_seen
{
    int policy;
    struct sched_param param;
} sched_seen;

static void record_sched(void* arg)
{
    sched_seen* seen = arg;
    pthread_getschedparam(pthread_self(), &seen->policy, &seen->param);
}

// What a one-worker pool made by this thread runs at, seen from a job on it.
static sched_seen worker_sched(void)
{
    sched_seen seen = {.policy = -1};
    sh_workers* w = new_pool(1);
    CHECK(sh_workers_submit(w, record_sched, &seen));
    sh_workers_destroy(w); // runs the job and joins the worker
    return seen;
}

// Under a real-time policy a worker runs one level below the thread that made the pool (the lws service
// thread, which must preempt the workers to write their frames); under the default policy it keeps it.
static void test_workers_run_below_the_service_thread(void)
{
    int policy;
    struct sched_param saved;
    CHECK(pthread_getschedparam(pthread_self(), &policy, &saved) == 0);
    sched_seen other = worker_sched();
    CHECK(other.policy == policy);
    struct sched_param rt = {.sched_priority = 2};
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt) == 0) // needs CAP_SYS_NICE (CI runs as root)
    {
        sched_seen seen = worker_sched();
        pthread_setschedparam(pthread_self(), policy, &saved);
        CHECK(seen.policy == SCHED_FIFO);
        CHECK(seen.param.sched_priority == 1);
    }
}

int main(void)
{
    RUN(test_wake_and_timer_run_the_actor);
    RUN(test_work_arriving_during_a_run_runs_it_again);
    RUN(test_one_run_at_a_time);
    RUN(test_destroy_waits_for_actors_and_runs_jobs);
    RUN(test_earlier_timer_wakes_a_sleeping_worker);
    RUN(test_workers_run_below_the_service_thread);
    RUN(test_ahead_timer_runs_before_the_queue);
    return CHECK_SUMMARY();
}
