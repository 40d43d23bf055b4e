// World snapshots (simhost/world_snapshot.h): a world restored from a snapshot steps bit-identically to the
// one it was taken from, and a truncated, corrupt or lying blob is refused with an error, never read past.
#include "check.h"
#include "snapshot_format.h"

#include "simhost/world_snapshot.h"

#include <stdlib.h>
#include <string.h>

#define DT (1.0f / 60.0f)

static uint64_t mix(uint64_t h, const void* p, size_t n)
{
    const unsigned char* c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}

// Everything a frame reports: every body's state, every touching contact with its impulses, the solver.
static uint64_t state_hash(const sh_world* w)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < sh_world_body_count(w); i++)
    {
        sh_body_state s;
        memset(&s, 0, sizeof s);
        sh_body_get_state(w, sh_world_body_at(w, i), &s);
        h = mix(h, &s, sizeof s);
    }
    for (int i = 0; i < sh_world_contact_count(w); i++)
    {
        sh_contact_info c;
        memset(&c, 0, sizeof c);
        sh_world_contact_at(w, i, &c);
        h = mix(h, &c, sizeof c);
    }
    sh_world_stats st;
    sh_world_get_stats(w, &st);
    const int counts[5] = {st.awake_bodies, st.contacts, st.contact_points, st.iterations, st.num_points};
    h = mix(h, counts, sizeof counts);
    h = mix(h, &st.residual, sizeof st.residual);
    double t = sh_world_time(w);
    return mix(h, &t, sizeof t);
}

static sh_hull* box_hull(float hx, float hy, float hz)
{
    float xyz[24];
    sh_box_corners(hx, hy, hz, xyz);
    sh_hull* h = NULL;
    sh_error err;
    CHECK(sh_hull_build(xyz, 8, &h, &err));
    return h;
}

static void spawn(sh_world* w, const sh_hull* hull, sh_body_type type, float x, float y, float z, bool asleep)
{
    sh_body_def d = sh_body_def_default();
    d.type = type;
    d.hull = hull;
    d.position[0] = x, d.position[1] = y, d.position[2] = z;
    d.orientation[0] = 0.1f * x, d.orientation[2] = 0.05f * y, d.orientation[3] = 1.0f;
    d.mass = 2.0f + x;
    d.start_asleep = asleep;
    sh_body_id id;
    sh_error err;
    CHECK(sh_body_create(w, &d, &id, &err));
}

// A settling pile with sleepers: a ground, a 4 × 4 × 3 pile of tilted boxes dropped onto it (they land,
// rest and fall asleep in islands), a box spawned asleep off to the side, and one box dropped from 120 m
// that lands on the sleeping pile around 5 s in (waking an island the snapshot holds asleep).
static sh_world* busy_world(const sh_hull* ground, const sh_hull* box, const sh_hull* slab)
{
    sh_world_def def = sh_world_def_default();
    sh_world* w = NULL;
    sh_error err;
    CHECK(sh_world_create(&def, &w, &err));
    spawn(w, ground, SH_BODY_STATIC, 0, 0, -0.5f, false);
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                spawn(w, (i + j + k) % 3 ? box : slab, SH_BODY_DYNAMIC, 1.1f * (float)i - 1.5f,
                      1.1f * (float)j - 1.5f, 0.6f + 1.2f * (float)k, false);
    spawn(w, box, SH_BODY_DYNAMIC, 6.0f, 0.0f, 0.5f, true);
    spawn(w, box, SH_BODY_DYNAMIC, 0.2f, 0.1f, 120.0f, false);
    return w;
}

static void step_n(sh_world* w, int n, uint64_t* hashes)
{
    sh_error err;
    for (int i = 0; i < n; i++)
    {
        CHECK(sh_world_step(w, DT, &err));
        if (hashes)
            hashes[i] = state_hash(w);
    }
}

enum
{
    N = 240, // 4 s: the pile has landed and its islands sleep
    M = 240  // 4 s more: the dropped box wakes them
};

