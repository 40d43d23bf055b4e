// The recording writer (docs/recordings.md): the session thread encodes each frame and hands it to a
// writer thread through a bounded queue; the writer owns the SQLite connection, compresses, and commits
// whatever is queued as one transaction, so a host killed mid-run leaves a file that opens and replays up
// to its last commit (WAL). A session never waits on the disk: a full queue or a failed write ends the
// recording (reason stored and logged), never the run.
#include "rec_internal.h"

#include "simhost/world_snapshot.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

// A key frame every 32 frames: a delta frame is XORed with its key frame and deflated, so a body that
// did not move costs ~0 bytes, and reading any frame inflates at most two (docs/recordings.md).
#define KEY_EVERY 32

typedef enum rec_kind
{
    JOB_FRAME,
    JOB_INPUT,
    JOB_SNAPSHOT, // a world snapshot (simhost/world_snapshot.h) taken at frame_id
} rec_kind;

typedef struct rec_job
{
    struct rec_job* next;
    rec_kind kind;
    uint32_t frame_id;
    double time;
    double energy[3];
    size_t len;
    uint8_t data[];
} rec_job;

struct sh_recorder
{
    // Set at start, read-only after.
    char *path, *id, *source, *scenario, *params, *configure, *metadata, *retention_dir;
    double timestep, gravity[3];
    int substeps, snapshot_every;
    size_t retention_bytes;
    int queue_frames;
    size_t queue_bytes;
    bool wait_when_full;
    sh_rec_body* bodies;
    int body_count;

    // Session thread only.
    sh_frame_buf enc;

    // Guarded by lock.
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_cond_t space; // wait_when_full: the writer took the queue
    rec_job *head, *tail;
    int queued;
    size_t queued_bytes;
    bool closing, close_complete;
    char close_reason[256];
    sh_rec_state state;
    char reason[256];
    uint64_t frames_queued, frames_written;

    pthread_t thread;

    // Writer thread only.
    sqlite3* db;
    sqlite3_stmt *put_frame, *put_input, *put_snapshot;
    uint8_t* key;
    size_t key_len, key_cap;
    int64_t key_id;
    int since_key;
    uint8_t *work, *zout;
    size_t work_cap, zout_cap;
    z_stream z;
    bool z_ready;
    z_stream zs; // snapshots' stream, made at the first snapshot
    bool zs_ready;
};

