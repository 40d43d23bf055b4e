// simhost bench — the physics.md benchmark scenes, one line each:
//   scene=NAME bodies=N steps=S threads=T ms_per_step=X shift_m=H sag_m=V
// ms_per_step is the mean wall time of steps 2..S (the first step builds every pair), with the step's tasks
// on T threads (--threads, default the number of cores; one task pool for the run, simhost/task_pool.h).
// A scene with a marked body (large_pyramid) adds max_shift_m (largest horizontal shift of the top over
// steps 101..S), max_sag_m (largest drop over the run) and stands=yes|no, physics.md's rule judged over
// the whole run: the top's sag never over 0.75 m nor, after step 300, over its step-300 value by more than
// 1 cm; no bottom-row cube moved more than 5 cm; no cube on the ground that did not start there. A failed
// rule is named in why=. --trace K prints the top's shift and sag every K steps (to stderr); --probe K
// prints, every K steps, the tower row by row (bench_probe.h: motion, lean, contact load, churn); --lean K
// prints after each of the first K steps how far any cube left the wall's mirror symmetry.
// With --hash the line ends in hash=H: FNV-1a 64 over the raw bits of every body's position,
// orientation, velocity and angular velocity after the run, so a speed change that claims to keep the
// simulation bit for bit can be checked by comparing one number before and after.
// Hulls are built here with sh_hull_build, so no asset DB is needed.
#include "bench_probe.h"
#include "cli.h"

#include "simhost/physics.h"
#include "simhost/task_pool.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench
{
    sh_world* world;
    sh_hull* hulls[4];
    int hull_count;
    sh_body_id marked;
    bool has_marked;
    int bodies;
} bench;

// physics.md, "Judged over time": the standing rule's bounds.
#define TOWER_MAX_SAG     0.75 // m: the top never sinks more
#define TOWER_SAG_GROWTH  0.01 // m: nor, after the settling step below, more than this over its sag there
#define TOWER_SETTLE_STEP 300
#define TOWER_SHIFT_FROM  100  // max_shift_m is taken after this step (the first fall sways every stack)
#define TOWER_BASE_MOVE   0.05 // m: no bottom-row cube moves more
#define TOWER_GROUND_Z    1.0  // m: a cube centre below this rests on the ground (row 1 starts at 1.5)

// The run of a scene with a marked body, as the standing rule reads it.
typedef struct tower_watch
{
    int count, marked; // marked: the top's index in ids
    sh_body_id* ids;
    float (*start)[3];
    double max_shift, max_sag, sag_at_settle, max_sag_after_settle, max_base_move;
    int landed; // cubes on the ground that did not start there (the most seen at any step)
} tower_watch;

static uint64_t rng_state;
static double rnd(void) // xorshift64*, fixed seed per scene: same scene, same bodies
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

static sh_hull* add_box(bench* b, float hx, float hy, float hz)
{
    float p[24];
    sh_box_corners(hx, hy, hz, p);
    sh_error err;
    sh_hull* h = NULL;
    if (!sh_hull_build(p, 8, &h, &err))
    {
        fprintf(stderr, "simhost bench: %s\n", err.message);
        exit(SH_EXIT_FAIL);
    }
    b->hulls[b->hull_count++] = h;
    return h;
}

static bool spawn_asleep; // sparse: the grid starts asleep (the scene is "10 000 sleeping cubes")

static sh_body_id spawn(bench* b, const sh_hull* h, bool is_static, float x, float y, float z, float mass,
                        float friction)
{
    sh_body_def d = sh_body_def_default();
    d.type = is_static ? SH_BODY_STATIC : SH_BODY_DYNAMIC;
    d.hull = h;
    d.position[0] = x;
    d.position[1] = y;
    d.position[2] = z;
    d.mass = mass;
    d.friction = friction;
    d.restitution = 0.0f;
    d.start_asleep = spawn_asleep && !is_static;
    sh_body_id id;
    sh_error err;
    if (!sh_body_create(b->world, &d, &id, &err))
    {
        fprintf(stderr, "simhost bench: %s\n", err.message);
        exit(SH_EXIT_FAIL);
    }
    b->bodies++;
    return id;
}

static void ground(bench* b, float size)
{
    spawn(b, add_box(b, 0.5f * size, 0.5f * size, 1.0f), true, 0, 0, -1.0f, 0, 0.6f);
}

