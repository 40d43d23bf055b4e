#pragma once
// A small pool of worker threads behind the task interface of base.h: `simhost bench --threads N` hands it
// to the physics world (sh_world_def.enqueue_task / finish_task, user context = the pool). Threads are made
// once, at create, never per step. One task runs at a time: enqueue publishes the task and wakes the
// workers, finish runs ranges on the calling thread too (worker 0) and returns when all have run. Workers
// take ranges in any order; which thread runs a range never matters (each range writes its own items).

#include "simhost/base.h"

typedef struct sh_task_pool sh_task_pool;

// threads in 1 … 64 (SH_TASK_POOL_MAX_THREADS): the caller plus threads - 1 workers; 1 runs every task
// inline.
#define SH_TASK_POOL_MAX_THREADS 64
bool sh_task_pool_create(int threads, sh_task_pool** out, sh_error* err);
void sh_task_pool_destroy(sh_task_pool* pool);
int sh_task_pool_threads(const sh_task_pool* pool);
// sh_enqueue_task_fn / sh_finish_task_fn with user_ctx = the pool. Ranges: count split in at most
// `threads` ranges of at least min_range items; a task of one range runs inline (enqueue returns NULL).
void* sh_task_pool_enqueue(sh_task_fn* fn, int count, int min_range, void* task_ctx, void* pool);
void sh_task_pool_finish(void* task, void* pool);
// The number of online processors (at least 1): the bench's default thread count.
int sh_cpu_count(void);
