// Reading a recording (docs/recordings.md): the run row, the bodies, and frames decoded back to their
// SHF1 bytes. A reader is one read-only SQLite connection; it keeps the last key frame it inflated so a
// range or a series reads each key frame once. Any file may be handed to it: whatever is not a recording
// of this schema is refused with one line, never a crash.
#include "rec_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

struct sh_rec_reader
{
    sqlite3* db;
    sh_rec_run run;
    sh_rec_body* bodies;
    int body_count;
    char *metadata, *assets, *params, *configure, *scenario;
    sqlite3_stmt *one, *range;
    sh_frame_buf key; // the last key frame inflated
    int64_t key_id;   // its frame id, -1 none
    uint8_t* z;       // inflate scratch
    size_t z_cap;
};

static char* dup_col(sqlite3_stmt* st, int col)
{
    const unsigned char* t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    char* d = sh_alloc(n + 1);
    if (d != NULL)
    {
        if (n)
            memcpy(d, t, n);
        d[n] = '\0';
    }
    return d;
}

static void copy_col(sqlite3_stmt* st, int col, char* out, size_t size)
{
    const unsigned char* t = sqlite3_column_text(st, col);
    snprintf(out, size, "%s", t ? (const char*)t : "");
}

static bool read_run(sh_rec_reader* r, sh_error* err)
{
    sqlite3_stmt* st = NULL;
    const char* sql =
        "SELECT id, created, host, source, scenario, params, configure, timestep, substeps, gravity_x,"
        " gravity_y, gravity_z, simhost_version, complete, finished, reason, metadata, assets FROM run";
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sh_error_set(err, "not a simhost recording (%s)", sqlite3_errmsg(r->db));
    if (sqlite3_step(st) != SQLITE_ROW)
    {
        sqlite3_finalize(st);
        return sh_error_set(err, "not a simhost recording (no run row)");
    }
    sh_rec_run* u = &r->run;
    copy_col(st, 0, u->id, sizeof u->id);
    copy_col(st, 1, u->created, sizeof u->created);
    copy_col(st, 2, u->host, sizeof u->host);
    copy_col(st, 3, u->source, sizeof u->source);
    copy_col(st, 4, u->scenario, sizeof u->scenario);
    u->timestep = sqlite3_column_double(st, 7);
    u->substeps = sqlite3_column_int(st, 8);
    for (int k = 0; k < 3; k++)
        u->gravity[k] = sqlite3_column_double(st, 9 + k);
    copy_col(st, 12, u->version, sizeof u->version);
    u->complete = sqlite3_column_int(st, 13) != 0;
    u->finished = sqlite3_column_int(st, 14) != 0;
    copy_col(st, 15, u->reason, sizeof u->reason);
    r->scenario = dup_col(st, 4);
    r->params = dup_col(st, 5);
    r->configure = dup_col(st, 6);
    r->metadata = dup_col(st, 16);
    r->assets = dup_col(st, 17);
    sqlite3_finalize(st);
    if (!r->scenario || !r->params || !r->configure || !r->metadata || !r->assets)
        return sh_error_set(err, "out of memory");
    if (!isfinite(u->timestep) || u->timestep <= 0)
        return sh_error_set(err, "damaged recording (timestep %g)", u->timestep);
    return true;
}

