// The SHF1 codec (docs/frames.md): a round trip against the world it encodes, and a decoder that rejects
// every truncation and every lying header (offsets, counts, sizes, flags, non-finite values) with an error
// instead of reading past the end. Under the sanitized build ASan watches every read.
#include "check.h"
#include "world.h" // to plant a NaN the public API refuses to make

#include "simhost/assets.h"
#include "simhost/frame.h"

#include <stdlib.h>
#include <string.h>

typedef struct scene
{
    sh_world* world;
    sh_hull *ground, *cube;
} scene;

// A ground slab and a few cubes dropped on it and on each other, stepped until they touch: contacts,
// a solver block, and (with sleep on) some sleeping bodies after the pile settles.
static scene make_scene(int cubes, int steps)
{
    scene s = {0};
    sh_error err;
    float p[24];
    sh_box_corners(10.0f, 10.0f, 0.5f, p);
    CHECK(sh_hull_build(p, 8, &s.ground, &err));
    sh_box_corners(0.5f, 0.5f, 0.5f, p);
    CHECK(sh_hull_build(p, 8, &s.cube, &err));
    sh_world_def def = sh_world_def_default();
    CHECK(sh_world_create(&def, &s.world, &err));
    sh_body_def d = sh_body_def_default();
    d.type = SH_BODY_STATIC;
    d.hull = s.ground;
    d.position[2] = -0.5f;
    sh_body_id id;
    CHECK(sh_body_create(s.world, &d, &id, &err));
    d = sh_body_def_default();
    d.hull = s.cube;
    d.mass = 2.0f;
    for (int i = 0; i < cubes; i++)
    {
        d.position[0] = (float)(i % 4) * 1.5f;
        d.position[1] = (float)(i / 4 % 4) * 1.5f;
        d.position[2] = 0.5f + 1.1f * (float)(i / 16);
        d.velocity[0] = 0.1f * (float)(i % 3);
        CHECK(sh_body_create(s.world, &d, &id, &err));
    }
    for (int i = 0; i < steps; i++)
        CHECK(sh_world_step(s.world, 1.0f / 60.0f, &err));
    return s;
}

static void free_scene(scene* s)
{
    sh_world_destroy(s->world);
    sh_hull_free(s->ground);
    sh_hull_free(s->cube);
}

static bool same_floats(const float* a, const float* b, int n)
{
    return memcmp(a, b, sizeof(float) * (size_t)n) == 0; // to the bit
}

// Contact points whose friction impulse is not zero: the round trip must compare real directions.
static int count_sliding(const sh_world* w)
{
    int sliding = 0;
    for (int i = 0; i < sh_world_contact_count(w); i++)
    {
        sh_contact_info c;
        sh_world_contact_at(w, i, &c);
        for (int j = 0; j < c.point_count; j++)
            sliding += c.points[j].friction_impulse_vector[0] != 0.0f ||
                       c.points[j].friction_impulse_vector[1] != 0.0f;
    }
    return sliding;
}

static void check_bodies(const sh_world* w, const sh_frame_view* v, bool velocities)
{
    CHECK(v->body_count == (uint32_t)sh_world_body_count(w));
    for (uint32_t i = 0; i < v->body_count; i++)
    {
        sh_body_id id = sh_world_body_at(w, (int)i);
        sh_body_state s;
        sh_body_get_state(w, id, &s);
        sh_frame_body b;
        sh_frame_body_at(v, i, &b);
        CHECK(b.id == (uint32_t)sh_body_id_to_int(id));
        CHECK(same_floats(b.position, s.position, 3));
        CHECK(same_floats(b.orientation, s.orientation, 4));
        float zero[3] = {0, 0, 0};
        CHECK(same_floats(b.velocity, velocities ? s.velocity : zero, 3));
        CHECK(same_floats(b.angular_velocity, velocities ? s.angular_velocity : zero, 3));
        CHECK(b.environment == s.is_static);
        CHECK(b.sleeping == s.sleeping);
    }
}

