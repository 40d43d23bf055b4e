// The asset DB: schema and version checks, loading every asset into memory at open, imports.
// Schema and blob layouts: docs/assets.md (keep the two in step; SCHEMA_VERSION is user_version).
//
// Why everything is loaded at open: the live server shares one DB among its worker threads. With all
// infos, triangle lists and hulls in memory and the SQLite handle closed, a read is a lookup in arrays
// nobody writes after open, so no lock is needed and no thread ever blocks on SQLite. The default DB is a
// few hundred kilobytes.
#include "blob.h"
#include "hull.h"
#include "mesh.h"

#include "simhost/assets.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x53484442 // "SHDB": lets `file`-like tools and our open tell the DB apart

static const char schema_sql[] =
    "CREATE TABLE assets ("
    " asset_id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " category TEXT NOT NULL,"
    " mesh_vertices BLOB NOT NULL," // float32 LE x, y, z per vertex
    " mesh_indices BLOB NOT NULL,"  // uint32 LE, 3 per triangle
    " hull_vertices BLOB NOT NULL," // float32 LE x, y, z per vertex
    " hull_faces BLOB NOT NULL,"    // per face: float32 nx, ny, nz, offset; uint32 first, count
    " hull_indices BLOB NOT NULL,"  // uint32 LE, the faces' concatenated CCW corner lists
    " hull_edges BLOB NOT NULL,"    // per edge: uint32 v0, v1, face_a, face_b
    " volume REAL NOT NULL,"        // hull mass properties at density 1
    " centroid_x REAL NOT NULL, centroid_y REAL NOT NULL, centroid_z REAL NOT NULL,"
    " inertia_xx REAL NOT NULL, inertia_yy REAL NOT NULL, inertia_zz REAL NOT NULL,"
    " inertia_xy REAL NOT NULL, inertia_xz REAL NOT NULL, inertia_yz REAL NOT NULL,"
    " mesh_volume REAL" // volume of the render mesh if closed, else NULL
    ");";

#define COLUMNS                                                                                              \
    "asset_id, name, category, mesh_vertices, mesh_indices, hull_vertices, hull_faces, hull_indices, "       \
    "hull_edges, volume, centroid_x, centroid_y, centroid_z, inertia_xx, inertia_yy, inertia_zz, "           \
    "inertia_xy, inertia_xz, inertia_yz, mesh_volume"

enum
{
    C_ID,
    C_NAME,
    C_CATEGORY,
    C_MESH_VERTICES,
    C_MESH_INDICES,
    C_HULL_VERTICES,
    C_HULL_FACES,
    C_HULL_INDICES,
    C_HULL_EDGES,
    C_VOLUME,
    C_CENTROID,
    C_INERTIA = C_CENTROID + 3,
    C_MESH_VOLUME = C_INERTIA + 6,
    C_COUNT
};

typedef struct asset_entry
{
    sh_asset_info info;
    float* triangles; // 9 floats per triangle
    sh_hull* hull;
} asset_entry;

struct sh_asset_db
{
    char path[1024];
    sqlite3* sql; // NULL once a read-only open has loaded everything
    sqlite3_stmt* insert;
    sqlite3_stmt* begin;
    sqlite3_stmt* commit;
    sqlite3_stmt* rollback;
    asset_entry* assets; // in id order; never written after open except by imports (writable, one thread)
    int count, cap;
};

// The raw columns of one asset: borrowed blobs (from SQLite or from an import's buffers).
typedef struct asset_row
{
    int id;
    const char* name;
    const char* category;
    const uint8_t* blob[6]; // mesh_vertices .. hull_edges
    int bytes[6];
    double volume, centroid[3], inertia[6], mesh_volume; // inertia: xx yy zz xy xz yz
} asset_row;

enum
{
    B_MESH_VERTICES,
    B_MESH_INDICES,
    B_HULL_VERTICES,
    B_HULL_FACES,
    B_HULL_INDICES,
    B_HULL_EDGES
};

