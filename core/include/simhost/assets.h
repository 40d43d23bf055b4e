#pragma once
// Asset database (SQLite): meshes, importers, the stored assets and their hulls. No Lua here.
// Layout of the DB and its blobs: docs/assets.md. The hull itself (collision geometry, which physics
// uses without the DB) is in hull.h.

#include "simhost/base.h"
#include "simhost/hull.h"

#include <cglm/types.h>

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
