#pragma once
// The contact solver eight constraints at a time (Box2D v3's wide solver, in 3-D): the constraints of one
// level (constraint_graph.h) share no simulated body, so eight of them run in the lanes of one SIMD register
// with exactly the arithmetic of the scalar solve (same formulas, same operation order per lane, no FMA
// contraction: the build is ISO C, -ffp-contract=off). With the levels' order the result is bit for bit
// that of the scalar sweep in constraint index order (checked by spec/c/test_wide_solver.c).
//
// Dispatch: the kernels are written once in GCC vector extensions and instantiated three times, with
// target attributes for AVX-512 (F, DQ, VL) and AVX2 (bodies loaded as 32-byte rows and transposed), and
// for the baseline x86-64 ISA (SSE2, lane-by-lane loads). __builtin_cpu_supports picks one at run time, so
// the binary never executes an instruction the CPU lacks and needs no -march flag (a -mavx2 build would
// crash with SIGILL on an older CPU); all give the same bits (the same IEEE operations, no FMA formed).

#include "constraint_graph.h"
#include "contact_solver.h"

// Lanes per batch: 8 (one ymm register; with AVX-512VL the compiler also gets 32 of them instead of 16,
// fewer spills). 16 lanes (a zmm register, or two ymm halves with AVX2) measured slower on the 5050
// pyramid (1.81 s against 1.49 s user for 40 steps): half-empty batches at the ends of levels, and spills.
#define SH_WIDE 8

typedef float sh_fw __attribute__((vector_size(4 * SH_WIDE)));
typedef int sh_iw __attribute__((vector_size(4 * SH_WIDE)));
// A 3-vector of eight constraints: each component a vector of lanes (ra.x[k] is lane k's ra[0]).
typedef struct sh_fw3
{
    sh_fw x, y, z;
} sh_fw3;
// One Jacobian row of eight constraints (contact_solver.c's make_row): ja = ra × d, jb = rb × d,
// ka = I_A⁻¹ ja, kb = I_B⁻¹ jb.
typedef struct sh_wide_row
{
    sh_fw3 ja, jb, ka, kb;
} sh_wide_row;

// One manifold point of eight constraints, structure of arrays. Unlike the scalar sh_constraint_point the
// Jacobian rows (ja = r × d, ka = I⁻¹ ja) are not stored but rebuilt in registers each pass from the
// anchors and the constraint's inverse inertias, with make_row's exact formulas: 15 vectors a point
// instead of 51, and the pass, which streams every batch from memory, reads 3 KB a batch instead of 7.
// Measured on the 5050 pyramid (2179 batches): the stored rows made the solve memory-bound.
typedef struct sh_wide_point
{
    sh_fw3 ra, rb;
    sh_fw base_separation, normal_mass, tangent_mass[2];
    sh_fw normal_impulse, tangent_impulse[2], max_normal_impulse, relative_velocity;
    sh_fw approach_velocity; // sh_constraint_point's: normal velocity before the sub-step's warm start
} sh_wide_point;

// Eight constraints of one level. Unused lanes and points are all zero (their impulses stay 0) and point
// at the static dummy; a manifold with fewer than four points has zero anchors and masses in the rest.
typedef struct sh_wide_constraint
{
    int a[SH_WIDE], b[SH_WIDE]; // solver body indices
    int index[SH_WIDE];         // constraint index, -1 for an unused lane
    int contact[SH_WIDE];       // its contact (world->contacts index)
    int point_count[SH_WIDE];
    sh_fw3 normal, t1, t2;
    sh_fw3 inv_i_a[3], inv_i_b[3]; // world inverse inertia at step start: its columns, as cglm's mat3
    sh_fw inv_mass_a, inv_mass_b, friction;
    sh_fw bias_rate, mass_scale, impulse_scale;
    sh_iw active; // all ones once the constraint has pushed this step
    // What a pass at the same positions as the one before reuses: the separation after a biased pass,
    // the relax bias after a relax pass.
    sh_fw same_pose[SH_MAX_MANIFOLD_POINTS];
    sh_wide_point points[SH_MAX_MANIFOLD_POINTS];
} sh_wide_constraint;

typedef struct sh_wide_solver
{
    sh_wide_constraint* batches;
    int batch_count;
    int* lane_of;     // [constraint]: batch * SH_WIDE + lane
    int* level_first; // [level_count + 1]: a level's first batch
    int level_count;
    bool* pair_next;       // [batch_count + 1]: batch i and i + 1 share no simulated body
    sh_wide_row* rows;     // NULL, or per batch each point's three Jacobian rows (small steps only)
    int isa;               // SH_WIDE_GENERIC, SH_WIDE_AVX2 or SH_WIDE_AVX512
    const sh_world* world; // its task interface: a level's batches share no body, so they may split
} sh_wide_solver;

