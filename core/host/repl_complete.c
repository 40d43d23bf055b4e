// Tab completion for the REPLs (sh_repl_complete): the terminal asks through readline, an attached client
// through the socket's `\x01complete` request; both get the same candidates from the state itself.
#include "repl.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

typedef struct completion
{
    const char* text;
    sh_repl_candidate_fn add;
    void* user;
    size_t count;
} completion;

// Adds the identifier keys of the table at t that start with word to the set at `set`;
// with methods_only, only function values. Follows __index tables a few levels (classes, string methods).
static void collect_fields(lua_State* L, int t, int set, const char* word, size_t wlen, bool methods_only)
{
    for (int level = 0; level < 8 && lua_type(L, t) == LUA_TTABLE; level++)
    {
        lua_pushnil(L);
        while (lua_next(L, t) != 0)
        {
            size_t len;
            if (lua_type(L, -2) == LUA_TSTRING && (!methods_only || lua_isfunction(L, -1)))
            {
                const char* k = lua_tolstring(L, -2, &len);
                if (len >= wlen && memcmp(k, word, wlen) == 0 && sh_repl_is_name(k, len))
                {
                    lua_pushvalue(L, -2);
                    lua_pushboolean(L, 1);
                    lua_rawset(L, set);
                }
            }
            lua_pop(L, 1);
        }
        if (!lua_getmetatable(L, t))
            return;
        lua_getfield(L, -1, "__index");
        lua_replace(L, t); // walk down the chain in place
        lua_pop(L, 1);
    }
}

static int cmp_cstr(const void* a, const void* b)
{
    return strcmp(*(const char* const*)a, *(const char* const*)b);
}

static int complete_protected(lua_State* L)
{
    completion* c = lua_touserdata(L, 1);
    const char* text = c->text;
    const char* sep = NULL;
    for (const char* p = text; *p; p++)
        if (*p == '.' || *p == ':')
            sep = p;
    lua_newtable(L); // 2: the candidate set
    int set = 2;
    const char* word = sep ? sep + 1 : text;
    size_t wlen = strlen(word);
    if (sep == NULL)
    {
        for (int i = 0; sh_repl_keywords[i] != NULL; i++)
            if (strncmp(sh_repl_keywords[i], word, wlen) == 0)
            {
                lua_pushboolean(L, 1);
                lua_setfield(L, set, sh_repl_keywords[i]);
            }
        lua_pushglobaltable(L);
        collect_fields(L, lua_gettop(L), set, word, wlen, false);
    }
    else
    {
        // Walk the path before the separator: every step must be an identifier.
        lua_pushglobaltable(L);
        const char* seg = text;
        while (seg < sep)
        {
            const char* end = seg;
            while (end < sep && *end != '.' && *end != ':')
                end++;
            if (!sh_repl_is_name(seg, (size_t)(end - seg)) || (*end == ':' && end != sep))
                return 0;
            int vt = lua_type(L, -1);
            if (vt != LUA_TTABLE && vt != LUA_TUSERDATA && vt != LUA_TSTRING)
                return 0;
            lua_pushlstring(L, seg, (size_t)(end - seg));
            lua_gettable(L, -2); // may run __index: that is what the user would get
            lua_remove(L, -2);
            seg = end + 1;
        }
        int v = lua_gettop(L);
        if (*sep == '.')
        {
            if (lua_type(L, v) == LUA_TTABLE)
                collect_fields(L, v, set, word, wlen, false);
            else if (luaL_getmetafield(L, v, "__index") != LUA_TNIL)
                collect_fields(L, lua_gettop(L), set, word, wlen, false);
        }
        else
        {
            int top = lua_gettop(L);
            if (lua_type(L, v) == LUA_TTABLE)
            {
                lua_pushvalue(L, v);
                collect_fields(L, lua_gettop(L), set, word, wlen, true);
                lua_settop(L, top);
            }
            if (lua_type(L, v) != LUA_TTABLE && luaL_getmetafield(L, v, "__index") != LUA_TNIL)
                collect_fields(L, lua_gettop(L), set, word, wlen, true);
        }
    }

    // Sort the set's keys; the strings stay alive in the set while we use them.
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, set) != 0)
    {
        lua_pop(L, 1);
        n++;
    }
    if (n == 0)
        return 0;
    const char** names = lua_newuserdatauv(L, n * sizeof *names, 0);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, set) != 0)
    {
        lua_pop(L, 1);
        names[i++] = lua_tostring(L, -1);
    }
    qsort(names, n, sizeof *names, cmp_cstr);
    size_t prefix = (size_t)(word - text);
    for (i = 0; i < n; i++)
    {
        lua_pushlstring(L, text, prefix);
        lua_pushstring(L, names[i]);
        lua_concat(L, 2);
        size_t len;
        const char* full = lua_tolstring(L, -1, &len);
        c->add(c->user, full, len);
        c->count++;
        lua_pop(L, 1);
    }
    return 0;
}

size_t sh_repl_complete(lua_State* L, const char* text, sh_repl_candidate_fn add, void* user)
{
    completion c = {text, add, user, 0};
    int top = lua_gettop(L);
    lua_pushcfunction(L, complete_protected);
    lua_pushlightuserdata(L, &c);
    lua_pcall(L, 1, 0, 0); // an error just ends the list
    lua_settop(L, top);
    return c.count;
}
