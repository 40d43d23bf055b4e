// One step's stage order (soft step, docs/physics.md):
//   prepare contacts once (anchors from the COMs, base separation, pre-solve normal velocity), then per
//   sub-step h = dt/n: integrate velocities (gravity, implicit gyroscopic torque) → warm start → solve
//   with soft bias (twice) → integrate positions → relax without bias; after the sub-steps: restitution,
//   store impulses, write bodies back.
#include "contact_solver.h"
#include "contact_solver_wide.h"
#include "penetration.h"

#include <math.h>
#include <string.h>

// Implicit gyroscopic step in the body frame (Euler's equations I dω/dt = −ω × Iω). Catto's implicit
// Euler form (GDC 2015; Bullet's "gyroscopic implicit body") is stable but dissipative: it shrank |L| of the
// spinning 1×2×3 box by 2 % in 10 s, over the 1 % bound. The implicit midpoint rule
//   g(ω') = I(ω' − ω) + h ω_m × I ω_m = 0,  ω_m = (ω + ω')/2,
// conserves both |L| and the rotational energy exactly (they are quadratic invariants), still lets the
// intermediate axis flip, and costs a few Newton steps (two suffice to float precision at h ω < 0.5).
//
// The rule turns the body-frame momentum by the Cayley rotation C = (1 − hω̂_m/2)⁻¹(1 + hω̂_m/2) backwards,
// L' = Cᵀ L, so the world momentum R' L' stays R L exactly only if the body turns by that same C over the
// sub-step: R' = R C, the quaternion (1, h ω_m/2) normalised, which is what integrate_positions applies
// when it is handed ω_m. So a body with no contact this step turns by the midpoint ω_m (w_shift = R ω_m −
// ω'), and its new world ω is R' ω' = R C ω'. Turning with the end-of-step ω' and reading ω' in the old
// frame (as before) let L of a 1×2×4 box spun off its axes wander by 2.3e-2 in 10 s (now 2e-6).
static void gyroscopic(const mat3 inertia, const versor q, float h, bool free, vec3 w, vec3 w_shift)
{
    versor qc;
    quat_conjugate(q, qc);
    vec3 w0, w1;
    glm_quat_rotatev(qc, w, w0);
    glm_vec3_copy(w0, w1);
    for (int it = 0; it < 3; it++)
    {
        vec3 wm, iwm, dwi, g, c;
        for (int k = 0; k < 3; k++)
        {
            wm[k] = 0.5f * (w0[k] + w1[k]);
            dwi[k] = w1[k] - w0[k];
        }
        mat3_mulv3(inertia, wm, iwm);
        mat3_mulv3(inertia, dwi, g);
        glm_vec3_cross(wm, iwm, c);
        glm_vec3_muladds(c, h, g);
        // J = I + h/2 (skew(ω_m) I − skew(I ω_m)), by columns (cglm is column-major).
        mat3 j;
        for (int k = 0; k < 3; k++)
        {
            vec3 e = {0, 0, 0}, c1, c2;
            e[k] = 1.0f;
            cross3(wm, inertia[k], c1);
            glm_vec3_cross(iwm, e, c2);
            for (int r = 0; r < 3; r++)
                j[k][r] = inertia[k][r] + 0.5f * h * (c1[r] - c2[r]);
        }
        float det = glm_mat3_det(j);
        if (!(fabsf(det) > 1e-30f) || !isfinite(det))
            return;
        mat3 ji;
        glm_mat3_inv(j, ji);
        vec3 step;
        glm_mat3_mulv(ji, g, step);
        glm_vec3_sub(w1, step, w1);
    }
    // ω' in the turned frame (C ω'), and the midpoint for the rotation, both as changes from ω: rotating ω
    // itself out and in every sub-step adds about an ulp of |ω| each time (measured: |ω| of a free cube grew
    // 2.6e-4 in 10 s), and so did turning ω' by C as a quaternion (|L| of the 1×2×4 box +1.3e-4 in 10 s).
    // So C ω' − ω' is taken directly, small: with a = h ω_m / 2, C v − v = 2 (a × v + a × (a × v)) / (1 + a²)
    // (the quaternion rotation formula for q = (1, a) / √(1 + a²)).
    vec3 wm, a, axv, aaxv, turn, dw, shift;
    for (int k = 0; k < 3; k++)
    {
        wm[k] = 0.5f * (w0[k] + w1[k]);
        a[k] = 0.5f * h * wm[k];
    }
    glm_vec3_cross(a, w1, axv);
    glm_vec3_cross(a, axv, aaxv);
    float f = 2.0f / (1.0f + glm_vec3_norm2(a));
    for (int k = 0; k < 3; k++)
    {
        turn[k] = f * (axv[k] + aaxv[k]);
        dw[k] = (w1[k] - w0[k]) + turn[k];           // C ω' − ω
        shift[k] = 0.5f * (w0[k] - w1[k]) - turn[k]; // ω_m − C ω'
    }
    // A body with contacts keeps turning by the ω its contacts were solved for and takes ω' in the sub-step's
    // frame (the change alone): turning it by the midpoint moved its corners where the solver had not let
    // them go (row 20's 1000 tumbling boxes: deepest point 6.2 → 10.9 mm), and contact torques change L.
    if (!free)
    {
        glm_vec3_sub(w1, w0, dw);
        glm_vec3_zero(shift);
    }
    if (!isfinite(dw[0] + dw[1] + dw[2] + shift[0] + shift[1] + shift[2]))
        return;
    quat_rotate_normalised(q, dw, dw);
    quat_rotate_normalised(q, shift, w_shift);
    glm_vec3_add(w, dw, w);
}

