// The threaded step (docs/physics.md "Threads"): the same scene stepped with no task system, with the task
// pool on 1, 2 and 8 threads, and with a task system that runs a task's ranges backwards in ranges of a
// few items, must end in bit-identical body states. Scenes: a base-30 pyramid with tumbling cubes and
// hulls dropped on it (impacts, restitution, sleep off) and a pile of 1100 hulls falling onto the ground
// (narrow phase of fresh pairs, over 2 · SH_TASK_MIN_BODIES bodies so the per-body stages split too). A
// stage whose result depended on the split (a float sum over a range, a wake or a destroy applied in range
// order) would change the bits between the splits. Then the out-of-memory paths of the named stages: every
// scratch budget up to a step's peak must give either a full step or "out of memory in <stage>" and leave a
// world that steps on with finite states.

#include "check.h"
#include "world.h"

#include "simhost/physics.h"
#include "simhost/task_pool.h"
#include "simhost/world_snapshot.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;
static float rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (float)((rng * 2685821657736338717ULL) >> 40) / (float)(1 << 24);
}

static sh_hull* box_hull(float hx, float hy, float hz)
{
    float p[24];
    sh_box_corners(hx, hy, hz, p);
    sh_hull* h = NULL;
    sh_error err;
    if (!sh_hull_build(p, 8, &h, &err))
        fprintf(stderr, "hull: %s\n", err.message);
    return h;
}

static sh_hull* rock_hull(float scale)
{
    float p[3 * 24];
    for (int i = 0; i < 24; i++)
    {
        float z = 2.0f * rnd() - 1.0f, t = 6.2831853f * rnd(), r = sqrtf(1.0f - z * z);
        p[3 * i + 0] = scale * 0.6f * r * cosf(t);
        p[3 * i + 1] = scale * 0.5f * r * sinf(t);
        p[3 * i + 2] = scale * 0.4f * z;
    }
    sh_hull* h = NULL;
    sh_error err;
    if (!sh_hull_build(p, 24, &h, &err))
        fprintf(stderr, "hull: %s\n", err.message);
    return h;
}

static void add(sh_world* w, const sh_hull* h, bool is_static, const float* pos, const float* v,
                const float* av, float mass, float restitution)
{
    sh_body_def d = sh_body_def_default();
    d.type = is_static ? SH_BODY_STATIC : SH_BODY_DYNAMIC;
    d.hull = h;
    memcpy(d.position, pos, sizeof d.position);
    float axis[3] = {rnd() - 0.5f, rnd() - 0.5f, rnd() - 0.5f};
    float n = sqrtf(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]) + 1e-6f;
    float ang = v != NULL ? 3.0f * rnd() : 0.0f, s = sinf(0.5f * ang) / n;
    float q[4] = {axis[0] * s, axis[1] * s, axis[2] * s, cosf(0.5f * ang)};
    memcpy(d.orientation, q, sizeof q);
    d.mass = mass;
    d.friction = 0.6f;
    d.restitution = restitution;
    sh_body_id id;
    sh_error err;
    CHECK(sh_body_create(w, &d, &id, &err));
    if (v != NULL)
        sh_body_set_velocity(w, id, v, av, NULL);
}

// ---- task systems ----

typedef enum mode
{
    INLINE,    // no task system
    POOL,      // simhost/task_pool.h
    BACKWARDS, // one thread, a task's ranges of 3 items run last to first
} mode;

static int split_tasks; // tasks handed to the task system (each would have split over threads)

static void* counting_enqueue(sh_task_fn* fn, int count, int min_range, void* task_ctx, void* pool)
{
    split_tasks++;
    return sh_task_pool_enqueue(fn, count, min_range, task_ctx, pool);
}

static void* backwards_enqueue(sh_task_fn* fn, int count, int min_range, void* task_ctx, void* user)
{
    (void)min_range;
    (void)user;
    split_tasks++;
    for (int end = count; end > 0; end -= 3)
        fn(end - 3 > 0 ? end - 3 : 0, end, (end / 3) % 8, task_ctx);
    return NULL;
}

static void no_finish(void* task, void* user)
{
    (void)task;
    (void)user;
}

static void set_tasks(sh_world_def* def, mode m, int threads, sh_task_pool* pool)
{
    def->threads = threads;
    if (m == POOL)
    {
        def->enqueue_task = counting_enqueue;
        def->finish_task = sh_task_pool_finish;
        def->task_context = pool;
    }
    else if (m == BACKWARDS)
    {
        def->enqueue_task = backwards_enqueue;
        def->finish_task = no_finish;
    }
}

// ---- scenes ----

static uint64_t fnv(uint64_t h, const void* p, size_t n)
{
    const unsigned char* b = p;
    for (size_t k = 0; k < n; k++)
        h = (h ^ b[k]) * 1099511628211ULL;
    return h;
}