// One record per contact point, in manifold order; point = midpoint of the witness points; the friction
// vector, from the friction block, is the world's to the bit (zero when the frame has no block).
static void check_contacts(const sh_world* w, const sh_frame_view* v)
{
    float zero[3] = {0, 0, 0};
    uint32_t k = 0;
    for (int i = 0; i < sh_world_contact_count(w); i++)
    {
        sh_contact_info c;
        sh_world_contact_at(w, i, &c);
        for (int j = 0; j < c.point_count; j++, k++)
        {
            if (k >= v->contact_count)
                break;
            sh_frame_contact r;
            sh_frame_contact_at(v, k, &r);
            CHECK(r.body_a == (uint32_t)sh_body_id_to_int(c.body_a));
            CHECK(r.body_b == (uint32_t)sh_body_id_to_int(c.body_b));
            float mid[3];
            for (int a = 0; a < 3; a++)
                mid[a] = 0.5f * (c.points[j].point_a[a] + c.points[j].point_b[a]);
            CHECK(same_floats(r.point, mid, 3));
            CHECK(same_floats(r.normal, c.normal, 3));
            CHECK(r.depth == c.points[j].depth);
            CHECK(r.normal_impulse == c.points[j].normal_impulse);
            CHECK(r.friction_impulse == c.points[j].friction_impulse);
            CHECK(same_floats(r.friction, v->friction ? c.points[j].friction_impulse_vector : zero, 3));
        }
    }
    CHECK(k == v->contact_count);
}

static void test_round_trip(void)
{
    scene s = make_scene(20, 20); // 1/3 s: touching, not yet asleep
    sh_frame_buf buf = {0};
    sh_error err;
    sh_frame_opts opts = sh_frame_opts_default();
    CHECK(sh_frame_encode(s.world, 90, 1.5, &opts, &buf, &err));
    sh_frame_view v;
    CHECK(sh_frame_decode(buf.data, buf.len, &v, &err));
    CHECK(v.version == 1 && v.frame_id == 90 && v.simulation_time == 1.5 && v.total_bytes == buf.len);
    CHECK(v.flags ==
          (SH_FRAME_HAS_VELOCITIES | SH_FRAME_HAS_CONTACTS | SH_FRAME_HAS_SOLVER | SH_FRAME_HAS_FRICTION));
    CHECK(v.contact_count >= 20 * 4); // every cube rests on a face
    check_bodies(s.world, &v, true);
    check_contacts(s.world, &v);
    CHECK(v.friction != NULL && count_sliding(s.world) > 0); // the vectors compared are not all zero
    sh_frame_solver sv;
    sh_world_stats st;
    sh_world_get_stats(s.world, &st);
    CHECK(sh_frame_solver_get(&v, &sv));
    CHECK(sv.iterations == (uint32_t)st.iterations && sv.residual == st.residual);
    CHECK(sv.converged == (st.converged ? 1u : 0u));
    CHECK(sv.constraints == (uint32_t)st.num_constraints && sv.contacts == (uint32_t)st.num_points);
    // The contract's size: 64 + per body 4 + 28 + 1 + 24 (each block padded to 8) + 48 per point, 12 per
    // point padded to 8 + 24.
    size_t n = v.body_count, c = v.contact_count;
    size_t bodies = ((4 * n + 7) & ~7u) + ((28 * n + 7) & ~7u) + ((n + 7) & ~7u) + 24 * n;
    CHECK(buf.len == 64 + bodies + 48 * c + ((12 * c + 7) & ~7u) + 24);
    // Every block is 8-aligned from the frame's first byte.
    const uint8_t* blocks[] = {v.ids, v.pose, v.body_flags, v.velocities, v.contacts, v.solver, v.friction};
    for (int i = 0; i < 7; i++)
        CHECK((size_t)(blocks[i] - buf.data) % 8 == 0);

    // Reuse: the same frame again allocates nothing and gives the same bytes.
    uint8_t* first = malloc(buf.len);
    memcpy(first, buf.data, buf.len);
    size_t first_len = buf.len;
    int64_t before = sh_alloc_bytes();
    CHECK(sh_frame_encode(s.world, 90, 1.5, &opts, &buf, &err));
    CHECK(sh_alloc_bytes() == before);
    CHECK(buf.len == first_len && memcmp(first, buf.data, buf.len) == 0);
    free(first);

    // Without velocities and contacts: flags and offsets say so, bodies read zero velocities.
    opts.velocities = false;
    opts.contacts = false;
    CHECK(sh_frame_encode(s.world, 7, 0.25, &opts, &buf, &err));
    CHECK(sh_frame_decode(buf.data, buf.len, &v, &err));
    CHECK(v.flags == SH_FRAME_HAS_SOLVER && v.contact_count == 0);
    CHECK(v.velocities == NULL && v.contacts == NULL && v.friction == NULL && v.solver != NULL);
    check_bodies(s.world, &v, false);
    opts.solver = false;
    CHECK(sh_frame_encode(s.world, 7, 0.25, &opts, &buf, &err));
    CHECK(sh_frame_decode(buf.data, buf.len, &v, &err));
    CHECK(v.flags == 0 && !sh_frame_solver_get(&v, &sv));
    sh_frame_buf_free(&buf);
    CHECK(buf.data == NULL && buf.cap == 0);
    free_scene(&s);
}

