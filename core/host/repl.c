// The REPL engine: lines in, evaluated chunks out, over whatever stream the caller wires to it.
// Chunk handling follows lua.c (`loadline`, `addreturn`, `multiline`, `incomplete`): try the line as
// `return <line>` first so expressions print without typing `return`, else as statements; a syntax error
// that ends at "<eof>" means "incomplete", so the chunk continues on the next line.
#include "repl.h"

#include "simhost/lua.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A chunk this big typed or piped into a REPL is a mistake (a binary file, a runaway paste); refusing it
// bounds what one client can make the host hold.
#define MAX_CHUNK (1u << 20)

#define CHUNK_NAME "=repl"

struct sh_repl
{
    lua_State* L;
    sh_repl_write_fn write;
    void* user;
    char* pending; // the chunk so far (lines joined by '\n'); NUL-terminated; owned
    size_t pending_len;
    size_t pending_cap;
    bool more; // pending holds an incomplete chunk
    int failures;
};

static void emit(sh_repl* r, sh_repl_stream stream, const char* s, size_t len)
{
    if (len > 0)
        r->write(r->user, stream, s, len);
}

static void emit_str(sh_repl* r, sh_repl_stream stream, const char* s)
{
    emit(r, stream, s, strlen(s));
}

sh_repl* sh_repl_new(lua_State* L, sh_repl_write_fn write, void* user)
{
    sh_repl* r = sh_alloc_zeroed(sizeof *r);
    if (r == NULL)
        return NULL;
    r->L = L;
    r->write = write;
    r->user = user;
    return r;
}

void sh_repl_free(sh_repl* r)
{
    if (r == NULL)
        return;
    if (r->pending != NULL)
        sh_free(r->pending, r->pending_cap);
    sh_free(r, sizeof *r);
}

const char* sh_repl_prompt(const sh_repl* r)
{
    return r->more ? ">> " : "> ";
}

int sh_repl_failures(const sh_repl* r)
{
    return r->failures;
}

void sh_repl_discard(sh_repl* r)
{
    r->pending_len = 0;
    if (r->pending != NULL)
        r->pending[0] = '\0';
    r->more = false;
}

// --- output redirection ------------------------------------------------------------------------

static int redirected_print(lua_State* L)
{
    sh_repl* r = lua_touserdata(L, lua_upvalueindex(1));
    sh_l_push_print_line(L);
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    emit(r, SH_REPL_OUT, s, len);
    return 0;
}

static int redirected_write(lua_State* L)
{
    sh_repl* r = lua_touserdata(L, lua_upvalueindex(1));
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++)
    {
        size_t len;
        const char* s = luaL_checklstring(L, i, &len); // numbers convert, like io.write
        emit(r, SH_REPL_OUT, s, len);
    }
    return 0;
}

void sh_repl_redirect_print(sh_repl* r)
{
    lua_State* L = r->L;
    lua_pushlightuserdata(L, r);
    lua_pushcclosure(L, redirected_print, 1);
    lua_setglobal(L, "print");
    if (lua_getglobal(L, "io") == LUA_TTABLE)
    {
        lua_pushlightuserdata(L, r);
        lua_pushcclosure(L, redirected_write, 1);
        lua_setfield(L, -2, "write");
    }
    lua_pop(L, 1);
}

// --- evaluation --------------------------------------------------------------------------------