// Sweeps per sub-step: two with the soft bias, then one relax. The biased sweeps are the ones whose
// convergence carries a tall pile's weight down to the ground: with one biased and two relax sweeps the
// 5050 pyramid's compression still rang 8.3 cm peak to peak over steps 150–300; two biased and one relax
// cost the same and ring 2.8 cm (bases 40–80: 0.6–7 mm, against 1.3–52 mm), and the 10-cube stack of
// row 11 stays as still (docs/physics.md, "Passes per sub-step").
#define SH_BIASED_PASSES     2
#define SH_RELAX_PASSES      1
#define SH_IMPACT_SPEED      0.1f // m/s closing speed at step start that marks an impact
#define SH_IMPACT_ITERATIONS 32

// What the per-body stages below read, handed to each range of bodies (sh_world_run): every body's
// integration reads and writes only its own solver body, so ranges run on any thread in any order.
typedef struct body_task
{
    sh_world* w;
    sh_solver_body* sb;
    int* body_of;
    float h;
} body_task;

static void integrate_velocities(int begin, int end, int worker, void* ctx)
{
    (void)worker;
    const body_task* t = ctx;
    sh_world* w = t->w;
    sh_solver_body* sb = t->sb;
    const int* body_of = t->body_of;
    const float h = t->h;
    const float* g = w->def.gravity;
    const float max_v = SH_MAX_SPEED;
    const float max_rot = 0.25f * GLM_PIf / h; // at most an eighth turn per sub-step
    for (int i = begin; i < end; i++)
    {
        sh_solver_body* s = &sb[i];
        const sh_body* b = &w->bodies.data[body_of[i]];
        for (int k = 0; k < 3; k++)
            s->v[k] += h * g[k];
        glm_vec3_zero(s->w_shift);
        if (!b->isotropic) // ω × Iω vanishes for a spherical top (cubes, regular solids): skip the solve
        {
            versor q;
            quat_mul(s->dq, b->xf.q, q);
            gyroscopic(b->inertia_local, q, h, s->unconstrained, s->w, s->w_shift);
        }
        float v2 = glm_vec3_norm2(s->v);
        if (v2 > max_v * max_v)
            glm_vec3_scale(s->v, max_v / sqrtf(v2), s->v);
        float w2 = glm_vec3_norm2(s->w);
        if (w2 > max_rot * max_rot)
        {
            glm_vec3_scale(s->w, max_rot / sqrtf(w2), s->w);
            glm_vec3_zero(s->w_shift); // a clamped spin is no longer the gyroscopic step's ω'
        }
    }
}

