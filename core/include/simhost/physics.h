#pragma once
// The physics world: rigid convex bodies (dynamic and static), gravity, contacts with friction and
// restitution, sleeping. Soft-step sub-stepping solver (docs/physics.md). No Lua here.
//
// Frames and units: SI, right-handed, +Z up. A body's pose is reported for its *asset origin* (the frame
// its hull and render mesh are given in); internally the body lives at its centre of mass. Velocities are
// those of the centre of mass; angular velocity is in the world frame (rad/s).

#include "simhost/base.h"
#include "simhost/hull.h"

#include <cglm/types.h>

typedef struct sh_world sh_world;

// A body handle: slot index (1-based, 0 = null) plus the slot's generation, so a stale id is caught.
typedef struct sh_body_id
{
    int32_t index;
    uint32_t generation;
} sh_body_id;

#define SH_NULL_BODY ((sh_body_id){0, 0})

// Lua and the wire see one integer: index + generation·2³². The first use of a slot has generation 0,
// so ids read 1, 2, 3 … in normal use.
static inline int64_t sh_body_id_to_int(sh_body_id id)
{
    return (int64_t)id.index + ((int64_t)id.generation << 32);
}
static inline sh_body_id sh_body_id_from_int(int64_t v)
{
    sh_body_id id = {(int32_t)(v & 0xffffffff), (uint32_t)(v >> 32)};
    if (v < 0 || (v & 0xffffffff) > INT32_MAX)
        id = SH_NULL_BODY;
    return id;
}

typedef struct sh_world_def
{
    vec3 gravity;                // m/s², world frame
    int substeps;                // sub-steps per step (1 … 64)
    bool enable_sleep;           // bodies at rest for sleep_time seconds sleep
    float contact_hertz;         // soft contact stiffness (Hz), capped at a quarter of the sub-step rate
    float contact_damping_ratio; // soft contact damping (non-dimensional)
    float contact_push_max;      // max velocity used to push overlapping bodies apart (m/s)
    float restitution_threshold; // relative normal speeds below this do not bounce (m/s)
    // Threads (docs/physics.md "Threads"): the step's per-item stages go through the task interface
    // (base.h) as ranges; the result is the same bits for any thread count and any task system. threads
    // (1 … 64, default 1) is how many the task system runs at once; with enqueue_task NULL (the default)
    // every task runs inline on the calling thread. enqueue_task and finish_task are set together;
    // task_context is their user_ctx (simhost/task_pool.h's pool, or a host's own).
    int threads;
    sh_enqueue_task_fn* enqueue_task;
    sh_finish_task_fn* finish_task;
    void* task_context;
    int cookie; // written by sh_world_def_default()
} sh_world_def;

#define SH_WORLD_MAX_THREADS 64

sh_world_def sh_world_def_default(void);

typedef enum sh_body_type
{
    SH_BODY_DYNAMIC = 0,
    SH_BODY_STATIC = 1
} sh_body_type;

typedef struct sh_body_def
{
    sh_body_type type;
    // Convex hull in the asset frame. The world keeps one centroid-centred copy per distinct hull and never
    // frees the source, which must stay alive (and unchanged) while the world lives.
    const sh_hull* hull;
    vec3 position;         // asset origin, world (m)
    versor orientation;    // unit quaternion, cglm order (x, y, z, w), body-local → world
    vec3 velocity;         // centre of mass, world (m/s)
    vec3 angular_velocity; // world (rad/s)
    float mass;            // kg, > 0 (dynamic only)
    float restitution;     // 0 … 1
    float friction;        // >= 0
    bool start_asleep;     // dynamic only: spawn asleep (alone in its island) until touched or pushed
    int cookie;            // written by sh_body_def_default(); never by hand
} sh_body_def;

sh_body_def sh_body_def_default(void);

bool sh_world_create(const sh_world_def* def, sh_world** out, sh_error* err);
void sh_world_destroy(sh_world* world);

// Advances dt seconds (0 < dt <= 1) in def.substeps sub-steps. False with err: a bad dt (nothing done), or
// out of memory ("out of memory in <stage>"): the step ran to its end without that stage's work (the
// world stays consistent and can step again), and the caller learns the step was not the full one.
bool sh_world_step(sh_world* world, float dt, sh_error* err);
double sh_world_time(const sh_world* world);
void sh_world_enable_sleep(sh_world* world, bool enable);
bool sh_world_sleep_enabled(const sh_world* world);
void sh_world_get_gravity(const sh_world* world, vec3 out);