// Before any step solved a constraint, and once the pile sleeps, the solver block is absent (the JSON
// frame's solver is null); the sleeping flag comes through.
static void test_no_solver_before_contact(void)
{
    scene asleep = make_scene(5, 120);
    sh_frame_buf buf = {0};
    sh_error err;
    sh_frame_view v;
    CHECK(sh_frame_encode(asleep.world, 120, 2.0, NULL, &buf, &err));
    CHECK(sh_frame_decode(buf.data, buf.len, &v, &err));
    CHECK(v.solver == NULL);
    check_bodies(asleep.world, &v, true);
    sh_frame_body b;
    sh_frame_body_at(&v, 1, &b);
    CHECK(b.sleeping && !b.environment);
    sh_frame_body_at(&v, 0, &b);
    CHECK(b.environment);
    free_scene(&asleep);

    scene s = make_scene(3, 0);
    CHECK(sh_frame_encode(s.world, 0, 0.0, NULL, &buf, &err));
    CHECK(sh_frame_decode(buf.data, buf.len, &v, &err));
    CHECK(v.solver == NULL && v.contact_count == 0 && (v.flags & SH_FRAME_HAS_CONTACTS));
    CHECK(v.friction != NULL && (v.flags & SH_FRAME_HAS_FRICTION)); // present and empty
    CHECK(v.body_count == 4);
    sh_frame_buf_free(&buf);
    free_scene(&s);

    sh_world* w;
    sh_world_def def = sh_world_def_default();
    CHECK(sh_world_create(&def, &w, &err));
    CHECK(sh_frame_encode(w, 3, 0.0, NULL, &buf, &err)); // no bodies at all
    CHECK(sh_frame_decode(buf.data, buf.len, &v, &err));
    CHECK(v.body_count == 0 && buf.len == 64);
    sh_frame_buf_free(&buf);
    sh_world_destroy(w);
}

static void test_non_finite_is_refused(void)
{
    scene s = make_scene(2, 1);
    sh_frame_buf buf = {0};
    sh_error err;
    CHECK(!sh_frame_encode(s.world, 0, NAN, NULL, &buf, &err));
    CHECK(strstr(err.message, "not finite") != NULL);
    s.world->bodies.data[2].w[1] = NAN;
    CHECK(!sh_frame_encode(s.world, 0, 0.0, NULL, &buf, &err));
    CHECK(strstr(err.message, "not finite") != NULL);
    CHECK(buf.len == 0); // never half a frame
    sh_frame_opts no_velocities = {.velocities = false, .contacts = true, .solver = true};
    CHECK(sh_frame_encode(s.world, 0, 0.0, &no_velocities, &buf, &err)); // the NaN is not written
    s.world->bodies.data[2].xf.p[0] = INFINITY;
    CHECK(!sh_frame_encode(s.world, 0, 0.0, &no_velocities, &buf, &err));
    sh_frame_buf_free(&buf);
    free_scene(&s);
}

typedef struct frame
{
    uint8_t* bytes;
    size_t len;
} frame;

