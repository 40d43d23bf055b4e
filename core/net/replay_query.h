#pragma once
// The replay routes' request parsing (docs/recordings.md): a path below /api/v1/simulations and its query
// string to the route they name, its id and its numbers. Pure (no I/O, no lws), so it can be fuzzed
// (spec/fuzz/fuzz_replay_query.c); replay_routes.c does the reading and decides when an error is sent.

#include "simhost/recording.h"

#include <stdbool.h>
#include <stdint.h>

// A JSON range answers at most 100 frames (a 1000-body FrameData is ~150 kB); frames.bin at most 1000
// (a 1000-body SHF1 frame with velocities is ~57 kB, so ≤ ~60 MB). Larger counts are clamped.
#define SH_REPLAY_RANGE_CAP     100
#define SH_REPLAY_RANGE_BIN_CAP 1000

typedef enum sh_replay_kind
{
    SH_REPLAY_LIST,        // /api/v1/simulations: the recordings
    SH_REPLAY_TOO_DEEP,    // five or more segments: 404 "not found" before the id is looked at
    SH_REPLAY_BARE,        // /{id}: DELETE's route; a GET is a 404 with a hint
    SH_REPLAY_METADATA,    // /{id}/metadata
    SH_REPLAY_FRAMES,      // /{id}/frames
    SH_REPLAY_ENERGY,      // /{id}/energy
    SH_REPLAY_ASSETS,      // /{id}/assets
    SH_REPLAY_RANGE,       // /{id}/frames/range?start=&count=
    SH_REPLAY_BIN,         // /{id}/frames.bin?start=&count=
    SH_REPLAY_STATE,       // /{id}/frames/{fid}/state
    SH_REPLAY_BODY_ENERGY, // /{id}/energy/{body_id}
    SH_REPLAY_VELOCITY,    // /{id}/velocity/{body_id}
    SH_REPLAY_UNKNOWN,     // any other path below /{id}: 404 "not found"
} sh_replay_kind;

typedef struct sh_replay_query
{
    sh_replay_kind kind;
    int segments;               // path segments after the prefix (the id is the first)
    char id[2 * SH_REC_ID_MAX]; // the first segment (cut to fit: id_too_long, never a valid id then)
    bool id_too_long;
    int64_t frame;   // STATE: the frame id; RANGE, BIN: start
    int64_t count;   // RANGE, BIN: count, clamped to the route's cap
    int64_t body;    // BODY_ENERGY, VELOCITY: the body id
    int status;      // 0, or 400 when a number is missing or bad ...
    char error[200]; // ... and the line that says which
} sh_replay_query;

// rest: the path after "/api/v1/simulations" ("" or "/ID/..."); query: the query string without '?'
// ("" or NULL when none). Never fails: what it cannot name is TOO_DEEP or UNKNOWN, and a bad number sets
// status and error.
void sh_replay_query_parse(const char* rest, const char* query, sh_replay_query* out);