static uint64_t state_hash(const sh_world* w, uint64_t h)
{
    int count = sh_world_body_count(w);
    for (int i = 0; i < count; i++)
    {
        sh_body_state s;
        CHECK(sh_body_get_state(w, sh_world_body_at(w, i), &s));
        h = fnv(h, s.position, sizeof s.position);
        h = fnv(h, s.orientation, sizeof s.orientation);
        h = fnv(h, s.velocity, sizeof s.velocity);
        h = fnv(h, s.angular_velocity, sizeof s.angular_velocity);
    }
    return h;
}

typedef struct hulls
{
    sh_hull *ground, *cube, *rock, *pebble;
} hulls;

// pile = false: the base-30 pyramid and 40 drops; true: 1100 hulls in a falling grid.
static uint64_t run(const hulls* hs, bool pile, mode m, int threads, int steps)
{
    sh_task_pool* pool = NULL;
    sh_error err;
    if (m == POOL)
        CHECK(sh_task_pool_create(threads, &pool, &err));
    rng = 0x2545F4914F6CDD1DULL;
    sh_world_def def = sh_world_def_default();
    def.enable_sleep = pile; // the pile settles: sleep and wake-ups in the narrow phase's ordered part
    set_tasks(&def, m, threads, pool);
    sh_world* w = NULL;
    CHECK(sh_world_create(&def, &w, &err));
    add(w, hs->ground, true, (float[]){0, 0, -1}, NULL, NULL, 0, 0);
    if (!pile)
    {
        const int base = 30;
        for (int i = 0; i < base; i++)
            for (int j = i; j < base; j++)
                add(w, hs->cube, false,
                    (float[]){(float)(i + 1) * 0.5f + (float)(j - i) - 0.5f * base, 0, (float)i + 0.5f}, NULL,
                    NULL, 100.0f, 0.0f);
        for (int i = 0; i < 40; i++)
        {
            float pos[3] = {12.0f * rnd() - 6.0f, 3.0f * rnd() - 1.5f, 32.0f + 1.5f * (float)i};
            float v[3] = {2.0f * rnd() - 1.0f, 2.0f * rnd() - 1.0f, -6.0f * rnd()};
            float av[3] = {rnd() - 0.5f, rnd() - 0.5f, rnd() - 0.5f};
            // Some heavy (the penetration pass), some bouncy (restitution).
            float mass = i % 5 == 0 ? 5000.0f : 1.0f + 50.0f * rnd();
            add(w, i % 3 == 0 ? hs->rock : hs->cube, false, pos, v, av, mass, 0.6f * rnd());
        }
    }
    else
        for (int k = 0; k < 1100; k++)
        {
            float pos[3] = {1.1f * (float)(k % 10) - 5.0f, 1.1f * (float)(k / 10 % 11) - 6.0f,
                            0.5f + 0.9f * (float)(k / 110)};
            float v[3] = {rnd() - 0.5f, rnd() - 0.5f, -2.0f * rnd()};
            float av[3] = {2.0f * rnd() - 1.0f, 2.0f * rnd() - 1.0f, 2.0f * rnd() - 1.0f};
            add(w, hs->pebble, false, pos, v, av, 1.0f + 9.0f * rnd(), 0.3f * rnd());
        }
    uint64_t h = 1469598103934665603ULL;
    split_tasks = 0;
    for (int s = 0; s < steps; s++)
    {
        CHECK(sh_world_step(w, 1.0f / 60.0f, &err));
        sh_world_stats st;
        sh_world_get_stats(w, &st);
        h = fnv(h, &st.residual, sizeof st.residual);
        h = fnv(h, &st.contacts, sizeof st.contacts);
    }
    h = state_hash(w, h);
    sh_world_destroy(w);
    sh_task_pool_destroy(pool);
    return h;
}

static void compare(const hulls* hs, const char* name, bool pile, int steps)
{
    uint64_t ref = run(hs, pile, INLINE, 1, steps);
    printf("%s: inline %016llx\n", name, (unsigned long long)ref);
    CHECK(split_tasks == 0);
    const int threads[] = {1, 2, 8};
    for (int i = 0; i < 3; i++)
    {
        uint64_t h = run(hs, pile, POOL, threads[i], steps);
        printf("  pool, %d threads: %016llx (%d tasks split)\n", threads[i], (unsigned long long)h,
               split_tasks);
        CHECK(h == ref);
        // One thread never hands a task over (sh_world_run runs it inline); more must have split some.
        CHECK(threads[i] == 1 ? split_tasks == 0 : split_tasks >= steps);
    }
    uint64_t h = run(hs, pile, BACKWARDS, 8, steps);
    printf("  backwards ranges of 3: %016llx (%d tasks)\n", (unsigned long long)h, split_tasks);
    CHECK(h == ref);
    CHECK(split_tasks >= steps);
}

