// The `session` object a live-session script sees (docs/session-api.md): send control messages and
// frames, close, timers on the monotonic clock, limits, the asset DB. The host (core/net) creates it
// with sh_l_host_push_session; plain Lua (simhost.so in an interpreter) never sees one.
// session.assets is the server's shared asset DB (lent: Lua never closes it).
//
// Fields the script sets on the session (session.state = ...) live in the userdata's user value,
// so a script can keep its per-connection state on the object it is handed.
#include "l_simhost.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SESSION_META "simhost.session"

typedef struct l_session
{
    sh_session* s;
    const sh_session_ops* ops;
} l_session;

static l_session* check_session(lua_State* L)
{
    return luaL_checkudata(L, 1, SESSION_META);
}

static int session_send(lua_State* L)
{
    l_session* ls = check_session(L);
    size_t n;
    const char* data = luaL_checklstring(L, 2, &n);
    lua_pushboolean(L, ls->ops->send(ls->s, data, n, SH_SEND_CONTROL));
    return 1;
}

static int session_send_frame(lua_State* L)
{
    l_session* ls = check_session(L);
    size_t n;
    const char* data = luaL_checklstring(L, 2, &n);
    lua_pushboolean(L, ls->ops->send(ls->s, data, n, SH_SEND_FRAME));
    return 1;
}

// session:send_frame_bin(bytes): an SHF1 frame (w:frame_bin) as one binary message; droppable like frames.
static int session_send_frame_bin(lua_State* L)
{
    l_session* ls = check_session(L);
    size_t n;
    const char* data = luaL_checklstring(L, 2, &n);
    lua_pushboolean(L, ls->ops->send(ls->s, data, n, SH_SEND_FRAME_BINARY));
    return 1;
}

static int session_close(lua_State* L)
{
    l_session* ls = check_session(L);
    ls->ops->close(ls->s);
    return 0;
}

static int session_now(lua_State* L)
{
    lua_pushnumber(L, sh_now());
    return 1;
}

// session:schedule(t) arms the timer at absolute time t (session:now() clock); nil disarms.
static int session_schedule(lua_State* L)
{
    l_session* ls = check_session(L);
    if (lua_isnoneornil(L, 2))
    {
        ls->ops->set_timer(ls->s, -1);
        return 0;
    }
    lua_Number t = luaL_checknumber(L, 2);
    luaL_argcheck(L, isfinite(t) && t >= 0, 2, "must be a finite time");
    ls->ops->set_timer(ls->s, t);
    return 0;
}

// session:set_timer(seconds) arms the timer that many seconds from now; nil disarms.
static int session_set_timer(lua_State* L)
{
    l_session* ls = check_session(L);
    if (lua_isnoneornil(L, 2))
        return session_schedule(L); // disarms
    lua_Number dt = luaL_checknumber(L, 2);
    luaL_argcheck(L, isfinite(dt), 2, "must be a finite number of seconds");
    ls->ops->set_timer(ls->s, sh_now() + (dt > 0 ? dt : 0));
    return 0;
}

static int session_dropped(lua_State* L)
{
    l_session* ls = check_session(L);
    lua_pushinteger(L, (lua_Integer)ls->ops->dropped(ls->s));
    return 1;
}

static int session_queued(lua_State* L)
{
    l_session* ls = check_session(L);
    lua_pushinteger(L, ls->ops->queued(ls->s));
    return 1;
}

static int session_log(lua_State* L)
{
    l_session* ls = check_session(L);
    const char* msg = luaL_checkstring(L, 2);
    fprintf(stderr, "simhost: session %u: %s\n", ls->ops->id(ls->s), msg);
    return 0;
}

static const luaL_Reg session_methods[] = {{"send", session_send},
                                           {"send_frame", session_send_frame},
                                           {"close", session_close},
                                           {"now", session_now},
                                           {"schedule", session_schedule},
                                           {"set_timer", session_set_timer},
                                           {"dropped", session_dropped},
                                           {"queued", session_queued},
                                           {"log", session_log},
                                           {"send_frame_bin", session_send_frame_bin},
                                           {NULL, NULL}};

