#pragma once
// Deep-penetration projection with shock propagation, run once per step after the soft step's sub-steps
// (solver.c). The soft contact is a spring of stiffness m_eff·ω² with m_eff about the lighter body's mass,
// so a light body pressed by one 10³ … 10⁵ times heavier gives way by load / (m_light·ω²) (decimetres), and
// the relax passes' Gauss-Seidel cannot carry such a load through so light a body either (each pass moves
// the heavy body by m_light / m_heavy of the error). Stiffening the spring is not open: its rate is
// already at the cap the sub-step rate allows.
//
// So, only where a manifold point ends the step deeper than SH_DEEP_SLOP (well past any resting depth:
// ordinary stacks and the 5050 pyramid never get there, and then this costs one cheap screen per
// contact), the bodies of the touching groups involved are moved apart by non-linear Gauss-Seidel on
// positions (Box2D v2's position solver, Catto 2009), in shock-propagation order (Guendelman, Bridson and
// Fedkiw 2003; Erleben 2005, ch. 7): bodies are ranked by their contact-graph distance from the static
// world, contacts are swept from the ground up, and in a contact between two ranks the lower body counts
// as infinitely heavy, so the correction runs up the pile in one sweep whatever the masses. Then the same
// order on velocities at the points it pushed, taking out only what still closes there, and those contacts
// forget their stored impulses (stop_sinking in penetration.c says why, and why it never adds energy).
// Which contacts qualify, and what it costs, is in penetration.c (SH_DEEP_RATIO, SH_DEEP_MOTION).

#include "world.h"

// m: a point deeper than this at the end of the step is projected back to it. 1 cm is physics.md's bound
// for anything left penetrating (row 20); half of it leaves room for the next step's new depth.
#define SH_DEEP_SLOP 0.005f

// Runs after the step's poses are written back to the bodies; sb[0 … n-1] (body_of[i]: the body of sb[i])
// still hold the step's changes (dp, dq), from which it bounds how far each body moved. Moves simulated
// bodies' poses (never a static or sleeping body) so that no touching point is left deeper than
// SH_DEEP_SLOP, takes out the closing velocity at the points it moved and zeroes those contacts' stored
// impulses. Scratch from w->arena. Returns the number of contacts it swept (0 in a scene with nothing deep),
// or -1 out of scratch memory: the pass stopped there (a round already projected stays), and the step
// reports "out of memory in the penetration pass".
int sh_penetration_project(sh_world* w, const sh_solver_body* sb, const int* body_of, int n);