// The traceback handler of lua.c (`msghandler`): non-string errors use __tostring or name their type.
static int msghandler(lua_State* L)
{
    const char* msg = lua_tostring(L, 1);
    if (msg == NULL)
    {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

// Runs the function on top (no arguments) under the traceback handler; leaves its results or the message.
static int docall(lua_State* L)
{
    int base = lua_gettop(L); // the function's slot
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int status = lua_pcall(L, 0, LUA_MULTRET, base);
    lua_remove(L, base);
    return status;
}

static void report(sh_repl* r, lua_State* L)
{
    size_t len;
    const char* msg = lua_tolstring(L, -1, &len);
    if (msg == NULL)
    {
        msg = "(error object is not a string)";
        len = strlen(msg);
    }
    emit(r, SH_REPL_ERR, msg, len);
    emit_str(r, SH_REPL_ERR, "\n");
    lua_pop(L, 1);
    r->failures++;
}

// Renders the values on the stack (protected call: args are the values) into one line of output:
// top-level strings raw (as lua.c prints them), everything else through the pretty printer.
static int render_results(lua_State* L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++)
    {
        if (i > 1)
            luaL_addchar(&b, '\t');
        if (lua_type(L, i) == LUA_TSTRING)
            lua_pushvalue(L, i);
        else
            sh_repl_pretty(L, i);
        luaL_addvalue(&b);
    }
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    return 1;
}

static void print_results(sh_repl* r, lua_State* L, int base)
{
    int n = lua_gettop(L) - base;
    if (n <= 0)
        return;
    lua_pushcfunction(L, msghandler);
    lua_pushcfunction(L, render_results);
    for (int i = 1; i <= n; i++)
        lua_pushvalue(L, base + i);
    if (lua_pcall(L, n, 1, base + n + 1) != LUA_OK)
    {
        report(r, L);
    }
    else
    {
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        emit(r, SH_REPL_OUT, s, len);
        lua_pop(L, 1);
    }
    lua_settop(L, base);
}

static bool incomplete(lua_State* L, int status)
{
    static const char eof_mark[] = "<eof>";
    const size_t mark_len = sizeof eof_mark - 1;
    if (status != LUA_ERRSYNTAX)
        return false;
    size_t len;
    const char* msg = lua_tolstring(L, -1, &len);
    return msg != NULL && len >= mark_len && strcmp(msg + len - mark_len, eof_mark) == 0;
}

// Compiles and runs the pending chunk. Called protected (see sh_repl_feed) so even an out-of-memory
// error while building strings lands in one place rather than panicking the host.
static int eval_pending(lua_State* L)
{
    sh_repl* r = lua_touserdata(L, 1);
    int base = lua_gettop(L);
    // No ';' after the expression (lua.c adds one): "return {" must end at <eof>, so a table constructor
    // opened on one line counts as incomplete, as a function body does.
    const char* retline = lua_pushfstring(L, "return %s", r->pending);
    int status = luaL_loadbuffer(L, retline, strlen(retline), CHUNK_NAME);
    lua_remove(L, -2); // the "return ..." text
    if (status != LUA_OK)
    {
        bool expr_incomplete = incomplete(L, status);
        lua_pop(L, 1);
        status = luaL_loadbuffer(L, r->pending, r->pending_len, CHUNK_NAME);
        if (incomplete(L, status) || (status != LUA_OK && expr_incomplete))
        {
            lua_settop(L, base);
            r->more = true;
            return 0;
        }
    }
    sh_repl_discard(r);
    if (status == LUA_OK)
        status = docall(L);
    if (status != LUA_OK)
        report(r, L);
    else
        print_results(r, L, base);
    lua_settop(L, base);
    return 0;
}

static bool append_pending(sh_repl* r, const char* line, size_t len)
{
    size_t need = r->pending_len + (r->more ? 1 : 0) + len + 1;
    if (need > MAX_CHUNK)
        return false;
    if (need > r->pending_cap)
    {
        size_t cap = r->pending_cap ? r->pending_cap : 256;
        while (cap < need)
            cap *= 2;
        char* p = sh_realloc(r->pending, r->pending_cap, cap);
        if (p == NULL)
            return false;
        r->pending = p;
        r->pending_cap = cap;
    }
    if (r->more)
        r->pending[r->pending_len++] = '\n';
    memcpy(r->pending + r->pending_len, line, len);
    r->pending_len += len;
    r->pending[r->pending_len] = '\0';
    return true;
}

sh_repl_state sh_repl_feed(sh_repl* r, const char* line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (!r->more)
        sh_repl_discard(r);
    if (!r->more && len == 0)
        return SH_REPL_READY; // an empty line is no chunk (lua.c just prompts again)
    if (memchr(line, '\0', len) != NULL)
    {
        sh_repl_discard(r);
        emit_str(r, SH_REPL_ERR, "repl: input line contains a NUL byte; chunk discarded\n");
        r->failures++;
        return SH_REPL_READY;
    }
    if (!append_pending(r, line, len))
    {
        sh_repl_discard(r);
        emit_str(r, SH_REPL_ERR, "repl: chunk longer than 1 MiB (or out of memory); discarded\n");
        r->failures++;
        return SH_REPL_READY;
    }
    r->more = false;
    lua_State* L = r->L;
    lua_pushcfunction(L, eval_pending);
    lua_pushlightuserdata(L, r);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
    {
        sh_repl_discard(r);
        report(r, L);
    }
    return r->more ? SH_REPL_MORE : SH_REPL_READY;
}

// Reports the incomplete chunk's syntax error (protected, like eval_pending).
static int report_incomplete(lua_State* L)
{
    sh_repl* r = lua_touserdata(L, 1);
    int status = luaL_loadbuffer(L, r->pending, r->pending_len, CHUNK_NAME);
    if (status != LUA_OK && !incomplete(L, status))
    {
        // Incomplete only as an expression (an open table constructor): that message says what is missing.
        lua_pop(L, 1);
        const char* retline = lua_pushfstring(L, "return %s", r->pending);
        status = luaL_loadbuffer(L, retline, strlen(retline), CHUNK_NAME);
    }
    if (status != LUA_OK)
        report(r, L);
    return 0;
}

void sh_repl_finish(sh_repl* r)
{
    if (!r->more)
        return;
    lua_State* L = r->L;
    lua_pushcfunction(L, report_incomplete);
    lua_pushlightuserdata(L, r);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
        report(r, L);
    sh_repl_discard(r);
}

bool sh_repl_run_file(sh_repl* r, const char* path)
{
    lua_State* L = r->L;
    int base = lua_gettop(L);
    int status = luaL_loadfile(L, path);
    if (status == LUA_OK)
        status = docall(L);
    if (status != LUA_OK)
        report(r, L);
    lua_settop(L, base);
    return status == LUA_OK;
}

bool sh_repl_open_libs(lua_State* L, sh_error* err)
{
    luaL_openlibs(L);
    lua_pushcfunction(L, luaopen_simhost);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK)
    {
        sh_error_set(err, "cannot open module simhost: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return false;
    }
    // The same as luaL_requiref(L, "simhost", luaopen_simhost, 1), minus the unprotected call.
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "simhost");
    lua_pop(L, 1);
    lua_setglobal(L, "simhost");
    return true;
}

const char* sh_repl_history_path(char* buf, size_t size)
{
    const char* env = getenv("SIMHOST_HISTORY");
    if (env != NULL && env[0] != '\0')
        return env;
    const char* home = getenv("HOME");
    if (home == NULL || home[0] == '\0')
        return NULL;
    snprintf(buf, size, "%s/.simhost_history", home);
    return buf;
}
