// The REPL engine: lines in, evaluated chunks out, over whatever stream the caller wires to it.
// Chunk handling follows lua.c (`loadline`, `addreturn`, `multiline`, `incomplete`): try the line as
// `return <line>` first so expressions print without typing `return`, else as statements; a syntax error
// that ends at "<eof>" means "incomplete", so the chunk continues on the next line.
#include "repl.h"

#include "l_simhost.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A chunk this big typed or piped into a REPL is a mistake (a binary file, a runaway paste); refusing it
// bounds what one client can make the host hold.
#define MAX_CHUNK (1u << 20)

#define CHUNK_NAME "=repl"

// Pretty-printing bounds: deep or wide structures (a world's contacts, _G) stay readable and bounded.
#define PRETTY_MAX_DEPTH 6
#define PRETTY_MAX_ITEMS 200
// Entries in one whole rendering: shared (not cyclic) tables print at every place they occur, so without
// a total a few wide levels multiply (3 levels of 200 made 84 MB, measured) — bounded, they cost a line.
#define PRETTY_BUDGET 2000
#define PRETTY_WIDTH  76

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
        msg = "(error object is not a string)", len = strlen(msg);
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

// --- pretty printing -----------------------------------------------------------------------------

static const char* const keywords[] = {
    "and",   "break", "do",  "else", "elseif", "end",    "false", "for",  "function", "goto",  "if", "in",
    "local", "nil",   "not", "or",   "repeat", "return", "then",  "true", "until",    "while", NULL};

static bool is_identifier(const char* s, size_t len)
{
    if (len == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < len; i++)
    {
        char c = s[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    for (int i = 0; keywords[i] != NULL; i++)
        if (strcmp(s, keywords[i]) == 0)
            return false;
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
        if (is_identifier(s, len))
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

// --- completion ----------------------------------------------------------------------------------

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
                if (len >= wlen && memcmp(k, word, wlen) == 0 && is_identifier(k, len))
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
        for (int i = 0; keywords[i] != NULL; i++)
            if (strncmp(keywords[i], word, wlen) == 0)
            {
                lua_pushboolean(L, 1);
                lua_setfield(L, set, keywords[i]);
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
            if (!is_identifier(seg, (size_t)(end - seg)) || (*end == ':' && end != sep))
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
