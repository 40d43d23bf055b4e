// Internals Lua cannot reach: id pool, arena, AABB tree (against brute force), body ids and the step's
// guards.
#include "arena.h"
#include "broad_phase.h"
#include "check.h"
#include "id_pool.h"

#include "simhost/physics.h"

#include <stdlib.h>
#include <string.h>

static void test_id_pool(void)
{
    sh_id_pool p;
    sh_id_pool_init(&p, 1);
    CHECK(sh_id_pool_alloc(&p) == 1);
    CHECK(sh_id_pool_alloc(&p) == 2);
    CHECK(sh_id_pool_alloc(&p) == 3);
    CHECK(sh_id_pool_free(&p, 2));
    CHECK(sh_id_pool_free(&p, 1));
    CHECK(sh_id_pool_alloc(&p) == 1); // last freed first
    CHECK(sh_id_pool_alloc(&p) == 2);
    CHECK(sh_id_pool_alloc(&p) == 4);
    for (int i = 0; i < 1000; i++)
        CHECK(sh_id_pool_free(&p, i + 10));
    CHECK(sh_id_pool_alloc(&p) == 1009);
    sh_id_pool_destroy(&p);
}

static void test_arena(void)
{
    sh_arena a;
    sh_arena_init(&a);
    // First step: everything overflows to the heap; the reset grows the block to the peak.
    char* x = sh_arena_alloc(&a, 100);
    char* y = sh_arena_alloc(&a, 1000);
    CHECK(x != NULL && y != NULL);
    CHECK(((uintptr_t)x & 15) == 0 && ((uintptr_t)y & 15) == 0);
    memset(x, 1, 100);
    memset(y, 2, 1000);
    int64_t before = sh_alloc_bytes();
    sh_arena_reset(&a);
    CHECK(a.capacity >= 1120);
    // Second step of the same size: no heap traffic at all.
    before = sh_alloc_bytes();
    x = sh_arena_alloc(&a, 100);
    y = sh_arena_alloc(&a, 1000);
    CHECK(sh_alloc_bytes() == before);
    CHECK(y >= x + 100);
    sh_arena_reset(&a);
    sh_arena_destroy(&a);
}

static float frand(unsigned* s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 65535.0f;
}

typedef struct hits
{
    int n;
    int users[4096];
} hits;

static void collect(void* ctx, int user)
{
    hits* h = ctx;
    if (h->n < 4096)
        h->users[h->n++] = user;
}

static int cmp_int(const void* a, const void* b)
{
    return *(const int*)a - *(const int*)b;
}

static void test_tree_against_brute_force(void)
{
    enum
    {
        N = 2000
    };
    sh_tree t;
    sh_tree_init(&t);
    static sh_aabb boxes[N];
    static int leaf[N];
    unsigned seed = 7;
    for (int i = 0; i < N; i++)
    {
        for (int k = 0; k < 3; k++)
        {
            boxes[i].lo[k] = 100.0f * frand(&seed);
            boxes[i].hi[k] = boxes[i].lo[k] + 0.1f + 3.0f * frand(&seed);
        }
        leaf[i] = sh_tree_insert(&t, &boxes[i], i);
        CHECK(leaf[i] >= 0);
    }
    // Remove a third, move a third (remove + insert elsewhere).
    for (int i = 0; i < N; i += 3)
    {
        sh_tree_remove(&t, leaf[i]);
        leaf[i] = -1;
    }
    for (int i = 1; i < N; i += 3)
    {
        sh_tree_remove(&t, leaf[i]);
        for (int k = 0; k < 3; k++)
        {
            boxes[i].lo[k] += 5.0f;
            boxes[i].hi[k] += 5.0f;
        }
        leaf[i] = sh_tree_insert(&t, &boxes[i], i);
    }
    CHECK(t.count == 2 * (N - (N + 2) / 3) - 1);
    // AVL balance keeps the height logarithmic.
    CHECK(sh_tree_height(&t) <= 2 * 12);
    for (int q = 0; q < 100; q++)
    {
        sh_aabb box;
        for (int k = 0; k < 3; k++)
        {
            box.lo[k] = 100.0f * frand(&seed);
            box.hi[k] = box.lo[k] + 10.0f * frand(&seed);
        }
        hits h = {0};
        sh_tree_query(&t, &box, collect, &h);
        int expect[N], ne = 0;
        for (int i = 0; i < N; i++)
            if (leaf[i] >= 0 && sh_aabb_overlap(&boxes[i], &box))
                expect[ne++] = i;
        qsort(h.users, (size_t)h.n, sizeof(int), cmp_int);
        CHECK(h.n == ne);
        CHECK(h.n != ne || memcmp(h.users, expect, (size_t)ne * sizeof(int)) == 0);
    }
    sh_tree_destroy(&t);
}

