#pragma once
// Argument readers shared by the binding files: every number that enters the core is checked finite
// here, and every failure is a Lua argument error naming the field.

#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>

// Field `name` of the table at index t as a finite number; `fallback` when nil. Range [lo, hi] inclusive;
// `what` completes "field 'name' must be ...", e.g. "a finite number > 0".
double sh_l_number_field(lua_State* L, int t, const char* name, double fallback, double lo, double hi,
                         const char* what);
// Like sh_l_number_field but the range excludes lo (lo < v <= hi).
double sh_l_number_field_gt(lua_State* L, int t, const char* name, double fallback, double lo, double hi,
                            const char* what);
bool sh_l_bool_field(lua_State* L, int t, const char* name, bool fallback);
// A vector at stack index idx: {x, y, z} or {x=, y=, z=}, all finite. `label` names it in the error.
void sh_l_check_vec3_at(lua_State* L, int arg, int idx, const char* label, float out[3]);
// Field `name` as a vector; returns false (out untouched) when nil.
bool sh_l_vec3_field(lua_State* L, int t, const char* name, float out[3]);
// Field `name` as an n-array of finite numbers ({w,x,y,z} or keyed w=,x=,... when keys given).
bool sh_l_numbers_field(lua_State* L, int t, const char* name, int n, const char* const* keys, double* out);
