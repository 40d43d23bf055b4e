#pragma once
// Private layout of the world, shared by the files of core/physics. Callers see only simhost/physics.h.

#include "arena.h"
#include "array.h"
#include "broad_phase.h"
#include "id_pool.h"
#include "manifold.h"
#include "transform.h"
#include "vmath.h"

#include "simhost/physics.h"

#define SH_SLEEP_TIME      0.5f    // s at rest before an island sleeps
#define SH_SLEEP_VELOCITY  0.05f   // m/s: max(|v|, |ω|·extent) under this counts as at rest
#define SH_TOUCH_TOLERANCE 0.005f  // m: a manifold point closer than this makes the pair "touching"
#define SH_SPECULATIVE     0.02f   // m: speculative margin on top of the relative motion of a step
#define SH_MAX_SPEED       1000.0f // m/s: clamp so absurd inputs stay finite
#define SH_WORLD_COOKIE    0x5157
#define SH_BODY_COOKIE     0x5142

// One centroid-centred copy per distinct source hull (key: the source pointer).
typedef struct sh_shape
{
    const sh_hull* source;
    sh_hull* centred;
} sh_shape;

typedef struct sh_body
{
    sh_transform xf;    // centre-of-mass pose
    vec3 local_center;  // centroid in the asset frame
    vec3 v, w;          // COM velocity, world angular velocity
    mat3 inertia_local; // about the COM, body frame (kg·m²)
    mat3 inv_inertia_local;
    float mass, inv_mass;
    float restitution, friction;
    float extent;        // max distance of a hull vertex from the COM (m)
    const sh_hull* hull; // centred copy (owned by the world's shape cache)
    sh_aabb fat_box;     // in the broad phase
    int proxy;           // leaf in the dynamic or static tree, -1 while asleep/none
    float sleep_time;
    int island_next;  // next body of the same sleeping island, -1 ends
    int sleep_island; // index in world->islands while asleep, -1 awake
    int solver_index; // index in the step's solver bodies, -1 when not simulated this step
    uint32_t generation;
    bool in_use, is_static, sleeping;
    bool isotropic; // inertia ∝ identity (within 1e-6): no gyroscopic torque
} sh_body;

typedef struct sh_contact_point_state
{
    uint32_t id;
    float normal_impulse;
    float tangent_impulse[2];
    float max_normal_impulse;
} sh_contact_point_state;

typedef struct sh_contact
{
    int body_a, body_b; // body indices, a < b (normal points A → B)
    uint64_t key;
    sh_manifold manifold;
    sh_contact_point_state state[SH_MAX_MANIFOLD_POINTS];
    sh_sat_cache cache;
    float friction, restitution;
    int in_use;
    bool touching;
    bool warm;      // some point kept its impulse from the last collide (matched by feature id)
    int constraint; // index in this step's constraints, -1
} sh_contact;

typedef struct sh_island
{
    int head, count;
} sh_island;

// Hot solver data (the b3BodyState idea: only what the sub-step loops touch). The wide contact solver
// (contact_solver_wide.c) loads and stores v, w as one 32-byte row and reads dq, dp as another: two aligned
// rows that never overlap, so a store of one body's velocities forwards whole to the next load of them
// and never blocks a load of its pose.
typedef struct sh_solver_body
{
    _Alignas(32) vec3 v;
    vec3 w;
    float row_pad[2];
    versor dq; // rotation change since step start
    vec3 dp;   // position change since step start
    float inv_mass;
    bool free_flight;   // nothing within the touch tolerance at step start: exact ballistic positions
    bool unconstrained; // no contact this step: turns by the gyroscopic midpoint (solver.c)
    mat3 inv_i;         // world inverse inertia at step start
    vec3 w_shift;       // the sub-step's rotation turns by w + w_shift (gyroscopic midpoint, solver.c)
} sh_solver_body;

// One Jacobian row of a point along a direction d: angular parts ja = ra × d, jb = rb × d and their
// responses ka = I_A⁻¹ ja, kb = I_B⁻¹ jb, precomputed once per step so the sub-step passes are dot
// products and AXPYs (no matrix products, no quaternion rotations in the inner loop).
typedef struct sh_jacobian_row
{
    vec3 ja, jb, ka, kb;
} sh_jacobian_row;

