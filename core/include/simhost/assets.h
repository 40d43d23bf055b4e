#pragma once
// Asset database (SQLite), convex hulls and mass properties. No Lua here.
// Layout of the DB and its blobs: docs/assets.md.

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

// ---------------------------------------------------------------------------------------------
// An indexed triangle mesh (positions xyz, 3 indices per triangle, CCW seen from outside): what the
// importers and the shape generators produce. Owns its arrays; sh_mesh_free releases them and zeroes it.
typedef struct sh_mesh
{
    float* xyz;
    int vertex_count, vertex_cap;
    uint32_t* indices;
    int triangle_count, triangle_cap;
} sh_mesh;

void sh_mesh_free(sh_mesh* mesh);
// Reads a binary STL, an ASCII STL or a Wavefront OBJ (told apart by content, not by name). Fails with
// "PATH: <why>" on a missing file, a truncated or malformed file, non-finite coordinates or no triangles.
bool sh_mesh_load(const char* path, sh_mesh* out, sh_error* err);

// ---------------------------------------------------------------------------------------------
// Asset DB. Opened read-only for lookups (sh_assets_open) or read-write for imports.
typedef struct sh_asset_db sh_asset_db;

typedef struct sh_asset_info
{
    int asset_id;
    char name[64];     // [A-Za-z0-9_.-], 1..63 characters
    char category[32]; // same alphabet, 1..31 characters
    int vertex_count;  // render mesh as a triangle list: 3 per triangle
    int hull_vertex_count, hull_face_count;
    vec3 bounds_min, bounds_max; // render mesh, asset frame (m)
    float volume;                // m³, of the convex hull (what physics uses)
    int triangle_count;          // render mesh triangles
    int mesh_vertex_count;       // render mesh distinct (indexed) vertices
    int hull_edge_count;
    float mesh_volume; // m³ enclosed by the render mesh when it is closed; -1 when it is not
} sh_asset_info;

// Opens an existing asset DB. Errors: "PATH: no such file" (never creates one), "PATH: not an asset DB"
// (another file, or another schema), a newer schema version, corrupt rows. Read-only opens load every
// asset (info, triangles, hull) into memory and close the SQLite handle, so all read functions below are
// pure lookups, safe to call concurrently from any number of threads. Writable opens (the CLI's import)
// keep the handle; they must not be shared between threads.
bool sh_assets_open(const char* path, bool writable, sh_asset_db** out, sh_error* err);
// Creates a new, empty asset DB at path (which must not exist), opened writable.
bool sh_assets_create(const char* path, sh_asset_db** out, sh_error* err);
void sh_assets_close(sh_asset_db* db);
const char* sh_assets_path(const sh_asset_db* db);

// Builds a DB from a sources directory (its `default.txt` manifest, docs/assets.md) into out_path:
// written to a temporary file beside it and renamed over out_path only when complete.
bool sh_assets_build(const char* sources_dir, const char* out_path, sh_error* err);

// Number of assets; infos in id order via sh_assets_info_at (0-based index) — the list is read at open.
int sh_assets_count(const sh_asset_db* db);
const sh_asset_info* sh_assets_info_at(const sh_asset_db* db, int index);
// Lookup by exact, case-sensitive name or by id. NULL when absent.
const sh_asset_info* sh_assets_find(const sh_asset_db* db, const char* name);
const sh_asset_info* sh_assets_find_id(const sh_asset_db* db, int asset_id);

// The render mesh as a triangle list (positions xyz per vertex, CCW from outside), asset frame.
// Returned array is owned by the DB (cached) and lives until sh_assets_close.
const float* sh_assets_triangles(sh_asset_db* db, int asset_id, int* vertex_count, sh_error* err);
// The convex hull (with mass properties), owned by the DB (cached), lives until sh_assets_close.
const sh_hull* sh_assets_hull(sh_asset_db* db, int asset_id, sh_error* err);

// Imports a mesh (positions + triangle indices) under a new unique name in one transaction; computes
// the hull and mass properties (the hull's, which physics uses; mesh_volume too when the mesh is
// closed). Only on a writable DB. On failure the DB is unchanged.
bool sh_assets_import_mesh(sh_asset_db* db, const char* name, const char* category, const float* xyz,
                           int vertex_count, const uint32_t* indices, int triangle_count, int* out_id,
                           sh_error* err);
