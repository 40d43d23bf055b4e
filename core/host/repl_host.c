// The global `host` of the live server's REPLs (`serve --repl` on the terminal and every `--repl-socket`
// client): host.stats(), host.drain(), host.config, host.assets, host.sessions() and host.session(id) handles
// that eval, pause, resume, step and kill a live session (docs/repl.md).
//
// Everything here runs on the REPL's own thread. It never touches a session's Lua state or world: each
// session request goes to the session's actor as a message and waits for its answer
// (core/net/session_control.c), so it is safe while the session runs.
#include "repl_host.h"

#include "repl.h"

#include "simhost/lua.h"
#include "simhost/server.h"

#include <lauxlib.h>
#include <string.h>

#define HANDLE_META "simhost.host.session"

typedef struct session_handle
{
    sh_server* server;
    unsigned id;
} session_handle;

static sh_server* server_of(lua_State* L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

// host.stats() --> {state, sessions, max_sessions, sessions_total, refused_busy, uptime_s, alloc_bytes};
// reads counters only.
static int host_stats(lua_State* L)
{
    sh_server_stats st;
    sh_server_get_stats(server_of(L), &st);
    lua_createtable(L, 0, 7);
    lua_pushstring(L, sh_server_state_name(st.state));
    lua_setfield(L, -2, "state");
    lua_pushinteger(L, st.max_sessions);
    lua_setfield(L, -2, "max_sessions");
    lua_pushinteger(L, st.sessions);
    lua_setfield(L, -2, "sessions");
    lua_pushinteger(L, (lua_Integer)st.sessions_total);
    lua_setfield(L, -2, "sessions_total");
    lua_pushinteger(L, (lua_Integer)st.refused_busy);
    lua_setfield(L, -2, "refused_busy");
    lua_pushnumber(L, st.uptime_s);
    lua_setfield(L, -2, "uptime_s");
    lua_pushinteger(L, (lua_Integer)st.alloc_bytes);
    lua_setfield(L, -2, "alloc_bytes");
    return 1;
}

// {id, peer, state, bodies, frame, rtf}; what does not apply yet (no world, not started) is absent.
static void push_info(lua_State* L, const sh_session_info* info)
{
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, info->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, info->peer);
    lua_setfield(L, -2, "peer");
    lua_pushstring(L, info->state);
    lua_setfield(L, -2, "state");
    if (info->bodies >= 0)
    {
        lua_pushinteger(L, info->bodies);
        lua_setfield(L, -2, "bodies");
    }
    if (info->frame >= 0)
    {
        lua_pushinteger(L, info->frame);
        lua_setfield(L, -2, "frame");
    }
    if (info->rtf >= 0)
    {
        lua_pushnumber(L, info->rtf);
        lua_setfield(L, -2, "rtf");
    }
}

