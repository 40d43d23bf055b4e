-- Benchmark (not a test): a 1000-body live session on a real `simhost serve`, recorded or not, and the
-- host's CPU for it (utime + stime from /proc). Alternates unrecorded and recorded runs so load from
-- elsewhere hits both alike; prints each and the ratio; leaves the recordings in DIR for
-- recordings_bench.lua.
--
--   LUA_CPATH='build/lua/?.so;;' LUA_PATH='spec/support/?.lua;scripts/?.lua;;' \
--     lua5.4 spec/bench/live_record_bench.lua DIR [busy|settled] [seconds] [speed] [pairs]
-- pairs = 0: one recorded run only, e.g. `DIR busy 160 0 0` for a 10 001-frame recording.
local server = require "server"
local env = require "env"
local ws = require "ws"
local cjson = require "cjson"

local dir = assert(arg[1], "usage: live_record_bench.lua DIR [busy|settled] [seconds] [speed] [pairs]")
local kind = arg[2] or "busy"
local seconds = tonumber(arg[3] or 10)
local speed = tonumber(arg[4] or 1)
local pairs_n = tonumber(arg[5] or 2)

-- 1000 unit cubes. busy: a 10×10×10 lattice, 3 m apart, no ground, each with its own spin and drift
-- (they fall together and never touch: every body moves every frame). settled: a 32×32 grid resting
-- on the ground 2 m apart (asleep after half a second).
local function objects()
  local out = {}
  local seed = 7
  local function rnd()
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648 - 0.5
  end
  for i = 0, 999 do
    local o = { asset_name = "unit_cube", object_type = "inertial", orientation = { 0, 0, 0 } }
    if kind == "busy" then
      o.position = { (i % 10) * 3, (i // 10 % 10) * 3, 10 + (i // 100) * 3 }
      o.velocity = { rnd() * 0.2, rnd() * 0.2, 0 }
      o.angular_velocity = { rnd() * 4, rnd() * 4, rnd() * 4 }
    else
      o.position = { (i % 32) * 2, (i // 32) * 2, 0.5 }
    end
    out[#out + 1] = o
  end
  return out
end

local function cpu_seconds(pid)
  local f = assert(io.open("/proc/" .. pid .. "/stat"))
  local s = f:read("a")
  f:close()
  local rest = s:match("%) (.*)$")
  local fields = {}
  for x in rest:gmatch("%S+") do fields[#fields + 1] = x end
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100 -- utime, stime in clock ticks (USER_HZ 100)
end

local srv = server.start { args = "--recordings " .. env.q(dir) }
local configure = cjson.encode { type = "configure", ground = kind ~= "busy", objects = objects() }

local function run(record)
  local c = assert(ws.connect(srv.url))
  c:send(configure)
  assert(cjson.decode(assert(c:receive(60))).type == "metadata")
  local cpu0 = cpu_seconds(srv.pid)
  c:send(cjson.encode { type = "start", timestep_ms = 16, duration_s = seconds, speed = speed, record = record })
  local frames, done = 0, nil
  while true do
    local m = assert(c:receive(120))
    if m:sub(1, 16) == '{"type":"frame",' then
      frames = frames + 1
    else
      done = cjson.decode(m)
      if done.type == "complete" then break end
    end
  end
  c:close()
  return cpu_seconds(srv.pid) - cpu0, frames, done.recording
end

if pairs_n == 0 then -- just one recorded run (e.g. the 10 000-frame file recordings_bench.lua reads)
  local cpu, frames, rec = run(true)
  print(("recorded %d frames in %.2f s host CPU → %s/%s.db"):format(frames, cpu, dir, rec.id))
  srv:stop()
  return
end
local totals = { [false] = 0, [true] = 0 }
for i = 1, pairs_n do
  for _, record in ipairs { false, true } do
    local cpu, frames, rec = run(record)
    totals[record] = totals[record] + cpu
    print(("run %d %-10s host CPU %.2f s for %d frames%s"):format(i, record and "recorded" or "plain", cpu, frames,
      rec and (" → " .. rec.id .. (rec.complete and "" or (" INCOMPLETE: " .. tostring(rec.reason)))) or ""))
  end
end
srv:stop()
print(("recording overhead: %+.1f %% host CPU (%s, 1000 bodies, %g s at speed %g, %d pairs)"):format(
  (totals[true] / totals[false] - 1) * 100, kind, seconds, speed, pairs_n))
