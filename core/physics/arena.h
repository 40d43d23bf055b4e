#pragma once
// Per-step scratch: a bump allocator reset every step. When a step asks for more than the block holds,
// the excess comes from the heap and the block grows to the step's peak at the next reset, so a steady
// scene does no per-step malloc (the box3d arena_allocator idea).

#include "simhost/base.h"

typedef struct sh_arena
{
    char* base;
    size_t capacity, used, peak;
    void** overflow; // heap blocks handed out past the capacity this step
    size_t* overflow_size;
    int overflow_count, overflow_capacity;
    // Tests only (spec/c/test_threads.c): above 0, an allocation that would take `used` past it fails as
    // out of memory does, so each stage's out-of-memory path can be reached on purpose.
    size_t fail_above;
} sh_arena;

void sh_arena_init(sh_arena* a);
void sh_arena_destroy(sh_arena* a);
// 16-byte aligned; NULL only on out of memory.
void* sh_arena_alloc(sh_arena* a, size_t size);
// Frees everything handed out since the last reset.
void sh_arena_reset(sh_arena* a);