static char* dup_or_null(const char* s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char* d = sh_alloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static void free_str(char* s)
{
    if (s != NULL)
        sh_free(s, strlen(s) + 1);
}

// Any thread, lock held: the first failure wins and is logged once.
static void fail_locked(sh_recorder* r, const char* reason)
{
    if (r->state != SH_REC_RECORDING)
        return;
    r->state = SH_REC_FAILED;
    pthread_cond_broadcast(&r->space);
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    fprintf(stderr, "simhost: recording %s failed: %s\n", r->id, reason);
}

static void fail(sh_recorder* r, const char* reason)
{
    pthread_mutex_lock(&r->lock);
    fail_locked(r, reason);
    pthread_mutex_unlock(&r->lock);
}

// --- writer thread ---------------------------------------------------------------------------------

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "BEGIN;"
    "CREATE TABLE run(id TEXT NOT NULL, created TEXT NOT NULL, host TEXT, source TEXT NOT NULL,"
    " scenario TEXT, params TEXT, configure TEXT, timestep REAL NOT NULL, substeps INTEGER,"
    " gravity_x REAL, gravity_y REAL, gravity_z REAL, simhost_version TEXT NOT NULL,"
    " complete INTEGER NOT NULL, finished INTEGER NOT NULL, reason TEXT, metadata TEXT, assets TEXT);"
    "CREATE TABLE bodies(body_index INTEGER PRIMARY KEY, body_id INTEGER NOT NULL, asset_id INTEGER,"
    " asset_name TEXT, mass REAL, restitution REAL, friction REAL, is_environment INTEGER,"
    " center_x REAL, center_y REAL, center_z REAL, inertia BLOB);"
    "CREATE TABLE frames(frame_id INTEGER PRIMARY KEY, simulation_time REAL NOT NULL,"
    " codec INTEGER NOT NULL, base INTEGER, raw_bytes INTEGER NOT NULL, data BLOB NOT NULL,"
    " linear_ke REAL, rotational_ke REAL, potential_e REAL);"
    // The frame list, the energy series and COUNT(*) read this small index instead of walking the rows,
    // whose blobs put about one row per page (a 10 000-frame, 1000-body file: 10 000 pages per count).
    "CREATE INDEX frames_rows ON frames(frame_id, simulation_time, linear_ke, rotational_ke, potential_e);"
    "CREATE TABLE inputs(seq INTEGER PRIMARY KEY, after_frame INTEGER NOT NULL, message TEXT NOT NULL);"
    "CREATE TABLE snapshots(frame_id INTEGER PRIMARY KEY, codec INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,"
    " data BLOB NOT NULL);";

static bool sql_ok(sh_recorder* r, int rc, const char* what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return true;
    char line[256];
    snprintf(line, sizeof line, "%s: %s", what, r->db != NULL ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
    fail(r, line);
    return false;
}

static void bind_text(sqlite3_stmt* st, int i, const char* s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

// The "assets" array of w:metadata_json(), which l_world.c writes last: `,"assets":[...]}`. An asset name
// holding that text would be escaped (\"), so the first match is the key.
static const char* assets_of(const char* metadata, size_t* len)
{
    const char* a = metadata ? strstr(metadata, ",\"assets\":") : NULL;
    if (a == NULL)
    {
        *len = 2;
        return "[]";
    }
    a += 10;
    size_t n = strlen(a);
    *len = n > 0 && a[n - 1] == '}' ? n - 1 : n;
    return a;
}

static bool write_run(sh_recorder* r)
{
    sqlite3_stmt* st = NULL;
    const char* sql =
        "INSERT INTO run VALUES(?,strftime('%Y-%m-%dT%H:%M:%fZ','now'),?,?,?,?,?,?,?,?,?,?,?,0,0,"
        "'the host stopped before the run ended',?,?)";
    if (!sql_ok(r, sqlite3_prepare_v2(r->db, sql, -1, &st, NULL), "cannot write the run"))
        return false;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    size_t alen;
    const char* assets = assets_of(r->metadata, &alen);
    bind_text(st, 1, r->id);
    bind_text(st, 2, host);
    bind_text(st, 3, r->source);
    bind_text(st, 4, r->scenario);
    bind_text(st, 5, r->params);
    bind_text(st, 6, r->configure);
    sqlite3_bind_double(st, 7, r->timestep);
    sqlite3_bind_int(st, 8, r->substeps);
    for (int k = 0; k < 3; k++)
        sqlite3_bind_double(st, 9 + k, r->gravity[k]);
    bind_text(st, 12, SH_VERSION);
    bind_text(st, 13, r->metadata);
    sqlite3_bind_text(st, 14, assets, (int)alen, SQLITE_STATIC);
    bool ok = sql_ok(r, sqlite3_step(st), "cannot write the run");
    sqlite3_finalize(st);
    return ok;
}

static bool write_bodies(sh_recorder* r)
{
    sqlite3_stmt* st = NULL;
    if (!sql_ok(
            r, sqlite3_prepare_v2(r->db, "INSERT INTO bodies VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL),
            "cannot write the bodies"))
        return false;
    bool ok = true;
    for (int i = 0; i < r->body_count && ok; i++)
    {
        const sh_rec_body* b = &r->bodies[i];
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_int64(st, 2, b->body_id);
        sqlite3_bind_int(st, 3, b->asset_id);
        bind_text(st, 4, b->asset_name);
        sqlite3_bind_double(st, 5, b->mass);
        sqlite3_bind_double(st, 6, b->restitution);
        sqlite3_bind_double(st, 7, b->friction);
        sqlite3_bind_int(st, 8, b->environment);
        for (int k = 0; k < 3; k++)
            sqlite3_bind_double(st, 9 + k, b->local_center[k]);
        sqlite3_bind_blob(st, 12, b->inertia, sizeof b->inertia, SQLITE_STATIC);
        ok = sql_ok(r, sqlite3_step(st), "cannot write the bodies");
    }
    sqlite3_finalize(st);
    return ok;
}

// The file is built as PATH.part and renamed to PATH once its schema, run row and bodies are committed:
// a host killed in between (the soak found 2 such 0-byte files in 88 recordings over 2 SIGKILLs) leaves a
// .part nothing lists, never a PATH that lists as unreadable. Closing checkpoints the WAL into the file,
// so nothing is left behind under the temporary name; WAL mode is kept in the file, synchronous is not.
static bool move_into_place(sh_recorder* r, const char* part)
{
    sqlite3_close(r->db);
    r->db = NULL;
    char line[256];
    if (rename(part, r->path) != 0)
    {
        snprintf(line, sizeof line, "cannot rename %s.part into place: %s", r->path, strerror(errno));
        fail(r, line);
        return false;
    }
    int rc = sqlite3_open_v2(r->path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(r->db, "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    return sql_ok(r, rc, "cannot reopen the recording");
}

// A file whose schema never committed (disk full ...) is of no use to anyone: removed with its WAL.
static bool drop_part(sh_recorder* r, const char* part)
{
    sqlite3_close(r->db);
    r->db = NULL;
    sh_rec_unlink_with_sidecars(part);
    return false;
}

static bool open_file(sh_recorder* r)
{
    if (access(r->path, F_OK) == 0)
    {
        fail(r, "the recording file already exists");
        return false;
    }
    char part[4096];
    snprintf(part, sizeof part, "%s.part", r->path);
    int rc =
        sqlite3_open_v2(part, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
    {
        char line[256];
        snprintf(line, sizeof line, "cannot create %s: %s", r->path, sqlite3_errstr(rc));
        sqlite3_close(r->db);
        r->db = NULL;
        fail(r, line);
        return false;
    }
    char* msg = NULL;
    if (sqlite3_exec(r->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK)
    {
        char line[256];
        snprintf(line, sizeof line, "cannot write the schema: %s", msg ? msg : "?");
        sqlite3_free(msg);
        fail(r, line);
        return drop_part(r, part);
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d;", SH_REC_SCHEMA_VERSION);
    if (!sql_ok(r, sqlite3_exec(r->db, pragma, NULL, NULL, NULL), "cannot write the schema") ||
        !write_run(r) || !write_bodies(r) ||
        !sql_ok(r, sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL), "cannot commit"))
        return drop_part(r, part);
    if (!move_into_place(r, part))
        return false;
    return sql_ok(r,
                  sqlite3_prepare_v2(r->db, "INSERT INTO frames VALUES(?,?,?,?,?,?,?,?,?)", -1, &r->put_frame,
                                     NULL),
                  "cannot prepare") &&
           sql_ok(r,
                  sqlite3_prepare_v2(r->db, "INSERT INTO inputs(after_frame, message) VALUES(?,?)", -1,
                                     &r->put_input, NULL),
                  "cannot prepare") &&
           sql_ok(
               r,
               sqlite3_prepare_v2(r->db, "INSERT INTO snapshots VALUES(?,?,?,?)", -1, &r->put_snapshot, NULL),
               "cannot prepare");
}

static bool grow(uint8_t** p, size_t* cap, size_t need)
{
    if (*cap >= need)
        return true;
    size_t n = need + need / 2;
    uint8_t* q = sh_realloc(*p, *cap, n);
    if (q == NULL)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static bool write_frame(sh_recorder* r, const rec_job* j)
{
    bool keyframe = r->key_len == 0 || r->since_key >= KEY_EVERY;
    const uint8_t* src = j->data;
    if (!keyframe)
    {
        if (!grow(&r->work, &r->work_cap, j->len))
            return fail(r, "out of memory"), false;
        size_t n = j->len < r->key_len ? j->len : r->key_len;
        for (size_t i = 0; i < n; i++)
            r->work[i] = j->data[i] ^ r->key[i];
        memcpy(r->work + n, j->data + n, j->len - n);
        src = r->work;
    }
    uLong bound = deflateBound(&r->z, (uLong)j->len);
    if (!grow(&r->zout, &r->zout_cap, bound))
        return fail(r, "out of memory"), false;
    // One stream reused (deflateInit allocates ~256 KiB). Z_RLE: the XOR left zeros where nothing moved,
    // and the float bytes that did move have no repeats to find; measured on a busy 1000-body frame it
    // halves the CPU of level-1 LZ77 for 26.6 instead of 22.5 bytes per body.
    deflateReset(&r->z);
    r->z.next_in = (Bytef*)src;
    r->z.avail_in = (uInt)j->len;
    r->z.next_out = r->zout;
    r->z.avail_out = (uInt)bound;
    if (deflate(&r->z, Z_FINISH) != Z_STREAM_END)
        return fail(r, "cannot compress a frame"), false;
    uLong zlen = r->z.total_out;
    sqlite3_stmt* st = r->put_frame;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, j->frame_id);
    sqlite3_bind_double(st, 2, j->time);
    sqlite3_bind_int(st, 3, keyframe ? SH_REC_CODEC_ZLIB : SH_REC_CODEC_ZLIB_XOR);
    if (keyframe)
        sqlite3_bind_null(st, 4);
    else
        sqlite3_bind_int64(st, 4, r->key_id);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)j->len);
    sqlite3_bind_blob(st, 6, r->zout, (int)zlen, SQLITE_STATIC);
    for (int k = 0; k < 3; k++)
        sqlite3_bind_double(st, 7 + k, j->energy[k]);
    if (!sql_ok(r, sqlite3_step(st), "cannot write a frame"))
        return false;
    if (keyframe)
    {
        if (!grow(&r->key, &r->key_cap, j->len))
            return fail(r, "out of memory"), false;
        memcpy(r->key, j->data, j->len);
        r->key_len = j->len;
        r->key_id = j->frame_id;
        r->since_key = 0;
    }
    r->since_key++;
    return true;
}

static bool write_input(sh_recorder* r, const rec_job* j)
{
    sqlite3_stmt* st = r->put_input;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, j->frame_id);
    sqlite3_bind_text(st, 2, (const char*)j->data, (int)j->len, SQLITE_STATIC);
    return sql_ok(r, sqlite3_step(st), "cannot write an input");
}

// A snapshot row: zlib (level 1) of the blob. Its own stream, not the frames' Z_RLE one: the blob's
// floats, ints and hull arrays are not XOR deltas. Kept for the run like the frames' (deflateInit allocates
// and clears ~256 KiB, which under ASan made the writer fall behind a fast run).
static bool write_snapshot(sh_recorder* r, const rec_job* j)
{
    if (!r->zs_ready && deflateInit2(&r->zs, 1, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return fail(r, "cannot start the compressor"), false;
    r->zs_ready = true;
    uLong bound = deflateBound(&r->zs, (uLong)j->len);
    if (!grow(&r->zout, &r->zout_cap, bound))
        return fail(r, "out of memory"), false;
    deflateReset(&r->zs);
    r->zs.next_in = (Bytef*)j->data;
    r->zs.avail_in = (uInt)j->len;
    r->zs.next_out = r->zout;
    r->zs.avail_out = (uInt)bound;
    if (deflate(&r->zs, Z_FINISH) != Z_STREAM_END)
        return fail(r, "cannot compress a snapshot"), false;
    uLong zlen = r->zs.total_out;
    sqlite3_stmt* st = r->put_snapshot;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, j->frame_id);
    sqlite3_bind_int(st, 2, SH_REC_CODEC_ZLIB);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)j->len);
    sqlite3_bind_blob(st, 4, r->zout, (int)zlen, SQLITE_STATIC);
    return sql_ok(r, sqlite3_step(st), "cannot write a snapshot");
}

// One transaction for everything that was queued: a commit per batch, never per frame.
static void write_batch(sh_recorder* r, rec_job* list)
{
    bool ok = r->db != NULL && sql_ok(r, sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL), "cannot begin");
    uint64_t frames = 0;
    for (rec_job* j = list; j != NULL && ok; j = j->next)
    {
        ok = j->kind == JOB_INPUT      ? write_input(r, j)
             : j->kind == JOB_SNAPSHOT ? write_snapshot(r, j)
                                       : write_frame(r, j);
        frames += j->kind == JOB_FRAME;
    }
    if (ok)
        ok = sql_ok(r, sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL), "cannot commit");
    else if (r->db != NULL)
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    if (ok)
    {
        pthread_mutex_lock(&r->lock);
        r->frames_written += frames;
        pthread_mutex_unlock(&r->lock);
    }
}

static void free_jobs(rec_job* j)
{
    while (j != NULL)
    {
        rec_job* next = j->next;
        sh_free(j, sizeof *j + j->len);
        j = next;
    }
}

static void finalize(sh_recorder* r)
{
    if (r->db == NULL)
        return;
    sqlite3_finalize(r->put_frame);
    sqlite3_finalize(r->put_input);
    sqlite3_finalize(r->put_snapshot);
    r->put_frame = r->put_input = r->put_snapshot = NULL;
    pthread_mutex_lock(&r->lock);
    bool failed = r->state == SH_REC_FAILED;
    bool complete = !failed && r->close_complete;
    char reason[256];
    snprintf(reason, sizeof reason, "%s", failed ? r->reason : r->close_reason);
    pthread_mutex_unlock(&r->lock);
    sqlite3_stmt* st = NULL;
    if (sqlite3_prepare_v2(r->db, "UPDATE run SET complete=?, finished=1, reason=?", -1, &st, NULL) ==
        SQLITE_OK)
    {
        sqlite3_bind_int(st, 1, complete);
        if (complete)
            sqlite3_bind_null(st, 2);
        else
            sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "simhost: recording %s: cannot mark it finished: %s\n", r->id,
                    sqlite3_errmsg(r->db));
    }
    sqlite3_finalize(st);
    sqlite3_close(r->db);
    r->db = NULL;
}

static void* writer_main(void* arg)
{
    sh_recorder* r = arg;
    r->z_ready = deflateInit2(&r->z, 1, Z_DEFLATED, 15, 8, Z_RLE) == Z_OK;
    bool opened = r->z_ready ? open_file(r) : (fail(r, "cannot start the compressor"), false);
    pthread_mutex_lock(&r->lock);
    for (;;)
    {
        while (r->head == NULL && !r->closing)
            pthread_cond_wait(&r->cond, &r->lock);
        rec_job* list = r->head;
        r->head = r->tail = NULL;
        r->queued = 0;
        r->queued_bytes = 0;
        pthread_cond_broadcast(&r->space);
        bool closing = r->closing;
        pthread_mutex_unlock(&r->lock);
        if (list != NULL && opened && r->db != NULL)
            write_batch(r, list);
        free_jobs(list);
        pthread_mutex_lock(&r->lock);
        if (closing && r->head == NULL)
            break;
    }
    pthread_mutex_unlock(&r->lock);
    finalize(r);
    if (r->z_ready)
        deflateEnd(&r->z);
    if (r->zs_ready)
        deflateEnd(&r->zs);
    if (r->retention_dir != NULL && r->retention_bytes > 0)
        sh_rec_retain(r->retention_dir, r->retention_bytes, r->id);
    return NULL;
}

// --- session side ----------------------------------------------------------------------------------

static bool take_bodies(sh_recorder* r, const sh_world* w, const sh_rec_config* cfg)
{
    int n = sh_world_body_count(w);
    r->bodies = n > 0 ? sh_alloc_zeroed((size_t)n * sizeof *r->bodies) : NULL;
    if (n > 0 && r->bodies == NULL)
        return false;
    r->body_count = n;
    for (int i = 0; i < n; i++)
    {
        sh_body_id id = sh_world_body_at(w, i);
        sh_body_state s;
        sh_body_get_state(w, id, &s);
        sh_rec_body* b = &r->bodies[i];
        b->body_id = sh_body_id_to_int(id);
        const char* name = NULL;
        b->asset_id = cfg->body_asset ? cfg->body_asset(cfg->body_asset_ud, b->body_id, &name) : 0;
        snprintf(b->asset_name, sizeof b->asset_name, "%s", name ? name : "");
        b->mass = s.mass;
        b->restitution = s.restitution;
        b->friction = s.friction;
        b->environment = s.is_static;
        sh_body_get_inertia(w, id, b->local_center, b->inertia);
    }
    return true;
}

static void destroy(sh_recorder* r)
{
    char** strs[] = {&r->path,   &r->id,        &r->source,   &r->scenario,
                     &r->params, &r->configure, &r->metadata, &r->retention_dir};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free_str(*strs[i]);
    if (r->bodies != NULL)
        sh_free(r->bodies, (size_t)r->body_count * sizeof *r->bodies);
    sh_frame_buf_free(&r->enc);
    sh_free(r->key, r->key_cap);
    sh_free(r->work, r->work_cap);
    sh_free(r->zout, r->zout_cap);
    pthread_cond_destroy(&r->cond);
    pthread_cond_destroy(&r->space);
    pthread_mutex_destroy(&r->lock);
    sh_free(r, sizeof *r);
}

bool sh_recorder_start(const sh_rec_config* cfg, const sh_world* world, sh_recorder** out, sh_error* err)
{
    sh_recorder* r = sh_alloc_zeroed(sizeof *r);
    if (r == NULL)
        return sh_error_set(err, "out of memory");
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    pthread_cond_init(&r->space, NULL);
    r->wait_when_full = cfg->wait_when_full;
    r->path = dup_or_null(cfg->path);
    r->id = dup_or_null(cfg->id);
    r->source = dup_or_null(cfg->source ? cfg->source : "run");
    r->scenario = dup_or_null(cfg->scenario);
    r->params = dup_or_null(cfg->params_json);
    r->configure = dup_or_null(cfg->configure_json);
    r->metadata = dup_or_null(cfg->metadata_json);
    r->retention_dir = dup_or_null(cfg->retention_dir);
    r->retention_bytes = cfg->retention_bytes;
    r->timestep = cfg->timestep;
    // 3600 frames (a minute at 60 Hz): the bytes bound below is what protects memory; the frame bound only
    // says how long a disk may stall. 256 (4.3 s) ended a 313-frame spec recording whose writer sat behind
    // a loaded machine's fsyncs (load average 15), so a stall no longer than a minute now costs nothing.
    r->queue_frames = cfg->queue_frames > 0 ? cfg->queue_frames : 3600;
    r->queue_bytes = cfg->queue_bytes > 0 ? cfg->queue_bytes : (size_t)64 << 20;
    vec3 g;
    sh_world_get_gravity(world, g);
    for (int k = 0; k < 3; k++)
        r->gravity[k] = g[k];
    r->substeps = cfg->substeps;
    r->snapshot_every = cfg->snapshot_every > 0 ? cfg->snapshot_every : 0;
    if (r->path == NULL || r->id == NULL || r->source == NULL || !take_bodies(r, world, cfg))
    {
        destroy(r);
        return sh_error_set(err, "out of memory");
    }
    int rc = pthread_create(&r->thread, NULL, writer_main, r);
    if (rc != 0)
    {
        destroy(r);
        return sh_error_set(err, "cannot start the recording's writer thread: %s", strerror(rc));
    }
    *out = r;
    return true;
}

// Frames and snapshots count against the queue's bounds (a snapshot by its bytes only); inputs are small and
// never dropped.
static bool enqueue(sh_recorder* r, rec_job* j)
{
    pthread_mutex_lock(&r->lock);
    bool ok = r->state == SH_REC_RECORDING && !r->closing;
    const bool bounded = j->kind != JOB_INPUT, frame = j->kind == JOB_FRAME;
    while (ok && r->wait_when_full && bounded &&
           (r->queued >= r->queue_frames || r->queued_bytes + j->len > r->queue_bytes))
    {
        pthread_cond_wait(&r->space, &r->lock);
        ok = r->state == SH_REC_RECORDING && !r->closing;
    }
    if (ok && bounded && (r->queued >= r->queue_frames || r->queued_bytes + j->len > r->queue_bytes))
    {
        char line[128];
        snprintf(line, sizeof line, "the disk fell behind: %d frames (%zu bytes) were waiting to be written",
                 r->queued, r->queued_bytes);
        fail_locked(r, line);
        ok = false;
    }
    if (ok)
    {
        j->next = NULL;
        if (r->tail == NULL)
            r->head = j;
        else
            r->tail->next = j;
        r->tail = j;
        r->queued += frame;
        r->queued_bytes += j->len;
        r->frames_queued += frame;
        pthread_cond_signal(&r->cond);
    }
    pthread_mutex_unlock(&r->lock);
    if (!ok)
        sh_free(j, sizeof *j + j->len);
    return ok;
}

// Every snapshot_every frames (not frame 0: a resume rebuilds that from the run's description) the whole
// world state, so a resume re-simulates at most K - 1 frames (docs/recordings.md "Resume").
static bool queue_snapshot(sh_recorder* r, const sh_world* world, uint32_t frame_id)
{
    void* blob = NULL;
    size_t bytes = 0;
    sh_error err;
    if (!sh_world_snapshot(world, &blob, &bytes, &err))
    {
        fail(r, err.message);
        return false;
    }
    rec_job* j = sh_alloc(sizeof *j + bytes);
    if (j == NULL)
    {
        sh_free(blob, bytes);
        fail(r, "out of memory");
        return false;
    }
    memset(j, 0, sizeof *j);
    j->kind = JOB_SNAPSHOT;
    j->frame_id = frame_id;
    j->len = bytes;
    memcpy(j->data, blob, bytes);
    sh_free(blob, bytes);
    return enqueue(r, j);
}

bool sh_recorder_frame(sh_recorder* r, const sh_world* world, uint32_t frame_id, double simulation_time)
{
    pthread_mutex_lock(&r->lock);
    bool live = r->state == SH_REC_RECORDING;
    pthread_mutex_unlock(&r->lock);
    if (!live)
        return false;
    sh_frame_opts opts = sh_frame_opts_default();
    sh_error err;
    if (!sh_frame_encode(world, frame_id, simulation_time, &opts, &r->enc, &err))
    {
        fail(r, err.message);
        return false;
    }
    rec_job* j = sh_alloc(sizeof *j + r->enc.len);
    if (j == NULL)
    {
        fail(r, "out of memory");
        return false;
    }
    memset(j, 0, sizeof *j);
    j->frame_id = frame_id;
    j->time = simulation_time;
    j->len = r->enc.len;
    memcpy(j->data, r->enc.data, r->enc.len);
    sh_energy_parts e;
    sh_world_energy_parts(world, &e);
    j->energy[0] = e.linear;
    j->energy[1] = e.rotational;
    j->energy[2] = e.potential;
    if (!enqueue(r, j))
        return false;
    return r->snapshot_every == 0 || frame_id == 0 || frame_id % (uint32_t)r->snapshot_every != 0 ||
           queue_snapshot(r, world, frame_id);
}

bool sh_recorder_input(sh_recorder* r, uint32_t after_frame, const char* json, size_t len)
{
    rec_job* j = sh_alloc(sizeof *j + len);
    if (j == NULL)
    {
        fail(r, "out of memory");
        return false;
    }
    memset(j, 0, sizeof *j);
    j->kind = JOB_INPUT;
    j->frame_id = after_frame;
    j->len = len;
    memcpy(j->data, json, len);
    return enqueue(r, j);
}

void sh_recorder_status(sh_recorder* r, sh_rec_status* out)
{
    pthread_mutex_lock(&r->lock);
    out->state = r->state;
    snprintf(out->reason, sizeof out->reason, "%s", r->reason);
    out->frames_queued = r->frames_queued;
    out->frames_written = r->frames_written;
    pthread_mutex_unlock(&r->lock);
}

void sh_recorder_finish(sh_recorder* r, bool complete, const char* reason, sh_rec_status* out)
{
    pthread_mutex_lock(&r->lock);
    r->closing = true;
    r->close_complete = complete;
    snprintf(r->close_reason, sizeof r->close_reason, "%s",
             reason ? reason : (complete ? "" : "not finished"));
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    if (out != NULL)
    {
        sh_recorder_status(r, out);
        if (out->state == SH_REC_RECORDING)
            out->state = SH_REC_FINISHED;
    }
    destroy(r);
}
