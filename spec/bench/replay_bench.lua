-- Benchmark (not a test): the replay routes of two simhost builds side by side on one recording, requests
-- alternating between them so both see the same machine load. Prints client-side medians and p99s, and
-- each server's CPU time per request (/proc: user + system, all threads; the servers do nothing else),
-- which a loaded machine inflates far less than wall time. Asserts nothing about speed, only that both
-- answer 200 and the same bytes.
--
--   simhost run avalanche --param count=1000 --duration 160 --record /tmp/long.db
--   LUA_CPATH='build/lua/?.so;;' LUA_PATH='spec/support/?.lua;scripts/?.lua;;' \
--     lua5.4 spec/bench/replay_bench.lua /tmp/long.db BEFORE/simhost build/simhost [rounds]
local server = require "server"
local env = require "env"
local socket = require "socket"

local path, before, after = arg[1], arg[2], arg[3]
assert(path and before and after, "usage: replay_bench.lua FILE.db BEFORE_BIN AFTER_BIN [rounds]")
local rounds = tonumber(arg[4] or 200)
local dir, name = path:match("^(.*)/([^/]+)%.db$")
local base = "/api/v1/simulations/" .. name

local servers = {}
for i, bin in ipairs { before, after } do
  env.bin = bin
  servers[i] = server.start { args = "--recordings " .. env.q(dir) }
end
local status, _, meta = server.get(servers[2].port, base .. "/metadata")
assert(status == 200, meta)
local last = tonumber(meta:match('"total_frames":(%d+)')) - 1

-- user + system CPU seconds of a process so far (/proc/PID/stat fields 14 and 15, in clock ticks).
local function cpu_seconds(pid)
  local f = assert(io.open("/proc/" .. pid .. "/stat"))
  local stat = f:read("l")
  f:close()
  local fields = {}
  for x in stat:gsub("^.*%) ", ""):gmatch("%S+") do fields[#fields + 1] = x end
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100 -- fields after "(comm) ": 14 -> 12
end

local function percentile(t, p)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  return s[math.max(1, math.ceil(#s * p))]
end

-- Each target is asked `rounds` times at random places, the two builds one after the other each time.
local function run(label, n, make_path)
  local times = { {}, {} }
  local cpu0 = { cpu_seconds(servers[1].pid), cpu_seconds(servers[2].pid) }
  for k = 1, n do
    local p = make_path()
    local bodies = {}
    for i = 1, 2 do
      local order = (k % 2 == 0) and i or 3 - i
      local t0 = socket.gettime()
      local ok, st, _, body = pcall(server.get, servers[order].port, p, 120)
      times[order][#times[order] + 1] = (socket.gettime() - t0) * 1000
      assert(ok and st == 200, ("%s from %s: %s"):format(p, order == 1 and "before" or "after", tostring(st)))
      bodies[order] = body
    end
    assert(bodies[1] == bodies[2], p .. ": the two builds answered different bytes")
  end
  for i, which in ipairs { "before", "after" } do
    local cpu = (cpu_seconds(servers[i].pid) - cpu0[i]) * 1000 / n
    print(("%-24s %-6s median %8.2f ms  p99 %8.2f ms  server CPU %7.2f ms/request  (%d requests)"):format(label,
      which, percentile(times[i], 0.5), percentile(times[i], 0.99), cpu, n))
  end
end

math.randomseed(1)
run("frames/{fid}/state", rounds, function()
  return ("%s/frames/%d/state"):format(base, math.random(0, last))
end)
run("frames.bin 100 frames", math.max(10, rounds // 4), function()
  return ("%s/frames.bin?start=%d&count=100"):format(base, math.random(0, last - 100))
end)
for _, s in ipairs(servers) do s:stop() end