static bool read_bodies(sh_rec_reader* r, sh_error* err)
{
    sqlite3_stmt* st = NULL;
    const char* sql =
        "SELECT body_id, asset_id, asset_name, mass, restitution, friction, is_environment, center_x,"
        " center_y, center_z, inertia, (SELECT COUNT(*) FROM bodies) FROM bodies ORDER BY body_index";
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sh_error_set(err, "not a simhost recording (%s)", sqlite3_errmsg(r->db));
    int rc, i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    {
        if (r->bodies == NULL)
        {
            int n = sqlite3_column_int(st, 11);
            r->bodies = sh_alloc_zeroed((size_t)n * sizeof *r->bodies);
            if (r->bodies == NULL)
                break;
            r->body_count = n;
        }
        if (i >= r->body_count)
            break;
        sh_rec_body* b = &r->bodies[i++];
        b->body_id = sqlite3_column_int64(st, 0);
        b->asset_id = sqlite3_column_int(st, 1);
        copy_col(st, 2, b->asset_name, sizeof b->asset_name);
        b->mass = (float)sqlite3_column_double(st, 3);
        b->restitution = (float)sqlite3_column_double(st, 4);
        b->friction = (float)sqlite3_column_double(st, 5);
        b->environment = sqlite3_column_int(st, 6) != 0;
        for (int k = 0; k < 3; k++)
            b->local_center[k] = (float)sqlite3_column_double(st, 7 + k);
        if (sqlite3_column_bytes(st, 10) == (int)sizeof b->inertia)
            memcpy(b->inertia, sqlite3_column_blob(st, 10), sizeof b->inertia);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sh_error_set(err, "cannot read the bodies: %s", sqlite3_errstr(rc));
    if (r->body_count > 0 && r->bodies == NULL)
        return sh_error_set(err, "out of memory");
    r->run.body_count = i;
    r->body_count = i;
    return true;
}

static bool read_counts(sh_rec_reader* r, sh_error* err)
{
    sqlite3_stmt* st = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT COUNT(*), MIN(frame_id), MAX(frame_id) FROM frames", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
    {
        sqlite3_finalize(st);
        return sh_error_set(err, "not a simhost recording (%s)", sqlite3_errmsg(r->db));
    }
    r->run.frame_count = sqlite3_column_int64(st, 0);
    r->run.first_frame = sqlite3_column_int64(st, 1);
    r->run.last_frame = sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    const char* one =
        "SELECT frame_id, simulation_time, codec, base, raw_bytes, data, linear_ke, rotational_ke,"
        " potential_e FROM frames WHERE frame_id = ?";
    const char* range =
        "SELECT frame_id, simulation_time, codec, base, raw_bytes, data, linear_ke, rotational_ke,"
        " potential_e FROM frames WHERE frame_id >= ? ORDER BY frame_id LIMIT ?";
    if (sqlite3_prepare_v2(r->db, one, -1, &r->one, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db, range, -1, &r->range, NULL) != SQLITE_OK)
        return sh_error_set(err, "not a simhost recording (%s)", sqlite3_errmsg(r->db));
    return true;
}

bool sh_rec_open(const char* path, sh_rec_reader** out, sh_error* err)
{
    *out = NULL;
    sh_rec_reader* r = sh_alloc_zeroed(sizeof *r);
    if (r == NULL)
        return sh_error_set(err, "out of memory");
    r->key_id = -1;
    // Read-write without create: a file a killed host left in WAL mode needs its -shm to be read; nothing
    // here ever writes (every statement is a SELECT).
    int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
    {
        sqlite3_close(r->db); // a failed open still hands back a handle to close
        r->db = NULL;
        rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    }
    bool ok = rc == SQLITE_OK;
    if (!ok)
        sh_error_set(err, "cannot open: %s", sqlite3_errstr(rc));
    sqlite3_stmt* st = NULL;
    if (ok)
    {
        sqlite3_busy_timeout(r->db, 2000);
        ok = sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW;
        if (!ok)
            sh_error_set(err, "not a simhost recording (%s)", sqlite3_errmsg(r->db));
    }
    if (ok)
    {
        int v = sqlite3_column_int(st, 0);
        if (v == 0)
            ok = sh_error_set(err, "not a simhost recording (no schema version)");
        else if (v != SH_REC_SCHEMA_VERSION && v != 1) // version 1: the same without the snapshots table
            ok = sh_error_set(err, "schema version %d, this build reads 1 to %d", v, SH_REC_SCHEMA_VERSION);
    }
    sqlite3_finalize(st);
    ok = ok && read_run(r, err) && read_bodies(r, err) && read_counts(r, err);
    if (!ok)
    {
        sh_rec_close(r);
        return false;
    }
    struct stat sb;
    r->run.file_bytes = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    *out = r;
    return true;
}

static void free_text(char* s)
{
    if (s != NULL)
        sh_free(s, strlen(s) + 1);
}

void sh_rec_close(sh_rec_reader* r)
{
    if (r == NULL)
        return;
    sqlite3_finalize(r->one);
    sqlite3_finalize(r->range);
    sqlite3_close(r->db);
    if (r->bodies != NULL)
        sh_free(r->bodies, (size_t)r->body_count * sizeof *r->bodies);
    free_text(r->metadata);
    free_text(r->assets);
    free_text(r->params);
    free_text(r->configure);
    free_text(r->scenario);
    sh_frame_buf_free(&r->key);
    sh_free(r->z, r->z_cap);
    sh_free(r, sizeof *r);
}

const sh_rec_run* sh_rec_run_info(const sh_rec_reader* r)
{
    return &r->run;
}

int sh_rec_body_count(const sh_rec_reader* r)
{
    return r->body_count;
}

const sh_rec_body* sh_rec_body_at(const sh_rec_reader* r, int i)
{
    return i >= 0 && i < r->body_count ? &r->bodies[i] : NULL;
}

const sh_rec_body* sh_rec_body_find(const sh_rec_reader* r, int64_t body_id)
{
    for (int i = 0; i < r->body_count; i++)
        if (r->bodies[i].body_id == body_id)
            return &r->bodies[i];
    return NULL;
}

const char* sh_rec_text(const sh_rec_reader* r, const char* what)
{
    const char* t = strcmp(what, "metadata") == 0    ? r->metadata
                    : strcmp(what, "assets") == 0    ? r->assets
                    : strcmp(what, "params") == 0    ? r->params
                    : strcmp(what, "configure") == 0 ? r->configure
                    : strcmp(what, "scenario") == 0  ? r->scenario
                                                     : NULL;
    return t ? t : "";
}

static void read_row(sqlite3_stmt* st, sh_rec_frame_row* row)
{
    row->frame_id = sqlite3_column_int64(st, 0);
    row->simulation_time = sqlite3_column_double(st, 1);
    row->linear_ke = sqlite3_column_double(st, 6);
    row->rotational_ke = sqlite3_column_double(st, 7);
    row->potential_e = sqlite3_column_double(st, 8);
}

bool sh_rec_rows(sh_rec_reader* r, bool (*fn)(void* ud, const sh_rec_frame_row* row), void* ud, sh_error* err)
{
    sqlite3_stmt* st = NULL;
    const char* sql = "SELECT frame_id, simulation_time, 0, 0, 0, 0, linear_ke, rotational_ke, potential_e"
                      " FROM frames ORDER BY frame_id";
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sh_error_set(err, "cannot read the frames: %s", sqlite3_errmsg(r->db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    {
        sh_rec_frame_row row;
        read_row(st, &row);
        if (!fn(ud, &row))
        {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sh_error_set(err, "cannot read the frames: %s", sqlite3_errstr(rc));
    return true;
}

static bool buf_reserve(sh_frame_buf* b, size_t n)
{
    if (b->cap >= n)
        return true;
    uint8_t* d = sh_realloc(b->data, b->cap, n);
    if (d == NULL)
        return false;
    b->data = d;
    b->cap = n;
    return true;
}

// Inflates a row's data into out (raw_bytes long); false with err on any mismatch.
static bool inflate_into(const void* z, size_t zlen, size_t raw, sh_frame_buf* out, sh_error* err)
{
    if (raw > ((size_t)1 << 30))
        return sh_error_set(err, "damaged frame (%zu bytes)", raw);
    if (!buf_reserve(out, raw > 0 ? raw : 1))
        return sh_error_set(err, "out of memory");
    uLongf n = (uLongf)raw;
    if (uncompress(out->data, &n, z, (uLong)zlen) != Z_OK || n != raw)
        return sh_error_set(err, "damaged frame (it does not inflate to %zu bytes)", raw);
    out->len = raw;
    return true;
}

static bool load_key(sh_rec_reader* r, int64_t base, sh_error* err)
{
    if (r->key_id == base)
        return true;
    sqlite3_stmt* st = r->one;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, base);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 2) != SH_REC_CODEC_ZLIB)
    {
        sqlite3_reset(st);
        return sh_error_set(err, "damaged recording (key frame %lld missing)", (long long)base);
    }
    r->key_id = -1;
    bool ok = inflate_into(sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5),
                           (size_t)sqlite3_column_int64(st, 4), &r->key, err);
    sqlite3_reset(st);
    if (ok)
        r->key_id = base;
    return ok;
}

// The row at st (its columns: see `one`) decoded to SHF1 bytes in out. Uses r->one for a key frame, so
// st must be r->range or a row already copied.
static bool decode_row(sh_rec_reader* r, int codec, int64_t base, const void* data, size_t len, size_t raw,
                       sh_frame_buf* out, sh_error* err)
{
    if (codec == SH_REC_CODEC_RAW)
    {
        if (!buf_reserve(out, len > 0 ? len : 1))
            return sh_error_set(err, "out of memory");
        if (len)
            memcpy(out->data, data, len);
        out->len = len;
        return true;
    }
    if (codec == SH_REC_CODEC_ZLIB)
        return inflate_into(data, len, raw, out, err);
    if (codec != SH_REC_CODEC_ZLIB_XOR)
        return sh_error_set(err, "damaged frame (codec %d)", codec);
    if (!inflate_into(data, len, raw, out, err))
        return false;
    // The key frame read reuses the statement that holds `data`, which is already copied out.
    if (!load_key(r, base, err))
        return false;
    size_t n = out->len < r->key.len ? out->len : r->key.len;
    for (size_t i = 0; i < n; i++)
        out->data[i] ^= r->key.data[i];
    return true;
}

// Copies the row's blob before a key-frame read may reset the statement it came from.
static bool decode_current(sh_rec_reader* r, sqlite3_stmt* st, sh_frame_buf* out, sh_error* err)
{
    int codec = sqlite3_column_int(st, 2);
    int64_t base = sqlite3_column_int64(st, 3);
    size_t raw = (size_t)sqlite3_column_int64(st, 4);
    size_t len = (size_t)sqlite3_column_bytes(st, 5);
    const void* data = sqlite3_column_blob(st, 5);
    if (codec == SH_REC_CODEC_ZLIB_XOR && st == r->one)
    {
        if (len > r->z_cap)
        {
            uint8_t* z = sh_realloc(r->z, r->z_cap, len);
            if (z == NULL)
                return sh_error_set(err, "out of memory");
            r->z = z;
            r->z_cap = len;
        }
        if (len)
            memcpy(r->z, data, len);
        data = r->z;
    }
    return decode_row(r, codec, base, data, len, raw, out, err);
}

bool sh_rec_frame(sh_rec_reader* r, int64_t frame_id, sh_frame_buf* out, bool* found, sh_error* err)
{
    sqlite3_stmt* st = r->one;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, frame_id);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_DONE)
    {
        sqlite3_reset(st);
        return true;
    }
    if (rc != SQLITE_ROW)
    {
        sqlite3_reset(st);
        return sh_error_set(err, "cannot read frame %lld: %s", (long long)frame_id, sqlite3_errstr(rc));
    }
    bool ok = decode_current(r, st, out, err);
    sqlite3_reset(st);
    return ok;
}