static sh_hull* box_hull(float hx, float hy, float hz)
{
    float p[24];
    sh_box_corners(hx, hy, hz, p);
    sh_hull* h = NULL;
    sh_error err;
    CHECK(sh_hull_build(p, 8, &h, &err));
    return h;
}

static void test_world_guards(void)
{
    sh_error err;
    sh_world* w = NULL;
    sh_world_def bad = {0};
    CHECK(!sh_world_create(&bad, &w, &err)); // skipped sh_world_def_default()
    sh_world_def def = sh_world_def_default();
    CHECK(sh_world_create(&def, &w, &err));
    sh_hull* cube = box_hull(0.5f, 0.5f, 0.5f);
    sh_body_def d = sh_body_def_default();
    d.hull = cube;
    d.mass = -1.0f;
    sh_body_id id;
    CHECK(!sh_body_create(w, &d, &id, &err));
    CHECK(strstr(err.message, "mass") != NULL);
    d.mass = 1.0f;
    d.position[0] = NAN;
    CHECK(!sh_body_create(w, &d, &id, &err));
    d.position[0] = 0.0f;
    CHECK(sh_body_create(w, &d, &id, &err));
    CHECK(id.index == 1 && id.generation == 0);
    CHECK(sh_body_id_to_int(id) == 1);
    CHECK(sh_body_is_valid(w, id));
    sh_body_id stale = {id.index, id.generation + 1};
    CHECK(!sh_body_is_valid(w, stale));
    CHECK(!sh_body_is_valid(w, SH_NULL_BODY));
    CHECK(!sh_body_is_valid(w, sh_body_id_from_int(-5)));
    CHECK(!sh_world_step(w, 0.0f, &err));
    CHECK(!sh_world_step(w, NAN, &err));
    CHECK(sh_world_step(w, 1.0f / 60.0f, &err));
    vec3 v = {INFINITY, 0, 0}, av = {0, 0, 0};
    CHECK(!sh_body_set_velocity(w, id, v, av, &err));
    sh_body_state s;
    CHECK(sh_body_get_state(w, id, &s));
    CHECK_NEAR(-9.81 / 60.0, s.velocity[2], 1e-5);
    sh_world_destroy(w);
    sh_hull_free(cube);
}

// Inertia at spawn against the analytic tensor of a box, (m/12)·(b² + c²) about x and so on, with three
// different edges (1 × 2 × 4 m, 8 kg: 40/3, 34/3, 10/3 kg·m²), so a tensor scaled by one constant (the old
// service's bug: mass passed where density belonged, off by the volume, 8 here) or taken about the mesh
// origin instead of the centroid (the hull is built 3 m off its origin) fails on each diagonal.
static void test_inertia_at_spawn(void)
{
    sh_error err;
    sh_world* w = NULL;
    sh_world_def def = sh_world_def_default();
    CHECK(sh_world_create(&def, &w, &err));
    float p[24];
    sh_box_corners(0.5f, 1.0f, 2.0f, p);
    for (int i = 0; i < 8; i++)
    {
        p[3 * i + 0] += 3.0f;
        p[3 * i + 1] -= 2.0f;
        p[3 * i + 2] += 1.0f;
    }
    sh_hull* box = NULL;
    CHECK(sh_hull_build(p, 8, &box, &err));
    sh_body_def d = sh_body_def_default();
    d.hull = box;
    d.mass = 8.0f;
    sh_body_id id;
    CHECK(box != NULL && sh_body_create(w, &d, &id, &err));
    sh_body_state s;
    CHECK(sh_body_get_state(w, id, &s));
    const double want[3] = {8.0 / 12.0 * (4.0 + 16.0), 8.0 / 12.0 * (1.0 + 16.0), 8.0 / 12.0 * (1.0 + 4.0)};
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            CHECK_NEAR(r == c ? want[r] : 0.0, s.inertia[c][r], 1e-5 * want[0]);
    CHECK_NEAR(8.0, s.mass, 1e-6);
    sh_world_destroy(w);
    sh_hull_free(box);
}

int main(void)
{
    RUN(test_id_pool);
    RUN(test_arena);
    RUN(test_tree_against_brute_force);
    RUN(test_world_guards);
    RUN(test_inertia_at_spawn);
    return CHECK_SUMMARY();
}