static frame encode_scene(int cubes, int steps)
{
    scene s = make_scene(cubes, steps);
    sh_frame_buf buf = {0};
    sh_error err;
    CHECK(sh_frame_encode(s.world, 60, 1.0, NULL, &buf, &err));
    frame f = {malloc(buf.len), buf.len};
    memcpy(f.bytes, buf.data, buf.len);
    sh_frame_buf_free(&buf);
    free_scene(&s);
    return f;
}

// Each truncation is copied into a buffer of exactly that size, so ASan sees any read past its end.
static void test_every_truncation_rejected(void)
{
    frame f = encode_scene(6, 20);
    sh_frame_view v;
    sh_error err;
    for (size_t n = 0; n < f.len; n++)
    {
        uint8_t* cut = malloc(n ? n : 1);
        memcpy(cut, f.bytes, n);
        bool ok = sh_frame_decode(cut, n, &v, &err);
        CHECK(!ok);
        if (ok)
            fprintf(stderr, "  a %zu-byte truncation of %zu was accepted\n", n, f.len);
        free(cut);
    }
    CHECK(sh_frame_decode(f.bytes, f.len, &v, &err));
    // One byte too many is a lie too (the header's total says otherwise).
    uint8_t* longer = calloc(f.len + 8, 1);
    memcpy(longer, f.bytes, f.len);
    CHECK(!sh_frame_decode(longer, f.len + 8, &v, &err));
    free(longer);
    free(f.bytes);
}