// __index: methods, then fields in the user value.
static int session_index(lua_State* L)
{
    check_session(L);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    lua_getuservalue(L, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int session_newindex(lua_State* L)
{
    check_session(L);
    luaL_argcheck(L, lua_type(L, 2) == LUA_TSTRING, 2, "session fields are named by strings");
    lua_getfield(L, lua_upvalueindex(1), lua_tostring(L, 2));
    luaL_argcheck(L, lua_isnil(L, -1), 2, "cannot replace a session method");
    lua_pop(L, 1);
    lua_getuservalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

static int session_tostring(lua_State* L)
{
    l_session* ls = check_session(L);
    lua_pushfstring(L, "simhost.session %d", (int)ls->ops->id(ls->s));
    return 1;
}

void sh_l_host_push_session(lua_State* L, sh_session* s, const sh_session_ops* ops,
                            const sh_session_limits* limits, const char* scripts_dir, const char* assets_path,
                            sh_asset_db* db)
{
    l_session* ls = lua_newuserdatauv(L, sizeof *ls, 1);
    ls->s = s;
    ls->ops = ops;
    if (luaL_newmetatable(L, SESSION_META))
    {
        luaL_newlib(L, session_methods); // methods table, upvalue of __index/__newindex
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, session_index, 1);
        lua_setfield(L, -3, "__index");
        lua_pushcclosure(L, session_newindex, 1);
        lua_setfield(L, -2, "__newindex");
        lua_pushcfunction(L, session_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "simhost.session");
        lua_setfield(L, -2, "__name");
    }
    lua_setmetatable(L, -2);

    lua_newtable(L); // the user value: fields
    lua_pushinteger(L, ops->id(s));
    lua_setfield(L, -2, "id");
    lua_pushstring(L, scripts_dir);
    lua_setfield(L, -2, "scripts_dir");
    lua_pushstring(L, assets_path);
    lua_setfield(L, -2, "assets_path");
    // The server's DB, opened once: read-only DBs are loaded whole and safe to read from any thread,
    // so every session shares it instead of loading its own copy.
    sh_l_push_assets(L, db, false);
    lua_setfield(L, -2, "assets");
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, limits->max_objects);
    lua_setfield(L, -2, "max_objects");
    lua_pushnumber(L, limits->max_duration_s);
    lua_setfield(L, -2, "max_duration_s");
    lua_pushnumber(L, limits->idle_timeout_s);
    lua_setfield(L, -2, "idle_timeout_s");
    lua_pushinteger(L, (lua_Integer)limits->max_message_bytes);
    lua_setfield(L, -2, "max_message_bytes");
    lua_pushinteger(L, (lua_Integer)limits->lua_memory_bytes);
    lua_setfield(L, -2, "lua_memory_bytes");
    lua_pushinteger(L, limits->lua_cpu_ms);
    lua_setfield(L, -2, "lua_cpu_ms");
    lua_setfield(L, -2, "limits");
    lua_setiuservalue(L, -2, 1);
}

static int dir_gc(lua_State* L)
{
    DIR** box = lua_touserdata(L, 1);
    if (*box != NULL)
        closedir(*box);
    *box = NULL;
    return 0;
}

// simhost.host.list_dir(path) --> sorted array of entry names (no "." or ".."), or nil, message.
// Lua has no readdir; the scenario listing needs one. The DIR is owned by a userdata with __gc,
// so a memory error while filling the table cannot leak it.
static int host_list_dir(lua_State* L)
{
    const char* path = luaL_checkstring(L, 1);
    DIR** box = lua_newuserdatauv(L, sizeof(DIR*), 0);
    *box = NULL;
    if (luaL_newmetatable(L, "simhost.dir"))
    {
        lua_pushcfunction(L, dir_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    *box = opendir(path);
    if (*box == NULL)
    {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    lua_newtable(L);
    int n = 0;
    struct dirent* e;
    while ((e = readdir(*box)) != NULL && n < 100000)
    {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
    }
    closedir(*box);
    *box = NULL;
    lua_getglobal(L, "table"); // sorted byte-wise, so listings are stable
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, -3);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    return 1;
}

void sh_l_host_register(lua_State* L)
{
    // simhost.host: the parts of the host API that need no session (the REPL, `simhost run`).
    lua_newtable(L);
    lua_pushcfunction(L, session_now);
    lua_setfield(L, -2, "now");
    lua_pushcfunction(L, host_list_dir);
    lua_setfield(L, -2, "list_dir");
    lua_setfield(L, -2, "host");
}

void sh_l_push_print_line(lua_State* L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++)
    {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
}
