// Hull–hull narrow phase: separating-axis test (face axes of A and B, edge–edge axes pruned on the
// Gauss map) and contact creation by clipping (face contacts) or closest points (edge contacts).
// After D. Gregorius, "The Separating Axis Test between Convex Polyhedra" (GDC 2013) and "Robust
// Contact Creation for Physics Simulations" (GDC 2015); our own code.
//
// Everything runs in A's local frame: B's rotation and offset relative to A are computed once
// (a 3×3 matrix, cheaper per vector than a quaternion), so A's data is read untouched and only
// the parts of B a query needs are transformed. Results go back to world with A's transform.

#include "manifold.h"

#include "vmath.h"

#include <float.h>
#include <math.h>
#include <string.h>

// Mirrors the solver's linear slop (Box3D uses 5 mm as well): the absolute part of the axis
// preference tolerances below is a fraction of it.
#define LINEAR_SLOP 0.005f

// Feature preference (Gregorius, GDC 2013 / 2015). A face axis is chosen over an edge axis unless
// the edge separates clearly more, and A's face over B's unless B's clearly more. Without the
// hysteresis the reference feature flips between nearly equal axes from step to step (a box on a
// box has two identical face separations), ids change, warm starting is lost, and stacks jitter.
// Gregorius writes the test as sep > k·max + tol for negative separations; k·s = s + (1-k)·|s|
// extends it to positive (speculative) separations, where it still asks for a margin.
#define EDGE_REL_TOL 0.10f // edge chosen only if sep_edge > max_face + 10 % |max_face| + abs
#define FACE_REL_TOL 0.02f // B's face chosen only if sep_b > sep_a + 2 % |sep_a| + abs
#define ABS_TOL      (0.5f * LINEAR_SLOP)

// Edges closer to parallel than this (sine of the angle) give no edge axis: their cross product is
// noise, and the face axes already cover that configuration.
#define PARALLEL_SIN 1e-3f

// Slack band of the clip (clip_plane): an incident vertex counts as inside a side plane of the
// reference face until it is this far beyond it. Equal boxes stacked exactly put every incident
// vertex on a side plane, where float noise (1e-7 m) flipped it between "vertex kept" and "clipped
// point" from step to step: new ids, warm starting lost (measured: test_manifold "aligned stack";
// in the world the 210-box pyramid's top drift fell from 11.6 mm to under the 10 mm bound of
// physics_spec 12). Cut points still lie on the exact planes; a kept vertex's reference point is
// clamped onto the face, so both points stay on their surfaces.
#define CLIP_SLACK (0.1f * LINEAR_SLOP)

// Clip buffers. A face with more vertices is sampled down to this many (load_face): the
// sampled polygon lies inside the real one, so contacts stay on the surface.
#define MAX_POLY 64
#define MAX_CLIP (2 * MAX_POLY + 4)

// Cache kinds (sh_sat_cache.kind).
enum
{
    CACHE_NONE = 0,
    CACHE_FACE_A = 1,
    CACHE_FACE_B = 2,
    CACHE_EDGES = 3
};

// Preference tolerance: k·s generalised to both signs of s (see EDGE_REL_TOL).
static inline float prefer(float s, float rel)
{
    return s + rel * fabsf(s) + ABS_TOL;
}

// ---------------------------------------------------------------------------------------------
// B relative to A: x_A = r·x_B + p.

typedef struct relative
{
    m33 r;
    v3 p;
} relative;

static inline v3 rel_point(const relative* rel, v3 x_b)
{
    return v3_add(m33_mul(&rel->r, x_b), rel->p);
}

static inline v3 hull_vertex(const sh_hull* h, int i)
{
    return v3_load(h->vertices[i]);
}

static inline v3 face_normal(const sh_hull* h, int i)
{
    return v3_load(h->faces[i].normal);
}

// min over the hull's vertices of dot(n, v): the support point in direction -n. Naive O(V): hulls
// carry no vertex adjacency for hill climbing; query_faces' bounds skip most faces instead.
static float min_projection(const sh_hull* h, v3 n)
{
    float best = FLT_MAX;
    vec3* v = h->vertices;
    for (int i = 0; i < h->vertex_count; ++i)
    {
        float d = n.x * v[i][0] + n.y * v[i][1] + n.z * v[i][2];
        best = d < best ? d : best;
    }
    return best;
}

// ---------------------------------------------------------------------------------------------
// Face queries. One routine serves both hulls: the faces of one hull against the vertices of the
// other, expressed in the face hull's frame (for B's faces that is B's frame; separations do not
// depend on the frame).

typedef struct face_side
{
    const sh_hull* faces; // hull whose faces are the axes
    const sh_hull* other; // hull whose support is taken
    m33 r;                // other's frame -> faces' frame: x' = r·x + t
    v3 t;
    const v3* moved; // other's vertices in the faces' frame, or NULL (then each plane is rotated)
} face_side;

static face_side side_of_a(const sh_hull* a, const sh_hull* b, const relative* rel)
{
    face_side s = {a, b, rel->r, rel->p, NULL};
    return s;
}

static face_side side_of_b(const sh_hull* a, const sh_hull* b, const relative* rel)
{
    face_side s;
    s.faces = b;
    s.other = a;
    s.r = (m33){{rel->r.c0.x, rel->r.c1.x, rel->r.c2.x},
                {rel->r.c0.y, rel->r.c1.y, rel->r.c2.y},
                {rel->r.c0.z, rel->r.c1.z, rel->r.c2.z}};
    s.t = v3_neg(m33_mul(&s.r, rel->p));
    s.moved = NULL;
    return s;
}

// Separation of the other hull from face i, along the face's outward normal.
static float side_separation(const face_side* s, int i)
{
    v3 n = face_normal(s->faces, i);
    float off = s->faces->faces[i].offset;
    if (s->moved != NULL)
    {
        float best = FLT_MAX;
        const v3* v = s->moved;
        for (int k = 0; k < s->other->vertex_count; ++k)
        {
            float d = n.x * v[k].x + n.y * v[k].y + n.z * v[k].z;
            best = d < best ? d : best;
        }
        return best - off;
    }
    // The plane in the other's frame, so its vertices are read untransformed.
    return min_projection(s->other, m33_mul_t(&s->r, n)) - (off - v3_dot(n, s->t));
}

