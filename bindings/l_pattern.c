// string.find, match, gmatch and gsub for session states: Lua 5.4's pattern language (manual §6.4.1),
// matched by a backtracking matcher that counts its steps. The stock matcher runs inside one C call
// where no instruction hook fires, and a pattern of k quantifiers can take n^k steps on an n-byte
// subject ("a*a*a*a*a*b" on 30 000 'a's runs for hours); here every character test, every expansion and
// every plain-find candidate is a step, and each SH_L_TICK_STEPS steps the session's CPU budget is
// checked (l_sandbox.h), so a pathological match ends at --lua-cpu-ms like a Lua loop does.
#include "l_sandbox.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

enum
{
    MAX_CAPTURES = 32, // as stock Lua (LUA_MAXCAPTURES)
    MAX_DEPTH = 200,   // recursion of the matcher (stock MAXCCALLS): "pattern too complex" past it
};

#define CAP_OPEN     (-1)
#define CAP_POSITION (-2)
#define SPECIALS     "^$*+?.([%-"

typedef struct matcher
{
    const char *s0, *se; // subject
    const char* pe;      // pattern end
    lua_State* L;
    sh_l_ticker* ticker;
    int depth;
    int level; // captures opened so far
    struct
    {
        const char* init;
        ptrdiff_t len;
    } cap[MAX_CAPTURES];
} matcher;

static const char* match(matcher* m, const char* s, const char* p);

static void step(matcher* m, unsigned n)
{
    sh_l_tick(m->L, m->ticker, n);
}

// The end of the single-character class starting at p (a char, %x, '.' or a [set]).
static const char* class_end(matcher* m, const char* p)
{
    char c = *p++;
    if (c == '%')
    {
        if (p >= m->pe)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c != '[')
        return p;
    if (*p == '^')
        p++;
    do // the first character after [ or [^ is part of the set even when it is ']'
    {
        if (p >= m->pe)
            luaL_error(m->L, "malformed pattern (missing ']')");
        if (*p++ == '%' && p < m->pe)
            p++;
    } while (*p != ']');
    return p + 1;
}

static bool class_has(int c, int cl)
{
    bool r;
    switch (tolower(cl))
    {
        case 'a':
            r = isalpha(c);
            break;
        case 'c':
            r = iscntrl(c);
            break;
        case 'd':
            r = isdigit(c);
            break;
        case 'g':
            r = isgraph(c);
            break;
        case 'l':
            r = islower(c);
            break;
        case 'p':
            r = ispunct(c);
            break;
        case 's':
            r = isspace(c);
            break;
        case 'u':
            r = isupper(c);
            break;
        case 'w':
            r = isalnum(c);
            break;
        case 'x':
            r = isxdigit(c);
            break;
        case 'z': // '\0': deprecated in the manual, still matched by stock 5.4 (found by fuzz_pattern)
            r = c == 0;
            break;
        default:
            return cl == c;
    }
    return isupper(cl) ? !r : r;
}

// p at '[', close at the set's ']'.
static bool set_has(int c, const char* p, const char* close)
{
    bool yes = true;
    if (p[1] == '^')
    {
        yes = false;
        p++;
    }
    while (++p < close)
    {
        if (*p == '%')
        {
            p++;
            if (class_has(c, (unsigned char)*p))
                return yes;
        }
        else if (p[1] == '-' && p + 2 < close)
        {
            p += 2;
            if ((unsigned char)p[-2] <= c && c <= (unsigned char)*p)
                return yes;
        }
        else if ((unsigned char)*p == c)
            return yes;
    }
    return !yes;
}

static bool single(matcher* m, const char* s, const char* p, const char* ep)
{
    step(m, 1);
    if (s >= m->se)
        return false;
    int c = (unsigned char)*s;
    switch (*p)
    {
        case '.':
            return true;
        case '%':
            return class_has(c, (unsigned char)p[1]);
        case '[':
            return set_has(c, p, ep - 1);
        default:
            return (unsigned char)*p == c;
    }
}

