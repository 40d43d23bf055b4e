#pragma once
// Levels of the step's contact constraints, so the solver can run many side by side in SIMD lanes and
// still give exactly the result of its sequential Gauss-Seidel sweep in constraint index order.
//
// Two constraints that share no simulated body touch disjoint state and commute (bit for bit); only the
// relative order of constraints sharing a body matters. Any levels where each constraint sits above every
// earlier constraint on either of its bodies keep every such pair in index order, and a level's
// constraints share no body. (Level scheduling, as in sparse triangular solves; static bodies, and bodies
// not simulated this step, all map to the solver's static dummy, which is never changed, so they link
// nothing.) The fewest levels are the ASAP ones (one more than the highest level already given to a
// constraint on either body); the build keeps that level count but moves constraints with slack to fill
// the batches of eight lanes (constraint_graph.c): on the 5050-cube pyramid ASAP gave 719 levels in 2179
// batches for 14 950 constraints (86 % full), the filled levels 1936 batches (97 %; 1869 is the floor).
//
// Why not Box2D v3's greedy colouring (first colour free of both bodies, a small fixed palette, an overflow
// set): it reorders the sweep, and our order matters on tall stacks. Measured on the 5050-cube pyramid
// after 200 steps: greedy 24 colours 0.43 m top shift (static-first variant 0.24 m), index order 0.016 m.

#include "world.h"

// Lanes of a solver batch (contact_solver_wide.h's SH_WIDE): the levels are filled in whole batches.
#define SH_GRAPH_BATCH 8

typedef struct sh_constraint_graph
{
    int level_count;
    int* level_start; // [level_count + 1]: level l holds order[level_start[l] .. level_start[l + 1])
    int* order;       // constraint indices by level, ascending within a level
    int body_count;   // simulated bodies; the static dummy is index body_count
} sh_constraint_graph;

// Levels for the constraints list[0 .. count) of cons (list NULL: cons[0 .. count)), taken in list order,
// over body_count simulated bodies (index body_count is the static dummy). order holds constraint indices.
// Deterministic; scratch and lists come from the arena; false only when it is out of memory.
bool sh_constraint_graph_build(sh_constraint_graph* g, const sh_constraint* cons, const int* list, int count,
                               int body_count, sh_arena* arena);