// Bodies in creation order (stable; there is no body removal yet).
int sh_world_body_count(const sh_world* world);
// Bytes the world holds on the heap (arrays, trees, pair set, step scratch; not the asset hulls it
// shares): what a host charges to the owner of the world (a session's memory cap).
size_t sh_world_memory_bytes(const sh_world* world);
sh_body_id sh_world_body_at(const sh_world* world, int i);

typedef struct sh_world_stats
{
    int bodies, awake_bodies, pairs, contacts, contact_points; // contacts: touching manifolds
    double collide_ms, solve_ms, sleep_ms, step_ms;            // last step, wall clock
    // The protocol's solver block (last step).
    int iterations;      // substeps × passes (solve + relax)
    float residual;      // largest normal-velocity error left after the last relax pass (m/s)
    bool converged;      // residual < SH_SOLVER_TOLERANCE
    int num_constraints; // contact manifolds solved
    int num_points;      // contact points solved
} sh_world_stats;

#define SH_SOLVER_TOLERANCE 1e-3f

void sh_world_get_stats(const sh_world* world, sh_world_stats* out);

typedef struct sh_energy
{
    double kinetic, potential, total; // J; potential = m·|g|·z of the centre of mass
} sh_energy;

void sh_world_energy(const sh_world* world, sh_energy* out);

// --- bodies ----------------------------------------------------------------------------------------
bool sh_body_create(sh_world* world, const sh_body_def* def, sh_body_id* out, sh_error* err);

// The one set of bounds on a body's scalars, checked by sh_body_create and asked for by every other way
// a body is made (the Lua world's spawn, the protocol's configure validation in Lua), so they cannot
// drift apart. The caps keep float sums finite: 1e9 kg × g × 1e5 m stays far below FLT_MAX.
typedef enum sh_body_scalar
{
    SH_BODY_MASS,        // finite, 0 < m <= SH_BODY_MASS_MAX (kg; dynamic bodies only)
    SH_BODY_RESTITUTION, // finite, 0 <= e <= 1
    SH_BODY_FRICTION,    // finite, 0 <= mu <= SH_BODY_FRICTION_MAX
    SH_BODY_SCALAR_COUNT
} sh_body_scalar;

#define SH_BODY_MASS_MAX     1e9
#define SH_BODY_FRICTION_MAX 1e6

// The scalar's field name ("mass", "restitution", "friction").
const char* sh_body_scalar_name(sh_body_scalar which);
// NULL when v is acceptable, else what it must be, to follow "<field> must be ": "a finite number > 0",
// "at most 1000000000", "a finite number in 0 … 1", ... (a static string).
const char* sh_body_scalar_check(sh_body_scalar which, double v);
bool sh_body_is_valid(const sh_world* world, sh_body_id id);

typedef struct sh_body_state
{
    vec3 position;         // asset origin, world (m)
    versor orientation;    // cglm (x, y, z, w)
    vec3 center;           // centre of mass, world (m)
    vec3 velocity;         // centre of mass (m/s)
    vec3 angular_velocity; // world (rad/s)
    float mass;            // kg (0 for static)
    mat3 inertia;          // about the centre of mass, body frame (kg·m², symmetric)
    float restitution, friction;
    bool is_static, sleeping;
} sh_body_state;

bool sh_body_get_state(const sh_world* world, sh_body_id id, sh_body_state* out);
// Sets the centre-of-mass velocity and angular velocity (world) and wakes the body. Static: refused.
bool sh_body_set_velocity(sh_world* world, sh_body_id id, const vec3 v, const vec3 w, sh_error* err);
// Impulse (N·s, world) at a world point, or at the centre of mass when point is NULL; wakes the body.
bool sh_body_apply_impulse(sh_world* world, sh_body_id id, const vec3 impulse, const float* point,
                           sh_error* err);

// --- contacts (for reporting) -----------------------------------------------------------------------
typedef struct sh_contact_point_info
{
    vec3 point_a, point_b; // world (m)
    float depth;           // penetration, >= 0 (m)
    // Impulses on B (A gets minus them) over the last step, N·s: the last sub-step's × substeps, so the
    // force is impulse / dt (a resting box's points sum to m·g·dt).
    float normal_impulse;
    float friction_impulse;       // magnitude of the tangent impulse
    vec3 friction_impulse_vector; // the tangent impulse, world, ⊥ normal
} sh_contact_point_info;

typedef struct sh_contact_info
{
    sh_body_id body_a, body_b;
    vec3 normal;             // world, A → B
    float penetration_depth; // deepest point (m), >= 0
    int point_count;
    sh_contact_point_info points[4];
} sh_contact_info;

// Touching contacts (a point closer than the touch tolerance or carrying impulse), in a stable order.
int sh_world_contact_count(const sh_world* world);
bool sh_world_contact_at(const sh_world* world, int i, sh_contact_info* out);
