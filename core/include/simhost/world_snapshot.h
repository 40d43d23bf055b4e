#pragma once
// What a recording needs from a world beyond physics.h: each body's mass distribution (so a replay
// computes per-body energies from a frame) and the energy split into its linear, rotational and
// potential parts (docs/recordings.md). Kept apart from physics.h, which the solver work changes.

#include "simhost/physics.h"

// The centre of mass in the asset frame and the inertia about it in the body frame (kg·m², row-major).
// Static bodies: zero inertia. false for a stale id.
bool sh_body_get_inertia(const sh_world* world, sh_body_id id, float local_center[3], float inertia[9]);

typedef struct sh_energy_parts
{
    double linear, rotational, potential; // J; potential = m·|g|·z of the centre of mass
} sh_energy_parts;

// Sum over dynamic bodies; sh_world_energy is this sum with the kinetic parts added.
void sh_world_energy_parts(const sh_world* world, sh_energy_parts* out);
