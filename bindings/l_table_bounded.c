// table.insert, remove, move, sort and concat for session states, each counting its element steps
// against the session's CPU budget (l_sandbox.h). The stock ones loop in C over a range the script
// picks: with a __len that answers 2^40, or holes a C-function __index fills (e.g. rawlen), table.move or
// table.sort would run for hours inside one call, where no instruction hook fires, and allocate nothing
// the memory cap could stop.
#include "l_sandbox.h"

#include <stdbool.h>

static sh_l_ticker* ticker_of(lua_State* L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

// A table, or anything whose metatable gives the operations used (__index, __newindex, __len).
static void check_table(lua_State* L, int arg)
{
    if (lua_type(L, arg) == LUA_TTABLE)
        return;
    if (lua_getmetatable(L, arg))
    {
        bool ok = lua_getfield(L, -1, "__index") != LUA_TNIL &&
                  lua_getfield(L, -2, "__newindex") != LUA_TNIL && lua_getfield(L, -3, "__len") != LUA_TNIL;
        lua_pop(L, 4);
        if (ok)
            return;
    }
    luaL_checktype(L, arg, LUA_TTABLE);
}

static int t_insert(lua_State* L)
{
    check_table(L, 1);
    sh_l_ticker* t = ticker_of(L);
    lua_Integer e = luaL_len(L, 1) + 1; // first empty slot
    lua_Integer pos;
    switch (lua_gettop(L))
    {
        case 2:
            pos = e;
            break;
        case 3:
            pos = luaL_checkinteger(L, 2);
            luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
            for (lua_Integer i = e; i > pos; i--)
            {
                sh_l_tick(L, t, 1);
                lua_geti(L, 1, i - 1);
                lua_seti(L, 1, i);
            }
            break;
        default:
            return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

static int t_remove(lua_State* L)
{
    check_table(L, 1);
    sh_l_ticker* t = ticker_of(L);
    lua_Integer size = luaL_len(L, 1);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size) // a given position must be in [1, size + 1]
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
    lua_geti(L, 1, pos);
    for (; pos < size; pos++)
    {
        sh_l_tick(L, t, 1);
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static int t_move(lua_State* L)
{
    sh_l_ticker* t = ticker_of(L);
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer to = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    check_table(L, 1);
    check_table(L, tt);
    if (e >= f)
    {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        lua_Integer n = e - f + 1;
        luaL_argcheck(L, to <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        bool forward = to > e || to <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ));
        for (lua_Integer i = 0; i < n; i++)
        {
            sh_l_tick(L, t, 1);
            lua_Integer k = forward ? i : n - 1 - i;
            lua_geti(L, 1, f + k);
            lua_seti(L, tt, to + k);
        }
    }
    lua_pushvalue(L, tt);
    return 1;
}

static void add_item(lua_State* L, luaL_Buffer* b, lua_Integer i)
{
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid value (at index %I) in table for 'concat'", (LUAI_UACINT)i);
    luaL_addvalue(b);
}

static int t_concat(lua_State* L)
{
    check_table(L, 1);
    sh_l_ticker* t = ticker_of(L);
    size_t lsep;
    const char* sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    lua_Integer last = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (; i < last; i++)
    {
        sh_l_tick(L, t, 1);
        add_item(L, &b, i);
        luaL_addlstring(&b, sep, lsep);
    }
    if (i == last)
        add_item(L, &b, i);
    luaL_pushresult(&b);
    return 1;
}

// --- sort: heapsort (O(n log n) at worst, whatever the comparator answers) -------------------------

// a[i] < a[j] by the comparator at index 2 or '<'.
static bool less(lua_State* L, sh_l_ticker* t, lua_Integer i, lua_Integer j)
{
    sh_l_tick(L, t, 1);
    lua_geti(L, 1, i);
    lua_geti(L, 1, j);
    bool r;
    if (lua_isnoneornil(L, 2))
        r = lua_compare(L, -2, -1, LUA_OPLT);
    else
    {
        lua_pushvalue(L, 2);
        lua_rotate(L, -3, 1);
        lua_call(L, 2, 1);
        r = lua_toboolean(L, -1);
        lua_pop(L, 1);
        return r;
    }
    lua_pop(L, 2);
    return r;
}

static void swap(lua_State* L, lua_Integer i, lua_Integer j)
{
    lua_geti(L, 1, i);
    lua_geti(L, 1, j);
    lua_seti(L, 1, i);
    lua_seti(L, 1, j);
}

// 1-based heap over a[1..n]: sift element k down.
static void sift(lua_State* L, sh_l_ticker* t, lua_Integer k, lua_Integer n)
{
    while (2 * k <= n)
    {
        lua_Integer c = 2 * k;
        if (c < n && less(L, t, c, c + 1))
            c++;
        if (!less(L, t, k, c))
            return;
        swap(L, k, c);
        k = c;
    }
}

static int t_sort(lua_State* L)
{
    check_table(L, 1);
    sh_l_ticker* t = ticker_of(L);
    lua_Integer n = luaL_len(L, 1);
    luaL_argcheck(L, n < (lua_Integer)1 << 40, 1, "array too big");
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    luaL_checkstack(L, 8, "table.sort");
    for (lua_Integer k = n / 2; k >= 1; k--)
        sift(L, t, k, n);
    for (lua_Integer end = n; end > 1; end--)
    {
        swap(L, 1, end);
        sift(L, t, 1, end - 1);
    }
    return 0;
}

void sh_l_table_bounded_install(lua_State* L, int lib)
{
    static const luaL_Reg fns[] = {{"insert", t_insert}, {"remove", t_remove}, {"move", t_move},
                                   {"concat", t_concat}, {"sort", t_sort},     {NULL, NULL}};
    lib = lua_absindex(L, lib);
    for (const luaL_Reg* f = fns; f->name != NULL; f++)
    {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, lib, f->name);
    }
}