static void pyramid(bench* b, const sh_hull* cube, int base, float x0, float y0)
{
    for (int i = 0; i < base; i++)
        for (int j = i; j < base; j++)
        {
            float x = (float)(i + 1) * 0.5f + (float)(j - i) - 0.5f * (float)base;
            sh_body_id id = spawn(b, cube, false, x0 + x, y0, (float)(2 * i + 1) * 0.5f, 100.0f, 0.6f);
            if (i == base - 1)
            {
                b->marked = id;
                b->has_marked = true;
            }
        }
}

static bool build(bench* b, const char* scene, int base, float hertz, sh_task_pool* pool, int* steps)
{
    sh_world_def def = sh_world_def_default();
    def.contact_hertz = hertz;
    def.threads = sh_task_pool_threads(pool);
    def.enqueue_task = sh_task_pool_enqueue;
    def.finish_task = sh_task_pool_finish;
    def.task_context = pool;
    def.enable_sleep = strcmp(scene, "sparse") == 0;
    sh_error err;
    if (!sh_world_create(&def, &b->world, &err))
    {
        fprintf(stderr, "simhost bench: %s\n", err.message);
        exit(SH_EXIT_FAIL);
    }
    rng_state = 0x9E3779B97F4A7C15ULL;
    spawn_asleep = strcmp(scene, "sparse") == 0;
    if (strcmp(scene, "large_pyramid") == 0)
    {
        ground(b, 800.0f);
        pyramid(b, add_box(b, 0.5f, 0.5f, 0.5f), base, 0, 0);
        *steps = 200;
    }
    else if (strcmp(scene, "convex_pile") == 0)
    {
        ground(b, 500.0f);
        float p[96];
        for (int i = 0; i < 32; i++)
        {
            // Uniform on the sphere: z uniform in [-1, 1], angle uniform.
            double z = 2.0 * rnd() - 1.0, t = 2.0 * M_PI * rnd(), r = sqrt(1.0 - z * z);
            p[3 * i + 0] = (float)(2.0 * r * cos(t));
            p[3 * i + 1] = (float)(2.0 * r * sin(t));
            p[3 * i + 2] = (float)(2.0 * z);
        }
        sh_hull* h = NULL;
        if (!sh_hull_build(p, 32, &h, &err))
        {
            fprintf(stderr, "simhost bench: %s\n", err.message);
            exit(SH_EXIT_FAIL);
        }
        b->hulls[b->hull_count++] = h;
        for (int layer = 0; layer < 80; layer++)
            for (int gx = 0; gx < 8; gx++)
                for (int gy = 0; gy < 8; gy++)
                    spawn(b, h, false, 4.0f * ((float)gx - 3.5f), 4.0f * ((float)gy - 3.5f),
                          2.0f + 4.0f * (float)layer, h->mass.volume, 0.6f);
        *steps = 500;
    }
    else if (strcmp(scene, "many_pyramids") == 0)
    {
        ground(b, 800.0f);
        sh_hull* cube = add_box(b, 0.5f, 0.5f, 0.5f);
        for (int px = 0; px < 14; px++)
            for (int py = 0; py < 14; py++)
                pyramid(b, cube, 10, 12.0f * ((float)px - 6.5f), 12.0f * ((float)py - 6.5f));
        b->has_marked = false;
        *steps = 100;
    }
    else if (strcmp(scene, "cluster_drop") == 0)
    {
        ground(b, 100.0f);
        sh_hull* cube = add_box(b, 0.5f, 0.5f, 0.5f);
        for (int i = 0; i < 32; i++)
        {
            // A 4×4×2 lattice 1.5 m apart, jittered: a random cluster that never starts overlapping.
            float x = 1.5f * (float)(i % 4) + 0.4f * (float)(rnd() - 0.5);
            float y = 1.5f * (float)((i / 4) % 4) + 0.4f * (float)(rnd() - 0.5);
            float z = 3.0f + 1.5f * (float)(i / 16) + 0.4f * (float)(rnd() - 0.5);
            sh_body_id id = spawn(b, cube, false, x, y, z, 1.0f, 0.6f);
            vec3 v = {(float)(2 * rnd() - 1), (float)(2 * rnd() - 1), (float)(2 * rnd() - 1)};
            vec3 w = {0, 0, 0};
            sh_body_set_velocity(b->world, id, v, w, NULL);
        }
        *steps = 200;
    }
    else if (strcmp(scene, "sparse") == 0)
    {
        ground(b, 400.0f);
        sh_hull* cube = add_box(b, 0.5f, 0.5f, 0.5f);
        for (int i = 0; i < 100; i++)
            for (int j = 0; j < 100; j++)
                spawn(b, cube, false, 3.0f * ((float)i - 49.5f), 3.0f * ((float)j - 49.5f), 0.5f, 1.0f, 0.6f);
        *steps = 200;
    }
    else
        return false;
    return true;
}

