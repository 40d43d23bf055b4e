// The REPL's value printer (sh_repl_pretty): what a person wants to see of a Lua value, bounded so that
// printing _G, a world's contact list or a cyclic structure by accident is harmless.
#include "repl.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Bounds: deep or wide structures (a world's contacts, _G) stay readable and bounded.
#define PRETTY_MAX_DEPTH 6
#define PRETTY_MAX_ITEMS 200
// Entries in one whole rendering: shared (not cyclic) tables print at every place they occur, so without
// a total a few wide levels multiply (3 levels of 200 made 84 MB, measured) — bounded, they cost a line.
#define PRETTY_BUDGET 2000
#define PRETTY_WIDTH  76

const char* const sh_repl_keywords[] = {
    "and",   "break", "do",  "else", "elseif", "end",    "false", "for",  "function", "goto",  "if", "in",
    "local", "nil",   "not", "or",   "repeat", "return", "then",  "true", "until",    "while", NULL};

bool sh_repl_is_name(const char* s, size_t len)
{
    if (len == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < len; i++)
    {
        char c = s[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    for (int i = 0; sh_repl_keywords[i] != NULL; i++)
        if (strlen(sh_repl_keywords[i]) == len && memcmp(s, sh_repl_keywords[i], len) == 0)
            return false; // s need not end at len (a segment of `a.b.c`)
    return true;
}

static void push_quoted(lua_State* L, const char* s, size_t len)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '"');
    for (size_t i = 0; i < len; i++)
    {
        unsigned char c = (unsigned char)s[i];
        switch (c)
        {
            case '"':
                luaL_addstring(&b, "\\\"");
                break;
            case '\\':
                luaL_addstring(&b, "\\\\");
                break;
            case '\n':
                luaL_addstring(&b, "\\n");
                break;
            case '\r':
                luaL_addstring(&b, "\\r");
                break;
            case '\t':
                luaL_addstring(&b, "\\t");
                break;
            default:
                if (c < 32 || c == 127)
                {
                    char esc[8];
                    snprintf(esc, sizeof esc, "\\%03u", c); // 3 digits: safe before a following digit
                    luaL_addstring(&b, esc);
                }
                else
                {
                    luaL_addchar(&b, (char)c);
                }
        }
    }
    luaL_addchar(&b, '"');
    luaL_pushresult(&b);
}

// One non-sequence key, sorted numbers first (by value), then strings (bytewise), then the rest (by their
// tostring). The strings point into Lua strings kept alive by the keys table for the whole render.
typedef struct key_rec
{
    int rank;
    lua_Number num;
    const char* str;
    size_t len;
    lua_Integer slot; // index in the keys table
} key_rec;

static int key_cmp(const void* pa, const void* pb)
{
    const key_rec* a = pa;
    const key_rec* b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (a->rank == 0)
        return a->num < b->num ? -1 : a->num > b->num ? 1 : 0;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->str, b->str, n);
    if (c != 0)
        return c;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static void render(lua_State* L, int idx, int seen, int depth, int indent, int* budget);

// Pushes "key = " (or "[key] = ") for the key at idx.
static void push_key_prefix(lua_State* L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING)
    {
        size_t len;
        const char* s = lua_tolstring(L, idx, &len);
        if (sh_repl_is_name(s, len))
        {
            lua_pushfstring(L, "%s = ", s);
            return;
        }
        push_quoted(L, s, len);
    }
    else if (lua_type(L, idx) == LUA_TTABLE)
    {
        lua_pushfstring(L, "table: %p", lua_topointer(L, idx)); // never recurse into keys
    }
    else
    {
        luaL_tolstring(L, idx, NULL);
    }
    lua_pushfstring(L, "[%s] = ", lua_tostring(L, -1));
    lua_remove(L, -2);
}