typedef struct face_query
{
    float separation;
    int index;
} face_query;

// Radius of a ball about the hull's origin that the hull contains: min over faces of the offset
// (the plane distance from the origin). Hulls are centred on their centroid, so it is > 0 for any
// solid hull; <= 0 (origin outside or on a face) turns the bounds below off rather than making them
// wrong. Used to prune axes that cannot win: along any unit axis n, the separation of B from A is
// min_B(n·x) - max_A(n·x) <= n·(c_B - c_A) - r_A - r_B.
static float inner_radius(const sh_hull* h)
{
    float r = FLT_MAX;
    for (int i = 0; i < h->face_count; ++i)
        r = min_f(r, h->faces[i].offset);
    return r > 0.0f ? r : -FLT_MAX;
}

#define MOVED_MAX   256 // vertices of the other hull copied into the face hull's frame (stack)
#define BOUND_CHUNK 256

// The faces of s->faces against s->other. Returns false (early out) as soon as a face separates by
// more than limit. The O(V) support is evaluated only for faces whose cheap upper bound (one dot
// product: n·t - r_other - offset, t the other's centre) beats the best separation found so far,
// starting from the face with the highest bound: a box tests ~1 face of 6 in full, a 320-face sphere
// against a sphere a handful. The early out is unaffected: a face separating by more than limit has
// a bound above any best found before it. When the bound is weak (a small hull against a huge flat
// one: the inscribed ball of an 800 m ground is 1 m) many faces remain; for hulls with many faces the
// other's vertices are then moved into this frame once (V rotations instead of one per face).
//
// floor: faces whose separation cannot exceed it are irrelevant to the caller (see
// sh_collide_hulls) and are skipped; out->index stays -1 when no face beat it.
static bool query_faces(face_side* s, float r_other, float floor, float limit, face_query* out)
{
    v3 moved[MOVED_MAX];
    float bound[BOUND_CHUNK];
    const sh_hull* h = s->faces;
    out->separation = -FLT_MAX;
    out->index = -1;
    for (int base = 0; base < h->face_count; base += BOUND_CHUNK)
    {
        int n = h->face_count - base < BOUND_CHUNK ? h->face_count - base : BOUND_CHUNK;
        int first = 0;
        for (int k = 0; k < n; ++k)
        {
            const sh_hull_face* f = &h->faces[base + k];
            bound[k] = v3_dot(v3_load(f->normal), s->t) - r_other - f->offset;
            first = bound[k] > bound[first] ? k : first;
        }
        int evaluated = 0;
        for (int t = -1; t < n; ++t)
        {
            int k = t < 0 ? first : t;
            if ((t >= 0 && k == first) || !(bound[k] > out->separation) || !(bound[k] > floor))
                continue;
            if (++evaluated == 8 && s->moved == NULL && s->other->vertex_count <= MOVED_MAX)
            {
                for (int i = 0; i < s->other->vertex_count; ++i)
                    moved[i] = v3_add(m33_mul(&s->r, hull_vertex(s->other, i)), s->t);
                s->moved = moved;
            }
            float sep = side_separation(s, base + k);
            if (sep > out->separation)
            {
                out->separation = sep;
                out->index = base + k;
                if (sep > limit)
                {
                    s->moved = NULL; // points into this frame's stack
                    return false;
                }
            }
        }
    }
    s->moved = NULL;
    return true;
}

// ---------------------------------------------------------------------------------------------
// Edge queries.

// B's edge in A's frame, with the Gauss-map arc of the Minkowski difference A - B: the arc of B is
// negated (c = -n_b0, d = -n_b1).
typedef struct edge_b
{
    v3 c, d, dxc; // negated face normals of B at the edge, cross(d, c)
    v3 q0, e;     // start point and direction (q1 - q0)
} edge_b;

static inline edge_b make_edge_b(const sh_hull* b, const relative* rel, int j)
{
    const sh_hull_edge* eb = &b->edges[j];
    edge_b out;
    out.c = v3_neg(m33_mul(&rel->r, face_normal(b, eb->face_a)));
    out.d = v3_neg(m33_mul(&rel->r, face_normal(b, eb->face_b)));
    out.dxc = v3_cross(out.d, out.c);
    out.q0 = rel_point(rel, hull_vertex(b, eb->v0));
    out.e = v3_sub(rel_point(rel, hull_vertex(b, eb->v1)), out.q0);
    return out;
}

// Do arcs (a, b) of A and (c, d) of B cross on the unit sphere? Then the two edges build a face of
// the Minkowski difference and their cross product is a candidate axis; otherwise it is not a
// face normal of A - B and testing it is wasted (and can report a wrong separation). Triple-product
// test: c and d on opposite sides of the plane through a, b; a and b on opposite sides of the plane
// through c, d; and the arcs on the same hemisphere (rules out the antipodal crossing). Invariant to
// the order of (a, b) and of (c, d), so the face_a/face_b convention cannot break it.
static inline bool is_minkowski_face(v3 a, v3 b, v3 bxa, v3 c, v3 d, v3 dxc)
{
    float cba = v3_dot(c, bxa);
    float dba = v3_dot(d, bxa);
    float adc = v3_dot(a, dxc);
    float bdc = v3_dot(b, dxc);
    return cba * dba < 0.0f && adc * bdc < 0.0f && cba * bdc > 0.0f;
}

// Separation along the edge pair's axis, oriented from A to B; -FLT_MAX for (nearly) parallel edges.
// a_sum is the sum of the normals of the faces at A's edge: the axis lies on A's arc, so it points
// out of A exactly when dot(axis, a_sum) > 0 — no interior point of A needed.
static inline float edge_separation(v3 p0, v3 ea, v3 a_sum, const edge_b* eb, v3* axis)
{
    v3 n = v3_cross(ea, eb->e);
    float len_sq = v3_len_sq(n);
    float limit = PARALLEL_SIN * PARALLEL_SIN * v3_len_sq(ea) * v3_len_sq(eb->e);
    if (!(len_sq > limit) || len_sq <= 0.0f)
        return -FLT_MAX;
    n = v3_scale(n, 1.0f / sqrtf(len_sq));
    if (v3_dot(n, a_sum) < 0.0f)
        n = v3_neg(n);
    *axis = n;
    return v3_dot(n, v3_sub(eb->q0, p0));
}