// Inside a protected call: the C array (argument 1, n at 2) as a Lua array of status tables.
static int push_infos(lua_State* L)
{
    const sh_session_info* infos = lua_touserdata(L, 1);
    int n = (int)lua_tointeger(L, 2);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++)
    {
        push_info(L, &infos[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

// Inside a protected call: the string (argument 1, length at 2).
static int push_text(lua_State* L)
{
    lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
    return 1;
}

// Runs fn(p, n) protected, so a memory error while copying C data into Lua cannot skip freeing it; the
// caller frees, then raises if this returned false (the error is on the stack).
static bool copy_in(lua_State* L, lua_CFunction fn, const void* p, lua_Integer n)
{
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, (void*)p);
    lua_pushinteger(L, n);
    return lua_pcall(L, 2, 1, 0) == LUA_OK;
}

// host.sessions() --> array of status tables, by id.
static int host_sessions(lua_State* L)
{
    sh_session_info* infos = NULL;
    int n = 0;
    if (!sh_server_sessions(server_of(L), &infos, &n))
        return luaL_error(L, "host.sessions: out of memory");
    bool ok = copy_in(L, push_infos, infos, n);
    sh_sessions_free(infos, n);
    return ok ? 1 : lua_error(L);
}

// Sends one request; the reply's text is copied into Lua and freed before anything can raise. On
// failure raises the reply's line (no position: it is the session's answer, not this call's fault).
static void control(lua_State* L, session_handle* h, const sh_control* req, sh_session_info* info)
{
    sh_control_reply reply;
    bool ok = sh_server_control(h->server, h->id, req, &reply);
    if (info != NULL)
        *info = reply.info;
    bool had_text = reply.text != NULL;
    bool copied = had_text && copy_in(L, push_text, reply.text, (lua_Integer)reply.len);
    sh_control_reply_free(&reply);
    if (!had_text)
        lua_pushliteral(L, "out of memory");
    if (!ok || !copied)
        lua_error(L);
}

static session_handle* check_handle(lua_State* L)
{
    return luaL_checkudata(L, 1, HANDLE_META);
}

// h:eval(code [, timeout_s]) --> what the code printed and the values it returned, as text (values
// rendered like the REPL's). Runs in the session's own Lua state, on its actor. A syntax or runtime error
// is raised here as its message; the session goes on. timeout_s: how long to wait for the answer
// (default: 10 s plus twice the session's CPU limit).
static int handle_eval(lua_State* L)
{
    session_handle* h = check_handle(L);
    size_t n;
    const char* code = luaL_checklstring(L, 2, &n);
    lua_Number timeout = luaL_optnumber(L, 3, 0);
    luaL_argcheck(L, lua_isnoneornil(L, 3) || (timeout > 0 && timeout <= 86400), 3,
                  "must be a number of seconds in 0 … 86400, above 0");
    sh_control req = {
        .kind = SH_CONTROL_EVAL, .code = code, .code_len = n, .render = sh_repl_pretty, .timeout_s = timeout};
    control(L, h, &req, NULL);
    return 1;
}

// pause/resume/step --> the session's status table afterwards.
static int status_after(lua_State* L, sh_control_kind kind, long frames)
{
    session_handle* h = check_handle(L);
    sh_control req = {.kind = kind, .frames = frames};
    sh_session_info info;
    control(L, h, &req, &info);
    lua_pop(L, 1);
    push_info(L, &info);
    return 1;
}

static int handle_info(lua_State* L)
{
    return status_after(L, SH_CONTROL_STATUS, 0);
}

static int handle_pause(lua_State* L)
{
    return status_after(L, SH_CONTROL_PAUSE, 0);
}

static int handle_resume(lua_State* L)
{
    return status_after(L, SH_CONTROL_RESUME, 0);
}

// h:step(n): exactly n frames (default 1), only while paused; the script validates n (1 ... 100000), so
// the REPL and a WebSocket `step` message get the same answer.
static int handle_step(lua_State* L)
{
    check_handle(L);
    lua_Integer n = luaL_optinteger(L, 2, 1);
    long frames = n < -1        ? -1
                  : n > 1000000 ? 1000000
                                : (long)n; // out of range either way: the script says so
    return status_after(L, SH_CONTROL_STEP, frames);
}

// h:kill(reason): the client gets {"type":"error","message":reason}, then the session ends.
static int handle_kill(lua_State* L)
{
    session_handle* h = check_handle(L);
    const char* reason = luaL_optstring(L, 2, "killed from the host's REPL");
    sh_control req = {.kind = SH_CONTROL_KILL, .reason = reason};
    control(L, h, &req, NULL);
    return 1; // "session N killed"
}

static int handle_tostring(lua_State* L)
{
    session_handle* h = check_handle(L);
    lua_pushfstring(L, "simhost.host.session %d", (int)h->id);
    return 1;
}

static int handle_index(lua_State* L)
{
    session_handle* h = check_handle(L);
    const char* k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    if (k != NULL && strcmp(k, "id") == 0)
    {
        lua_pushinteger(L, h->id);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

// host.drain(): new sessions are refused (HAProxy sends them to another host), running ones go on; with
// --exit-when-drained the host exits once the last has ended. Returns the state's name ("draining").
static int host_drain(lua_State* L)
{
    sh_server_drain(server_of(L));
    lua_pushstring(L, sh_server_state_name(sh_server_get_state(server_of(L))));
    return 1;
}

static const luaL_Reg handle_methods[] = {
    {"eval", handle_eval}, {"pause", handle_pause}, {"resume", handle_resume},
    {"step", handle_step}, {"kill", handle_kill},   {"info", handle_info},
    {NULL, NULL}};

// host.session(id) --> a handle; an id that names no live session is an error.
static int host_session(lua_State* L)
{
    lua_Integer id = luaL_checkinteger(L, 1);
    luaL_argcheck(L, id > 0 && id <= (lua_Integer)UINT32_MAX, 1,
                  "must be a session id (host.sessions() lists them)");
    sh_server* server = server_of(L);
    session_handle probe = {.server = server, .id = (unsigned)id};
    sh_control req = {.kind = SH_CONTROL_STATUS};
    control(L, &probe, &req, NULL);
    lua_pop(L, 1);
    session_handle* h = lua_newuserdatauv(L, sizeof *h, 0);
    *h = probe;
    if (luaL_newmetatable(L, HANDLE_META))
    {
        luaL_newlib(L, handle_methods);
        lua_pushcclosure(L, handle_index, 1);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, handle_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_setmetatable(L, -2);
    return 1;
}

static void set_config(lua_State* L, sh_server* server)
{
    const sh_server_config* c = sh_server_get_config(server);
    lua_createtable(L, 0, 15);
    lua_pushstring(L, c->host);
    lua_setfield(L, -2, "host");
    lua_pushinteger(L, sh_server_port(server));
    lua_setfield(L, -2, "port");
    lua_pushstring(L, c->assets_path);
    lua_setfield(L, -2, "assets");
    lua_pushstring(L, c->scripts_dir);
    lua_setfield(L, -2, "scripts");
    lua_pushinteger(L, c->max_sessions);
    lua_setfield(L, -2, "max_sessions");
    lua_pushinteger(L, c->workers);
    lua_setfield(L, -2, "workers");
    lua_pushinteger(L, (lua_Integer)c->max_message_bytes);
    lua_setfield(L, -2, "max_message_bytes");
    lua_pushinteger(L, c->max_objects);
    lua_setfield(L, -2, "max_objects");
    lua_pushnumber(L, c->max_duration_s);
    lua_setfield(L, -2, "max_duration_s");
    lua_pushnumber(L, c->idle_timeout_s);
    lua_setfield(L, -2, "idle_timeout_s");
    lua_pushinteger(L, (lua_Integer)c->lua_memory_bytes);
    lua_setfield(L, -2, "lua_memory_bytes");
    lua_pushinteger(L, c->lua_cpu_ms);
    lua_setfield(L, -2, "lua_cpu_ms");
    lua_pushinteger(L, c->outbox_frames);
    lua_setfield(L, -2, "outbox_frames");
    lua_pushinteger(L, (lua_Integer)c->outbox_bytes);
    lua_setfield(L, -2, "outbox_bytes");
    lua_setfield(L, -2, "config");
}

// Inside the protected call: the `host` table into the global `host`.
static int push_host(lua_State* L)
{
    sh_server* server = lua_touserdata(L, 1);
    lua_createtable(L, 0, 5);
    static const luaL_Reg fns[] = {{"stats", host_stats},
                                   {"drain", host_drain},
                                   {"sessions", host_sessions},
                                   {"session", host_session},
                                   {NULL, NULL}};
    lua_pushlightuserdata(L, server);
    luaL_setfuncs(L, fns, 1);
    set_config(L, server);
    sh_l_push_assets(L, sh_server_assets(server), false); // lent: the server closes it
    lua_setfield(L, -2, "assets");
    lua_setglobal(L, "host");
    return 0;
}

bool sh_repl_set_host(lua_State* L, sh_server* server, sh_error* err)
{
    lua_pushcfunction(L, push_host);
    lua_pushlightuserdata(L, server);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
    {
        sh_error_set(err, "cannot set up the host table: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return false;
    }
    return true;
}
