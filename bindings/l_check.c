#include "l_check.h"

#include <math.h>

static double number_field(lua_State* L, int t, const char* name, double fallback, double lo, double hi,
                           bool open_lo, const char* what)
{
    int ok = 1;
    double v = fallback;
    if (lua_getfield(L, t, name) != LUA_TNIL)
        v = lua_tonumberx(L, -1, &ok);
    if (!ok || !isfinite(v) || v > hi || (open_lo ? v <= lo : v < lo))
        luaL_argerror(L, t, lua_pushfstring(L, "field '%s' must be %s", name, what));
    lua_pop(L, 1);
    return v;
}

double sh_l_number_field(lua_State* L, int t, const char* name, double fallback, double lo, double hi,
                         const char* what)
{
    return number_field(L, t, name, fallback, lo, hi, false, what);
}

double sh_l_number_field_gt(lua_State* L, int t, const char* name, double fallback, double lo, double hi,
                            const char* what)
{
    return number_field(L, t, name, fallback, lo, hi, true, what);
}

bool sh_l_bool_field(lua_State* L, int t, const char* name, bool fallback)
{
    int ty = lua_getfield(L, t, name);
    bool v = fallback;
    if (ty == LUA_TBOOLEAN)
        v = lua_toboolean(L, -1);
    else if (ty != LUA_TNIL)
        luaL_argerror(L, t, lua_pushfstring(L, "field '%s' must be a boolean", name));
    lua_pop(L, 1);
    return v;
}

static bool read_numbers(lua_State* L, int idx, int n, const char* const* keys, double* out)
{
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx))
        return false;
    bool keyed = keys != NULL && lua_getfield(L, idx, keys[0]) != LUA_TNIL;
    if (keys != NULL)
        lua_pop(L, 1);
    if (!keyed && lua_rawlen(L, idx) != (size_t)n)
        return false;
    for (int i = 0; i < n; i++)
    {
        if (keyed)
            lua_getfield(L, idx, keys[i]);
        else
            lua_rawgeti(L, idx, i + 1);
        int ok = 0;
        double v = lua_tonumberx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || !isfinite(v))
            return false;
        out[i] = v;
    }
    return true;
}

static const char* const xyz_keys[] = {"x", "y", "z"};

void sh_l_check_vec3_at(lua_State* L, int arg, int idx, const char* label, float out[3])
{
    double v[3];
    if (!read_numbers(L, idx, 3, xyz_keys, v))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be {x, y, z} of 3 finite numbers", label));
    for (int i = 0; i < 3; i++)
        out[i] = (float)v[i];
    if (!isfinite(out[0]) || !isfinite(out[1]) || !isfinite(out[2])) // finite double, but beyond float
        luaL_argerror(L, arg, lua_pushfstring(L, "%s is out of range", label));
}

bool sh_l_vec3_field(lua_State* L, int t, const char* name, float out[3])
{
    if (lua_getfield(L, t, name) == LUA_TNIL)
    {
        lua_pop(L, 1);
        return false;
    }
    double v[3];
    if (!read_numbers(L, -1, 3, xyz_keys, v) || !isfinite((float)v[0]) || !isfinite((float)v[1]) ||
        !isfinite((float)v[2]))
        luaL_argerror(L, t, lua_pushfstring(L, "field '%s' must be {x, y, z} of 3 finite numbers", name));
    lua_pop(L, 1);
    for (int i = 0; i < 3; i++)
        out[i] = (float)v[i];
    return true;
}

bool sh_l_numbers_field(lua_State* L, int t, const char* name, int n, const char* const* keys, double* out)
{
    if (lua_getfield(L, t, name) == LUA_TNIL)
    {
        lua_pop(L, 1);
        return false;
    }
    if (!read_numbers(L, -1, n, keys, out))
        luaL_argerror(L, t, lua_pushfstring(L, "field '%s' must be an array of %d finite numbers", name, n));
    lua_pop(L, 1);
    return true;
}