static void watch_start(tower_watch* t, const bench* b)
{
    memset(t, 0, sizeof *t);
    int n = sh_world_body_count(b->world);
    t->ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *t->ids);
    t->start = malloc((size_t)(n > 0 ? n : 1) * sizeof *t->start);
    if (t->ids == NULL || t->start == NULL)
    {
        fprintf(stderr, "simhost bench: out of memory\n");
        exit(SH_EXIT_FAIL);
    }
    for (int i = 0; i < n; i++)
    {
        sh_body_id id = sh_world_body_at(b->world, i);
        sh_body_state s;
        if (!sh_body_get_state(b->world, id, &s) || s.mass == 0.0f)
            continue;
        if (sh_body_id_to_int(id) == sh_body_id_to_int(b->marked))
            t->marked = t->count;
        t->ids[t->count] = id;
        memcpy(t->start[t->count], s.position, sizeof t->start[0]);
        t->count++;
    }
}

// After step `step` (1-based): the marked body's shift and sag, every cube's footing.
static void watch_step(tower_watch* t, const bench* b, int step, double* shift, double* sag)
{
    sh_body_state s;
    int landed = 0;
    *shift = *sag = 0.0;
    for (int i = 0; i < t->count; i++)
    {
        if (!sh_body_get_state(b->world, t->ids[i], &s))
            continue;
        const float* p0 = t->start[i];
        if (p0[2] < TOWER_GROUND_Z)
            t->max_base_move =
                fmax(t->max_base_move, sqrt(pow(s.position[0] - p0[0], 2) + pow(s.position[1] - p0[1], 2) +
                                            pow(s.position[2] - p0[2], 2)));
        else if (s.position[2] < TOWER_GROUND_Z)
            landed++;
        if (i == t->marked)
        {
            *shift = hypot(s.position[0] - p0[0], s.position[1] - p0[1]);
            *sag = p0[2] - s.position[2];
        }
    }
    t->landed = landed > t->landed ? landed : t->landed;
    if (step > TOWER_SHIFT_FROM)
        t->max_shift = fmax(t->max_shift, *shift);
    t->max_sag = fmax(t->max_sag, *sag);
    if (step == TOWER_SETTLE_STEP)
        t->sag_at_settle = t->max_sag_after_settle = *sag;
    else if (step > TOWER_SETTLE_STEP)
        t->max_sag_after_settle = fmax(t->max_sag_after_settle, *sag);
}

// stands=yes, or stands=no why=RULE:VALUE naming the first rule broken (no spaces: key=value lines).
static void print_stands(const tower_watch* t)
{
    if (t->max_sag > TOWER_MAX_SAG)
        printf(" stands=no why=sag:%.4f", t->max_sag);
    else if (t->max_sag_after_settle - t->sag_at_settle > TOWER_SAG_GROWTH)
        printf(" stands=no why=sag_growth:%.4f", t->max_sag_after_settle - t->sag_at_settle);
    else if (t->max_base_move > TOWER_BASE_MOVE)
        printf(" stands=no why=base_moved:%.4f", t->max_base_move);
    else if (t->landed > 0)
        printf(" stands=no why=landed:%d", t->landed);
    else
        printf(" stands=yes");
}

static const char* const scenes[] = {"large_pyramid", "convex_pile", "many_pyramids", "cluster_drop",
                                     "sparse"};

// FNV-1a 64 over the bytes of n floats: the floats' bits, not their values (so -0 and 0 differ, and
// a NaN is a NaN with its payload); byte order is the machine's, fine for comparing runs on one host.
static uint64_t fnv1a_floats(uint64_t h, const float* f, int n)
{
    for (int i = 0; i < n; i++)
    {
        uint32_t bits;
        memcpy(&bits, &f[i], sizeof bits);
        for (int k = 0; k < 4; k++)
        {
            h ^= (bits >> (8 * k)) & 0xFFu;
            h *= 0x100000001B3ULL;
        }
    }
    return h;
}