// A snapshot restored into a world keeps that world's threads and task interface (a restore swaps the whole
// state in): the restored world's narrow phase still splits.
static void restore_keeps_tasks(const hulls* hs)
{
    sh_task_pool* pool = NULL;
    sh_error err;
    CHECK(sh_task_pool_create(2, &pool, &err));
    sh_world_def def = sh_world_def_default();
    set_tasks(&def, POOL, 2, pool);
    sh_world* w = NULL;
    CHECK(sh_world_create(&def, &w, &err));
    add(w, hs->ground, true, (float[]){0, 0, -1}, NULL, NULL, 0, 0);
    for (int i = 0; i < 20; i++)
        for (int j = i; j < 20; j++)
            add(w, hs->cube, false,
                (float[]){(float)(i + 1) * 0.5f + (float)(j - i) - 10.0f, 0, (float)i + 0.5f}, NULL, NULL,
                100.0f, 0.0f);
    for (int s = 0; s < 3; s++)
        CHECK(sh_world_step(w, 1.0f / 60.0f, &err));
    void* blob = NULL;
    size_t bytes = 0;
    CHECK(sh_world_snapshot(w, &blob, &bytes, &err));
    CHECK(sh_world_restore(w, blob, bytes, &err));
    split_tasks = 0;
    CHECK(sh_world_step(w, 1.0f / 60.0f, &err));
    printf("restored into a 2-thread world: %d tasks split in a step\n", split_tasks);
    CHECK(split_tasks > 0);
    sh_free(blob, bytes);
    sh_world_destroy(w);
    sh_task_pool_destroy(pool);
}

// ---- out of memory in the named stages ----

// A light box under a heavy one that lands on it fast (impact stage, restitution, the penetration pass's
// mass-ratio screen), sleep on (the sleep stage's scratch). Steps up to the landing, then one step with
// at most `budget` bytes of scratch; returns the error of that step ("" when it was whole).
static void oom_run(const hulls* hs, size_t budget, size_t* peak, char* error, size_t error_size)
{
    sh_world_def def = sh_world_def_default();
    sh_world* w = NULL;
    sh_error err;
    CHECK(sh_world_create(&def, &w, &err));
    add(w, hs->ground, true, (float[]){0, 0, -1}, NULL, NULL, 0, 0);
    add(w, hs->cube, false, (float[]){0, 0, 0.5f}, NULL, NULL, 1.0f, 0.0f);
    add(w, hs->cube, false, (float[]){0.1f, 0, 3.0f}, (float[]){0, 0, -8.0f}, (float[]){0.5f, 0, 0}, 5000.0f,
        0.5f);
    add(w, hs->rock, false, (float[]){3, 0, 1.0f}, (float[]){0, 0, -3.0f}, (float[]){0, 1, 0}, 2.0f, 0.8f);
    for (int s = 0; s < 12; s++)
        CHECK(sh_world_step(w, 1.0f / 60.0f, &err));
    w->arena.fail_above = budget;
    bool ok = sh_world_step(w, 1.0f / 60.0f, &err);
    *peak = w->arena.peak;
    w->arena.fail_above = 0;
    snprintf(error, error_size, "%s", ok ? "" : err.message);
    // Whatever was cut short, the world steps on, finite.
    for (int s = 0; s < 5; s++)
        CHECK(sh_world_step(w, 1.0f / 60.0f, &err));
    for (int i = 0; i < sh_world_body_count(w); i++)
    {
        sh_body_state st;
        CHECK(sh_body_get_state(w, sh_world_body_at(w, i), &st));
        CHECK(isfinite(st.position[0] + st.position[1] + st.position[2] + st.velocity[0] + st.velocity[1] +
                       st.velocity[2]));
    }
    sh_world_destroy(w);
}

static void out_of_memory(const hulls* hs)
{
    const char* stages[] = {"out of memory in the solver", "out of memory in the impact stage",
                            "out of memory in the penetration pass", "out of memory in the sleep stage"};
    int seen[4] = {0};
    size_t peak = 0;
    char error[256];
    oom_run(hs, 0, &peak, error, sizeof error);
    CHECK(error[0] == '\0');
    printf("out of memory: a whole step's scratch peak is %zu bytes\n", peak);
    for (size_t budget = 16; budget <= peak + 16; budget += 16)
    {
        size_t p;
        oom_run(hs, budget, &p, error, sizeof error);
        if (error[0] == '\0')
            continue;
        bool known = false;
        for (int k = 0; k < 4; k++)
            if (strcmp(error, stages[k]) == 0)
            {
                seen[k]++;
                known = true;
            }
        if (!known)
            printf("  unexpected error at %zu bytes: %s\n", budget, error);
        CHECK(known);
    }
    for (int k = 0; k < 4; k++)
    {
        printf("  '%s': %d budgets\n", stages[k], seen[k]);
        CHECK(seen[k] > 0);
    }
}

int main(void)
{
    rng = 0x9E3779B97F4A7C15ULL;
    hulls hs = {box_hull(50.0f, 50.0f, 1.0f), box_hull(0.5f, 0.5f, 0.5f), rock_hull(1.0f), rock_hull(0.8f)};
    compare(&hs, "pyramid 30 + 40 drops", false, 100);
    compare(&hs, "pile of 1100 hulls", true, 60);
    restore_keeps_tasks(&hs);
    out_of_memory(&hs);
    sh_hull_free(hs.ground);
    sh_hull_free(hs.cube);
    sh_hull_free(hs.rock);
    sh_hull_free(hs.pebble);
    printf("%d checks, %d failures\n", check_count, check_failures);
    return check_failures == 0 ? 0 : 1;
}
