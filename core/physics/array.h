#pragma once
// Growable arrays of structs, indexed by int (the box3d container idea). Memory through sh_realloc so it
// is counted. SH_ARRAY_RESERVE returns false on out of memory and leaves the array unchanged.

#include "simhost/base.h"

#define SH_ARRAY(T)                                                                                          \
    struct                                                                                                   \
    {                                                                                                        \
        T* data;                                                                                             \
        int count, capacity;                                                                                 \
    }

// Grows capacity to at least n (doubling), keeping contents.
#define SH_ARRAY_RESERVE(a, n)                                                                               \
    ((n) <= (a).capacity ? true : sh_array_grow((void**)&(a).data, &(a).capacity, (n), sizeof *(a).data))

#define SH_ARRAY_FREE(a)                                                                                     \
    do                                                                                                       \
    {                                                                                                        \
        sh_free((a).data, (size_t)(a).capacity * sizeof *(a).data);                                          \
        (a).data = NULL;                                                                                     \
        (a).count = (a).capacity = 0;                                                                        \
    } while (0)

static inline bool sh_array_grow(void** data, int* capacity, int n, size_t elem)
{
    int cap = *capacity < 16 ? 16 : *capacity;
    while (cap < n)
        cap *= 2;
    void* p = sh_realloc(*data, (size_t)*capacity * elem, (size_t)cap * elem);
    if (p == NULL)
        return false;
    *data = p;
    *capacity = cap;
    return true;
}