static void test_restore_steps_bit_identically(void)
{
    sh_hull *ground = box_hull(20, 20, 0.5f), *box = box_hull(0.5f, 0.5f, 0.5f),
            *slab = box_hull(0.5f, 0.4f, 0.25f);
    sh_world* w = busy_world(ground, box, slab);
    step_n(w, N, NULL);
    sh_world_stats st;
    sh_world_get_stats(w, &st);
    CHECK(st.awake_bodies < st.bodies - 2); // the scene really has sleepers when the snapshot is taken
    CHECK(st.contacts > 10);

    void* blob = NULL;
    size_t bytes = 0;
    sh_error err;
    CHECK(sh_world_snapshot(w, &blob, &bytes, &err));
    uint64_t* want = calloc(M, sizeof *want);
    step_n(w, M, want);
    sh_world_get_stats(w, &st);
    int awake_after = st.awake_bodies;

    // Into a fresh world (default def, no bodies, no hulls): the snapshot brings everything.
    sh_world_def def = sh_world_def_default();
    def.substeps = 1;
    sh_world* fresh = NULL;
    CHECK(sh_world_create(&def, &fresh, &err));
    CHECK(sh_world_restore(fresh, blob, bytes, &err));
    // The round trip is exact: the restored world's snapshot is the same bytes.
    void* again = NULL;
    size_t again_bytes = 0;
    CHECK(sh_world_snapshot(fresh, &again, &again_bytes, &err));
    CHECK(again_bytes == bytes && memcmp(again, blob, bytes) == 0);
    sh_free(again, again_bytes);

    uint64_t* got = calloc(M, sizeof *got);
    step_n(fresh, M, got);
    int first_diff = -1;
    for (int i = 0; i < M && first_diff < 0; i++)
        if (got[i] != want[i])
            first_diff = i;
    if (first_diff >= 0)
        fprintf(stderr, "restored world differs at step %d after the snapshot\n", first_diff);
    CHECK(first_diff == -1);
    sh_world_get_stats(fresh, &st);
    CHECK(st.awake_bodies == awake_after);

    // Restoring into a world that already stepped (the resume path): the same M steps again.
    CHECK(sh_world_restore(w, blob, bytes, &err));
    step_n(w, M, got);
    CHECK(memcmp(got, want, M * sizeof *got) == 0);

    free(want);
    free(got);
    sh_free(blob, bytes);
    sh_world_destroy(w);
    sh_world_destroy(fresh);
    sh_hull_free(ground);
    sh_hull_free(box);
    sh_hull_free(slab);
}

static void test_bad_blobs_are_refused(void)
{
    sh_hull *ground = box_hull(20, 20, 0.5f), *box = box_hull(0.5f, 0.5f, 0.5f),
            *slab = box_hull(0.5f, 0.4f, 0.25f);
    sh_world* w = busy_world(ground, box, slab);
    step_n(w, 60, NULL);
    void* blob = NULL;
    size_t bytes = 0;
    sh_error err;
    CHECK(sh_world_snapshot(w, &blob, &bytes, &err));
    uint64_t before = state_hash(w);

    // Every truncation is refused (a copy of exactly that length, so a read past it is caught by ASan).
    int refused = 0, lengths = 0;
    for (size_t n = 0; n < bytes; n += n < 64 ? 1 : 97)
    {
        unsigned char* cut = malloc(n ? n : 1);
        memcpy(cut, blob, n);
        refused += !sh_world_restore(w, cut, n, &err);
        lengths++;
        free(cut);
    }
    CHECK(refused == lengths);
    CHECK(strstr(err.message, "truncated") != NULL);

    unsigned char* bad = malloc(bytes);
    memcpy(bad, blob, bytes);
    bad[bytes / 2] ^= 0x40; // a flipped bit: the checksum catches it
    CHECK(!sh_world_restore(w, bad, bytes, &err));
    CHECK(strstr(err.message, "checksum") != NULL);
    memcpy(bad, blob, bytes);
    bad[0] = 'X';
    CHECK(!sh_world_restore(w, bad, bytes, &err));
    CHECK(strstr(err.message, "not a world snapshot") != NULL);
    memcpy(bad, blob, bytes);
    bad[4] = 99; // another version
    CHECK(!sh_world_restore(w, bad, bytes, &err));
    CHECK(strstr(err.message, "version") != NULL);
    CHECK(!sh_world_restore(w, NULL, 0, &err));
    free(bad);

    // A refused blob leaves the world as it was.
    CHECK(state_hash(w) == before);
    CHECK(sh_world_restore(w, blob, bytes, &err));
    CHECK(state_hash(w) == before);
    sh_free(blob, bytes);
    sh_world_destroy(w);
    sh_hull_free(ground);
    sh_hull_free(box);
    sh_hull_free(slab);
}