static bool valid_label(const char* s, size_t max_len)
{
    size_t n = strlen(s);
    if (n == 0 || n > max_len)
        return false;
    for (size_t i = 0; i < n; i++)
    {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

static void entry_free(asset_entry* e)
{
    sh_free(e->triangles, (size_t)e->info.vertex_count * 3 * sizeof(float));
    sh_hull_free(e->hull);
    e->triangles = NULL;
    e->hull = NULL;
}

// Decodes and validates one row into an entry. A corrupt row is an error, never a crash: the DB is a file
// anyone can edit.
static bool decode_row(const char* path, const asset_row* r, asset_entry* e, sh_error* err)
{
    memset(e, 0, sizeof *e);
    if (!valid_label(r->name, sizeof e->info.name - 1) ||
        !valid_label(r->category, sizeof e->info.category - 1))
        return sh_error_set(err, "%s: asset %d has an invalid name or category", path, r->id);
    const char* what = NULL;
    int nv = r->bytes[B_MESH_VERTICES] / 12, nt = r->bytes[B_MESH_INDICES] / 12;
    int hv = r->bytes[B_HULL_VERTICES] / 12, hf = r->bytes[B_HULL_FACES] / 24;
    int hi = r->bytes[B_HULL_INDICES] / 4, he = r->bytes[B_HULL_EDGES] / 16;
    if (r->bytes[B_MESH_VERTICES] % 12 || r->bytes[B_MESH_INDICES] % 12 || nv < 3 || nt < 1)
        what = "render mesh blob sizes";
    else if (r->bytes[B_HULL_VERTICES] % 12 || r->bytes[B_HULL_FACES] % 24 || r->bytes[B_HULL_INDICES] % 4 ||
             r->bytes[B_HULL_EDGES] % 16 || hv < 4 || hf < 4 || hv > 65535 || hf > 65535 || hi > 65535 ||
             hi != 2 * he || hv - he + hf != 2)
        what = "hull blob sizes";
    if (what != NULL)
        return sh_error_set(err, "%s: asset '%s' is corrupt (%s)", path, r->name, what);

    e->info.asset_id = r->id;
    snprintf(e->info.name, sizeof e->info.name, "%s", r->name);
    snprintf(e->info.category, sizeof e->info.category, "%s", r->category);
    e->info.triangle_count = nt;
    e->info.mesh_vertex_count = nv;
    e->info.vertex_count = 3 * nt;
    e->info.hull_vertex_count = hv;
    e->info.hull_face_count = hf;
    e->info.hull_edge_count = he;
    e->info.volume = (float)r->volume;
    e->info.mesh_volume = r->mesh_volume > 0 ? (float)r->mesh_volume : -1;

    e->triangles = sh_alloc((size_t)nt * 9 * sizeof(float));
    e->hull = sh_hull_alloc(hv, hf, he, hi);
    if (e->triangles == NULL || e->hull == NULL)
    {
        entry_free(e);
        return sh_error_set(err, "%s: out of memory", path);
    }
    const uint8_t *mv = r->blob[B_MESH_VERTICES], *mi = r->blob[B_MESH_INDICES];
    for (int t = 0; t < 3 * nt && what == NULL; t++)
    {
        uint32_t v = sh_blob_get_u32(mi + 4 * t);
        if (v >= (uint32_t)nv)
        {
            what = "render mesh index out of range";
            break;
        }
        for (int k = 0; k < 3; k++)
        {
            float x = sh_blob_get_f32(mv + 12 * v + 4 * k);
            if (!isfinite(x))
                what = "render mesh coordinate not finite";
            e->triangles[3 * t + k] = x;
        }
    }
    for (int k = 0; k < 3 && what == NULL; k++)
    {
        e->info.bounds_min[k] = e->info.bounds_max[k] = e->triangles[k];
        for (int t = 1; t < 3 * nt; t++)
        {
            e->info.bounds_min[k] = fminf(e->info.bounds_min[k], e->triangles[3 * t + k]);
            e->info.bounds_max[k] = fmaxf(e->info.bounds_max[k], e->triangles[3 * t + k]);
        }
    }

    sh_hull* h = e->hull;
    for (int v = 0; v < hv && what == NULL; v++)
        for (int k = 0; k < 3; k++)
        {
            h->vertices[v][k] = sh_blob_get_f32(r->blob[B_HULL_VERTICES] + 12 * v + 4 * k);
            if (!isfinite(h->vertices[v][k]))
                what = "hull coordinate not finite";
        }
    for (int f = 0; f < hf && what == NULL; f++)
    {
        const uint8_t* p = r->blob[B_HULL_FACES] + 24 * f;
        for (int k = 0; k < 3; k++)
            h->faces[f].normal[k] = sh_blob_get_f32(p + 4 * k);
        h->faces[f].offset = sh_blob_get_f32(p + 12);
        uint32_t first = sh_blob_get_u32(p + 16), count = sh_blob_get_u32(p + 20);
        float len2 = h->faces[f].normal[0] * h->faces[f].normal[0] +
                     h->faces[f].normal[1] * h->faces[f].normal[1] +
                     h->faces[f].normal[2] * h->faces[f].normal[2];
        if (count < 3 || first > (uint32_t)hi || count > (uint32_t)hi - first ||
            !isfinite(h->faces[f].offset) || !(fabsf(len2 - 1) < 1e-3f))
            what = "hull face";
        h->faces[f].first = (uint16_t)first;
        h->faces[f].count = (uint16_t)count;
    }
    for (int i = 0; i < hi && what == NULL; i++)
    {
        uint32_t v = sh_blob_get_u32(r->blob[B_HULL_INDICES] + 4 * i);
        if (v >= (uint32_t)hv)
            what = "hull face index out of range";
        h->face_indices[i] = (uint16_t)v;
    }
    for (int i = 0; i < he && what == NULL; i++)
    {
        const uint8_t* p = r->blob[B_HULL_EDGES] + 16 * i;
        uint32_t v0 = sh_blob_get_u32(p), v1 = sh_blob_get_u32(p + 4);
        uint32_t fa = sh_blob_get_u32(p + 8), fb = sh_blob_get_u32(p + 12);
        if (v0 >= (uint32_t)hv || v1 >= (uint32_t)hv || fa >= (uint32_t)hf || fb >= (uint32_t)hf)
            what = "hull edge out of range";
        h->edges[i] = (sh_hull_edge){(uint16_t)v0, (uint16_t)v1, (uint16_t)fa, (uint16_t)fb};
    }
    if (what == NULL)
    {
        h->mass.volume = (float)r->volume;
        for (int k = 0; k < 3; k++)
            h->mass.centroid[k] = (float)r->centroid[k];
        const int row[6] = {0, 1, 2, 0, 0, 1}, col[6] = {0, 1, 2, 1, 2, 2};
        for (int k = 0; k < 6; k++)
            h->mass.inertia[col[k]][row[k]] = h->mass.inertia[row[k]][col[k]] = (float)r->inertia[k];
        bool finite = isfinite(r->volume) && r->volume > 0;
        for (int k = 0; k < 3; k++)
            finite = finite && isfinite(r->centroid[k]) && isfinite(r->inertia[k]) && r->inertia[k] > 0 &&
                     isfinite(r->inertia[k + 3]);
        if (!finite)
            what = "mass properties";
        for (int k = 0; k < 3; k++)
            h->aabb_min[k] = h->aabb_max[k] = h->vertices[0][k];
        for (int v = 1; v < hv; v++)
            for (int k = 0; k < 3; k++)
            {
                h->aabb_min[k] = fminf(h->aabb_min[k], h->vertices[v][k]);
                h->aabb_max[k] = fmaxf(h->aabb_max[k], h->vertices[v][k]);
            }
    }
    if (what != NULL)
    {
        entry_free(e);
        return sh_error_set(err, "%s: asset '%s' is corrupt (%s)", path, r->name, what);
    }
    return true;
}

static bool append_entry(sh_asset_db* db, const asset_entry* e)
{
    if (db->count == db->cap)
    {
        int cap = db->cap < 16 ? 16 : 2 * db->cap;
        asset_entry* p = sh_realloc(db->assets, (size_t)db->cap * sizeof *p, (size_t)cap * sizeof *p);
        if (p == NULL)
            return false;
        db->assets = p;
        db->cap = cap;
    }
    db->assets[db->count++] = *e;
    return true;
}

static bool load_all(sh_asset_db* db, sh_error* err)
{
    sqlite3_stmt* st = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT " COLUMNS " FROM assets ORDER BY asset_id", -1, &st, NULL) !=
        SQLITE_OK)
        return sh_error_set(err, "%s: not an asset DB", db->path);
    int rc;
    bool ok = true;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
    {
        asset_row r = {0};
        // Lookups by id binary-search the loaded order, so ids must be ascending positive ints: a schema
        // where asset_id is not the rowid (corrupt or hand-made) can hold NULLs or repeats (fuzz_asset_db).
        sqlite3_int64 id = sqlite3_column_int64(st, C_ID);
        if (sqlite3_column_type(st, C_ID) != SQLITE_INTEGER || id < 1 || id > INT_MAX ||
            (db->count > 0 && id <= db->assets[db->count - 1].info.asset_id))
        {
            ok = sh_error_set(err, "%s: asset ids are not unique positive integers (row %d)", db->path,
                              db->count + 1);
            break;
        }
        r.id = (int)id;
        r.name = (const char*)sqlite3_column_text(st, C_NAME);
        r.category = (const char*)sqlite3_column_text(st, C_CATEGORY);
        for (int b = 0; b < 6; b++)
        {
            r.blob[b] = sqlite3_column_blob(st, C_MESH_VERTICES + b);
            r.bytes[b] = sqlite3_column_bytes(st, C_MESH_VERTICES + b);
        }
        r.volume = sqlite3_column_double(st, C_VOLUME);
        for (int k = 0; k < 3; k++)
            r.centroid[k] = sqlite3_column_double(st, C_CENTROID + k);
        for (int k = 0; k < 6; k++)
            r.inertia[k] = sqlite3_column_double(st, C_INERTIA + k);
        r.mesh_volume = sqlite3_column_type(st, C_MESH_VOLUME) == SQLITE_NULL
                            ? -1
                            : sqlite3_column_double(st, C_MESH_VOLUME);
        if (r.name == NULL || r.category == NULL)
        {
            ok = sh_error_set(err, "%s: asset %d is corrupt (no name)", db->path, r.id);
            break;
        }
        for (int b = 0; b < 6; b++)
            if (r.blob[b] == NULL)
                r.bytes[b] = 0; // zero-length blob: caught as corrupt by the size checks
        asset_entry e;
        if (!decode_row(db->path, &r, &e, err))
            ok = false;
        else if (!append_entry(db, &e))
        {
            entry_free(&e);
            ok = sh_error_set(err, "%s: out of memory", db->path);
        }
    }
    if (ok && rc != SQLITE_DONE)
        ok = sh_error_set(err, "%s: %s", db->path, sqlite3_errmsg(db->sql));
    sqlite3_finalize(st);
    return ok;
}

static bool pragma_int(sqlite3* sql, const char* pragma, int* out)
{
    sqlite3_stmt* st = NULL;
    bool ok = sqlite3_prepare_v2(sql, pragma, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return ok;
}

static bool prepare_writes(sh_asset_db* db, sh_error* err)
{
    const char* insert =
        "INSERT INTO assets (name, category, mesh_vertices, mesh_indices, hull_vertices, "
        "hull_faces, hull_indices, hull_edges, volume, centroid_x, centroid_y, centroid_z, "
        "inertia_xx, inertia_yy, inertia_zz, inertia_xy, inertia_xz, inertia_yz, mesh_volume) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    if (sqlite3_prepare_v2(db->sql, insert, -1, &db->insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->sql, "BEGIN IMMEDIATE", -1, &db->begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->sql, "COMMIT", -1, &db->commit, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->sql, "ROLLBACK", -1, &db->rollback, NULL) != SQLITE_OK)
        return sh_error_set(err, "%s: %s", db->path, sqlite3_errmsg(db->sql));
    return true;
}

static sh_asset_db* db_new(const char* path, sh_error* err)
{
    sh_asset_db* db = sh_alloc_zeroed(sizeof *db);
    if (db == NULL)
    {
        sh_error_set(err, "%s: out of memory", path);
        return NULL;
    }
    snprintf(db->path, sizeof db->path, "%s", path);
    return db;
}

bool sh_assets_open(const char* path, bool writable, sh_asset_db** out, sh_error* err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? sh_error_set(err, "%s: no such file", path)
                               : sh_error_set(err, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sh_error_set(err, "%s: not an asset DB", path);
    sh_asset_db* db = db_new(path, err);
    if (db == NULL)
        return false;
    int flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    int app = 0, version = 0;
    if (sqlite3_open_v2(path, &db->sql, flags, NULL) != SQLITE_OK)
    {
        sh_error_set(err, "%s: %s", path, db->sql ? sqlite3_errmsg(db->sql) : "cannot open");
        goto fail;
    }
    // A busy writer (another import) is waited for briefly instead of failing at once.
    sqlite3_busy_timeout(db->sql, 2000);
    if (!pragma_int(db->sql, "PRAGMA application_id", &app) || app != APPLICATION_ID ||
        !pragma_int(db->sql, "PRAGMA user_version", &version))
    {
        sh_error_set(err, "%s: not an asset DB", path);
        goto fail;
    }
    if (version != SCHEMA_VERSION)
    {
        sh_error_set(err, "%s: asset DB schema version %d, this simhost reads version %d", path, version,
                     SCHEMA_VERSION);
        goto fail;
    }
    if (!load_all(db, err))
        goto fail;
    if (writable)
    {
        if (!prepare_writes(db, err))
            goto fail;
    }
    else
    {
        sqlite3_close(db->sql);
        db->sql = NULL;
    }
    *out = db;
    return true;
fail:
    sh_assets_close(db);
    return false;
}

bool sh_assets_create(const char* path, sh_asset_db** out, sh_error* err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) == 0)
        return sh_error_set(err, "%s: already exists", path);
    sh_asset_db* db = db_new(path, err);
    if (db == NULL)
        return false;
    char* msg = NULL;
    char setup[256];
    snprintf(setup, sizeof setup, "PRAGMA application_id = %d; PRAGMA user_version = %d;", APPLICATION_ID,
             SCHEMA_VERSION); // integers of ours, not user values: formatting is safe here
    if (sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    {
        sh_error_set(err, "%s: %s", path, db->sql ? sqlite3_errmsg(db->sql) : "cannot create");
        goto fail;
    }
    if (sqlite3_exec(db->sql, "BEGIN", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db->sql, schema_sql, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db->sql, setup, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db->sql, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
    {
        sh_error_set(err, "%s: %s", path, msg ? msg : "cannot create schema");
        sqlite3_free(msg);
        goto fail;
    }
    if (!prepare_writes(db, err))
        goto fail;
    *out = db;
    return true;
fail:
    sh_assets_close(db);
    return false;
}

void sh_assets_close(sh_asset_db* db)
{
    if (db == NULL)
        return;
    sqlite3_finalize(db->insert);
    sqlite3_finalize(db->begin);
    sqlite3_finalize(db->commit);
    sqlite3_finalize(db->rollback);
    sqlite3_close(db->sql);
    for (int i = 0; i < db->count; i++)
        entry_free(&db->assets[i]);
    sh_free(db->assets, (size_t)db->cap * sizeof *db->assets);
    sh_free(db, sizeof *db);
}

const char* sh_assets_path(const sh_asset_db* db)
{
    return db->path;
}

int sh_assets_count(const sh_asset_db* db)
{
    return db->count;
}

const sh_asset_info* sh_assets_info_at(const sh_asset_db* db, int index)
{
    return index >= 0 && index < db->count ? &db->assets[index].info : NULL;
}

const sh_asset_info* sh_assets_find(const sh_asset_db* db, const char* name)
{
    for (int i = 0; i < db->count; i++)
        if (strcmp(db->assets[i].info.name, name) == 0)
            return &db->assets[i].info;
    return NULL;
}

static const asset_entry* find_entry(const sh_asset_db* db, int asset_id)
{
    // Ids are ascending (loaded ORDER BY asset_id, imports append larger rowids): binary search.
    int lo = 0, hi = db->count - 1;
    while (lo <= hi)
    {
        int mid = (lo + hi) / 2;
        int id = db->assets[mid].info.asset_id;
        if (id == asset_id)
            return &db->assets[mid];
        if (id < asset_id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

const sh_asset_info* sh_assets_find_id(const sh_asset_db* db, int asset_id)
{
    const asset_entry* e = find_entry(db, asset_id);
    return e ? &e->info : NULL;
}

const float* sh_assets_triangles(sh_asset_db* db, int asset_id, int* vertex_count, sh_error* err)
{
    const asset_entry* e = find_entry(db, asset_id);
    if (e == NULL)
    {
        sh_error_set(err, "no asset with id %d", asset_id);
        return NULL;
    }
    *vertex_count = e->info.vertex_count;
    return e->triangles;
}

const sh_hull* sh_assets_hull(sh_asset_db* db, int asset_id, sh_error* err)
{
    const asset_entry* e = find_entry(db, asset_id);
    if (e == NULL)
    {
        sh_error_set(err, "no asset with id %d", asset_id);
        return NULL;
    }
    return e->hull;
}

// --- import ----------------------------------------------------------------------------------------

static int cmp_u64(const void* a, const void* b)
{
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

// True when every undirected edge is used exactly twice, once in each direction (a closed, consistently
// wound 2-manifold); then the mesh's own volume is meaningful.
static bool mesh_is_closed(const float* xyz, int vertex_count, const uint32_t* indices, int triangle_count)
{
    sh_mesh m = {0};
    bool closed = false;
    for (int i = 0; i < vertex_count; i++)
        if (sh_mesh_add_vertex(&m, xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]) < 0)
            goto done;
    for (int t = 0; t < triangle_count; t++)
        if (!sh_mesh_add_triangle(&m, indices[3 * t], indices[3 * t + 1], indices[3 * t + 2]))
            goto done;
    if (!sh_mesh_weld(&m))
        goto done;
    // Count directed edges in a sorted array: each (a,b) must appear once and (b,a) once.
    size_t n = (size_t)triangle_count * 3;
    uint64_t* keys = sh_alloc(n * sizeof *keys);
    if (keys == NULL)
        goto done;
    for (int t = 0; t < triangle_count; t++)
        for (int k = 0; k < 3; k++)
        {
            uint64_t a = m.indices[3 * t + k], b = m.indices[3 * t + (k + 1) % 3];
            keys[3 * t + k] = a << 32 | b;
        }
    qsort(keys, n, sizeof *keys, cmp_u64);
    closed = true;
    for (size_t i = 0; i < n && closed; i++)
    {
        uint64_t a = keys[i] >> 32, b = keys[i] & 0xffffffffu;
        uint64_t twin = b << 32 | a;
        if (a == b || (i + 1 < n && keys[i + 1] == keys[i]))
            closed = false;
        else
        {
            size_t lo = 0, hi = n;
            while (lo < hi)
            {
                size_t mid = (lo + hi) / 2;
                if (keys[mid] < twin)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            closed = lo < n && keys[lo] == twin;
        }
    }
    sh_free(keys, n * sizeof *keys);
done:
    sh_mesh_free(&m);
    return closed;
}

typedef struct blob_buf
{
    uint8_t* p;
    size_t n;
} blob_buf;

bool sh_assets_import_mesh(sh_asset_db* db, const char* name, const char* category, const float* xyz,
                           int vertex_count, const uint32_t* indices, int triangle_count, int* out_id,
                           sh_error* err)
{
    if (db->sql == NULL || db->insert == NULL)
        return sh_error_set(err, "%s: opened read-only", db->path);
    if (!valid_label(name, sizeof db->assets[0].info.name - 1))
        return sh_error_set(err, "invalid asset name '%s' (1-63 characters of A-Z a-z 0-9 _ . -)", name);
    if (!valid_label(category, sizeof db->assets[0].info.category - 1))
        return sh_error_set(err, "invalid category '%s' (1-31 characters of A-Z a-z 0-9 _ . -)", category);
    if (sh_assets_find(db, name) != NULL)
        return sh_error_set(err, "%s: asset '%s' already exists", db->path, name);
    if (vertex_count < 3 || triangle_count < 1)
        return sh_error_set(err, "mesh has no triangles");
    for (int i = 0; i < 3 * vertex_count; i++)
        if (!isfinite(xyz[i]))
            return sh_error_set(err, "mesh vertex %d is not finite (NaN or infinity)", i / 3 + 1);
    for (int i = 0; i < 3 * triangle_count; i++)
        if (indices[i] >= (uint32_t)vertex_count)
            return sh_error_set(err, "mesh triangle %d refers to a missing vertex", i / 3 + 1);

    // The hull from the distinct points (STL repeats every corner; the hull has a point cap).
    sh_mesh view = {(float*)xyz, vertex_count, vertex_count, NULL, 0, 0};
    int point_count = 0;
    float* points = sh_mesh_unique_points(&view, &point_count);
    if (points == NULL)
        return sh_error_set(err, "out of memory");
    sh_hull* hull = NULL;
    bool built = sh_hull_build(points, point_count, &hull, err);
    sh_free(points, (size_t)(point_count > 0 ? point_count : 1) * 3 * sizeof(float));
    if (!built)
        return false;

    double mesh_volume = -1;
    sh_mass_props mesh_mass;
    if (mesh_is_closed(xyz, vertex_count, indices, triangle_count) &&
        sh_mass_from_triangles(xyz, indices, triangle_count, &mesh_mass, NULL))
        mesh_volume = mesh_mass.volume;

    blob_buf b[6] = {{0}};
    b[B_MESH_VERTICES].n = (size_t)vertex_count * 12;
    b[B_MESH_INDICES].n = (size_t)triangle_count * 12;
    b[B_HULL_VERTICES].n = (size_t)hull->vertex_count * 12;
    b[B_HULL_FACES].n = (size_t)hull->face_count * 24;
    b[B_HULL_INDICES].n = (size_t)hull->index_count * 4;
    b[B_HULL_EDGES].n = (size_t)hull->edge_count * 16;
    bool ok = false;
    for (int i = 0; i < 6; i++)
        if ((b[i].p = sh_alloc(b[i].n)) == NULL)
        {
            sh_error_set(err, "out of memory");
            goto done;
        }
    for (int i = 0; i < 3 * vertex_count; i++)
        sh_blob_put_f32(b[B_MESH_VERTICES].p + 4 * i, xyz[i]);
    for (int i = 0; i < 3 * triangle_count; i++)
        sh_blob_put_u32(b[B_MESH_INDICES].p + 4 * i, indices[i]);
    for (int v = 0; v < hull->vertex_count; v++)
        for (int k = 0; k < 3; k++)
            sh_blob_put_f32(b[B_HULL_VERTICES].p + 12 * v + 4 * k, hull->vertices[v][k]);
    for (int f = 0; f < hull->face_count; f++)
    {
        uint8_t* p = b[B_HULL_FACES].p + 24 * f;
        for (int k = 0; k < 3; k++)
            sh_blob_put_f32(p + 4 * k, hull->faces[f].normal[k]);
        sh_blob_put_f32(p + 12, hull->faces[f].offset);
        sh_blob_put_u32(p + 16, hull->faces[f].first);
        sh_blob_put_u32(p + 20, hull->faces[f].count);
    }
    for (int i = 0; i < hull->index_count; i++)
        sh_blob_put_u32(b[B_HULL_INDICES].p + 4 * i, hull->face_indices[i]);
    for (int e = 0; e < hull->edge_count; e++)
    {
        uint8_t* p = b[B_HULL_EDGES].p + 16 * e;
        sh_blob_put_u32(p, hull->edges[e].v0);
        sh_blob_put_u32(p + 4, hull->edges[e].v1);
        sh_blob_put_u32(p + 8, hull->edges[e].face_a);
        sh_blob_put_u32(p + 12, hull->edges[e].face_b);
    }

    asset_row r = {0};
    r.name = name;
    r.category = category;
    for (int i = 0; i < 6; i++)
    {
        r.blob[i] = b[i].p;
        r.bytes[i] = (int)b[i].n;
    }
    const sh_mass_props* mp = &hull->mass;
    r.volume = mp->volume;
    for (int k = 0; k < 3; k++)
        r.centroid[k] = mp->centroid[k];
    r.inertia[0] = mp->inertia[0][0];
    r.inertia[1] = mp->inertia[1][1];
    r.inertia[2] = mp->inertia[2][2];
    r.inertia[3] = mp->inertia[1][0];
    r.inertia[4] = mp->inertia[2][0];
    r.inertia[5] = mp->inertia[2][1];
    r.mesh_volume = mesh_volume;

    // Decode what we are about to store before writing it: the in-memory entry is exactly what a later
    // open reads, and a failure here leaves the file untouched.
    asset_entry e;
    if (!decode_row(db->path, &r, &e, err))
        goto done;

    sqlite3_stmt* ins = db->insert;
    sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, category, -1, SQLITE_STATIC);
    for (int i = 0; i < 6; i++)
        sqlite3_bind_blob(ins, 3 + i, b[i].p, (int)b[i].n, SQLITE_STATIC);
    sqlite3_bind_double(ins, 9, r.volume);
    for (int k = 0; k < 3; k++)
        sqlite3_bind_double(ins, 10 + k, r.centroid[k]);
    for (int k = 0; k < 6; k++)
        sqlite3_bind_double(ins, 13 + k, r.inertia[k]);
    if (mesh_volume > 0)
        sqlite3_bind_double(ins, 19, mesh_volume);
    else
        sqlite3_bind_null(ins, 19);

    bool began = sqlite3_step(db->begin) == SQLITE_DONE;
    sqlite3_reset(db->begin);
    bool inserted = began && sqlite3_step(ins) == SQLITE_DONE;
    int id = (int)sqlite3_last_insert_rowid(db->sql);
    if (!began || !inserted)
        sh_error_set(err, "%s: %s", db->path, sqlite3_errmsg(db->sql));
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    bool committed = inserted && sqlite3_step(db->commit) == SQLITE_DONE;
    if (inserted && !committed)
        sh_error_set(err, "%s: %s", db->path, sqlite3_errmsg(db->sql));
    sqlite3_reset(db->commit);
    if (began && !committed)
    {
        sqlite3_step(db->rollback);
        sqlite3_reset(db->rollback);
    }
    if (!committed)
    {
        entry_free(&e);
        goto done;
    }
    e.info.asset_id = id;
    if (!append_entry(db, &e))
    {
        // Stored but not cached: the next open sees it. Report so the caller does not assume it is listed.
        entry_free(&e);
        sh_error_set(err, "out of memory");
        goto done;
    }
    if (out_id != NULL)
        *out_id = id;
    ok = true;
done:
    for (int i = 0; i < 6; i++)
        sh_free(b[i].p, b[i].n);
    sh_hull_free(hull);
    return ok;
}
