// The curated library of a session's Lua state (l_sandbox.h, docs/session-api.md "The sandbox").
// Scripts are the operator's, not the client's; the sandbox is there so that a scenario with a bug (or
// an eval typed into the REPL) ends its own session, never the host: nothing here can switch the
// budget off (no debug, so no sethook and no registry), reach the process (no io, os.execute, os.exit,
// loadlib), or spin inside one C call where the instruction hook cannot see it.
#include "l_sandbox.h"

#include "l_simhost.h"

#include <lualib.h>
#include <string.h>

// load(chunk [, name [, mode [, env]]]) with mode forced to "t": a binary chunk is bytecode the VM
// trusts, and malformed bytecode can read and write outside the stack. Upvalue 1: the stock load.
static int sb_load(lua_State* L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    if (n >= 2)
        lua_pushvalue(L, 2);
    else
        lua_pushnil(L);
    lua_pushliteral(L, "t");
    if (n >= 4)
        lua_pushvalue(L, 4); // an explicit env, even nil, as the stock load treats it
    lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
    return lua_gettop(L) - n;
}

// path names a file under dir ("dir/..."), with no ".." component.
static bool inside(const char* dir, const char* path)
{
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0 || path[n] != '/')
        return false;
    for (const char* p = path + n; (p = strstr(p, "/..")) != NULL; p += 3)
        if (p[3] == '/' || p[3] == '\0')
            return false;
    return true;
}

// loadfile(path [, mode [, env]]): text only, and only files in the scripts dir (upvalue 1). No path
// reads stdin, as the stock one does.
static int sb_loadfile(lua_State* L)
{
    const char* path = luaL_checkstring(L, 1);
    int env = !lua_isnone(L, 3) ? 3 : 0;
    if (!inside(lua_tostring(L, lua_upvalueindex(1)), path))
    {
        luaL_pushfail(L);
        lua_pushfstring(L, "cannot open %s (outside the scripts directory)", path);
        return 2;
    }
    if (luaL_loadfilex(L, path, "t") != LUA_OK)
    {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env != 0)
    {
        lua_pushvalue(L, env);
        if (lua_setupvalue(L, -2, 1) == NULL)
            lua_pop(L, 1);
    }
    return 1;
}

static int sb_dofile(lua_State* L)
{
    const char* path = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    if (!inside(lua_tostring(L, lua_upvalueindex(1)), path))
        return luaL_error(L, "cannot open %s (outside the scripts directory)", path);
    if (luaL_loadfilex(L, path, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

// setmetatable(t, mt) refuses an mt with __gc: Lua runs finalizers with hooks off (during any GC step
// and at lua_close), so a finalizer that loops would hang its worker for ever. Upvalue 1: the stock one.
static int sb_setmetatable(lua_State* L)
{
    if (lua_type(L, 2) == LUA_TTABLE)
    {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc finalizers are not available to session scripts");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

// getmetatable(u) is nil for the host's userdata (worlds, the asset DB, the session): their metatables
// hold C finalizers a script could otherwise replace with a Lua function. Tables and strings as stock.
static int sb_getmetatable(lua_State* L)
{
    luaL_checkany(L, 1);
    if (lua_type(L, 1) == LUA_TUSERDATA)
    {
        if (luaL_getmetafield(L, 1, "__metatable") == LUA_TNIL)
            lua_pushnil(L);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

// string.rep(s, n [, sep]): the stock one allocates the whole result before its copy loop, so the memory
// cap bounds the loop, except when s and sep are both empty: then it allocates nothing and loops n
// times (n = math.maxinteger is ~10^19 empty memcpys). That case is answered here.
static int sb_rep(lua_State* L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0)
    {
        lua_pushliteral(L, "");
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

// Replaces t[name] (t on top of the stack) by a closure over (old t[name]) or over the value on top.
static void wrap(lua_State* L, int t, const char* name, lua_CFunction fn)
{
    lua_getfield(L, t, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, t, name);
}

static void with_dir(lua_State* L, int t, const char* name, lua_CFunction fn, const char* dir)
{
    lua_pushstring(L, dir);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, t, name);
}

static void clear(lua_State* L, int t, const char* const* names)
{
    for (; *names != NULL; names++)
    {
        lua_pushnil(L);
        lua_setfield(L, t, *names);
    }
}

static void open_base(lua_State* L, const char* scripts_dir)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    int g = lua_gettop(L);
    wrap(L, g, "load", sb_load);
    wrap(L, g, "setmetatable", sb_setmetatable);
    wrap(L, g, "getmetatable", sb_getmetatable);
    with_dir(L, g, "loadfile", sb_loadfile, scripts_dir);
    with_dir(L, g, "dofile", sb_dofile, scripts_dir);
    lua_pop(L, 1);
}

// require finds Lua files on package.path and what is preloaded; C modules the scripts use (cjson) are
// loaded here, before the C searchers and loadlib go.
static void open_package(lua_State* L, const char* scripts_dir)
{
    luaL_requiref(L, LUA_LOADLIBNAME, luaopen_package, 1);
    int p = lua_gettop(L);
    luaL_requiref(L, "simhost", luaopen_simhost, 0);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;/usr/share/lua/5.4/?.lua;/usr/share/lua/5.4/?/init.lua",
                    scripts_dir, scripts_dir);
    lua_setfield(L, p, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, p, "cpath");
    lua_pushnil(L);
    lua_setfield(L, p, "loadlib");
    lua_getfield(L, p, "searchers"); // keep [1] preload and [2] Lua files
    for (lua_Integer i = luaL_len(L, -1); i > 2; i--)
    {
        lua_pushnil(L);
        lua_seti(L, -2, i);
    }
    lua_pop(L, 2);
}

void sh_l_sandbox_open(lua_State* L, const char* scripts_dir, sh_l_tick_fn tick, size_t memory_cap)
{
    static const char* const os_gone[] = {"execute", "exit",    "getenv",    "remove",
                                          "rename",  "tmpname", "setlocale", NULL};
    static const char* const string_gone[] = {"dump", NULL};
    open_base(L, scripts_dir);
    open_package(L, scripts_dir);
    static const luaL_Reg libs[] = {{LUA_COLIBNAME, luaopen_coroutine},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8},
                                    {LUA_OSLIBNAME, luaopen_os},
                                    {NULL, NULL}};
    for (const luaL_Reg* lib = libs; lib->name != NULL; lib++)
    {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    lua_getglobal(L, LUA_OSLIBNAME);
    clear(L, lua_gettop(L), os_gone);
    lua_pop(L, 1);

    sh_l_ticker* t = lua_newuserdatauv(L, sizeof *t, 0);
    t->fn = tick;
    t->steps = 0;
    int ticker = lua_gettop(L);
    lua_getglobal(L, LUA_STRLIBNAME);
    clear(L, lua_gettop(L), string_gone);
    wrap(L, lua_gettop(L), "rep", sb_rep);
    lua_pushvalue(L, ticker);
    sh_l_pattern_install(L, -2);
    lua_pop(L, 2);
    lua_getglobal(L, LUA_TABLIBNAME);
    lua_pushvalue(L, ticker);
    sh_l_table_bounded_install(L, -2);
    lua_pop(L, 2);
    sh_l_json_guard_install(L, memory_cap); // the ticker is on top
    lua_pop(L, 1);
}
