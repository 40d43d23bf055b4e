#pragma once
// Recordings (docs/recordings.md): one SQLite file per run holding the run's description, its bodies and
// render geometry, and one SHF1 frame (docs/frames.md) per row with the frame's energies. The writer
// (core/rec/recorder.c) runs on its own thread behind a bounded queue so a session never waits on the
// disk; the reader (core/rec/recording_read.c) serves the replay routes, the CLI and Lua.

#include "simhost/base.h"
#include "simhost/frame.h"
#include "simhost/physics.h"

// PRAGMA user_version of the files this build writes; it reads these and version 1 (no snapshots table).
#define SH_REC_SCHEMA_VERSION 2
// File name ending of a recording in the recordings directory; the id is the name without it.
#define SH_REC_SUFFIX ".db"
#define SH_REC_ID_MAX 128

// An id names a file of the recordings directory: letters, digits, '_', '-', '.', not starting with '.'.
bool sh_rec_id_valid(const char* id);

// ---------------------------------------------------------------------------------------------------
// Writing

typedef struct sh_rec_config
{
    const char* path;           // the file to create (must not exist)
    const char* id;             // the recording id (the file name without SH_REC_SUFFIX)
    const char* source;         // "live" or "run"
    const char* scenario;       // NULL: none
    const char* params_json;    // NULL: none
    const char* configure_json; // the configure message (live), NULL for run
    const char* metadata_json;  // w:metadata_json(): {"bodies":[...],"assets":[...]}
    double timestep;            // s per frame
    int substeps;               // the world's sub-steps per step
    int queue_frames;           // frames queued for the writer before the recording fails (default 3600)
    size_t queue_bytes;         // ... or bytes of them (default 64 MiB)
    bool wait_when_full;        // headless runs: wait for the writer instead of failing the recording
    int snapshot_every;         // a world snapshot every this many frames (frame K, 2K, ...; 0: none)
    // The asset a body was made from, stored with the bodies (NULL: none). Physics does not know assets:
    // the caller that spawned the body does (the Lua world). Returns its id and sets *name.
    int (*body_asset)(void* ud, int64_t body_id, const char** name);
    void* body_asset_ud;
    const char* retention_dir; // after closing, trim this directory ... (NULL: no retention)
    size_t retention_bytes;    // ... to this many bytes of finished recordings (0: no cap)
} sh_rec_config;

typedef struct sh_recorder sh_recorder;

typedef enum sh_rec_state
{
    SH_REC_RECORDING = 0,
    SH_REC_FAILED,   // the writer stopped: reason says why; the run goes on unrecorded
    SH_REC_FINISHED, // closed (complete or not)
} sh_rec_state;

typedef struct sh_rec_status
{
    sh_rec_state state;
    char reason[256]; // FAILED: why
    uint64_t frames_queued, frames_written;
} sh_rec_status;

// Starts the writer thread; the file is created and its schema written there (a session never waits on
// the disk). The bodies and inertias are taken from the world now. false only when out of memory or the
// thread cannot start: an unwritable directory is reported later as a FAILED status.
bool sh_recorder_start(const sh_rec_config* cfg, const sh_world* world, sh_recorder** out, sh_error* err);
// Encodes the world's state as frame frame_id with its energies and queues it. Never blocks on the disk:
// when the queue is full the recording fails (reason stored and logged) and this returns false.
bool sh_recorder_frame(sh_recorder* r, const sh_world* world, uint32_t frame_id, double simulation_time);
// A message that changed the world between frame after_frame and the next (apply_impulse ...), kept so a
// resume re-simulates the run exactly.
bool sh_recorder_input(sh_recorder* r, uint32_t after_frame, const char* json, size_t len);
void sh_recorder_status(sh_recorder* r, sh_rec_status* out);
// Ends the recording (complete, or with the reason it is not), waits for the writer to write what is
// queued, frees r, and gives the final status (out may be NULL): FINISHED, or FAILED with why.
void sh_recorder_finish(sh_recorder* r, bool complete, const char* reason, sh_rec_status* out);

// ---------------------------------------------------------------------------------------------------
// Reading

typedef struct sh_rec_run
{
    char id[SH_REC_ID_MAX + 1];
    char created[32]; // UTC, ISO 8601
    char host[64], source[8], version[16];
    char scenario[64];
    char reason[256];
    bool complete, finished; // finished: the writer closed the file (else it was being written or cut)
    int substeps;
    double timestep, gravity[3];
    int64_t frame_count, first_frame, last_frame;
    int body_count;
    int64_t file_bytes;
} sh_rec_run;