static uint64_t world_hash(const sh_world* world)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    int n = sh_world_body_count(world);
    for (int i = 0; i < n; i++)
    {
        sh_body_state s;
        if (!sh_body_get_state(world, sh_world_body_at(world, i), &s))
            continue;
        h = fnv1a_floats(h, s.position, 3);
        h = fnv1a_floats(h, s.orientation, 4);
        h = fnv1a_floats(h, s.velocity, 3);
        h = fnv1a_floats(h, s.angular_velocity, 3);
    }
    return h;
}

typedef struct bench_opts
{
    int base, steps, trace, probe, lean, threads;
    sh_task_pool* pool;
    float hertz;
    bool with_hash;
} bench_opts;

static int run_scene(const char* scene, const bench_opts* o)
{
    int base = o->base, steps_override = o->steps, trace = o->trace;
    float hertz = o->hertz;
    bool with_hash = o->with_hash;
    bench b;
    memset(&b, 0, sizeof b);
    int steps = 0;
    if (!build(&b, scene, base, hertz, o->pool, &steps))
        return SH_EXIT_USAGE;
    if (steps_override > 0)
        steps = steps_override;
    tower_watch watch;
    sh_bench_probe* probe = NULL;
    if (b.has_marked)
        watch_start(&watch, &b);
    if (b.has_marked && o->probe > 0 &&
        (probe = sh_bench_probe_start(b.world, watch.ids, (const float(*)[3])watch.start, watch.count)) ==
            NULL)
    {
        fprintf(stderr, "simhost bench: out of memory\n");
        exit(SH_EXIT_FAIL);
    }
    double total = 0.0, shift = 0.0, sag = 0.0;
    for (int i = 0; i < steps; i++)
    {
        double t0 = sh_now() * 1e3;
        sh_world_step(b.world, 1.0f / 60.0f, NULL);
        if (i > 0)
            total += sh_now() * 1e3 - t0;
        if (!b.has_marked)
            continue;
        watch_step(&watch, &b, i + 1, &shift, &sag);
        if (i < o->lean)
            sh_bench_probe_lean(b.world, watch.ids, (const float(*)[3])watch.start, watch.count, watch.marked,
                                i + 1, stderr);
        if (trace > 0 && (i + 1) % trace == 0)
            fprintf(stderr, "step=%d shift_m=%.4f sag_m=%.4f\n", i + 1, shift, sag);
        if (probe != NULL)
        {
            sh_bench_probe_step(probe, b.world);
            if ((i + 1) % o->probe == 0)
                sh_bench_probe_print(probe, b.world, i + 1, stderr);
        }
    }
    sh_bench_probe_free(probe);
    printf("scene=%s bodies=%d steps=%d threads=%d ms_per_step=%.3f shift_m=%.4f sag_m=%.4f", scene, b.bodies,
           steps, o->threads, steps > 1 ? total / (steps - 1) : 0.0, shift, sag);
    if (b.has_marked)
    {
        printf(" max_shift_m=%.4f max_sag_m=%.4f", watch.max_shift, watch.max_sag);
        print_stands(&watch);
        free(watch.ids);
        free(watch.start);
    }
    if (with_hash)
        printf(" hash=%016llx", (unsigned long long)world_hash(b.world));
    putchar('\n');
    fflush(stdout);
    sh_world_destroy(b.world);
    for (int i = 0; i < b.hull_count; i++)
        sh_hull_free(b.hulls[i]);
    return SH_EXIT_OK;
}

