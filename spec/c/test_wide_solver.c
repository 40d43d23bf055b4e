// The wide contact solver (core/physics/contact_solver_wide.c) against the scalar one: the same scenes
// stepped through the scalar sweep and the baseline-ISA, AVX2 and AVX-512 vector paths must end in
// bit-identical body states (the levels of constraint_graph.c keep the sweep's order exactly). Scenes: a
// 20-base pyramid (resting contacts, 4-point faces), tumbling cubes and hulls dropped on it (impacts, 1- to
// 4-point manifolds, speculative points, the impact subset and restitution after the wide passes).

#include "check.h"
#include "contact_solver_wide.h"

#include "simhost/physics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x2545F4914F6CDD1DULL;
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

static sh_hull* rock_hull(void)
{
    float p[3 * 24];
    for (int i = 0; i < 24; i++)
    {
        float z = 2.0f * rnd() - 1.0f, t = 6.2831853f * rnd(), r = sqrtf(1.0f - z * z);
        p[3 * i + 0] = 0.6f * r * cosf(t);
        p[3 * i + 1] = 0.5f * r * sinf(t);
        p[3 * i + 2] = 0.4f * z;
    }
    sh_hull* h = NULL;
    sh_error err;
    if (!sh_hull_build(p, 24, &h, &err))
        fprintf(stderr, "hull: %s\n", err.message);
    return h;
}

static void add(sh_world* w, const sh_hull* h, bool is_static, const float* pos, const float* q,
                const float* v, const float* av, float mass, float restitution)
{
    sh_body_def d = sh_body_def_default();
    d.type = is_static ? SH_BODY_STATIC : SH_BODY_DYNAMIC;
    d.hull = h;
    memcpy(d.position, pos, sizeof d.position);
    if (q != NULL)
        memcpy(d.orientation, q, sizeof d.orientation);
    d.mass = mass;
    d.friction = 0.6f;
    d.restitution = restitution;
    sh_body_id id;
    sh_error err;
    CHECK(sh_body_create(w, &d, &id, &err));
    if (v != NULL)
        sh_body_set_velocity(w, id, v, av, NULL);
}

// Steps the scene and returns an FNV-1a hash of every body's state bits (and the stats that come from the
// solve), so any difference in any float shows.
static uint64_t run(sh_wide_path path, int steps, int base, int drops, int* constraints)
{
    sh_wide_force_path(path);
    rng = 0x2545F4914F6CDD1DULL;
    sh_hull* ground = box_hull(50.0f, 50.0f, 1.0f);
    sh_hull* cube = box_hull(0.5f, 0.5f, 0.5f);
    sh_hull* rock = rock_hull();
    sh_world_def def = sh_world_def_default();
    def.enable_sleep = false;
    sh_world* w = NULL;
    sh_error err;
    CHECK(sh_world_create(&def, &w, &err));
    add(w, ground, true, (float[]){0, 0, -1}, NULL, NULL, NULL, 0, 0);
    for (int i = 0; i < base; i++)
        for (int j = i; j < base; j++)
            add(w, cube, false, (float[]){(float)(i + 1) * 0.5f + (float)(j - i) - 0.5f * base, 0, i + 0.5f},
                NULL, NULL, NULL, 100.0f, 0.0f);
    for (int i = 0; i < drops; i++)
    {
        float axis[3] = {rnd() - 0.5f, rnd() - 0.5f, rnd() - 0.5f};
        float n = sqrtf(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]) + 1e-6f;
        float ang = 3.0f * rnd(), s = sinf(0.5f * ang) / n;
        float q[4] = {axis[0] * s, axis[1] * s, axis[2] * s, cosf(0.5f * ang)};
        float pos[3] = {8.0f * rnd() - 4.0f, 3.0f * rnd() - 1.5f, 22.0f + 2.0f * (float)i};
        float v[3] = {2.0f * rnd() - 1.0f, 2.0f * rnd() - 1.0f, -3.0f * rnd()};
        float av[3] = {rnd() - 0.5f, rnd() - 0.5f, rnd() - 0.5f};
        add(w, (i % 3 == 0) ? rock : cube, false, pos, q, v, av, 1.0f + 50.0f * rnd(), 0.5f * rnd());
    }
    uint64_t hash = 1469598103934665603ULL;
    int most = 0;
    for (int s = 0; s < steps; s++)
    {
        CHECK(sh_world_step(w, 1.0f / 60.0f, &err));
        sh_world_stats st;
        sh_world_get_stats(w, &st);
        most = st.contacts > most ? st.contacts : most;
        float r = st.residual;
        const unsigned char* rb = (const unsigned char*)&r;
        for (size_t k = 0; k < sizeof r; k++)
            hash = (hash ^ rb[k]) * 1099511628211ULL;
    }
    int count = sh_world_body_count(w);
    for (int i = 0; i < count; i++)
    {
        sh_body_id id = sh_world_body_at(w, i);
        sh_body_state s;
        CHECK(sh_body_get_state(w, id, &s));
        float f[13];
        memcpy(f, s.position, 12);
        memcpy(f + 3, s.orientation, 16);
        memcpy(f + 7, s.velocity, 12);
        memcpy(f + 10, s.angular_velocity, 12);
        const unsigned char* b = (const unsigned char*)f;
        for (size_t k = 0; k < sizeof f; k++)
            hash = (hash ^ b[k]) * 1099511628211ULL;
    }
    *constraints = most;
    sh_world_destroy(w);
    sh_hull_free(ground);
    sh_hull_free(cube);
    sh_hull_free(rock);
    sh_wide_force_path(SH_WIDE_AUTO);
    return hash;
}

// One scene, every path against the scalar sweep. A path this CPU lacks is named in the output; a
// scene where no wide path ran at all compares nothing, so it fails.
static void compare(const char* name, int steps, int base, int drops, int min_contacts)
{
    int ran = 0;
    int c_scalar = 0, c_other = 0;
    uint64_t scalar = run(SH_WIDE_SCALAR, steps, base, drops, &c_scalar);
    printf("%s: contacts (max) %d, scalar %016llx\n", name, c_scalar, (unsigned long long)scalar);
    CHECK(c_scalar >= min_contacts); // the scene really has contacts
    const sh_wide_path paths[] = {SH_WIDE_GENERIC, SH_WIDE_AVX2, SH_WIDE_AVX512};
    const char* names[] = {"generic", "avx2", "avx512"};
    for (int i = 0; i < 3; i++)
    {
        if (paths[i] > sh_wide_cpu_path())
        {
            printf("  %s: not on this CPU, not compared\n", names[i]);
            continue;
        }
        uint64_t h = run(paths[i], steps, base, drops, &c_other);
        printf("  %s %016llx\n", names[i], (unsigned long long)h);
        CHECK(h == scalar);
        ran++;
    }
    printf("  %d of 3 wide paths compared\n", ran);
    CHECK(ran > 0);
}

int main(void)
{
    // Large: the main passes rebuild their rows each pass; the impact subset keeps them.
    compare("pyramid 20 + 24 drops", 240, 20, 24, 300);
    // Small (under SH_WIDE_ROW_CACHE_BATCHES batches): the main passes keep their rows too.
    compare("pyramid 5 + 6 drops", 200, 5, 6, 15);
    printf("%d checks, %d failures\n", check_count, check_failures);
    return check_failures == 0 ? 0 : 1;
}
