#pragma once
// Private to the bindings: the parts of the curated library of a session's Lua state (docs/session-api.md,
// "The sandbox"). The REPL, `simhost run` and a plain lua5.4 keep the full standard library: only the host's
// session states (and the scenario listing's state) are opened through here. The entry point,
// sh_l_sandbox_open, is public (simhost/lua.h).

#include "simhost/lua.h"

#include <lauxlib.h>
#include <lua.h>

// Used by sh_l_sandbox_open: push a closure per function with the ticker (a userdata) as upvalue 1.
// The ticker is on top of the stack; each sets its functions into the table at index `lib`.
void sh_l_pattern_install(lua_State* L, int lib);       // string.find, match, gmatch, gsub (l_pattern.c)
void sh_l_table_bounded_install(lua_State* L, int lib); // table.insert, remove, move, sort, concat
void sh_l_json_guard_install(lua_State* L, size_t max_bytes); // cjson.encode (l_json_guard.c)

// The upvalue every bounded function carries: counts steps, calls `fn` every SH_L_TICK_STEPS.
typedef struct sh_l_ticker
{
    sh_l_tick_fn fn;
    unsigned steps;
} sh_l_ticker;

static inline void sh_l_tick(lua_State* L, sh_l_ticker* t, unsigned steps)
{
    t->steps += steps;
    if (t->steps >= SH_L_TICK_STEPS)
    {
        t->steps = 0;
        if (t->fn != NULL)
            t->fn(L);
    }
}
