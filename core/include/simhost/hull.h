#pragma once
// Convex hulls and their mass properties: collision geometry. The asset DB builds and stores them,
// physics collides them; neither needs the other for this (docs/modules.md), so no storage here.

#include "simhost/base.h"

#include <cglm/types.h>

// ---------------------------------------------------------------------------------------------
// Convex hull. One allocation owns all arrays (sh_hull_free releases it). Indices are uint16, so
// a hull holds at most 65535 vertices/faces/edges; the builder caps input well below that.
//
// Faces are convex polygons (coplanar triangles merged), vertices counter-clockwise seen from
// outside; plane: dot(normal, x) = offset, normal unit and outward. Edges are undirected, each
// listed once, with the two faces that meet there: `face_a` lies to the left of v0→v1 seen from
// outside, `face_b` to the right. The SAT's Gauss-map pruning reads those two normals per edge.
typedef struct sh_hull_face
{
    vec3 normal;    // unit, outward, hull-local frame
    float offset;   // dot(normal, x) = offset for x on the face (m)
    uint16_t first; // first index into sh_hull.face_indices
    uint16_t count; // vertex count (>= 3)
} sh_hull_face;

typedef struct sh_hull_edge
{
    uint16_t v0, v1;         // vertex indices
    uint16_t face_a, face_b; // faces left and right of v0→v1 seen from outside
} sh_hull_edge;

typedef struct sh_mass_props
{
    float volume;  // m³
    vec3 centroid; // hull-local frame (m)
    mat3 inertia;  // about the centroid, at density 1 kg/m³ (kg·m²), cglm column-major
} sh_mass_props;

typedef struct sh_hull
{
    int vertex_count, face_count, edge_count, index_count;
    vec3* vertices; // hull-local frame (the asset's own frame, not shifted to the centroid)
    sh_hull_face* faces;
    sh_hull_edge* edges;
    uint16_t* face_indices; // concatenated face vertex lists
    sh_mass_props mass;     // at unit density
    vec3 aabb_min, aabb_max;
    size_t bytes; // size of the single allocation, for sh_free
} sh_hull;

// Builds the convex hull of points (quickhull), robust to duplicates and (nearly) coplanar input;
// coplanar triangles are merged into polygon faces. Fails (with a line in err) on NaN/inf input,
// fewer than 4 non-coplanar points, or too many points. Mass properties are filled in.
bool sh_hull_build(const float* xyz, int point_count, sh_hull** out, sh_error* err);
// The 8 corners of the box of half extents (hx, hy, hz) centred on the origin, as {x0, y0, z0, ...} for
// sh_hull_build: corner i takes +h on an axis where bit 0 (x), 1 (y) or 2 (z) of i is set, -h elsewhere.
void sh_box_corners(float hx, float hy, float hz, float out[24]);
void sh_hull_free(sh_hull* hull);
// A copy moved by -offset (used to put the centroid at the origin). NULL on out of memory.
sh_hull* sh_hull_clone_shifted(const sh_hull* hull, const vec3 offset);

// Mass properties of a closed, outward-wound triangle mesh at unit density (exact polyhedral integrals).
// indices holds 3 per triangle, each < the vertex count of xyz (the caller validates them). Fails when the
// enclosed volume is not positive (an open or inside-out mesh).
bool sh_mass_from_triangles(const float* xyz, const uint32_t* indices, int triangle_count, sh_mass_props* out,
                            sh_error* err);
// Mass properties of a hull from its fan-triangulated faces (what sh_hull_build stores in hull->mass).
bool sh_hull_mass(const sh_hull* hull, sh_mass_props* out, sh_error* err);
// Most points sh_hull_build accepts.
#define SH_HULL_MAX_POINTS 4096
