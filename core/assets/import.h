#pragma once
// Mesh file readers (private to core/assets); sh_mesh_load (mesh.c) picks one by content. Each parses a
// whole file already in memory (data[size] == '\0' is guaranteed) into an empty mesh, welding repeated
// corners, and fails with "PATH: <why>" (line numbers for text formats).

#include "simhost/assets.h"

bool sh_import_stl_binary(const char* path, const unsigned char* data, size_t size, sh_mesh* m,
                          sh_error* err);
bool sh_import_stl_ascii(const char* path, const char* data, size_t size, sh_mesh* m, sh_error* err);
bool sh_import_obj(const char* path, const char* data, size_t size, sh_mesh* m, sh_error* err);

// Most triangles a mesh file may hold (a guard against absurd allocations from a hostile header).
#define SH_IMPORT_MAX_TRIANGLES 5000000