// Positions: semi-implicit (symplectic) Euler, p += h·v with v already including this sub-step's gravity,
// except for bodies in free flight, which take the exact parabola p += h·v − ½h²g. Plain symplectic Euler
// drops a falling body by an extra ½·g·t·h (2 cm after 1 s at 240 Hz) and so shaves about 2 % off every
// e = 1 bounce (each flight lands v·h early); with the exact parabola free fall has no integrator error
// and a bounce keeps its energy. Bodies touching something keep plain Euler: there the contact, not the
// free parabola, decides the motion within a sub-step (docs/physics.md).
static void integrate_positions(int begin, int end, int worker, void* ctx)
{
    (void)worker;
    const body_task* t = ctx;
    sh_solver_body* sb = t->sb;
    const float h = t->h;
    vec3 half_g;
    scale3(t->w->def.gravity, 0.5f * h * h, half_g);
    for (int i = begin; i < end; i++)
    {
        sh_solver_body* s = &sb[i];
        float f = s->free_flight ? 1.0f : 0.0f;
        for (int k = 0; k < 3; k++)
            s->dp[k] += h * s->v[k] - f * half_g[k];
        // dq ← normalize(dq + ½h (ω, 0) ⊗ dq): the Cayley rotation by ω (first order in h, norm-preserving
        // after normalisation); a body with no contact this step turns by the gyroscopic step's midpoint
        // instead (w_shift, zero for cubes and for bodies with contacts, see gyroscopic()).
        versor wq = {s->w[0] + s->w_shift[0], s->w[1] + s->w_shift[1], s->w[2] + s->w_shift[2], 0.0f}, d;
        glm_quat_mul(wq, s->dq, d);
        for (int k = 0; k < 4; k++)
            s->dq[k] += 0.5f * h * d[k];
        glm_quat_normalize(s->dq);
    }
}

// Solver bodies from the world's bodies (items: body indices; slot 0 and the unsimulated are skipped).
static void load_bodies(int begin, int end, int worker, void* ctx)
{
    (void)worker;
    const body_task* t = ctx;
    for (int i = begin > 1 ? begin : 1; i < end; i++)
    {
        const sh_body* b = &t->w->bodies.data[i];
        if (b->solver_index < 0)
            continue;
        sh_solver_body* s = &t->sb[b->solver_index];
        t->body_of[b->solver_index] = i;
        copy3(b->v, s->v);
        copy3(b->w, s->w);
        glm_vec3_zero(s->dp);
        glm_quat_identity(s->dq);
        s->inv_mass = b->inv_mass;
        sh_body_world_inv_inertia(b, s->inv_i);
    }
}

// The step's result back into the world's bodies (items: solver bodies).
static void store_bodies(int begin, int end, int worker, void* ctx)
{
    (void)worker;
    const body_task* t = ctx;
    for (int i = begin; i < end; i++)
    {
        sh_body* b = &t->w->bodies.data[t->body_of[i]];
        const sh_solver_body* x = &t->sb[i];
        // Never let a NaN in: a body whose state went non-finite (cannot happen with validated inputs) is
        // stopped where it was.
        bool ok = isfinite(x->v[0] + x->v[1] + x->v[2] + x->w[0] + x->w[1] + x->w[2] + x->dp[0] + x->dp[1] +
                           x->dp[2] + x->dq[0] + x->dq[1] + x->dq[2] + x->dq[3]);
        if (!ok)
        {
            glm_vec3_zero(b->v);
            glm_vec3_zero(b->w);
            continue;
        }
        copy3(x->v, b->v);
        copy3(x->w, b->w);
        add3(b->xf.p, x->dp, b->xf.p);
        versor q;
        quat_mul(x->dq, b->xf.q, q);
        glm_quat_normalize_to(q, b->xf.q);
    }
}

