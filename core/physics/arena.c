#include "arena.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

void sh_arena_init(sh_arena* a)
{
    memset(a, 0, sizeof *a);
}

static void free_overflow(sh_arena* a)
{
    for (int i = 0; i < a->overflow_count; i++)
        sh_free(a->overflow[i], a->overflow_size[i]);
    a->overflow_count = 0;
}

void sh_arena_destroy(sh_arena* a)
{
    free_overflow(a);
    sh_free(a->overflow, (size_t)a->overflow_capacity * sizeof *a->overflow);
    sh_free(a->overflow_size, (size_t)a->overflow_capacity * sizeof *a->overflow_size);
    sh_free(a->base, a->capacity);
    memset(a, 0, sizeof *a);
}

void* sh_arena_alloc(sh_arena* a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    if (a->fail_above > 0 && a->used + size > a->fail_above)
        return NULL;
    if (a->used + size <= a->capacity)
    {
        void* p = a->base + a->used;
        a->used += size;
        if (a->used > a->peak)
            a->peak = a->used;
        return p;
    }
    // Overflow: count it towards the peak so the next reset grows the block.
    a->peak = a->used + size > a->peak ? a->used + size : a->peak;
    a->used += size;
    if (a->overflow_count == a->overflow_capacity)
    {
        int cap = a->overflow_capacity ? 2 * a->overflow_capacity : 8;
        void** o = sh_realloc(a->overflow, (size_t)a->overflow_capacity * sizeof *o, (size_t)cap * sizeof *o);
        if (o == NULL)
            return NULL;
        a->overflow = o;
        size_t* s =
            sh_realloc(a->overflow_size, (size_t)a->overflow_capacity * sizeof *s, (size_t)cap * sizeof *s);
        if (s == NULL)
            return NULL;
        a->overflow_size = s;
        a->overflow_capacity = cap;
    }
    void* p = sh_alloc(size);
    if (p == NULL)
        return NULL;
    a->overflow[a->overflow_count] = p;
    a->overflow_size[a->overflow_count] = size;
    a->overflow_count++;
    return p;
}

// Asks for 2 MB pages on the block's whole 2 MB-aligned part. A large step streams tens of MB through the
// arena several times a sub-step (the 5050 pyramid: 6.6 MB of solver batches, 12 MB of constraints),
// far more 4 KB pages than the TLB holds, so every pass missed it page after page. Advisory: where the
// kernel declines (THP off, no free huge page), the block keeps its 4 KB pages and works the same.
static void advise_huge_pages(void* p, size_t size)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    const uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + size) & ~(huge - 1);
    if (hi > lo)
        (void)madvise((void*)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

void sh_arena_reset(sh_arena* a)
{
    free_overflow(a);
    if (a->peak > a->capacity)
    {
        size_t cap = a->peak + a->peak / 4;
        char* b = sh_alloc(cap);
        if (b != NULL)
        {
            advise_huge_pages(b, cap);
            sh_free(a->base, a->capacity);
            a->base = b;
            a->capacity = cap;
        }
    }
    a->used = 0;
}