static const char* max_expand(matcher* m, const char* s, const char* p, const char* ep)
{
    ptrdiff_t i = 0;
    while (single(m, s + i, p, ep))
        i++;
    for (; i >= 0; i--)
    {
        const char* r = match(m, s + i, ep + 1);
        if (r != NULL)
            return r;
    }
    return NULL;
}

static const char* min_expand(matcher* m, const char* s, const char* p, const char* ep)
{
    for (;;)
    {
        const char* r = match(m, s, ep + 1);
        if (r != NULL)
            return r;
        if (!single(m, s, p, ep))
            return NULL;
        s++;
    }
}

static const char* start_capture(matcher* m, const char* s, const char* p, ptrdiff_t what)
{
    if (m->level >= MAX_CAPTURES)
        luaL_error(m->L, "too many captures");
    m->cap[m->level].init = s;
    m->cap[m->level].len = what;
    m->level++;
    const char* r = match(m, s, p);
    if (r == NULL)
        m->level--;
    return r;
}

static const char* end_capture(matcher* m, const char* s, const char* p)
{
    int l = m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_OPEN)
        l--;
    if (l < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].init;
    const char* r = match(m, s, p);
    if (r == NULL)
        m->cap[l].len = CAP_OPEN;
    return r;
}

static const char* match_balance(matcher* m, const char* s, const char* p)
{
    if (p + 1 >= m->pe)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->se || *s != *p)
        return NULL;
    int depth = 1;
    while (++s < m->se)
    {
        step(m, 1);
        if (*s == p[1])
        {
            if (--depth == 0)
                return s + 1;
        }
        else if (*s == *p)
            depth++;
    }
    return NULL;
}

static int capture_index(matcher* m, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->cap[l].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    return l;
}

static const char* match_backref(matcher* m, const char* s, int digit)
{
    int l = capture_index(m, digit);
    size_t len = (size_t)m->cap[l].len; // a position capture's -2 is huge: never matches, as in stock Lua
    if ((size_t)(m->se - s) < len)
        return NULL;
    step(m, 1 + (unsigned)(len >> 6)); // memcmp of len bytes
    return memcmp(m->cap[l].init, s, len) == 0 ? s + len : NULL;
}

static const char* frontier(matcher* m, const char* s, const char** pp)
{
    const char* p = *pp + 2;
    if (*p != '[')
        luaL_error(m->L, "missing '[' after '%%f' in pattern");
    const char* ep = class_end(m, p);
    int prev = s == m->s0 ? 0 : (unsigned char)s[-1];
    int cur = s < m->se ? (unsigned char)*s : 0;
    if (set_has(prev, p, ep - 1) || !set_has(cur, p, ep - 1))
        return NULL;
    *pp = ep;
    return s;
}

// The default case: a single-character class, maybe quantified. Returns the match end, or NULL; sets
// *next to the pattern position to continue with when the caller should loop (a plain character).
static const char* match_item(matcher* m, const char* s, const char** pp)
{
    const char* p = *pp;
    const char* ep = class_end(m, p);
    if (!single(m, s, p, ep))
    {
        if (*ep == '*' || *ep == '?' || *ep == '-')
        {
            *pp = ep + 1; // zero repetitions: go on with the rest
            return s;
        }
        *pp = NULL;
        return NULL;
    }
    const char* r;
    switch (*ep)
    {
        case '?':
            if ((r = match(m, s + 1, ep + 1)) != NULL)
                break;
            *pp = ep + 1;
            return s;
        case '+':
            r = max_expand(m, s + 1, p, ep);
            break;
        case '*':
            r = max_expand(m, s, p, ep);
            break;
        case '-':
            r = min_expand(m, s, p, ep);
            break;
        default:
            *pp = ep;
            return s + 1;
    }
    *pp = NULL; // the expansion matched the whole rest (or failed)
    return r;
}

