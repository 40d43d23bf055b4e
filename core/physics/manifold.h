#pragma once
// Narrow phase: hull–hull contact manifolds by SAT (face and edge–edge axes, Gauss-map pruning)
// and clipping of the incident face against the reference face's side planes, reduced to <= 4
// points (deepest kept, area maximised), each point carrying a feature id for warm starting.

#include "transform.h"

#include "simhost/hull.h"

#define SH_MAX_MANIFOLD_POINTS 4

typedef struct sh_manifold_point
{
    vec3 point_a;     // on A's surface, world (m)
    vec3 point_b;     // on B's surface, world (m)
    float separation; // dot(point_b - point_a, normal); < 0 penetrating (m)
    uint32_t id;      // feature key: stable while the same features touch (warm starting)
} sh_manifold_point;

typedef struct sh_manifold
{
    vec3 normal; // unit, world, from A towards B
    int point_count;
    sh_manifold_point points[SH_MAX_MANIFOLD_POINTS];
} sh_manifold;

// Per-pair cache, zero-initialised when the pair is created and passed back every step.
// - The last separating/best axis is tested first: if it still separates by more than the
//   speculative distance the call returns at once (the common case for nearby, non-touching pairs).
// - When the last full SAT made contact, its feature and the relative pose it ran at are kept; while
//   B moves less than ~1 mm / ~0.15° relative to A from that pose, the SAT is skipped and the contact
//   is rebuilt from the same feature (resting stacks never re-run the SAT). Error bound in manifold.c.
typedef struct sh_sat_cache
{
    uint8_t kind; // 0 none, 1 face of A, 2 face of B, 3 edge pair
    uint16_t index_a, index_b;
    float separation;  // last best separation (m)
    uint8_t anchored;  // 1: anchor_q/anchor_p hold the pose of the last full SAT that made contact
    float anchor_q[4]; // B's rotation relative to A at that SAT (x, y, z, w)
    float anchor_p[3]; // B's origin in A's frame at that SAT (m)
} sh_sat_cache;

// Hulls are in their local frames, already centred on their centroid (COM at the local origin).
// Points are reported when separation < speculative_distance (m), so bodies closing in get
// contacts before they touch (speculative contacts). Returns the number of points (0: none) and
// fills out (point_count, normal A → B, per point: point_a on A's surface, point_b on B's surface,
// separation = dot(point_b - point_a, normal), id). Ids: the same touching features give the same id
// from step to step (face contacts: reference face, incident face and the clip feature of the point;
// edge contacts: the edge pair); match old and new points by id to warm-start. Non-finite poses or
// empty hulls give 0 points, never NaN. No allocation; at most ~16 KB of stack (gcc -fstack-usage).
// cache may be NULL (every call then runs the full SAT).
int sh_collide_hulls(const sh_hull* hull_a, const sh_transform* xf_a, const sh_hull* hull_b,
                     const sh_transform* xf_b, float speculative_distance, sh_sat_cache* cache,
                     sh_manifold* out);