typedef struct sh_rec_body
{
    int64_t body_id;
    int asset_id;
    char asset_name[64];
    float mass, restitution, friction;
    bool environment;
    float local_center[3]; // centre of mass in the asset frame
    float inertia[9];      // about the centre of mass, body frame (kg·m²), row-major
} sh_rec_body;

typedef struct sh_rec_frame_row
{
    int64_t frame_id;
    double simulation_time;
    double linear_ke, rotational_ke, potential_e;
} sh_rec_frame_row;

typedef struct sh_rec_reader sh_rec_reader;

// Opens read-only and checks it is a recording of this schema (else one line in err: "not a simhost
// recording", "schema version 7, this build reads 1", SQLite's own message ...).
bool sh_rec_open(const char* path, sh_rec_reader** out, sh_error* err);
void sh_rec_close(sh_rec_reader* r);
const sh_rec_run* sh_rec_run_info(const sh_rec_reader* r);
int sh_rec_body_count(const sh_rec_reader* r);
const sh_rec_body* sh_rec_body_at(const sh_rec_reader* r, int i);
const sh_rec_body* sh_rec_body_find(const sh_rec_reader* r, int64_t body_id);
// Text columns of the run row (NUL-terminated, owned by the reader; "" when absent): "metadata",
// "assets" (the render geometry array), "params", "configure", "scenario".
const char* sh_rec_text(const sh_rec_reader* r, const char* what);

// Every frame row in frame order (no SHF1 decoding): fn returns false to stop.
bool sh_rec_rows(sh_rec_reader* r, bool (*fn)(void* ud, const sh_rec_frame_row* row), void* ud,
                 sh_error* err);
// The SHF1 bytes of one frame into out. *found false (and true returned) when there is no such frame.
bool sh_rec_frame(sh_rec_reader* r, int64_t frame_id, sh_frame_buf* out, bool* found, sh_error* err);
// Frames with id >= start, at most count, in order: fn gets each one's row and SHF1 bytes.
bool sh_rec_frames(sh_rec_reader* r, int64_t start, int64_t count,
                   bool (*fn)(void* ud, const sh_rec_frame_row* row, const uint8_t* bytes, size_t len),
                   void* ud, sh_error* err);
// The latest world snapshot at or before frame_id (simhost/world_snapshot.h) into out, its frame in *at;
// *at = -1 (and true returned) when there is none (none taken yet, or a version 1 file).
bool sh_rec_snapshot(sh_rec_reader* r, int64_t frame_id, sh_frame_buf* out, int64_t* at, sh_error* err);
// The frames holding a snapshot, in order: fn returns false to stop.
bool sh_rec_snapshot_frames(sh_rec_reader* r, bool (*fn)(void* ud, int64_t frame_id), void* ud,
                            sh_error* err);
// The messages that changed the world during the run, in order: after_frame and the JSON text.
bool sh_rec_inputs(sh_rec_reader* r, bool (*fn)(void* ud, int64_t after_frame, const char* json), void* ud,
                   sh_error* err);

// One body's energies from a decoded frame (the body's row from the reader), with |g| from the run.
void sh_rec_body_energy(const sh_rec_body* b, const sh_frame_body* s, double g, double* linear_ke,
                        double* rotational_ke, double* potential_e);

// ---------------------------------------------------------------------------------------------------
// The recordings directory

typedef struct sh_rec_entry
{
    char id[SH_REC_ID_MAX + 1];
    bool readable;
    char error[256]; // !readable: why
    sh_rec_run run;  // readable: the run
    int64_t mtime, bytes;
} sh_rec_entry;

// Every *.db file of dir (newest first: created, else mtime). Unreadable files are listed with why.
// A missing directory lists empty. *out is sh_alloc'd: free with sh_rec_list_free.
bool sh_rec_list(const char* dir, sh_rec_entry** out, int* count, sh_error* err);
void sh_rec_list_free(sh_rec_entry* entries, int count);
// The file of recording id in dir, only if id is valid and such a file is listed there.
bool sh_rec_path(const char* dir, const char* id, char* path, size_t size);
// Removes finished recordings, oldest first, until the directory's recordings total at most max_bytes.
// Never one still being written, nor keep_id (the one that just finished; NULL: none). Returns how many
// were removed.
int sh_rec_retain(const char* dir, size_t max_bytes, const char* keep_id);
// Removes the ID.db.part files (and their -wal, -shm) last written more than min_age_s ago: a host killed
// between creating a recording and its first commit leaves one; it holds no frame. Returns how many.
int sh_rec_sweep_parts(const char* dir, double min_age_s);
// A fresh id: UTC time, the scenario (or "live"), and a tag (session id, pid) so two never collide.
void sh_rec_make_id(char* out, size_t size, const char* what, unsigned tag);