static const char help[] =
    "usage: simhost bench [SCENE ...] [--steps N] [--base N] [--hertz HZ] [--trace K] [--probe K]\n"
    "                    [--lean K] [--threads N] [--hash]\n"
    "scenes: large_pyramid convex_pile many_pyramids cluster_drop sparse (default: all)\n"
    "  --steps N   override each scene's step count\n"
    "  --base N    base of large_pyramid (default 100)\n"
    "  --hertz HZ  contact stiffness in 0 … 1000 Hz, above 0, capped at a quarter of the sub-step rate\n"
    "              (default: the world's, 60 Hz); softer contacts sag more\n"
    "  --trace K   print the marked body's shift_m and sag_m every K steps, to stderr\n"
    "  --probe K   print the tower row by row every K steps, to stderr: mean dx/dy (m), lean about x\n"
    "              and twist about z (rad), load (stored normal impulse under the row / weight above),\n"
    "              cop_y (where across the wall that impulse is centred, m), fy (friction across the\n"
    "              wall / load), and churn (bodies whose touching-point count changed since the last)\n"
    "  --lean K    print, after each of the first K steps, to stderr: the largest displacement across\n"
    "              the wall (max_dy_m), lean about x and twist about z (rad) of any tower cube, and the\n"
    "              top's y: how fast the wall's mirror symmetry breaks\n"
    "  --threads N threads that run the step's tasks, 1 … 64 (default: the number of cores); the\n"
    "              result is the same bits for any N (compare --hash)\n"
    "  --hash      add hash= to each line: FNV-1a 64 of every body's position, orientation,\n"
    "              velocity and angular velocity bits after the run (same bits, same hash)\n"
    "prints one line per scene: scene= bodies= steps= threads= ms_per_step= shift_m= sag_m=\n"
    "  [max_shift_m= max_sag_m= stands=yes|no [why=RULE:VALUE]] [hash=]\n"
    "  (large_pyramid: the top's largest shift after step 100 and largest sag, and whether the\n"
    "  pyramid stands by physics.md's rule over the whole run)\n";

int sh_cmd_bench(int argc, char** argv)
{
    const char* chosen[16];
    int n = 0;
    bench_opts o = {.base = 100, .hertz = sh_world_def_default().contact_hertz, .threads = sh_cpu_count()};
    sh_error bad;
    for (int i = 0; i < argc; i++)
    {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
        {
            fputs(help, stdout);
            return SH_EXIT_OK;
        }
        if (strcmp(argv[i], "--hash") == 0)
        {
            o.with_hash = true;
            continue;
        }
        if (strcmp(argv[i], "--steps") == 0 || strcmp(argv[i], "--base") == 0 ||
            strcmp(argv[i], "--trace") == 0 || strcmp(argv[i], "--probe") == 0 ||
            strcmp(argv[i], "--lean") == 0 || strcmp(argv[i], "--threads") == 0)
        {
            bool is_base = argv[i][2] == 'b', is_threads = strcmp(argv[i], "--threads") == 0;
            int hi = is_threads ? SH_TASK_POOL_MAX_THREADS : is_base ? 1000 : 1000000;
            int v;
            if (i + 1 >= argc)
                sh_error_set(&bad, "%s needs a value", argv[i]);
            if (i + 1 >= argc || !sh_cli_int(argv[i], argv[i + 1], 1, hi, &v, &bad))
            {
                fprintf(stderr, "simhost bench: %s\n", bad.message);
                return SH_EXIT_USAGE;
            }
            char k = argv[i][2];
            *(is_threads ? &o.threads
              : k == 's' ? &o.steps
              : k == 't' ? &o.trace
              : k == 'p' ? &o.probe
              : k == 'l' ? &o.lean
                         : &o.base) = v;
            i++;
            continue;
        }
        if (strcmp(argv[i], "--hertz") == 0)
        {
            double v;
            if (i + 1 >= argc)
                sh_error_set(&bad, "%s needs a value", argv[i]);
            if (i + 1 >= argc || !sh_cli_number(argv[i], argv[i + 1], 0, 1000, true, &v, &bad))
            {
                fprintf(stderr, "simhost bench: %s\n", bad.message);
                return SH_EXIT_USAGE;
            }
            o.hertz = (float)v;
            i++;
            continue;
        }
        bool known = false;
        for (size_t k = 0; k < sizeof scenes / sizeof scenes[0]; k++)
            known = known || strcmp(argv[i], scenes[k]) == 0;
        if (!known)
        {
            fprintf(stderr, "simhost bench: unknown scene '%s' (see simhost bench --help)\n", argv[i]);
            return SH_EXIT_USAGE;
        }
        if (n < 16)
            chosen[n++] = argv[i];
    }
    if (n == 0)
        for (size_t k = 0; k < sizeof scenes / sizeof scenes[0]; k++)
            chosen[n++] = scenes[k];
    // One pool for the run: its threads are made once, not per scene or step.
    if (!sh_task_pool_create(o.threads, &o.pool, &bad))
    {
        fprintf(stderr, "simhost bench: %s\n", bad.message);
        return SH_EXIT_FAIL;
    }
    int rc = SH_EXIT_OK;
    for (int i = 0; i < n && rc == SH_EXIT_OK; i++)
        rc = run_scene(chosen[i], &o);
    sh_task_pool_destroy(o.pool);
    return rc;
}