typedef struct sh_constraint_point
{
    vec3 ra, rb;            // anchors from each COM, world, fixed over the step
    sh_jacobian_row row[3]; // normal, tangent 1, tangent 2
    float base_separation;  // separation minus the anchors' offset: s = dot(d, n) + base
    float normal_impulse, max_normal_impulse;
    float tangent_impulse[2];
    float normal_mass, tangent_mass[2];
    float relative_velocity; // normal velocity at impact, for restitution
    float approach_velocity; // normal velocity at the start of the current sub-step, before warm starting
} sh_constraint_point;

typedef struct sh_softness
{
    float bias_rate, mass_scale, impulse_scale;
} sh_softness;

typedef struct sh_constraint
{
    int a, b; // solver body index (the static dummy when not simulated)
    vec3 normal, t1, t2;
    float friction, restitution;
    sh_softness soft;
    int point_count, contact;
    bool active; // has pushed this step (restitution's impact speed is taken when it first does)
    sh_constraint_point points[SH_MAX_MANIFOLD_POINTS];
} sh_constraint;

struct sh_world
{
    sh_world_def def;
    double time;
    SH_ARRAY(sh_body) bodies; // slot index = body index (slot 0 unused: 0 is the null id)
    sh_id_pool body_pool;
    SH_ARRAY(int) order; // body indices in creation order
    SH_ARRAY(sh_shape) shapes;
    SH_ARRAY(sh_contact) contacts; // slots recycled through contact_pool
    sh_id_pool contact_pool;
    // Pair set: open addressing with linear probing, key = (min << 32 | max) + 1 (0 is empty).
    uint64_t* pair_keys;
    int* pair_values;
    int pair_capacity, pair_count;
    SH_ARRAY(sh_island) islands;
    sh_id_pool island_pool;
    sh_broad_phase bp;
    sh_arena arena;
    SH_ARRAY(int) touching; // contact indices touching after the last step (reporting)
    sh_world_stats stats;
    uint64_t step_index;
};

// contact.c
bool sh_contact_pair_exists(const sh_world* w, int a, int b);
bool sh_contact_create(sh_world* w, int a, int b);
void sh_contact_destroy(sh_world* w, int c);
void sh_contact_update(sh_world* w, sh_contact* c, float dt);
void sh_contacts_free(sh_world* w);

// body.c
void sh_body_compute_aabb(const sh_body* b, float dt, sh_aabb* out);
void sh_body_world_inv_inertia(const sh_body* b, mat3 out);
void sh_body_wake(sh_world* w, int body);

// broad phase driving (world.c)
bool sh_world_update_pairs(sh_world* w);

// Smallest ranges a stage hands to the task system (world.c's sh_world_run): below twice this many items
// a stage runs inline, so small worlds (cluster_drop's 32 bodies, a base-20 pyramid's 210) pay nothing for
// threads. A narrow-phase pair costs about 1 µs (cubes) to 30 µs (32-point hulls), a body's integration
// some 50 ns: a range is worth a thread's wake-up (about 10 µs) at these sizes.
#define SH_TASK_MIN_CONTACTS 64
#define SH_TASK_MIN_BODIES   512
#define SH_TASK_MIN_BATCHES  16 // the wide solver's prepare: 8 constraints a batch, about 3 µs

// Runs fn over items [0, count) through the world's task interface (def.enqueue_task), or inline when
// there is none, one thread, or fewer than 2 · min_range items. Returns when every item has run.
void sh_world_run(const sh_world* w, sh_task_fn* fn, int count, int min_range, void* ctx);

// solver.c
// The solve, the impact stage and the penetration pass (solver.c). False with "out of memory in <stage>"
// when scratch ran out: the solver (nothing moved), the impact stage or the penetration pass (skipped or
// cut short; the rest of the step ran).
bool sh_solver_step(sh_world* w, float dt, sh_error* err);

// island.c
void sh_island_wake(sh_world* w, int island);
// False out of scratch memory: rest timers ran, no island was put to sleep this step.
bool sh_island_update_sleep(sh_world* w, float dt);

// shape.c
const sh_hull* sh_shape_get(sh_world* w, const sh_hull* source, sh_error* err);
void sh_shapes_free(sh_world* w);