static void render_table(lua_State* L, int t, int seen, int depth, int indent, int* budget)
{
    int base = lua_gettop(L);
    lua_pushvalue(L, t);
    if (lua_rawget(L, seen) != LUA_TNIL)
    {
        lua_settop(L, base);
        lua_pushfstring(L, "<cycle: table: %p>", lua_topointer(L, t));
        return;
    }
    lua_pop(L, 1);
    if (depth >= PRETTY_MAX_DEPTH || *budget <= 0)
    {
        lua_pushliteral(L, "{...}");
        return;
    }
    luaL_checkstack(L, 16, "pretty printer");
    lua_pushvalue(L, t);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);

    // The sequence 1..seq prints without keys; every other key is collected and sorted.
    lua_Integer seq = 0;
    while (lua_rawgeti(L, t, seq + 1) != LUA_TNIL)
    {
        lua_pop(L, 1);
        seq++;
    }
    lua_pop(L, 1);
    lua_newtable(L); // base+1: other keys, by slot
    int keys = base + 1;
    lua_newtable(L); // base+2: tostring of odd keys, by slot (keeps the strings alive)
    int names = base + 2;
    lua_Integer nkeys = 0;
    lua_pushnil(L);
    while (lua_next(L, t) != 0)
    {
        lua_pop(L, 1);
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 && lua_tointeger(L, -1) <= seq)
            continue;
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++nkeys);
    }
    key_rec* recs = lua_newuserdatauv(L, (size_t)(nkeys > 0 ? nkeys : 1) * sizeof *recs, 0); // base+3
    for (lua_Integer i = 1; i <= nkeys; i++)
    {
        key_rec* k = &recs[i - 1];
        k->slot = i;
        k->num = 0;
        k->str = NULL;
        k->len = 0;
        int kt = lua_rawgeti(L, keys, i);
        if (kt == LUA_TNUMBER)
        {
            k->rank = 0;
            k->num = lua_tonumber(L, -1);
        }
        else if (kt == LUA_TSTRING)
        {
            k->rank = 1;
            k->str = lua_tolstring(L, -1, &k->len);
        }
        else
        {
            k->rank = 2;
            if (kt == LUA_TBOOLEAN)
                lua_pushstring(L, lua_toboolean(L, -1) ? "true" : "false");
            else
                lua_pushfstring(L, "%s: %p", luaL_typename(L, -1), lua_topointer(L, -1));
            k->str = lua_tolstring(L, -1, &k->len);
            lua_rawseti(L, names, i);
        }
        lua_pop(L, 1);
    }
    qsort(recs, (size_t)nkeys, sizeof *recs, key_cmp);

    lua_newtable(L); // base+4: rendered entries
    int entries = base + 4;
    lua_Integer count = 0;
    lua_Integer total = seq + nkeys;
    bool multiline = false;
    size_t width = 0;
    for (lua_Integer i = 1; i <= seq && count<PRETTY_MAX_ITEMS&& * budget> 0; i++, (*budget)--)
    {
        lua_rawgeti(L, t, i);
        render(L, lua_gettop(L), seen, depth + 1, indent + 2, budget);
        lua_remove(L, -2);
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        multiline = multiline || memchr(s, '\n', len) != NULL;
        width += len + 2;
        lua_rawseti(L, entries, ++count);
    }
    for (lua_Integer i = 0; i < nkeys && count<PRETTY_MAX_ITEMS&& * budget> 0; i++, (*budget)--)
    {
        lua_rawgeti(L, keys, recs[i].slot);
        int k = lua_gettop(L);
        push_key_prefix(L, k);
        lua_pushvalue(L, k);
        lua_rawget(L, t);
        render(L, lua_gettop(L), seen, depth + 1, indent + 2, budget);
        lua_remove(L, -2);
        lua_concat(L, 2);
        lua_remove(L, k);
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        multiline = multiline || memchr(s, '\n', len) != NULL;
        width += len + 2;
        lua_rawseti(L, entries, ++count);
    }
    if (count < total)
    {
        lua_pushfstring(L, "... (%I more)", (LUAI_UACINT)(total - count));
        lua_rawseti(L, entries, ++count);
        width += 16;
    }

    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (count == 0)
    {
        luaL_addstring(&b, "{}");
    }
    else if (!multiline && (size_t)indent + width + 2 <= PRETTY_WIDTH)
    {
        luaL_addstring(&b, "{ ");
        for (lua_Integer i = 1; i <= count; i++)
        {
            if (i > 1)
                luaL_addstring(&b, ", ");
            lua_rawgeti(L, entries, i);
            luaL_addvalue(&b);
        }
        luaL_addstring(&b, " }");
    }
    else
    {
        luaL_addstring(&b, "{\n");
        for (lua_Integer i = 1; i <= count; i++)
        {
            for (int s = 0; s < indent + 2; s++)
                luaL_addchar(&b, ' ');
            lua_rawgeti(L, entries, i);
            luaL_addvalue(&b);
            luaL_addstring(&b, i < count ? ",\n" : "\n");
        }
        for (int s = 0; s < indent; s++)
            luaL_addchar(&b, ' ');
        luaL_addchar(&b, '}');
    }
    luaL_pushresult(&b);

    lua_pushvalue(L, t); // off the path again: a table shared (not cyclic) prints at each place
    lua_pushnil(L);
    lua_rawset(L, seen);
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
}

static void render(lua_State* L, int idx, int seen, int depth, int indent, int* budget)
{
    switch (lua_type(L, idx))
    {
        case LUA_TSTRING: {
            size_t len;
            const char* s = lua_tolstring(L, idx, &len);
            push_quoted(L, s, len);
            return;
        }
        case LUA_TTABLE:
            // A table with __tostring or __name is an object that chose how to show itself.
            if (luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL &&
                luaL_getmetafield(L, idx, "__name") == LUA_TNIL)
            {
                render_table(L, idx, seen, depth, indent, budget);
                return;
            }
            lua_pop(L, 1);
            luaL_tolstring(L, idx, NULL);
            return;
        default:
            luaL_tolstring(L, idx, NULL);
            return;
    }
}

void sh_repl_pretty(lua_State* L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_newtable(L); // the tables on the current path, for cycle marks
    int seen = lua_gettop(L);
    int budget = PRETTY_BUDGET;
    render(L, idx, seen, 0, 0, &budget);
    lua_remove(L, seen);
}
