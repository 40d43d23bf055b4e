// cjson.encode for session states, guarded. lua-cjson builds its output in a malloc'd buffer of its own,
// outside the state's allocator, and aborts the process when malloc fails; and it runs in one C call.
// A table that shares subtables (t = {s, s}, then {t, t}, ... 30 levels: 2^30 copies of s) makes it
// write petabytes: the host would die of it. Before encoding, the guard walks the value once, counting
// the worst case of the output (every string byte escaped as \u00XX: 6 bytes) against the memory cap
// and ticking the CPU budget per node (l_sandbox.h); past the cap it raises instead.
#include "l_sandbox.h"

#include <stdbool.h>

typedef struct estimate
{
    lua_State* L;
    sh_l_ticker* ticker;
    size_t total, max;
} estimate;

enum
{
    NUMBER_BYTES = 32,     // "%.14g" and friends fit
    MAX_WALK_DEPTH = 1000, // cjson refuses deeper nesting itself (its encode_max_depth default)
};

static void add(estimate* e, size_t n)
{
    e->total += n;
    if (e->total > e->max)
        luaL_error(e->L, "json encode: the output would pass the memory limit (%I bytes)",
                   (LUAI_UACINT)e->max);
}

static void walk(estimate* e, int idx, int depth)
{
    lua_State* L = e->L;
    sh_l_tick(L, e->ticker, 1);
    switch (lua_type(L, idx))
    {
        case LUA_TSTRING:
            add(e, lua_rawlen(L, idx) * 6 + 2);
            return;
        case LUA_TTABLE:
            break;
        default:
            add(e, NUMBER_BYTES);
            return;
    }
    if (depth > MAX_WALK_DEPTH)
        return;
    luaL_checkstack(L, 4, "json encode");
    add(e, 2);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0)
    {
        // key (never converted: lua_next needs it as it is), ':' and ','
        add(e, (lua_type(L, -2) == LUA_TSTRING ? lua_rawlen(L, -2) * 6 + 2 : NUMBER_BYTES) + 2);
        walk(e, lua_absindex(L, -1), depth + 1);
        lua_pop(L, 1);
    }
}

// guard(v): raises when encoding v could pass the cap. Upvalues: ticker, cap (integer).
static int guard(lua_State* L)
{
    estimate e = {.L = L,
                  .ticker = lua_touserdata(L, lua_upvalueindex(1)),
                  .max = (size_t)lua_tointeger(L, lua_upvalueindex(2))};
    lua_settop(L, 1);
    walk(&e, 1, 0);
    return 0;
}

// Wraps encode in the module table and in every table cjson.new() returns.
static const char wrap_src[] = "local cjson, guard = ...\n"
                               "local function wrap(m)\n"
                               "  local encode, new = m.encode, m.new\n"
                               "  m.encode = function(v, ...) guard(v) return encode(v, ...) end\n"
                               "  m.new = function(...) return wrap(new(...)) end\n"
                               "  return m\n"
                               "end\n"
                               "wrap(cjson)\n";

void sh_l_json_guard_install(lua_State* L, size_t max_bytes)
{
    int ticker = lua_gettop(L);
    if (luaL_loadbufferx(L, wrap_src, sizeof wrap_src - 1, "=json_guard", "t") != LUA_OK)
        lua_error(L);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_getfield(L, -1, "cjson");
    lua_replace(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, ticker);
    lua_pushinteger(L, (lua_Integer)max_bytes);
    lua_pushcclosure(L, guard, 2);
    lua_call(L, 2, 0);
}
