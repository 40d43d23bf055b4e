#pragma once
// Private to core/net: the worker pool (workers.c), threads that run actors. An actor is anything whose
// state must be touched by one thread at a time (a session: its Lua state and world). The owner embeds
// an sh_actor and fills in what to run; the pool queues the actor when it has work (it was woken, or its
// timer is due) and runs it on one worker at a time. The pool knows nothing else about what it runs.

#include "simhost/base.h"

typedef struct sh_actor sh_actor;

typedef struct sh_actor_ops
{
    // Worker, without the pool's lock: runs whatever is pending; `tick` says the timer fired. true when
    // the actor is done: the pool forgets it and releases the reference it took at sh_workers_register.
    bool (*run)(sh_actor* a, bool tick);
    void (*retain)(sh_actor* a);  // any thread: one more reference
    void (*release)(sh_actor* a); // any thread: one reference less (may free the owner)
} sh_actor_ops;

typedef enum sh_actor_state
{
    SH_ACTOR_NONE = 0, // not registered with the pool (never, or done)
    SH_ACTOR_IDLE,
    SH_ACTOR_QUEUED,
    SH_ACTOR_RUNNING,
} sh_actor_state;

struct sh_actor
{
    // Set by the owner before sh_workers_register; read-only after.
    const sh_actor_ops* ops;
    unsigned id; // what sh_workers_find looks for

    // workers.c only, under the pool's lock.
    sh_actor_state state;
    bool pending; // work arrived while queued or running
    double due;   // timer, sh_now() clock; < 0 when disarmed
    bool ahead;   // when the timer fires the actor goes to the head of the ready queue
    sh_actor *ready_next, *all_next, *all_prev;
};

typedef struct sh_workers sh_workers;

// count threads (<= 0: one per core; at most 256).
bool sh_workers_create(int count, sh_workers** out, sh_error* err);
// Runs until every registered actor is done, then joins the threads and frees the pool.
void sh_workers_destroy(sh_workers* w);
void sh_workers_register(sh_workers* w, sh_actor* a); // takes a reference; the timer starts disarmed
void sh_workers_wake(sh_workers* w, sh_actor* a);     // a has new work
void sh_workers_set_timer(sh_workers* w, sh_actor* a, double due);
// The same for a run that is short and must not wait behind the queue (a session releasing the frame
// its tick made ahead of time): when due, the actor is queued first.
void sh_workers_set_timer_ahead(sh_workers* w, sh_actor* a, double due);
// Runs fn(arg) on a worker (used for requests that must run Lua, e.g. the scenario list).
bool sh_workers_submit(sh_workers* w, void (*fn)(void* arg), void* arg);
// Any thread: the registered actor with this id (referenced; the caller releases it), or NULL.
sh_actor* sh_workers_find(sh_workers* w, unsigned id);
// Any thread: every registered actor, referenced, in an array of *count (sh_alloc'd, count elements);
// NULL with *count 0 when there are none or memory ran out.
sh_actor** sh_workers_actors(sh_workers* w, int* count);