typedef struct edge_query
{
    float separation;
    int index_a, index_b;
    v3 axis; // A's frame, from A towards B
} edge_query;

// One edge pair, for the cache check. Returns -FLT_MAX when it no longer builds a Minkowski face.
static float edge_pair_separation(const sh_hull* a, const sh_hull* b, const relative* rel, int ia, int ib,
                                  v3* axis)
{
    edge_b eb = make_edge_b(b, rel, ib);
    const sh_hull_edge* ea = &a->edges[ia];
    v3 na = face_normal(a, ea->face_a), nb = face_normal(a, ea->face_b);
    if (!is_minkowski_face(na, nb, v3_cross(nb, na), eb.c, eb.d, eb.dxc))
        return -FLT_MAX;
    v3 p0 = hull_vertex(a, ea->v0);
    return edge_separation(p0, v3_sub(hull_vertex(a, ea->v1), p0), v3_add(na, nb), &eb, axis);
}

// Can n·dir exceed thresh for some n on the short great arc from a to b (unit vectors)? A cheap
// conservative test (never false when the answer is yes): n = α·a + β·b with α, β >= 0 and
// 1 <= α + β <= 1/cos(θ/2) = 2/|a + b|, θ the arc's angle, so n·dir <= m·2/|a + b| for
// m = max(a·dir, b·dir) > 0, and n·dir <= m when m <= 0. No square root, no division.
static inline bool arc_may_exceed(v3 a, v3 b, v3 dir, float thresh)
{
    float m = max_f(v3_dot(a, dir), v3_dot(b, dir));
    if (m > thresh)
        return true;
    if (m <= 0.0f)
        return false;
    // 0 < m <= thresh: is m·2/|a + b| > thresh?
    return 4.0f * m * m > thresh * thresh * v3_len_sq(v3_add(a, b));
}

#define EDGE_CHUNK 64

