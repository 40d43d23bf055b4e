#pragma once
// Soft contact constraints (Catto's "soft step"): prepared once per step, then warm-started, solved with
// a soft bias and relaxed without it in every sub-step; restitution once per step.

#include "world.h"

// Normal points of a manifold are swept this many times per pass before friction: four points on a face
// are redundant for three degrees of freedom, and one Gauss-Seidel sweep leaves an uneven split that rocks
// a settling stack (measured: 1e-3 rad/s of rocking with one sweep, 1e-4 with three).
#define SH_INNER 3

typedef struct sh_contact_solver
{
    sh_constraint* constraints;
    int count;
    sh_solver_body* bodies; // [body_count] simulated + 1 static dummy at the end
    float h, inv_h;
    float push_max, restitution_threshold;
    bool reverse; // point order of the next pass (alternates)
} sh_contact_solver;

sh_softness sh_make_soft(float hertz, float zeta, float h);
// The friction directions of a contact normal: the solver's tangent_impulse[k] acts along tk (on body B;
// minus on A). A function of the normal alone, so reporting rebuilds the solver's exact basis.
void sh_contact_tangents(const vec3 n, vec3 t1, vec3 t2);
void sh_contact_solver_prepare(sh_contact_solver* s, sh_world* w);
// prepare, piecewise: the step's two softness settings, then one constraint (its a, b and contact set).
// Without rows, the Jacobian rows, effective masses and impact speeds are left out (the wide solver
// computes them lane-wise with the same formulas).
void sh_contact_solver_softness(const sh_contact_solver* s, const sh_world* w, sh_softness* soft,
                                sh_softness* static_soft);
void sh_contact_solver_prepare_one(const sh_contact_solver* s, const sh_world* w, sh_softness soft,
                                   sh_softness static_soft, bool rows, sh_constraint* c);
// Restitution wants the speed at impact, not at step start: gravity keeps accelerating a body during the
// sub-steps before a speculative contact closes, and a body struck earlier in the step carries the blow on.
// Before each sub-step's warm start, every constraint that has not pushed yet records its points' normal
// velocity; when it first pushes, that is its impact speed. Taken inside the Gauss-Seidel pass instead (as
// before), it read the transient of other constraints' warm-start impulses: a box leaving the one that had
// just hit it carried that contact's stored impulse into its next contact for a moment, and that contact
// bounced at 4.5 m/s instead of 3 (cradle at 33 ms gained 10 % of its energy).
void sh_contact_solver_approach(sh_contact_solver* s);
void sh_contact_solver_warm_start(sh_contact_solver* s);
void sh_contact_solver_solve(sh_contact_solver* s, bool use_bias);
// Impacts (constraints with a point closing faster than the restitution threshold or a speculative gap) get
// extra relax passes and an iterated restitution pass: one Gauss-Seidel sweep over a 4-point face leaves
// the first point with most of the impulse and the body spinning; converged, every point ends at the same
// normal velocity and a flat landing stays flat.
void sh_contact_solver_solve_subset(sh_contact_solver* s, const int* list, int count, bool use_bias);
void sh_contact_solver_restitution(sh_contact_solver* s, const int* list, int count, int iterations);
// Largest normal-velocity error left (m/s): |vn| where impulse > 0, approach speed where penetrating.
float sh_contact_solver_residual(const sh_contact_solver* s);
void sh_contact_solver_store(sh_contact_solver* s, sh_world* w);
// The same two over a list of constraint indices (the wide solver keeps the rest in its lanes).
float sh_contact_solver_residual_list(const sh_contact_solver* s, const int* list, int count);
void sh_contact_solver_store_list(sh_contact_solver* s, sh_world* w, const int* list, int count);