// The impact stage, after the sub-steps: the impact set (constraints closing fast at step start, or freshly
// loaded), its extra relax passes and iterated restitution, then every constraint's impulses stored into
// its contact; *residual gets the step's solver residual. Out of scratch memory the impact set is left
// empty (no extra passes, no restitution) but the impulses are still stored, so the world stays
// consistent; it returns false so the step reports it ("out of memory in the impact stage").
static bool impact_stage(sh_world* w, sh_contact_solver* sp, sh_wide_solver* wide_p, bool use_wide, int n,
                         float* residual_out)
{
    sh_arena* arena = &w->arena;
    sh_contact_solver s = *sp;
    sh_wide_solver wide = *wide_p;
    sh_constraint* cons = s.constraints;
    const int cc = s.count;
    // Impact set: constraints closing fast at step start (few in a settled scene, so the extra passes cost
    // little where the pyramid's thousands of resting contacts are).
    int* impacts = sh_arena_alloc(arena, (size_t)(cc > 0 ? cc : 1) * sizeof *impacts);
    bool* in_impacts =
        use_wide ? sh_arena_alloc(arena, (size_t)(cc > 0 ? cc : 1) * sizeof *in_impacts) : NULL;
    if (use_wide && in_impacts == NULL)
        impacts = NULL;
    int impact_count = 0;
    // The impact passes and restitution correct the step's velocities once, in one go; their impulses are
    // not the per-sub-step impulse that warm starting re-applies in every sub-step of the next step.
    // Stored, a heavy ball's blow on a brick was applied four times over next step (500 kg at 15 m/s into
    // the wall: +5.8 % of the energy in one step). So the sub-steps' normal impulses, kept here as each
    // impact is found, are what is stored. (Friction keeps the converged value: restoring it too measured
    // worse, 1.3e-2 of E0 with 200 kg.)
    float* sub_step_impulse =
        sh_arena_alloc(arena, (size_t)(cc > 0 ? cc : 1) * SH_MAX_MANIFOLD_POINTS * sizeof(float));
    if (sub_step_impulse == NULL)
        impacts = NULL;
    sh_constraint fetched; // on the wide path: the lane's state, for the test below
    sh_wide_impact* view = use_wide ? sh_arena_alloc(arena, (size_t)(cc > 0 ? cc : 1) * sizeof *view) : NULL;
    if (use_wide && view == NULL)
        impacts = NULL;
    else if (use_wide)
        sh_wide_impacts(&wide, w, view); // also stores the lanes' impulses (see below)
    for (int i = 0; impacts != NULL && i < cc; i++)
    {
        const sh_constraint* k = &cons[i];
        if (use_wide)
        {
            fetched.contact = view[i].contact;
            fetched.point_count = view[i].point_count;
            for (int j = 0; j < fetched.point_count; j++)
            {
                fetched.points[j].relative_velocity = view[i].relative_velocity[j];
                fetched.points[j].normal_impulse = view[i].normal_impulse[j];
            }
            k = &fetched;
            in_impacts[i] = false;
        }
        bool hit = false;
        const sh_contact* ct = &w->contacts.data[k->contact];
        for (int j = 0; j < k->point_count; j++)
        {
            // New impacts (a gap at step start, closing) and anything fast enough to bounce; a settling
            // pile's resting contacts stay out (in the 5050 pyramid they made the impact set half the cost).
            const sh_manifold_point* mp = &ct->manifold.points[j];
            float rv = k->points[j].relative_velocity;
            hit = hit || (rv < -SH_IMPACT_SPEED && mp->separation > SH_TOUCH_TOLERANCE) ||
                  rv < -w->def.restitution_threshold;
            // And a fresh load: a touching point of a contact with nothing to warm-start from (new, or every
            // feature changed) that now carries a load (a stack spawned touching, a body set down). With
            // nothing warm-started, the sub-steps' few Gauss-Seidel passes carry the load one contact per
            // pass, so the top of a fresh 10-cube stack falls freely through the first step and takes that
            // momentum into the next; the soft contacts then sink past their rest depth and push the tower
            // back up, and that push is energy (the wall of the wrecking scene at 33 ms rose 1.03e-3 of E0 in
            // a step). Converging these here stops the fall in the step it starts. A settled scene has none,
            // so they cost nothing there. Per contact, not per point: a point whose impulse merely dropped to
            // zero last step (the side faces of the 5050 pyramid flicker) made a thousand constraints a step
            // "fresh", +60 % solver work.
            hit = hit ||
                  (!ct->warm && mp->separation < SH_TOUCH_TOLERANCE && k->points[j].normal_impulse > 0.0f);
        }
        if (!hit)
            continue;
        for (int j = 0; j < k->point_count; j++)
            sub_step_impulse[impact_count * SH_MAX_MANIFOLD_POINTS + j] = k->points[j].normal_impulse;
        impacts[impact_count++] = i;
    }
    if (use_wide)
    {
        // The impact passes run on the subset's own levels and lanes (the scalar sweeps' bits); then
        // restitution, scalar, gets the constraints' full scalar form (the same prepare, so the same
        // bits) and the lanes' state.
        sh_constraint_graph sub_graph;
        sh_wide_solver sub;
        bool sub_wide = sh_constraint_graph_build(&sub_graph, cons, impacts, impact_count, n, arena) &&
                        sh_wide_prepare_subset(&sub, &wide, &s, &sub_graph, arena);
        for (int it = 0; sub_wide && it < SH_IMPACT_ITERATIONS; it++)
            sh_wide_solve(&sub, &s, SH_WIDE_RELAX_AGAIN);
        sh_softness soft, static_soft;
        sh_contact_solver_softness(&s, w, &soft, &static_soft);
        for (int i = 0; i < impact_count; i++)
        {
            sh_constraint* k = &cons[impacts[i]];
            sh_contact_solver_prepare_one(&s, w, soft, static_soft, true, k);
            sh_wide_fetch(sub_wide ? &sub : &wide, impacts[i], k);
            in_impacts[impacts[i]] = true;
        }
        for (int it = 0; !sub_wide && it < SH_IMPACT_ITERATIONS; it++)
            sh_contact_solver_solve_subset(&s, impacts, impact_count, false);
    }
    else
        for (int it = 0; it < SH_IMPACT_ITERATIONS; it++)
            sh_contact_solver_solve_subset(&s, impacts, impact_count, false);
    // Out of arena memory the impact test did not run and in_impacts was never filled: then no lane is
    // an impact, and none is skipped.
    const bool* impact_lanes = impacts != NULL ? in_impacts : NULL;
    float residual = use_wide ? max_f(sh_wide_residual(&wide, &s, impact_lanes),
                                      sh_contact_solver_residual_list(&s, impacts, impact_count))
                              : sh_contact_solver_residual(&s);
    sh_contact_solver_restitution(&s, impacts, impact_count, SH_IMPACT_ITERATIONS);
    for (int i = 0; i < impact_count; i++)
        for (int j = 0; j < cons[impacts[i]].point_count; j++)
            cons[impacts[i]].points[j].normal_impulse = sub_step_impulse[i * SH_MAX_MANIFOLD_POINTS + j];
    if (use_wide)
    {
        if (view == NULL) // else sh_wide_impacts stored the lanes
            sh_wide_store(&wide, &s, w, impact_lanes);
        sh_contact_solver_store_list(&s, w, impacts, impact_count);
    }
    else
        sh_contact_solver_store(&s, w);

    *sp = s;
    *wide_p = wide;
    *residual_out = residual;
    return impacts != NULL;
}