// All edge pairs that build a face of the Minkowski difference, pruned first per edge: an edge
// pair's axis n lies on both edges' arcs, and its separation is at most n·p - r_a - r_b (see
// inner_radius), so an edge whose arc never brings n·p above thresh + r_a + r_b is skipped whole.
// Only edges facing the other hull survive: 4 + 4 of 12 + 12 for stacked boxes, a few dozen of a
// 480-edge sphere's. B's surviving edges are transformed into A's frame once per chunk (stack
// buffer, no allocation whatever the hull size); A's edges are read in place.
static bool query_edges(const sh_hull* a, const sh_hull* b, const relative* rel, float r_a, float r_b,
                        float thresh, float limit, edge_query* out)
{
    out->separation = -FLT_MAX;
    out->index_a = -1;
    out->index_b = -1;
    out->axis = (v3){0.0f, 0.0f, 1.0f};
    v3 dir = rel->p;
    // The same direction seen from B's arcs: n on (c, d) = -(R·(B's arc)), so n·p = m·(-Rᵀp) for m
    // on B's own arc; testing in B's frame spares rotating the normals of edges that get skipped.
    v3 dir_b = v3_neg(m33_mul_t(&rel->r, dir));
    float bound = -FLT_MAX;
    if (r_a > 0.0f && r_b > 0.0f)
    {
        // Relative margin for rounding in the bound (it is never tight by more than that).
        float margin = 1e-4f * (sqrtf(v3_len_sq(dir)) + r_a + r_b) + 1e-6f;
        bound = thresh + r_a + r_b - margin;
    }

    edge_b chunk[EDGE_CHUNK];
    int chunk_index[EDGE_CHUNK];
    int j = 0;
    while (j < b->edge_count)
    {
        int n = 0;
        for (; j < b->edge_count && n < EDGE_CHUNK; ++j)
        {
            const sh_hull_edge* e = &b->edges[j];
            v3 nb0 = face_normal(b, e->face_a), nb1 = face_normal(b, e->face_b);
            if (!arc_may_exceed(nb0, nb1, dir_b, bound))
                continue;
            edge_b* eb = &chunk[n];
            eb->c = v3_neg(m33_mul(&rel->r, nb0));
            eb->d = v3_neg(m33_mul(&rel->r, nb1));
            eb->dxc = v3_cross(eb->d, eb->c);
            eb->q0 = rel_point(rel, hull_vertex(b, e->v0));
            eb->e = v3_sub(rel_point(rel, hull_vertex(b, e->v1)), eb->q0);
            chunk_index[n++] = j;
        }
        if (n == 0)
            break;
        for (int i = 0; i < a->edge_count; ++i)
        {
            const sh_hull_edge* ea = &a->edges[i];
            v3 na = face_normal(a, ea->face_a), nb = face_normal(a, ea->face_b);
            if (!arc_may_exceed(na, nb, dir, bound))
                continue;
            v3 bxa = v3_cross(nb, na);
            v3 p0 = hull_vertex(a, ea->v0);
            v3 e = v3_sub(hull_vertex(a, ea->v1), p0);
            v3 a_sum = v3_add(na, nb);
            for (int k = 0; k < n; ++k)
            {
                const edge_b* eb = &chunk[k];
                // is_minkowski_face, spelled out so the first test (c and d on opposite sides of
                // A's arc plane, which rejects most pairs) skips the other two dot products.
                float cba = v3_dot(eb->c, bxa);
                if (cba * v3_dot(eb->d, bxa) >= 0.0f)
                    continue;
                float bdc = v3_dot(nb, eb->dxc);
                if (v3_dot(na, eb->dxc) * bdc >= 0.0f || cba * bdc <= 0.0f)
                    continue;
                v3 axis = {0.0f, 0.0f, 1.0f};
                float s = edge_separation(p0, e, a_sum, eb, &axis);
                if (s > out->separation)
                {
                    out->separation = s;
                    out->index_a = i;
                    out->index_b = chunk_index[k];
                    out->axis = axis;
                    if (s > limit)
                        return false;
                }
            }
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Contact creation.

// A candidate contact in A's frame.
typedef struct candidate
{
    v3 on_ref; // on the reference face (projected)
    v3 on_inc; // on the incident hull
    float separation;
    uint32_t id;
} candidate;

// A clip polygon vertex. key: feature id of the point (see make_face_id); out: feature of the
// segment from this vertex to the next (incident edge k → k, reference side plane j → 64 + j), so
// a point cut from that segment can name both features it lies on.
typedef struct clip_vertex
{
    v3 p;
    uint16_t key;
    uint8_t out;
    uint8_t beyond; // kept inside the slack band but beyond an exact side plane: clamp its projection
} clip_vertex;

// Face-contact ids: bit 31 = 0; bit 30 = reference face on B; bits 21..29 reference face; bits
// 14..20 incident face (low bits: only needs to change when the face does, collisions merely cost
// a warm start); bits 0..13 the point's key, exact within one face pair: an incident vertex k
// (0..63), or 0x2000 | segment feature << 6 | side plane. Edge contacts: bit 31 = 1, then A's edge
// (15 bits) and B's edge (16 bits).
static inline uint32_t make_face_id(bool flip, int ref_face, int inc_face, uint32_t key)
{
    return (flip ? 1u << 30 : 0u) | ((uint32_t)ref_face & 0x1FFu) << 21 | ((uint32_t)inc_face & 0x7Fu) << 14 |
           (key & 0x3FFFu);
}

// Index of the k-th of m vertices sampled from a face of count > m vertices (evenly spread).
static inline int sample_index(int k, int count, int m)
{
    return count <= m ? k : (int)(((int64_t)k * count) / m);
}

// Reads a face's vertex positions into A's frame (rel == NULL: the hull is A). At most MAX_POLY
// vertices; a larger face is sampled, which keeps a convex polygon inside the real face.
static int load_face(const sh_hull* h, int face, const relative* rel, v3* out)
{
    const sh_hull_face* f = &h->faces[face];
    int count = f->count < MAX_POLY ? f->count : MAX_POLY;
    for (int k = 0; k < count; ++k)
    {
        v3 v = hull_vertex(h, h->face_indices[f->first + sample_index(k, f->count, MAX_POLY)]);
        out[k] = rel ? rel_point(rel, v) : v;
    }
    return count;
}

// Sutherland–Hodgman against one plane dot(s, x) <= o, with a slack band: a vertex counts as inside
// up to `slack` beyond the plane (CLIP_SLACK, so a vertex lying on the plane keeps its id under
// noise), while cut points are placed on the exact plane. A cut whose inside end is itself in the
// band would land at or beyond that vertex and is left out; the vertex already marks the corner.
// Returns the output count.
static int clip_plane(const clip_vertex* in, int n, v3 s, float o, float slack, int plane, clip_vertex* out)
{
    int m = 0;
    // A convex polygon crosses the band at most twice (n + 1 points out), but rounding on nearly
    // collinear vertices can toggle more often; the buffer bound is enforced, not assumed.
    for (int i = 0; i < n && m + 2 <= MAX_CLIP; ++i)
    {
        const clip_vertex* cur = &in[i];
        const clip_vertex* nxt = &in[i + 1 == n ? 0 : i + 1];
        float da = v3_dot(s, cur->p) - o;
        float db = v3_dot(s, nxt->p) - o;
        bool in_a = da <= slack, in_b = db <= slack;
        if (in_a)
        {
            out[m] = *cur;
            out[m].beyond |= da > 0.0f;
            // No cut follows: from here the polygon runs along the plane.
            if (!in_b && da >= 0.0f)
                out[m].out = (uint8_t)(64 + plane);
            ++m;
        }
        if (in_a == in_b)
            continue;
        float d_in = in_a ? da : db;
        if (d_in >= 0.0f)
            continue; // the inside end is in the band: no cut point
        // da and db have strict opposite signs here (d_in < 0 < slack < the other), never 0/0.
        float t = da / (da - db);
        clip_vertex* c = &out[m++];
        c->p = v3_mad(cur->p, v3_sub(nxt->p, cur->p), t);
        c->key = (uint16_t)(0x2000u | (uint32_t)cur->out << 6 | (uint32_t)plane);
        c->beyond = cur->beyond | nxt->beyond;            // on a segment that may run beyond an earlier plane
        c->out = in_a ? (uint8_t)(64 + plane) : cur->out; // leaving: the segment now runs along the plane
    }
    return m;
}

// Closest point to x (on the polygon's plane) inside the convex polygon ref (CCW about n).
static v3 closest_on_polygon(const v3* ref, int count, v3 n, v3 x)
{
    bool inside = true;
    v3 best = x;
    float best_d = FLT_MAX;
    for (int j = 0; j < count; ++j)
    {
        v3 v0 = ref[j], v1 = ref[j + 1 == count ? 0 : j + 1];
        v3 e = v3_sub(v1, v0);
        if (v3_dot(v3_cross(e, n), v3_sub(x, v0)) <= 0.0f)
            continue;
        inside = false;
        float ee = v3_len_sq(e);
        float t = ee > 0.0f ? clamp01(v3_dot(v3_sub(x, v0), e) / ee) : 0.0f;
        v3 q = v3_mad(v0, e, t);
        float dd = v3_len_sq(v3_sub(x, q));
        if (dd < best_d)
        {
            best_d = dd;
            best = q;
        }
    }
    return inside ? x : best;
}

// Clips the incident face against the reference face's side planes and keeps the points closer
// than limit to the reference plane. All in A's frame. Returns the candidate count.
static int clip_faces(const v3* ref, int ref_count, v3 n, float d, const v3* inc, int inc_count, float limit,
                      bool flip, int ref_face, int inc_face, candidate* out)
{
    clip_vertex buf0[MAX_CLIP], buf1[MAX_CLIP];
    clip_vertex* src = buf0;
    clip_vertex* dst = buf1;
    int count = inc_count;
    for (int k = 0; k < inc_count; ++k)
        src[k] = (clip_vertex){inc[k], (uint16_t)k, (uint8_t)k, 0};

    for (int j = 0; j < ref_count && count > 0; ++j)
    {
        v3 v0 = ref[j];
        v3 v1 = ref[j + 1 == ref_count ? 0 : j + 1];
        // Outward side normal: the face is CCW seen from outside, so cross(edge, n) points away
        // from the face's interior. Its length does not matter to the clip.
        v3 s = v3_cross(v3_sub(v1, v0), n);
        count = clip_plane(src, count, s, v3_dot(s, v0), CLIP_SLACK * sqrtf(v3_len_sq(s)), j, dst);
        clip_vertex* t = src;
        src = dst;
        dst = t;
    }

    int m = 0;
    for (int k = 0; k < count; ++k)
    {
        float sep = v3_dot(n, src[k].p) - d;
        if (!(sep < limit))
            continue;
        candidate* c = &out[m++];
        c->on_inc = src[k].p;
        // Back onto the reference face: a point kept by CLIP_SLACK projects up to 0.5 mm beyond its
        // rim. Moving it within the plane leaves the separation (along n) unchanged.
        c->on_ref = v3_mad(src[k].p, n, -sep);
        if (src[k].beyond)
            c->on_ref = closest_on_polygon(ref, ref_count, n, c->on_ref);
        c->separation = sep;
        c->id = make_face_id(flip, ref_face, inc_face, src[k].key);
    }
    return m;
}

// Keeps at most 4 points spanning the largest area: the deepest point (the solver needs it most),
// the point farthest from it, the one making the largest triangle with those two, then the one
// adding the most area outside that triangle (Gregorius, GDC 2015). Points are compared on the
// reference plane (normal n). Returns the new count; c[0..count) holds the kept points.
//
// Each choice takes the first point (in clip order, which follows the incident face's vertex order
// and so is stable) among those within a small tolerance of the best value. A plain argmax flips
// between symmetric candidates (a box turned 45° on a box: 8 clipped points of equal depth) under
// 1e-6 m of motion; the chosen points, and so the ids the solver warm-starts from, would churn.
static int reduce(candidate* c, int count, v3 n)
{
    if (count <= 4)
        return count;
    // Distances below ~10 µm and areas below ~1e-10 m² are degenerate: the points coincide.
    const float eps_len_sq = 1e-10f;
    const float eps_area = 1e-10f;
    const float depth_tie = 0.1f * LINEAR_SLOP; // 0.5 mm: within the solver's own slop
    const float rel_tie = 0.01f;                // 1 % of the best distance² or area

    float v[MAX_CLIP];
    candidate keep[4];

    float best = FLT_MAX;
    for (int k = 0; k < count; ++k)
        best = min_f(best, c[k].separation);
    int i1 = 0;
    while (c[i1].separation > best + depth_tie)
        ++i1;
    keep[0] = c[i1];
    v3 p1 = c[i1].on_ref;

    best = 0.0f;
    for (int k = 0; k < count; ++k)
    {
        v[k] = v3_len_sq(v3_sub(c[k].on_ref, p1));
        best = max_f(best, v[k]);
    }
    if (best <= eps_len_sq)
    {
        c[0] = keep[0];
        return 1;
    }
    int i2 = 0;
    while (v[i2] < best * (1.0f - rel_tie))
        ++i2;
    keep[1] = c[i2];
    v3 e12 = v3_sub(c[i2].on_ref, p1);

    best = 0.0f;
    for (int k = 0; k < count; ++k)
    {
        v[k] = v3_dot(v3_cross(e12, v3_sub(c[k].on_ref, p1)), n);
        best = max_f(best, fabsf(v[k]));
    }
    if (best <= eps_area)
    {
        c[0] = keep[0];
        c[1] = keep[1];
        return 2;
    }
    int i3 = 0;
    while (fabsf(v[i3]) < best * (1.0f - rel_tie))
        ++i3;
    keep[2] = c[i3];
    // Orient so that points inside the triangle give positive edge areas.
    float sign = v[i3] > 0.0f ? 1.0f : -1.0f;
    v3 p2 = keep[1].on_ref, p3 = keep[2].on_ref;

    best = 0.0f;
    for (int k = 0; k < count; ++k)
    {
        v3 q = c[k].on_ref;
        float a12 = sign * v3_dot(v3_cross(v3_sub(p2, p1), v3_sub(q, p1)), n);
        float a23 = sign * v3_dot(v3_cross(v3_sub(p3, p2), v3_sub(q, p2)), n);
        float a31 = sign * v3_dot(v3_cross(v3_sub(p1, p3), v3_sub(q, p3)), n);
        v[k] = -min_f(a12, min_f(a23, a31)); // area added outside the triangle
        best = max_f(best, v[k]);
    }
    int kept = 3;
    if (best > eps_area)
    {
        int i4 = 0;
        while (v[i4] < best * (1.0f - rel_tie))
            ++i4;
        keep[kept++] = c[i4];
    }
    memcpy(c, keep, (size_t)kept * sizeof *c);
    return kept;
}

// Index of the face of h whose normal (rotated into A's frame by rot, NULL for identity) is most
// anti-parallel to n (A's frame).
static int incident_face(const sh_hull* h, const m33* rot, v3 n)
{
    // dot(R·m, n) = dot(m, Rᵀ·n): rotate n once instead of every normal.
    v3 n_local = rot ? m33_mul_t(rot, n) : n;
    int best = 0;
    float best_dot = FLT_MAX;
    for (int i = 0; i < h->face_count; ++i)
    {
        float dd = v3_dot(face_normal(h, i), n_local);
        if (dd < best_dot)
        {
            best_dot = dd;
            best = i;
        }
    }
    return best;
}

// Face contact with reference face ref_face on A (flip false) or B (flip true). Fills c in A's
// frame and the normal n (A's frame, from A towards B). Returns the point count (before reduction).
// When clipping leaves nothing (deep overlap of round hulls: the most anti-parallel incident face
// lies beside the small reference face), the contact is the incident hull's deepest vertex along
// the reference normal — its separation is exactly the face axis' — paired with the nearest point
// of the reference face, so both points stay on their surfaces and the pair is pushed apart.
static int support_contact(const sh_hull* inc, const m33* rot, const v3* shift, const v3* ref, int ref_count,
                           v3 n, float d, bool flip, int ref_face, candidate* c)
{
    // Support of inc in -n, in inc's own frame: rotate the direction once.
    v3 dir = rot ? m33_mul_t(rot, n) : n;
    int best = 0;
    float best_d = FLT_MAX;
    for (int i = 0; i < inc->vertex_count; ++i)
    {
        float dd = v3_dot(hull_vertex(inc, i), dir);
        if (dd < best_d)
        {
            best_d = dd;
            best = i;
        }
    }
    v3 p = hull_vertex(inc, best);
    if (rot)
        p = v3_add(m33_mul(rot, p), *shift);
    float sep = v3_dot(n, p) - d;
    c->on_inc = p;
    c->on_ref = closest_on_polygon(ref, ref_count, n, v3_mad(p, n, -sep));
    c->separation = sep;
    // Key 0x3FFF is never produced by clipping (plane 63 of feature 127); the vertex sits in the
    // incident-face bits so the id follows it.
    c->id = make_face_id(flip, ref_face, best, 0x3FFFu);
    return 1;
}

static int face_contact(const sh_hull* a, const sh_hull* b, const relative* rel, bool flip, int ref_face,
                        float limit, bool fallback, candidate* c, v3* normal)
{
    v3 ref[MAX_POLY], inc[MAX_POLY];
    v3 n;
    float d;
    int ref_count, inc_count, inc_face;
    if (!flip)
    {
        n = face_normal(a, ref_face);
        d = a->faces[ref_face].offset;
        ref_count = load_face(a, ref_face, NULL, ref);
        inc_face = incident_face(b, &rel->r, n);
        inc_count = load_face(b, inc_face, rel, inc);
        *normal = n;
    }
    else
    {
        n = m33_mul(&rel->r, face_normal(b, ref_face));
        d = b->faces[ref_face].offset + v3_dot(n, rel->p);
        ref_count = load_face(b, ref_face, rel, ref);
        inc_face = incident_face(a, NULL, n);
        inc_count = load_face(a, inc_face, NULL, inc);
        *normal = v3_neg(n);
    }
    int count = clip_faces(ref, ref_count, n, d, inc, inc_count, limit, flip, ref_face, inc_face, c);
    if (count == 0 && fallback)
    {
        count = flip ? support_contact(a, NULL, NULL, ref, ref_count, n, d, flip, ref_face, c)
                     : support_contact(b, &rel->r, &rel->p, ref, ref_count, n, d, flip, ref_face, c);
        if (!(c[0].separation < limit))
            count = 0;
    }
    return count;
}

// Closest points of segments p0 + s·u and q0 + t·v, s, t in [0, 1] (robust to degenerate and
// parallel segments: they fall back to an endpoint, never divide by ~0).
static void closest_segments(v3 p0, v3 u, v3 q0, v3 v, v3* pa, v3* pb)
{
    v3 w = v3_sub(p0, q0);
    float a = v3_dot(u, u), b = v3_dot(u, v), c = v3_dot(v, v);
    float d = v3_dot(u, w), e = v3_dot(v, w);
    float s = 0.0f, t = 0.0f;
    const float eps = 1e-12f;
    if (a <= eps && c <= eps)
    {
        s = t = 0.0f;
    }
    else if (a <= eps)
    {
        t = clamp01(e / c);
    }
    else if (c <= eps)
    {
        s = clamp01(-d / a);
    }
    else
    {
        float denom = a * c - b * b;
        s = denom > eps * a * c ? clamp01((b * e - c * d) / denom) : 0.0f;
        t = (b * s + e) / c;
        if (t < 0.0f)
        {
            t = 0.0f;
            s = clamp01(-d / a);
        }
        else if (t > 1.0f)
        {
            t = 1.0f;
            s = clamp01((b - d) / a);
        }
    }
    *pa = v3_mad(p0, u, s);
    *pb = v3_mad(q0, v, t);
}

// Edge contact: one point, the closest points of the two edges. A's frame.
static int edge_contact(const sh_hull* a, const sh_hull* b, const relative* rel, const edge_query* q,
                        candidate* c)
{
    const sh_hull_edge* ea = &a->edges[q->index_a];
    const sh_hull_edge* eb = &b->edges[q->index_b];
    v3 p0 = hull_vertex(a, ea->v0), p1 = hull_vertex(a, ea->v1);
    v3 q0 = rel_point(rel, hull_vertex(b, eb->v0)), q1 = rel_point(rel, hull_vertex(b, eb->v1));
    v3 pa, pb;
    closest_segments(p0, v3_sub(p1, p0), q0, v3_sub(q1, q0), &pa, &pb);
    c->on_ref = pa; // "reference" = A here: the caller maps on_ref to A, on_inc to B
    c->on_inc = pb;
    c->separation = v3_dot(v3_sub(pb, pa), q->axis);
    c->id = 0x80000000u | ((uint32_t)q->index_a & 0x7FFFu) << 16 | ((uint32_t)q->index_b & 0xFFFFu);
    return 1;
}

// ---------------------------------------------------------------------------------------------

static bool hull_usable(const sh_hull* h)
{
    return h != NULL && h->vertex_count > 0 && h->face_count > 0 && h->vertices != NULL && h->faces != NULL &&
           h->face_indices != NULL && (h->edge_count == 0 || h->edges != NULL);
}

static void store_cache(sh_sat_cache* cache, int kind, int ia, int ib, float sep)
{
    if (cache == NULL)
        return;
    cache->kind = (uint8_t)kind;
    cache->index_a = (uint16_t)(ia < 0 ? 0 : ia);
    cache->index_b = (uint16_t)(ib < 0 ? 0 : ib);
    cache->separation = sep;
    cache->anchored = 0;
}

// Returns the separation along the cached axis, or -FLT_MAX when the cache is empty or stale.
static float cached_separation(const sh_hull* a, const sh_hull* b, const relative* rel,
                               const sh_sat_cache* cache)
{
    if (cache == NULL)
        return -FLT_MAX;
    switch (cache->kind)
    {
        case CACHE_FACE_A: {
            face_side s = side_of_a(a, b, rel);
            return cache->index_a < a->face_count ? side_separation(&s, cache->index_a) : -FLT_MAX;
        }
        case CACHE_FACE_B: {
            face_side s = side_of_b(a, b, rel);
            return cache->index_b < b->face_count ? side_separation(&s, cache->index_b) : -FLT_MAX;
        }
        case CACHE_EDGES:
            if (cache->index_a < a->edge_count && cache->index_b < b->edge_count)
            {
                v3 axis = {0.0f, 0.0f, 1.0f};
                return edge_pair_separation(a, b, rel, cache->index_a, cache->index_b, &axis);
            }
            return -FLT_MAX;
        default:
            return -FLT_MAX;
    }
}

// Reuse of the last contact feature while the pair barely moves (see sh_sat_cache). Within 1 mm
// and 1 mrad of the pose the SAT ran at, every separation changes by at most ~1 mm plus 1 mrad times
// the lever arm (0.7 mm at a unit cube's corner): less than the hysteresis ABS_TOL already allowed
// between competing axes, so the SAT would pick the same feature or one within that tolerance. The
// anchor stays at the SAT's pose (it is not dragged along), so slow drift re-runs the SAT after 1 mm.
#define ANCHOR_LINEAR_SQ  (1e-3f * 1e-3f)
#define ANCHOR_HALF_ANGLE 5e-4f // sin(θ/2) for θ = 1 mrad
// Only shallow contacts are anchored (resting contact is ~1 slop deep). The preference band between
// competing axes grows with the depth (10 % of it), so for deep overlaps a stale feature could differ
// from a fresh SAT by centimetres; those bodies are being pushed apart and moving anyway.
#define ANCHOR_MAX_DEPTH (10.0f * LINEAR_SLOP)

// Rotation of B relative to A as a quaternion: conj(q_a)·q_b.
static void relative_quat(const float* qa, const float* qb, float* out)
{
    float ax = -qa[0], ay = -qa[1], az = -qa[2], aw = qa[3];
    float bx = qb[0], by = qb[1], bz = qb[2], bw = qb[3];
    out[0] = aw * bx + bw * ax + ay * bz - az * by;
    out[1] = aw * by + bw * ay + az * bx - ax * bz;
    out[2] = aw * bz + bw * az + ax * by - ay * bx;
    out[3] = aw * bw - ax * bx - ay * by - az * bz;
}

static bool near_anchor(const sh_sat_cache* cache, const float* q, v3 p)
{
    v3 dp = v3_sub(p, v3_load(cache->anchor_p));
    if (!(v3_len_sq(dp) < ANCHOR_LINEAR_SQ))
        return false;
    // Vector part of conj(anchor)·q: sin(θ/2)·axis, precise for small θ (unlike 1 - dot).
    const float* a = cache->anchor_q;
    v3 av = {a[0], a[1], a[2]}, qv = {q[0], q[1], q[2]};
    v3 v = v3_sub(v3_sub(v3_scale(qv, a[3]), v3_scale(av, q[3])), v3_cross(av, qv));
    return v3_len_sq(v) < ANCHOR_HALF_ANGLE * ANCHOR_HALF_ANGLE;
}

// Rotates the kept points to world and fills out.
static int emit(sh_manifold* out, candidate* c, int count, v3 n, bool flip, const m33* ra, v3 pa)
{
    v3 n_ref = flip ? v3_neg(n) : n;
    count = reduce(c, count, n_ref);
    v3_store(m33_mul(ra, n), out->normal);
    for (int k = 0; k < count; ++k)
    {
        sh_manifold_point* mp = &out->points[k];
        v3 on_a = flip ? c[k].on_inc : c[k].on_ref;
        v3 on_b = flip ? c[k].on_ref : c[k].on_inc;
        v3_store(v3_add(m33_mul(ra, on_a), pa), mp->point_a);
        v3_store(v3_add(m33_mul(ra, on_b), pa), mp->point_b);
        mp->separation = c[k].separation;
        mp->id = c[k].id;
    }
    out->point_count = count;
    return count;
}

int sh_collide_hulls(const sh_hull* hull_a, const sh_transform* xf_a, const sh_hull* hull_b,
                     const sh_transform* xf_b, float speculative_distance, sh_sat_cache* cache,
                     sh_manifold* out)
{
    out->point_count = 0;
    out->normal[0] = 0.0f;
    out->normal[1] = 0.0f;
    out->normal[2] = 1.0f;
    // An empty or half-built hull collides with nothing. Not SH_NEVER, which aborts in debug builds:
    // it is a valid input here (test_manifold's empty hull), not a broken invariant.
    if (!hull_usable(hull_a) || !hull_usable(hull_b))
        return 0;
    // NaN-safe: a NaN or negative margin means "touching only".
    float limit = speculative_distance > 0.0f ? speculative_distance : 0.0f;

    m33 ra = m33_from_quat(xf_a->q);
    m33 rb = m33_from_quat(xf_b->q);
    v3 pa = v3_load(xf_a->p);
    relative rel;
    rel.r.c0 = m33_mul_t(&ra, rb.c0);
    rel.r.c1 = m33_mul_t(&ra, rb.c1);
    rel.r.c2 = m33_mul_t(&ra, rb.c2);
    rel.p = m33_mul_t(&ra, v3_sub(v3_load(xf_b->p), pa));

    // Non-finite poses (a diverged body) give no contact rather than NaN contacts.
    float probe = rel.p.x + rel.p.y + rel.p.z + rel.r.c0.x + rel.r.c0.y + rel.r.c0.z + rel.r.c1.x +
                  rel.r.c1.y + rel.r.c1.z + rel.r.c2.x + rel.r.c2.y + rel.r.c2.z + pa.x + pa.y + pa.z;
    if (!isfinite(probe))
        return 0;

    // Temporal coherence: the axis that separated the pair last step most likely still does.
    float cached = cached_separation(hull_a, hull_b, &rel, cache);
    if (cached > limit)
    {
        cache->separation = cached;
        cache->anchored = 0;
        return 0;
    }

    float q_rel[4];
    relative_quat(xf_a->q, xf_b->q, q_rel);
    candidate c[MAX_CLIP];
    int count = 0;
    v3 n = {0.0f, 0.0f, 1.0f};
    bool flip = false;

    // Barely moved since the SAT that made contact: rebuild from the same feature.
    if (cache != NULL && cache->anchored && near_anchor(cache, q_rel, rel.p))
    {
        cache->separation = cached;
        if (cache->kind == CACHE_FACE_A || cache->kind == CACHE_FACE_B)
        {
            flip = cache->kind == CACHE_FACE_B;
            // No clipped point: the faces no longer overlap (slid off an edge) or drifted beyond
            // limit; the SAT decides what touches now (no support-point fallback on a stale axis).
            count = face_contact(hull_a, hull_b, &rel, flip, flip ? cache->index_b : cache->index_a, limit,
                                 false, c, &n);
            if (count > 0)
                return emit(out, c, count, n, flip, &ra, pa);
        }
        if (cache->kind == CACHE_EDGES)
        {
            edge_query eq = {0};
            eq.index_a = cache->index_a;
            eq.index_b = cache->index_b;
            eq.separation = edge_pair_separation(hull_a, hull_b, &rel, eq.index_a, eq.index_b, &eq.axis);
            if (eq.separation > -FLT_MAX) // still a Minkowski face; else fall through to the SAT
            {
                count = edge_contact(hull_a, hull_b, &rel, &eq, c);
                return c[0].separation < limit ? emit(out, c, count, eq.axis, false, &ra, pa) : 0;
            }
        }
    }

    float r_a = inner_radius(hull_a), r_b = inner_radius(hull_b);
    face_query fa, fb;
    face_side side_a = side_of_a(hull_a, hull_b, &rel), side_b = side_of_b(hull_a, hull_b, &rel);
    // The hull with fewer faces goes first; its best separation then lets the other skip faces that
    // cannot change the outcome. B's faces matter only above fa (to be the deepest face or win the
    // reference by prefer()). A's faces, when B went first, matter only if prefer(fa) could reach fb,
    // which needs fa > fb - 2.06 % |fb| - ABS_TOL; the floor below is a little lower still.
    if (hull_a->face_count <= hull_b->face_count)
    {
        if (!query_faces(&side_a, r_b, -FLT_MAX, limit, &fa))
        {
            store_cache(cache, CACHE_FACE_A, fa.index, 0, fa.separation);
            return 0;
        }
        if (!query_faces(&side_b, r_a, fa.separation, limit, &fb))
        {
            store_cache(cache, CACHE_FACE_B, 0, fb.index, fb.separation);
            return 0;
        }
    }
    else
    {
        if (!query_faces(&side_b, r_a, -FLT_MAX, limit, &fb))
        {
            store_cache(cache, CACHE_FACE_B, 0, fb.index, fb.separation);
            return 0;
        }
        float floor_a = fb.separation - 1.5f * FACE_REL_TOL * fabsf(fb.separation) - 1.2f * ABS_TOL;
        if (!query_faces(&side_a, r_b, floor_a, limit, &fa))
        {
            store_cache(cache, CACHE_FACE_A, fa.index, 0, fa.separation);
            return 0;
        }
    }
    if (fa.index < 0 && fb.index < 0) // cannot happen: the first query always evaluates a face
        return 0;
    float max_face = fa.separation > fb.separation ? fa.separation : fb.separation;
    // An edge axis matters only if it separates (> limit) or wins over the faces (> prefer(max_face)).
    float edge_thresh = min_f(limit, prefer(max_face, EDGE_REL_TOL));
    edge_query eq;
    if (!query_edges(hull_a, hull_b, &rel, r_a, r_b, edge_thresh, limit, &eq))
    {
        store_cache(cache, CACHE_EDGES, eq.index_a, eq.index_b, eq.separation);
        return 0;
    }

    bool use_edge = eq.index_a >= 0 && eq.separation > prefer(max_face, EDGE_REL_TOL);
    if (!use_edge)
    {
        flip = fa.index < 0 || (fb.index >= 0 && fb.separation > prefer(fa.separation, FACE_REL_TOL));
        if (flip)
            store_cache(cache, CACHE_FACE_B, 0, fb.index, fb.separation);
        else
            store_cache(cache, CACHE_FACE_A, fa.index, 0, fa.separation);
        // Clipping can come back empty for a face axis that barely wins over an edge axis
        // (incident face beside the reference face): the edge pair is then the contact; without
        // one, the incident hull's deepest vertex is (support_contact).
        bool edge_ok = eq.index_a >= 0 && eq.separation < limit;
        count = face_contact(hull_a, hull_b, &rel, flip, flip ? fb.index : fa.index, limit, !edge_ok, c, &n);
        if (count == 0 && edge_ok)
            use_edge = true;
    }
    if (use_edge)
    {
        store_cache(cache, CACHE_EDGES, eq.index_a, eq.index_b, eq.separation);
        flip = false;
        n = eq.axis;
        count = edge_contact(hull_a, hull_b, &rel, &eq, c);
        if (!(c[0].separation < limit))
            count = 0;
    }
    if (count == 0)
        return 0;
    float deepest = FLT_MAX;
    for (int k = 0; k < count; ++k)
        deepest = min_f(deepest, c[k].separation);
    if (cache != NULL && deepest > -ANCHOR_MAX_DEPTH)
    {
        cache->anchored = 1;
        memcpy(cache->anchor_q, q_rel, sizeof q_rel);
        v3_store(rel.p, cache->anchor_p);
    }
    return emit(out, c, count, n, flip, &ra, pa);
}
