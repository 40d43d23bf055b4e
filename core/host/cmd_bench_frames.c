// simhost bench-frames — what one frame costs in each encoding (issue 18): for worlds of 100, 1000 and
// 10 000 unit cubes (the bench-live grid, settled 30 steps so the bottom layer touches the ground), the
// bytes and the CPU milliseconds to encode one frame as JSON (w:frame_json) and as SHF1 (w:frame_bin),
// both through the Lua module exactly as a live session calls them, and to decode it: SHF1 with the C
// decoder (sh_frame_decode, then every body and contact read), JSON with lua-cjson when it is installed
// (a native parser, as close as C gets to the page's JSON.parse).
#include "cli.h"

#include "simhost/frame.h"
#include "simhost/lua.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char frames_usage[] =
    "usage: simhost bench-frames [--bodies N[,N...]] [--assets FILE]\n"
    "  Prints, per world size (default 100,1000,10000 unit cubes on the ground), the bytes of one frame\n"
    "  with contacts as JSON and as SHF1 and the CPU ms to encode and decode it (means over >= 0.3 s).\n";

// decode_bin(bytes) -> bodies read: the C decoder's validation plus reading every body and contact.
static int decode_bin(lua_State* L)
{
    size_t len;
    const char* s = luaL_checklstring(L, 1, &len);
    sh_frame_view v;
    sh_error err;
    if (!sh_frame_decode((const uint8_t*)s, len, &v, &err))
        return luaL_error(L, "%s", err.message);
    float sum = 0;
    for (uint32_t i = 0; i < v.body_count; i++)
    {
        sh_frame_body b;
        sh_frame_body_at(&v, i, &b);
        sum += b.position[2] + b.velocity[2];
    }
    for (uint32_t i = 0; i < v.contact_count; i++)
    {
        sh_frame_contact c;
        sh_frame_contact_at(&v, i, &c);
        sum += c.depth;
    }
    lua_pushinteger(L, (lua_Integer)v.body_count);
    lua_pushnumber(L, sum);
    return 2;
}

static const char script[] =
    "local simhost, decode_bin, path, sizes = ...\n"
    "local ok, cjson = pcall(require, 'cjson')\n"
    "if not ok then cjson = nil end\n"
    "local db = simhost.assets.open(path)\n"
    "-- Mean CPU seconds of fn over at least 0.3 s (and 5 calls).\n"
    "local function time(fn)\n"
    "  fn()\n"
    "  local n, t0 = 0, os.clock()\n"
    "  repeat fn(); n = n + 1 until n >= 5 and os.clock() - t0 >= 0.3\n"
    "  return (os.clock() - t0) / n\n"
    "end\n"
    "print(('%7s %8s %11s %8s %8s %10s %8s %8s %9s'):format('bodies', 'points', 'json bytes', 'json enc',\n"
    "  'json dec', 'bin bytes', 'bin enc', 'bin dec', 'bin B/body'))\n"
    "for _, n in ipairs(sizes) do\n"
    "  local w = simhost.world { assets = db }\n"
    "  w:spawn { asset = 'ground', position = {0, 0, -0.5}, orientation = {0, 0, 0}, environment = true }\n"
    "  for i = 0, n - 1 do\n"
    "    w:spawn { asset = 'unit_cube', position = {(i % 20) * 1.5 - 15, ((i // 20) % 20) * 1.5 - 15,\n"
    "              1 + (i // 400) * 1.2}, orientation = {0, 0, 0}, mass = 10 }\n"
    "  end\n"
    "  for _ = 1, 30 do w:step(1 / 60) end\n"
    "  local json, bin\n"
    "  local je = time(function() json = w:frame_json(30, { contacts = true }) end)\n"
    "  local be = time(function() bin = w:frame_bin(30, { contacts = true }) end)\n"
    "  local jd = cjson and time(function() cjson.decode(json) end)\n"
    "  local bd = time(function() decode_bin(bin) end)\n"
    "  local points = string.unpack('<I4', bin, 25)\n"
    "  local flags = string.unpack('<I4', bin, 29)\n"
    "  local friction = flags & 8 ~= 0 and (12 * points + 7) // 8 * 8 or 0 -- f32[3] per point, padded to 8\n"
    "  local per_body = (#bin - 64 - 48 * points - friction - (flags & 4 ~= 0 and 24 or 0)) / (n + 1)\n"
    "  print(('%7d %8d %11d %8.3f %8s %10d %8.4f %8.4f %9.1f'):format(n, points, #json, je * 1e3,\n"
    "    jd and ('%.3f'):format(jd * 1e3) or 'n/a', #bin, be * 1e3, bd * 1e3, per_body))\n"
    "  w:close()\n"
    "end\n"
    "print('ms are CPU ms per frame; json dec: lua-cjson' .. (cjson and '' or ' (not installed)') ..\n"
    "  '; bin dec: sh_frame_decode + every body and contact read; B/body: bytes of the body blocks per "
    "body')\n";

static bool parse_sizes(const char* s, int* sizes, int* count)
{
    *count = 0;
    while (*s && *count < 8)
    {
        char* end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 100000 || (*end != ',' && *end != '\0'))
            return false;
        sizes[(*count)++] = (int)v;
        s = *end == ',' ? end + 1 : end;
    }
    return *count > 0 && *s == '\0';
}

int sh_cmd_bench_frames(int argc, char** argv)
{
    int sizes[8] = {100, 1000, 10000}, count = 3;
    const char* assets = getenv("SIMHOST_DB") ? getenv("SIMHOST_DB") : sh_default_assets_db();
    for (int i = 0; i < argc; i++)
    {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
        {
            fputs(frames_usage, stdout);
            return SH_EXIT_OK;
        }
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--bodies") == 0 && has_value && parse_sizes(argv[i + 1], sizes, &count))
            i++;
        else if (strcmp(argv[i], "--assets") == 0 && has_value)
            assets = argv[++i];
        else
        {
            fprintf(stderr, "simhost bench-frames: bad option '%s' (see simhost bench-frames --help)\n",
                    argv[i]);
            return SH_EXIT_USAGE;
        }
    }
    lua_State* L = luaL_newstate();
    if (L == NULL)
        return SH_EXIT_FAIL;
    luaL_openlibs(L);
    int rc = SH_EXIT_OK;
    if (luaL_loadbuffer(L, script, sizeof script - 1, "=bench-frames") != LUA_OK)
        rc = SH_EXIT_FAIL;
    else
    {
        luaL_requiref(L, "simhost", luaopen_simhost, 0);
        lua_pushcfunction(L, decode_bin);
        lua_pushstring(L, assets);
        lua_createtable(L, count, 0);
        for (int i = 0; i < count; i++)
        {
            lua_pushinteger(L, sizes[i]);
            lua_rawseti(L, -2, i + 1);
        }
        if (lua_pcall(L, 4, 0, 0) != LUA_OK)
            rc = SH_EXIT_FAIL;
    }
    if (rc != SH_EXIT_OK)
        fprintf(stderr, "simhost bench-frames: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return rc;
}
