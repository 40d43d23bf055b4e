// Pattern and subject bytes -> the sandbox's string.find/match/gmatch/gsub (bindings/l_pattern.c),
// differentially against stock Lua 5.4's: same results, same errors (their text), for every input the
// bounded matcher finishes within 2^16 steps (stock Lua runs the same backtracking, so it finishes too).
// Input: byte 0 picks init (-4 ... 11), byte 1 the pattern's length (mod 48), then the pattern, then
// the subject.
#include "l_sandbox.h"

#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int ticks;

enum
{
    MAX_TICKS =
        16, // x SH_L_TICK_STEPS = 2^16 steps: enough for any subject of the input's size bar backtracking
};

static void tick(lua_State* S)
{
    if (++ticks > MAX_TICKS)
        luaL_error(S, "step cap");
}

// Runs every function both ways and returns a line per result; "CAP" when the bounded one hit the cap.
static const char compare_src[] =
    "local bounded, s, p, init = ...\n"
    "local function show(ok, ...)\n"
    "  local out = { tostring(ok) }\n"
    "  for i = 1, select('#', ...) do\n"
    "    local v = select(i, ...)\n"
    "    out[#out + 1] = type(v) .. ':' .. tostring(v)\n"
    "  end\n"
    "  return table.concat(out, ',')\n"
    "end\n"
    "local function gm(lib)\n"
    "  return function()\n"
    "    local acc, n = {}, 0\n"
    "    for a, b in lib.gmatch(s, p, init) do\n"
    "      n = n + 1; acc[n] = tostring(a) .. '/' .. tostring(b)\n"
    "      if n > 200 then break end\n"
    "    end\n"
    "    return table.concat(acc, '|')\n"
    "  end\n"
    "end\n"
    "local function run(lib)\n"
    "  return table.concat({\n"
    "    show(pcall(lib.find, s, p, init)), show(pcall(lib.find, s, p, init, true)),\n"
    "    show(pcall(lib.match, s, p, init)), show(pcall(gm(lib))),\n"
    "    show(pcall(lib.gsub, s, p, '<%0%1>')), show(pcall(lib.gsub, s, p, { a = 'A' }, 3)),\n"
    "    show(pcall(lib.gsub, s, p, function(x, y) return y end)) }, ' ; ')\n"
    "end\n"
    "local b = run(bounded)\n"
    "if b:find('step cap', 1, true) then return 'CAP' end\n"
    "local st = run(string)\n"
    "if b ~= st then error('bounded: ' .. b .. '\\nstock:   ' .. st) end\n"
    "return 'OK'\n";

// A fresh state per input: libFuzzer runs a leak scan after any input whose mallocs and frees differ,
// which a long-lived state's garbage would trigger on every one.
static lua_State* new_state(void)
{
    lua_State* S = luaL_newstate();
    luaL_openlibs(S);
    lua_newtable(S);
    sh_l_ticker* t = lua_newuserdatauv(S, sizeof *t, 0);
    t->fn = tick;
    t->steps = 0;
    sh_l_pattern_install(S, -2);
    lua_pop(S, 1);
    lua_setglobal(S, "bounded");
    if (luaL_loadbufferx(S, compare_src, sizeof compare_src - 1, "=compare", "t") != LUA_OK)
        abort();
    lua_setglobal(S, "compare");
    return S;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 2)
        return 0;
    size_t plen = data[1] % 48;
    if (plen > size - 2)
        plen = size - 2;
    ticks = 0;
    lua_State* L = new_state();
    lua_getglobal(L, "compare");
    lua_getglobal(L, "bounded");
    lua_pushlstring(L, (const char*)data + 2 + plen, size - 2 - plen);
    lua_pushlstring(L, (const char*)data + 2, plen);
    lua_pushinteger(L, (int)(data[0] % 16) - 4);
    if (lua_pcall(L, 4, 1, 0) != LUA_OK)
    {
        fprintf(stderr, "fuzz_pattern: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_close(L);
    return 0;
}