bool sh_solver_step(sh_world* w, float dt, sh_error* err)
{
    sh_arena* arena = &w->arena;
    // Simulated set: awake dynamic bodies in index order (deterministic), plus a static dummy.
    int n = 0;
    for (int i = 1; i < w->bodies.count; i++)
    {
        sh_body* b = &w->bodies.data[i];
        b->solver_index = -1;
        if (b->in_use && !b->is_static && !b->sleeping)
            b->solver_index = n++;
    }
    // 32-byte aligned rows (see sh_solver_body); the arena gives 16.
    char* sb_raw = sh_arena_alloc(arena, (size_t)(n + 1) * sizeof(sh_solver_body) + 32);
    sh_solver_body* sb =
        sb_raw == NULL ? NULL : (sh_solver_body*)(void*)(((uintptr_t)sb_raw + 31) & ~(uintptr_t)31);
    int* body_of = sh_arena_alloc(arena, (size_t)(n + 1) * sizeof *body_of);
    if (sb == NULL || body_of == NULL)
        return sh_error_set(err, "out of memory in the solver");
    body_task bt = {w, sb, body_of, dt / (float)w->def.substeps};
    sh_world_run(w, load_bodies, w->bodies.count, SH_TASK_MIN_BODIES, &bt);
    sh_solver_body* dummy = &sb[n];
    memset(dummy, 0, sizeof *dummy);
    glm_quat_identity(dummy->dq);

    // Constraints: contacts with points where at least one body is simulated, in contact index order.
    int cc = 0;
    for (int i = 0; i < w->contacts.count; i++)
    {
        sh_contact* c = &w->contacts.data[i];
        c->constraint = -1;
        if (c->in_use && c->manifold.point_count > 0 &&
            (w->bodies.data[c->body_a].solver_index >= 0 || w->bodies.data[c->body_b].solver_index >= 0))
            c->constraint = cc++;
    }
    sh_constraint* cons = sh_arena_alloc(arena, (size_t)(cc > 0 ? cc : 1) * sizeof *cons);
    if (cons == NULL)
        return sh_error_set(err, "out of memory in the solver");
    // Bodies touching something at step start (a point within the touch tolerance) are not in free flight;
    // found in the same walk over the contacts that links the constraints (one pass over a large array).
    for (int i = 0; i < n; i++)
        sb[i].free_flight = sb[i].unconstrained = true;
    dummy->free_flight = false;
    int points = 0;
    for (int i = 0; i < w->contacts.count; i++)
    {
        sh_contact* c = &w->contacts.data[i];
        if (c->constraint < 0)
            continue;
        sh_constraint* k = &cons[c->constraint];
        int ia = w->bodies.data[c->body_a].solver_index, ib = w->bodies.data[c->body_b].solver_index;
        k->a = ia >= 0 ? ia : n;
        k->b = ib >= 0 ? ib : n;
        k->contact = i;
        sb[k->a].unconstrained = sb[k->b].unconstrained = false;
        points += c->manifold.point_count;
        for (int j = 0; j < c->manifold.point_count; j++)
            if (c->manifold.points[j].separation < SH_TOUCH_TOLERANCE)
            {
                sb[k->a].free_flight = false;
                sb[k->b].free_flight = false;
            }
    }
    int substeps = w->def.substeps;
    float h = dt / (float)substeps;
    sh_contact_solver s = {cons, cc, sb, h, 1.0f / h, w->def.contact_push_max, w->def.restitution_threshold};
    // Constraints run eight at a time by levels (constraint_graph.h, contact_solver_wide.h), with the
    // scalar sweep's exact result; if the arena cannot hold the levels, the scalar path runs instead.
    sh_constraint_graph graph;
    sh_wide_solver wide;
    bool use_wide = sh_constraint_graph_build(&graph, cons, NULL, cc, n, arena) &&
                    sh_wide_prepare(&wide, &s, w, &graph, arena);
    if (!use_wide)
        sh_contact_solver_prepare(&s, w);
    for (int i = 0; i < substeps; i++)
    {
        sh_world_run(w, integrate_velocities, n, SH_TASK_MIN_BODIES, &bt);
        if (use_wide)
        {
            sh_wide_approach(&wide, &s);
            sh_wide_warm_start(&wide, &s);
            for (int r = 0; r < SH_BIASED_PASSES; r++)
                sh_wide_solve(&wide, &s, r == 0 ? SH_WIDE_BIASED : SH_WIDE_BIASED_AGAIN);
        }
        else
        {
            sh_contact_solver_approach(&s);
            sh_contact_solver_warm_start(&s);
            for (int r = 0; r < SH_BIASED_PASSES; r++)
                sh_contact_solver_solve(&s, true);
        }
        sh_world_run(w, integrate_positions, n, SH_TASK_MIN_BODIES, &bt);
        for (int r = 0; r < SH_RELAX_PASSES; r++)
            if (use_wide)
                sh_wide_solve(&wide, &s, r == 0 ? SH_WIDE_RELAX_FIRST : SH_WIDE_RELAX_AGAIN);
            else
                sh_contact_solver_solve(&s, false);
    }
    float residual = 0.0f;
    bool ok = impact_stage(w, &s, &wide, use_wide, n, &residual);
    if (!ok)
        sh_error_set(err, "out of memory in the impact stage");
    sh_world_run(w, store_bodies, n, SH_TASK_MIN_BODIES, &bt);
    if (sh_penetration_project(w, sb, body_of, n) < 0 && ok)
        ok = sh_error_set(err, "out of memory in the penetration pass");
    w->stats.iterations = cc > 0 ? substeps * (SH_BIASED_PASSES + SH_RELAX_PASSES) : 0;
    w->stats.residual = residual;
    w->stats.converged = residual < SH_SOLVER_TOLERANCE;
    w->stats.num_constraints = cc;
    w->stats.num_points = points;
    w->stats.awake_bodies = n;
    return ok;
}