static const char* match(matcher* m, const char* s, const char* p)
{
    if (m->depth-- == 0)
        luaL_error(m->L, "pattern too complex");
    for (;;)
    {
        step(m, 1);
        if (p == m->pe)
            break;
        if (*p == '(')
        {
            s = p[1] == ')' ? start_capture(m, s, p + 2, CAP_POSITION) : start_capture(m, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')')
        {
            s = end_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->pe)
        {
            s = s == m->se ? s : NULL;
            break;
        }
        if (*p == '%' && p[1] == 'b')
        {
            if ((s = match_balance(m, s, p + 2)) == NULL)
                break;
            p += 4;
            continue;
        }
        if (*p == '%' && p[1] == 'f')
        {
            if ((s = frontier(m, s, &p)) == NULL)
                break;
            continue;
        }
        if (*p == '%' && isdigit((unsigned char)p[1]))
        {
            if ((s = match_backref(m, s, (unsigned char)p[1])) == NULL)
                break;
            p += 2;
            continue;
        }
        s = match_item(m, s, &p);
        if (p == NULL || s == NULL)
            break;
    }
    m->depth++;
    return s;
}

// --- results -----------------------------------------------------------------------------------

// Capture i (0-based); with no captures, capture 0 is the whole match s..e.
static void push_capture(matcher* m, int i, const char* s, const char* e)
{
    if (i >= m->level)
    {
        if (i != 0)
            luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->cap[i].len;
    if (len == CAP_OPEN)
        luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, (m->cap[i].init - m->s0) + 1);
    else
        lua_pushlstring(m->L, m->cap[i].init, (size_t)len);
}

// s NULL: captures only (find); otherwise the whole match when there are none.
static int push_captures(matcher* m, const char* s, const char* e)
{
    int n = m->level == 0 && s != NULL ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

static void reset(matcher* m)
{
    m->level = 0;
    m->depth = MAX_DEPTH;
}

static void init_matcher(matcher* m, lua_State* L, const char* s, size_t ls, const char* p, size_t lp)
{
    m->L = L;
    m->ticker = lua_touserdata(L, lua_upvalueindex(1));
    m->s0 = s;
    m->se = s + ls;
    m->pe = p + lp;
    reset(m);
}

// 1-based init (negative from the end) -> 0-based offset, clipped at 0; may exceed len.
static size_t start_offset(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos - 1;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 0;
    return len + (size_t)pos;
}

static bool has_specials(const char* p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL)
            return true;
    return false;
}

// memmem, counted: each candidate position costs a step plus one per 64 bytes compared.
static const char* plain_find(matcher* m, const char* s, size_t ls, const char* p, size_t lp)
{
    if (lp == 0)
        return s;
    if (lp > ls)
        return NULL;
    const char* last = s + (ls - lp);
    while (s <= last)
    {
        const char* c = memchr(s, *p, (size_t)(last - s) + 1);
        if (c == NULL)
            return NULL;
        step(m, 1 + (unsigned)(lp >> 6));
        if (memcmp(c + 1, p + 1, lp - 1) == 0)
            return c;
        s = c + 1;
    }
    return NULL;
}

static int find_aux(lua_State* L, bool find)
{
    size_t ls, lp;
    const char* s = luaL_checklstring(L, 1, &ls);
    const char* p = luaL_checklstring(L, 2, &lp);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    if (init > ls)
    {
        luaL_pushfail(L);
        return 1;
    }
    matcher m;
    init_matcher(&m, L, s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp)))
    {
        const char* r = plain_find(&m, s + init, ls - init, p, lp);
        if (r != NULL)
        {
            lua_pushinteger(L, (r - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(r - s) + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    bool anchor = lp > 0 && *p == '^';
    if (anchor)
        p++;
    const char* s1 = s + init;
    do
    {
        reset(&m);
        const char* e = match(&m, s1, p);
        if (e != NULL)
        {
            if (!find)
                return push_captures(&m, s1, e);
            lua_pushinteger(L, (s1 - s) + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (s1++ < m.se && !anchor);
    luaL_pushfail(L);
    return 1;
}

static int str_find(lua_State* L)
{
    return find_aux(L, true);
}

static int str_match(lua_State* L)
{
    return find_aux(L, false);
}

// --- gmatch ------------------------------------------------------------------------------------

typedef struct gmatch_state
{
    size_t pos;       // next start offset
    size_t lastmatch; // end offset of the last match (an empty match there is skipped); SIZE_MAX: none
} gmatch_state;

// Upvalues: ticker, subject, pattern, state.
static int gmatch_next(lua_State* L)
{
    size_t ls, lp;
    const char* s = lua_tolstring(L, lua_upvalueindex(2), &ls);
    const char* p = lua_tolstring(L, lua_upvalueindex(3), &lp);
    gmatch_state* g = lua_touserdata(L, lua_upvalueindex(4));
    matcher m;
    init_matcher(&m, L, s, ls, p, lp);
    for (const char* src = s + g->pos; src <= m.se; src++)
    {
        reset(&m);
        const char* e = match(&m, src, p);
        if (e != NULL && (size_t)(e - s) != g->lastmatch)
        {
            g->pos = g->lastmatch = (size_t)(e - s);
            return push_captures(&m, src, e);
        }
    }
    g->pos = ls + 1;
    return 0;
}

static int str_gmatch(lua_State* L)
{
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    lua_settop(L, 2);
    gmatch_state* g = lua_newuserdatauv(L, sizeof *g, 0);
    g->pos = init > ls ? ls + 1 : init;
    g->lastmatch = (size_t)-1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_pushcclosure(L, gmatch_next, 4);
    return 1;
}

// --- gsub --------------------------------------------------------------------------------------

static void add_string(matcher* m, luaL_Buffer* b, const char* s, const char* e)
{
    lua_State* L = m->L;
    size_t l;
    const char* news = lua_tolstring(L, 3, &l);
    const char* p;
    while ((p = memchr(news, '%', l)) != NULL)
    {
        luaL_addlstring(b, news, (size_t)(p - news));
        p++;
        if (*p == '%')
            luaL_addchar(b, '%');
        else if (*p == '0')
            luaL_addlstring(b, s, (size_t)(e - s));
        else if (isdigit((unsigned char)*p))
        {
            push_capture(m, *p - '1', s, e);
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
            luaL_addvalue(b);
        }
        else
            luaL_error(L, "invalid use of '%%' in replacement string");
        l -= (size_t)(p + 1 - news);
        news = p + 1;
    }
    luaL_addlstring(b, news, l);
}

static void add_value(matcher* m, luaL_Buffer* b, const char* s, const char* e, int tr)
{
    lua_State* L = m->L;
    if (tr == LUA_TFUNCTION)
    {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    }
    else if (tr == LUA_TTABLE)
    {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    }
    else
    {
        add_string(m, b, s, e);
        return;
    }
    if (!lua_toboolean(L, -1))
    {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s)); // false or nil: keep the original text
    }
    else if (!lua_isstring(L, -1))
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    else
        luaL_addvalue(b);
}

static int str_gsub(lua_State* L)
{
    size_t ls, lp;
    const char* src = luaL_checklstring(L, 1, &ls);
    const char* p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    bool anchor = lp > 0 && *p == '^';
    if (anchor)
        p++, lp--;
    matcher m;
    init_matcher(&m, L, src, ls, p, lp);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char* lastmatch = NULL;
    lua_Integer n = 0;
    while (n < max)
    {
        reset(&m);
        const char* e = match(&m, src, p);
        if (e != NULL && e != lastmatch)
        {
            n++;
            add_value(&m, &b, src, e, tr);
            src = lastmatch = e;
        }
        else if (src < m.se)
            luaL_addchar(&b, *src++);
        else
            break;
        if (anchor)
            break;
    }
    luaL_addlstring(&b, src, (size_t)(m.se - src));
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

void sh_l_pattern_install(lua_State* L, int lib)
{
    static const luaL_Reg fns[] = {
        {"find", str_find}, {"match", str_match}, {"gmatch", str_gmatch}, {"gsub", str_gsub}, {NULL, NULL}};
    lib = lua_absindex(L, lib);
    for (const luaL_Reg* f = fns; f->name != NULL; f++)
    {
        lua_pushvalue(L, -1); // the ticker
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, lib, f->name);
    }
}
