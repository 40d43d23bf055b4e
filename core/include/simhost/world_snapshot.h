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

// --- snapshots (docs/recordings.md "Resume") --------------------------------------------------------
// Everything that determines the world's next steps as one versioned, checksummed blob: the def, time and
// step counter, the centred hulls, every body slot (pose, velocities, mass properties, flags, sleep timer
// and island links, generation), the id pools' free lists, the contact cache (manifolds with their
// feature ids, warm-start impulses, SAT caches), the pair set, the sleeping islands, both broad-phase
// trees and the move buffer, the last step's touching list and stats. A world restored from it steps
// bit-identically to the one it was taken from. *out is freed with sh_free(*out, *bytes).
bool sh_world_snapshot(const sh_world* world, void** out, size_t* bytes, sh_error* err);
// Replaces world's whole state with the snapshot's (def included, except how it steps: its threads and
// task interface stay the caller's, docs/physics.md "Threads"). The blob is checked before anything is
// changed: a truncated, corrupt (checksum), foreign or inconsistent blob (an index out of range, a
// broken tree or island list) is an error naming what was wrong and leaves the world as it was. The
// world's hulls afterwards are the snapshot's own copies, so it needs no asset DB.
bool sh_world_restore(sh_world* world, const void* blob, size_t bytes, sh_error* err);