// Which path runs the contact solve. AUTO (the default) takes the widest the CPU has; the others exist so
// spec/c/test_wide_solver.c can check that all of them give the same bits. Process-wide; tests only (set
// it before stepping, never while a world steps). A forced path the CPU lacks falls back to the next one.
typedef enum sh_wide_path
{
    SH_WIDE_AUTO,
    SH_WIDE_SCALAR,  // the sequential scalar sweep, constraint index order
    SH_WIDE_GENERIC, // levels, vector extensions on the baseline ISA
    SH_WIDE_AVX2,    // levels, AVX2 + FMA ISA (FMA is never formed: -ffp-contract=off)
    SH_WIDE_AVX512,  // levels, AVX-512 F/DQ/VL (8 lanes still: 32 vector registers, EVEX encodings)
} sh_wide_path;
void sh_wide_force_path(sh_wide_path path);
// The widest path this CPU runs (SH_WIDE_GENERIC, SH_WIDE_AVX2 or SH_WIDE_AVX512).
sh_wide_path sh_wide_cpu_path(void);

// Prepares every constraint (sh_contact_solver_prepare_one; s->constraints need only a, b and contact) into
// lanes, level by level, eight per batch (a level's last batch is padded). False when the arena is out of
// memory or the scalar path is forced: the caller then prepares and runs the scalar solver.
bool sh_wide_prepare(sh_wide_solver* ws, const sh_contact_solver* s, const sh_world* w,
                     const sh_constraint_graph* g, sh_arena* arena);
// The impact subset (solver.c) on its own batches: g holds the levels of the subset, the lanes are copied
// from ws (state after the sub-steps). Its passes are relax passes at the last sub-step's positions, so
// they run as SH_WIDE_RELAX_AGAIN with the copied relax bias, exactly the scalar subset's sweeps.
bool sh_wide_prepare_subset(sh_wide_solver* sub, const sh_wide_solver* ws, const sh_contact_solver* s,
                            const sh_constraint_graph* g, sh_arena* arena);
// sh_contact_solver_approach on the lanes: before each sub-step's warm start, the points of constraints
// that have not pushed yet record their normal velocity (their impact speed when they first push).
void sh_wide_approach(const sh_wide_solver* ws, sh_contact_solver* s);
void sh_wide_warm_start(const sh_wide_solver* ws, sh_contact_solver* s);
// One pass over all batches in level order; flips s->reverse like the scalar pass. Repeated passes of a
// kind see the same positions (nothing moves bodies between them), so a repeat takes the first one's
// separations (exact: the same numbers) and skips the poses and separations.
typedef enum sh_wide_pass
{
    SH_WIDE_BIASED,       // solve with the soft bias (use_bias), keeps each point's separation
    SH_WIDE_BIASED_AGAIN, // solve with the soft bias again at the same positions
    SH_WIDE_RELAX_FIRST,  // relax (no soft bias), keeps each point's relax bias
    SH_WIDE_RELAX_AGAIN,  // relax again at the same positions
} sh_wide_pass;
void sh_wide_solve(sh_wide_solver* ws, sh_contact_solver* s, sh_wide_pass pass);
// After the sub-steps. fetch copies one constraint's lane state (point count, active flag, impulses,
// impact speeds) into c, for the impact test and, after a scalar prepare_one, the scalar restitution.
// residual and store cover the lanes whose constraint is not marked in skip (NULL: all); the caller does
// the marked ones from s->constraints. Together they give exactly the scalar path's residual and store.
void sh_wide_fetch(const sh_wide_solver* ws, int constraint, sh_constraint* c);
// What solver.c's impact test reads of each constraint, for all of them in one walk over the batches in
// memory order (out[constraint]): a sh_wide_fetch per constraint, in constraint order, touched some 26
// cache lines of a batch each. The same walk stores every lane's impulses into its contact, as
// sh_wide_store would (one pass over the batches less): after the sub-steps nothing changes the lanes,
// the impact passes run on their own batches, and the caller then stores the impact constraints over
// these (sh_contact_solver_store_list, the same fields), so the contacts end the step the same.
typedef struct sh_wide_impact
{
    int contact, point_count;
    float relative_velocity[SH_MAX_MANIFOLD_POINTS], normal_impulse[SH_MAX_MANIFOLD_POINTS];
} sh_wide_impact;
void sh_wide_impacts(const sh_wide_solver* ws, sh_world* w, sh_wide_impact* out);
float sh_wide_residual(const sh_wide_solver* ws, const sh_contact_solver* s, const bool* skip);
void sh_wide_store(const sh_wide_solver* ws, const sh_contact_solver* s, sh_world* w, const bool* skip);