// A lying blob: one byte changed and the checksum made right again, so only the restore's own checks stand
// between it and the step. Each is refused or restores a world that steps (ASan runs this too: no read or
// write out of bounds, no hang). 600 deterministic mutations over the whole blob.
static void test_lying_blobs_never_break_the_step(void)
{
    sh_hull *ground = box_hull(20, 20, 0.5f), *box = box_hull(0.5f, 0.5f, 0.5f),
            *slab = box_hull(0.5f, 0.4f, 0.25f);
    sh_world* w = busy_world(ground, box, slab);
    step_n(w, N, NULL); // sleeping islands, warm contacts
    void* blob = NULL;
    size_t bytes = 0;
    sh_error err;
    CHECK(sh_world_snapshot(w, &blob, &bytes, &err));
    unsigned char* lie = malloc(bytes);
    unsigned seed = 12345;
    int refused = 0, restored = 0;
    for (int k = 0; k < 600; k++)
    {
        memcpy(lie, blob, bytes);
        seed = seed * 1103515245u + 12345u;
        size_t at = SH_SNAPSHOT_HEADER + (seed >> 4) % (bytes - SH_SNAPSHOT_HEADER);
        seed = seed * 1103515245u + 12345u;
        lie[at] ^= (unsigned char)(1u << (seed >> 16) % 8);
        if (k % 3 == 0) // a whole small int: counts and indices go negative or past the end
            lie[at] = 0xff;
        uint64_t hash = sh_snapshot_hash(lie + SH_SNAPSHOT_HEADER, bytes - SH_SNAPSHOT_HEADER);
        memcpy(lie + 16, &hash, 8);
        if (!sh_world_restore(w, lie, bytes, &err))
        {
            refused++;
            continue;
        }
        restored++;
        for (int i = 0; i < 3; i++)
            sh_world_step(w, DT, &err);
    }
    CHECK(refused > 50);   // the checks caught the lies that break a structure ...
    CHECK(restored > 100); // ... and the ones that only change a number restore and step
    free(lie);
    sh_free(blob, bytes);
    sh_world_destroy(w);
    sh_hull_free(ground);
    sh_hull_free(box);
    sh_hull_free(slab);
}

// Worlds with nothing in some table (no body, no contact, no pair set yet) round-trip too.
static void test_sparse_worlds_round_trip(void)
{
    sh_hull* box = box_hull(0.5f, 0.5f, 0.5f);
    sh_world_def def = sh_world_def_default();
    sh_world *w = NULL, *fresh = NULL;
    sh_error err;
    CHECK(sh_world_create(&def, &w, &err));
    CHECK(sh_world_create(&def, &fresh, &err));
    for (int stage = 0; stage < 3; stage++)
    {
        if (stage == 1)
            spawn(w, box, SH_BODY_DYNAMIC, 0, 0, 5, false); // one body, never stepped: no contact, no pair
        if (stage == 2)
            step_n(w, 10, NULL);
        void *blob = NULL, *again = NULL;
        size_t bytes = 0, again_bytes = 0;
        CHECK(sh_world_snapshot(w, &blob, &bytes, &err));
        CHECK(sh_world_restore(fresh, blob, bytes, &err));
        CHECK(sh_world_snapshot(fresh, &again, &again_bytes, &err));
        CHECK(again_bytes == bytes && memcmp(again, blob, bytes) == 0);
        CHECK(state_hash(fresh) == state_hash(w));
        sh_free(blob, bytes);
        sh_free(again, again_bytes);
    }
    sh_world_destroy(w);
    sh_world_destroy(fresh);
    sh_hull_free(box);
}

int main(void)
{
    RUN(test_restore_steps_bit_identically);
    RUN(test_bad_blobs_are_refused);
    RUN(test_lying_blobs_never_break_the_step);
    RUN(test_sparse_worlds_round_trip);
    return CHECK_SUMMARY();
}