bool sh_rec_frames(sh_rec_reader* r, int64_t start, int64_t count,
                   bool (*fn)(void* ud, const sh_rec_frame_row* row, const uint8_t* bytes, size_t len),
                   void* ud, sh_error* err)
{
    sqlite3_stmt* st = r->range;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, start);
    sqlite3_bind_int64(st, 2, count);
    sh_frame_buf frame = {0};
    int rc;
    bool ok = true;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
    {
        sh_rec_frame_row row;
        read_row(st, &row);
        ok = decode_current(r, st, &frame, err);
        if (ok && !fn(ud, &row, frame.data, frame.len))
            break;
    }
    if (ok && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ok = sh_error_set(err, "cannot read the frames: %s", sqlite3_errstr(rc));
    sqlite3_reset(st);
    sh_frame_buf_free(&frame);
    return ok;
}

bool sh_rec_inputs(sh_rec_reader* r, bool (*fn)(void* ud, int64_t after_frame, const char* json), void* ud,
                   sh_error* err)
{
    sqlite3_stmt* st = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT after_frame, message FROM inputs ORDER BY seq", -1, &st, NULL) !=
        SQLITE_OK)
        return sh_error_set(err, "cannot read the inputs: %s", sqlite3_errmsg(r->db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    {
        const unsigned char* t = sqlite3_column_text(st, 1);
        if (!fn(ud, sqlite3_column_int64(st, 0), t ? (const char*)t : ""))
        {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sh_error_set(err, "cannot read the inputs: %s", sqlite3_errstr(rc));
    return true;
}

// --- snapshots --------------------------------------------------------------------------------------

// A version 1 file has no snapshots table: that is "no snapshot", not an error.
static bool prepare_snapshots(sh_rec_reader* r, const char* sql, sqlite3_stmt** st, bool* none, sh_error* err)
{
    *none = false;
    if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) == SQLITE_OK)
        return true;
    const char* msg = sqlite3_errmsg(r->db);
    if (strncmp(msg, "no such table", 13) == 0)
        return *none = true, false;
    return sh_error_set(err, "cannot read the snapshots: %s", msg);
}

bool sh_rec_snapshot(sh_rec_reader* r, int64_t frame_id, sh_frame_buf* out, int64_t* at, sh_error* err)
{
    *at = -1;
    sqlite3_stmt* st = NULL;
    bool none;
    if (!prepare_snapshots(r,
                           "SELECT frame_id, codec, raw_bytes, data FROM snapshots WHERE frame_id <= ?"
                           " ORDER BY frame_id DESC LIMIT 1",
                           &st, &none, err))
        return none;
    sqlite3_bind_int64(st, 1, frame_id);
    int rc = sqlite3_step(st);
    bool ok = true;
    if (rc == SQLITE_ROW)
    {
        int64_t raw = sqlite3_column_int64(st, 2);
        const void* data = sqlite3_column_blob(st, 3);
        size_t len = (size_t)sqlite3_column_bytes(st, 3);
        if (sqlite3_column_int(st, 1) != SH_REC_CODEC_ZLIB || raw <= 0 || data == NULL)
            ok = sh_error_set(err, "damaged snapshot at frame %lld", (long long)sqlite3_column_int64(st, 0));
        else if ((ok = inflate_into(data, len, (size_t)raw, out, err)))
            *at = sqlite3_column_int64(st, 0);
    }
    else if (rc != SQLITE_DONE)
        ok = sh_error_set(err, "cannot read the snapshots: %s", sqlite3_errstr(rc));
    sqlite3_finalize(st);
    return ok;
}

bool sh_rec_snapshot_frames(sh_rec_reader* r, bool (*fn)(void* ud, int64_t frame_id), void* ud, sh_error* err)
{
    sqlite3_stmt* st = NULL;
    bool none;
    if (!prepare_snapshots(r, "SELECT frame_id FROM snapshots ORDER BY frame_id", &st, &none, err))
        return none;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!fn(ud, sqlite3_column_int64(st, 0)))
        {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sh_error_set(err, "cannot read the snapshots: %s", sqlite3_errstr(rc));
    return true;
}

void sh_rec_body_energy(const sh_rec_body* b, const sh_frame_body* s, double g, double* linear_ke,
                        double* rotational_ke, double* potential_e)
{
    if (b->environment)
    {
        *linear_ke = *rotational_ke = *potential_e = 0;
        return;
    }
    const float* q = s->orientation; // x, y, z, w
    // R from the unit quaternion, row-major.
    double x = q[0], y = q[1], z = q[2], w = q[3];
    double R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - z * w),     2 * (x * z + y * w),
                   2 * (x * y + z * w),     1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                   2 * (x * z - y * w),     2 * (y * z + x * w),     1 - 2 * (x * x + y * y)};
    double com_z = s->position[2];
    for (int k = 0; k < 3; k++)
        com_z += R[6 + k] * b->local_center[k];
    // ω in the body frame: Rᵀ ω; then ½ ωbᵀ I ωb.
    double wb[3];
    for (int i = 0; i < 3; i++)
        wb[i] = R[i] * s->angular_velocity[0] + R[3 + i] * s->angular_velocity[1] +
                R[6 + i] * s->angular_velocity[2];
    double rot = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            rot += wb[i] * b->inertia[3 * i + j] * wb[j];
    double v2 = 0;
    for (int k = 0; k < 3; k++)
        v2 += (double)s->velocity[k] * s->velocity[k];
    *linear_ke = 0.5 * b->mass * v2;
    *rotational_ke = 0.5 * rot;
    *potential_e = b->mass * g * com_z;
}