static void put32(uint8_t* p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static uint32_t get32(const uint8_t* p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

// Decodes f with one u32 of it replaced; expects the decoder to refuse with a message containing what.
static void expect_lie(const frame* f, size_t at, uint32_t value, const char* what)
{
    uint8_t* b = malloc(f->len);
    memcpy(b, f->bytes, f->len);
    put32(b + at, value);
    sh_frame_view v;
    sh_error err = {{0}};
    bool ok = sh_frame_decode(b, f->len, &v, &err);
    CHECK(!ok);
    CHECK(strstr(err.message, what) != NULL);
    if (ok || strstr(err.message, what) == NULL)
        fprintf(stderr, "  u32 at %zu = 0x%x: %s (wanted \"%s\")\n", at, value, ok ? "accepted" : err.message,
                what);
    free(b);
}

static void test_lying_headers_rejected(void)
{
    frame f = encode_scene(6, 20);
    const uint8_t* h = f.bytes;
    uint32_t n = get32(h + 12), c = get32(h + 24), len = (uint32_t)f.len;
    // The six block offsets at 32, then the friction block's at 60.
    size_t field[7] = {32, 36, 40, 44, 48, 52, 60};
    uint32_t off[7];
    for (int i = 0; i < 7; i++)
        off[i] = get32(h + field[i]);
    CHECK(n == 7 && c > 0 && get32(h + 28) == 15);

    expect_lie(&f, 0, 0x32464853, "magic");                // "SHF2"
    expect_lie(&f, 4, 2u | (64u << 16), "version 2");      // version 2, header 64
    expect_lie(&f, 4, 1u | (63u << 16), "header size 63"); // not a multiple of 8 and < 64
    expect_lie(&f, 4, 1u | (0xfff8u << 16), "header");     // longer than the frame
    expect_lie(&f, 12, n + 1, "block");                    // one body more than the blocks hold
    expect_lie(&f, 12, 0xffffffffu, "runs past");          // a count whose size would wrap 32 bits
    expect_lie(&f, 24, c + 1, "block");                    // one contact point more
    expect_lie(&f, 24, 0xffffffffu, "runs past");
    expect_lie(&f, 28, 15u | 16u, "unknown flags");
    expect_lie(&f, 28, 3 | 8, "solver block at"); // flag cleared, offset left
    expect_lie(&f, 28, 7, "friction block at");   // the same for bit 3
    expect_lie(&f, 56, len - 8, "header says");
    expect_lie(&f, 56, len + 8, "header says");
    for (int i = 0; i < 7; i++)
    {
        expect_lie(&f, field[i], 0, "offset 0"); // a present block at 0 (inside the header)
        expect_lie(&f, field[i], off[i] + 4, "multiple of 8");
        expect_lie(&f, field[i], len, "runs past");
        expect_lie(&f, field[i], 0xfffffff8u, "runs past");
        expect_lie(&f, field[i], 32, "offset 32");                // inside the header
        expect_lie(&f, field[i], off[i == 0 ? 1 : 0], "overlap"); // on top of another block
    }
    expect_lie(&f, 60, off[4] + 48 * c - 8, "overlap"); // the friction block over the last contact record
    expect_lie(&f, 60, (len - 12 * c + 8) & ~7u,
               "runs past"); // aligned, but its 12 C bytes end past the frame
    // Values: a NaN in the pose, a velocity infinity, an unknown body flag bit, converged = 2.
    expect_lie(&f, off[1] + 4, 0x7fc00000u, "pose");
    expect_lie(&f, off[3] + 8, 0x7f800000u, "velocity");
    expect_lie(&f, off[2], 0x10, "body flag");
    expect_lie(&f, off[4] + 48 + 20, 0xffc00000u, "contact point 1");
    expect_lie(&f, off[6] + 12 * (c - 1) + 8, 0x7f800000u, "friction vector"); // the last point's z
    expect_lie(&f, off[5] + 8, 2, "converged");
    expect_lie(&f, 20, 0xbff00000u, "simulation_time"); // the high word of 1.0 made -1.0
    expect_lie(&f, 20, 0x7ff80000u, "simulation_time"); // and a NaN
    free(f.bytes);

    // Bit 3 without a contacts block: in a frame with no contact points (dropped cubes, not stepped),
    // clearing bit 1 leaves the friction flag alone.
    frame empty = encode_scene(3, 0);
    CHECK(get32(empty.bytes + 24) == 0 && get32(empty.bytes + 28) == (1u | 2u | 8u));
    expect_lie(&empty, 28, 1u | 8u, "without a contacts block");
    free(empty.bytes);
}

// A frame as written before bit 3 (flag clear, word 60 zero) still decodes: the contacts read a zero
// friction vector, and the bytes the old header does not point at are ignored.
static void test_frame_without_friction_block(void)
{
    frame f = encode_scene(6, 20);
    put32(f.bytes + 28, get32(f.bytes + 28) & ~(uint32_t)SH_FRAME_HAS_FRICTION);
    put32(f.bytes + 60, 0);
    sh_frame_view v;
    sh_error err;
    CHECK(sh_frame_decode(f.bytes, f.len, &v, &err));
    CHECK(v.friction == NULL && v.contact_count > 0);
    sh_frame_contact r;
    sh_frame_contact_at(&v, 0, &r);
    CHECK(r.friction[0] == 0.0f && r.friction[1] == 0.0f && r.friction[2] == 0.0f);
    free(f.bytes);
}

// Every single-bit flip of the header either is refused or decodes to blocks inside the frame.
static void test_header_bit_flips(void)
{
    frame f = encode_scene(6, 20);
    int accepted = 0;
    for (int bit = 0; bit < 64 * 8; bit++)
    {
        uint8_t* b = malloc(f.len);
        memcpy(b, f.bytes, f.len);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        sh_frame_view v;
        sh_error err;
        if (sh_frame_decode(b, f.len, &v, &err))
        {
            accepted++;
            CHECK(v.pose + 28 * (size_t)v.body_count <= b + f.len);
            CHECK(v.contacts == NULL || v.contacts + 48 * (size_t)v.contact_count <= b + f.len);
            CHECK(v.friction == NULL || v.friction + 12 * (size_t)v.contact_count <= b + f.len);
            for (uint32_t i = 0; i < v.body_count; i++)
            {
                sh_frame_body body;
                sh_frame_body_at(&v, i, &body);
            }
        }
        free(b);
    }
    // frame_id (32 bits) and most of simulation_time's bits carry no structure.
    CHECK(accepted > 32 && accepted < 64 * 8 / 2);
    free(f.bytes);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_no_solver_before_contact);
    RUN(test_non_finite_is_refused);
    RUN(test_every_truncation_rejected);
    RUN(test_lying_headers_rejected);
    RUN(test_frame_without_friction_block);
    RUN(test_header_bit_flips);
    return CHECK_SUMMARY();
}
