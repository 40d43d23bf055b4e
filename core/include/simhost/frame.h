#pragma once
// The SHF1 binary frame (docs/frames.md): one encoding of a simulation frame for the live WebSocket
// stream, the recording files and the replay API. Little-endian; every block starts at a multiple of 8
// bytes from the frame's first byte so a reader can make typed-array views with no copy.
//
// Audience: the bindings (w:frame_bin), the recorder, the replay routes, bench-frames, the fuzzers.

#include "simhost/base.h"
#include "simhost/physics.h"

#define SH_FRAME_MAGIC          "SHF1"
#define SH_FRAME_VERSION        1
#define SH_FRAME_HEADER_BYTES   64
#define SH_FRAME_CONTACT_BYTES  48
#define SH_FRAME_SOLVER_BYTES   24
#define SH_FRAME_FRICTION_BYTES 12 // f32[3] per contact point

enum
{
    SH_FRAME_HAS_VELOCITIES = 1u << 0,
    SH_FRAME_HAS_CONTACTS = 1u << 1,
    SH_FRAME_HAS_SOLVER = 1u << 2,
    SH_FRAME_HAS_FRICTION = 1u << 3, // an extension within version 1: its offset is the header's word at 60
};

enum
{
    SH_FRAME_BODY_ENVIRONMENT = 1u << 0,
    SH_FRAME_BODY_SLEEPING = 1u << 1,
};

// A growable byte buffer the encoder reuses frame after frame (no per-body allocation).
typedef struct sh_frame_buf
{
    uint8_t* data;
    size_t len, cap;
} sh_frame_buf;

void sh_frame_buf_free(sh_frame_buf* buf);

typedef struct sh_frame_opts
{
    bool velocities; // default true
    bool contacts;   // default true
    bool solver;     // default true (written only when the last step solved a constraint)
} sh_frame_opts;

sh_frame_opts sh_frame_opts_default(void);

// Encodes the world's current state as one SHF1 frame into buf (replacing its contents). Fails (false,
// one line in err) on out-of-memory or when a value is not finite: no NaN ever leaves the host.
bool sh_frame_encode(const sh_world* world, uint32_t frame_id, double simulation_time,
                     const sh_frame_opts* opts, sh_frame_buf* buf, sh_error* err);

// A validated frame: the header's fields and pointers to each block inside the caller's bytes (NULL when
// absent). Blocks may be unaligned in the caller's memory: read them with the accessors below.
typedef struct sh_frame_view
{
    uint16_t version;
    uint32_t frame_id, body_count, contact_count, flags, total_bytes;
    double simulation_time;
    const uint8_t *ids, *pose, *body_flags, *velocities, *contacts, *solver;
    const uint8_t* friction; // f32[3] per contact point; NULL in frames without bit 3
} sh_frame_view;

// Checks magic, version, header size, every offset and size against len; never reads past len.
bool sh_frame_decode(const uint8_t* bytes, size_t len, sh_frame_view* out, sh_error* err);

typedef struct sh_frame_body
{
    uint32_t id;
    float position[3];
    float orientation[4];                   // x, y, z, w
    float velocity[3], angular_velocity[3]; // zero when the frame has no velocities block
    bool environment, sleeping;
} sh_frame_body;

typedef struct sh_frame_contact
{
    uint32_t body_a, body_b;
    float point[3], normal[3];
    float depth, normal_impulse, friction_impulse;
    float friction[3]; // the tangent impulse on B, world, N·s; zero when the frame has no friction block
} sh_frame_contact;

typedef struct sh_frame_solver
{
    uint32_t iterations, converged, constraints, contacts;
    float residual;
} sh_frame_solver;

// i < view->body_count / contact_count; the view must come from sh_frame_decode.
void sh_frame_body_at(const sh_frame_view* view, uint32_t i, sh_frame_body* out);
void sh_frame_contact_at(const sh_frame_view* view, uint32_t i, sh_frame_contact* out);
bool sh_frame_solver_get(const sh_frame_view* view, sh_frame_solver* out); // false when absent
