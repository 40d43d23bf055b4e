-- Benchmark (not a test) of a recording: bytes per body per frame, replay route latency on a real server,
-- and the time to resume at a frame. Prints numbers; asserts nothing about speed.
--
--   simhost run avalanche --param count=1000 --duration 160 --record /tmp/long.db [--snapshot-every 100]
--   LUA_CPATH='build/lua/?.so;;' LUA_PATH='spec/support/?.lua;scripts/?.lua;;' \
--     lua5.4 spec/bench/recordings_bench.lua /tmp/long.db [resume_frame [resume-only]]
local simhost = require "simhost"
local server = require "server"
local env = require "env"
local socket = require "socket"
local resume = require "lib.resume"

local path = assert(arg[1], "usage: recordings_bench.lua FILE.db [resume_frame]")
local resume_at = tonumber(arg[2] or 5000)
local dir, name = path:match("^(.*)/([^/]+)%.db$")
local rec = simhost.recording.open(path)
local info = rec:info()
print(("recording %s: %d frames, %d bodies, %.1f MB"):format(info.id, info.frames, info.bodies, info.file_bytes / 1e6))

-- The time to resume at a frame: rebuild the run there (from the latest snapshot at or before it, when
-- the recording has snapshots) and check the state reached is the recorded one.
local function time_resume()
  local db = simhost.assets.open(env.db)
  local c0 = os.clock()
  local t0 = socket.gettime()
  local run = assert(resume.rebuild(db, env.source_dir .. "/scripts", rec, resume_at))
  local wall, cpu = socket.gettime() - t0, os.clock() - c0
  local same = simhost.recording.encode(run.world, resume_at, resume_at * run.timestep_ms / 1000) ==
    rec:frame_bin(resume_at)
  print(("resume at %d: %.2f s wall, %.2f s CPU, bit-identical: %s, from %s"):format(resume_at, wall, cpu,
    tostring(same), run.from_snapshot and ("the snapshot at frame " .. run.from_snapshot) or "frame 0"))
  run.world:close()
end
-- `... FILE.db F resume-only`: the resume alone (the route timings want a quiet machine).
if arg[3] == "resume-only" then
  time_resume()
  rec:close()
  return
end

-- Bytes per body per frame over windows of the run (early frames move, late ones have settled).
local function window_bytes(a, b)
  local p = io.popen(("sqlite3 %s 'SELECT SUM(LENGTH(data)), COUNT(*) FROM frames WHERE frame_id BETWEEN %d AND %d'")
    :format(env.q(path), a, b))
  local line = p:read("*l")
  p:close()
  local bytes, n = line:match("^(%d+)|(%d+)$")
  return tonumber(bytes) / (tonumber(n) * info.bodies)
end
local last = info.last_frame
print(("bytes/body/frame: frames 0-300 %.1f, frames %d-%d %.1f, all %.1f"):format(window_bytes(0, 300),
  last - 1000, last, window_bytes(last - 1000, last), window_bytes(0, last)))

local function percentile(t, p)
  table.sort(t)
  return t[math.max(1, math.ceil(#t * p))]
end

local srv = server.start { args = "--recordings " .. env.q(dir) }
math.randomseed(1)
local state, range = {}, {}
for i = 1, 200 do
  local fid = math.random(0, last)
  local t0 = socket.gettime()
  local status = server.get(srv.port, ("/api/v1/simulations/%s/frames/%d/state"):format(name, fid))
  state[i] = (socket.gettime() - t0) * 1000
  assert(status == 200)
end
for i = 1, 50 do
  local s = math.random(0, last - 100)
  local t0 = socket.gettime()
  local status, _, body = server.get(srv.port, ("/api/v1/simulations/%s/frames.bin?start=%d&count=100"):format(name, s))
  range[i] = (socket.gettime() - t0) * 1000
  assert(status == 200 and #body > 0)
end
srv:stop()
print(("frames/{fid}/state: median %.2f ms, p99 %.2f ms (200 random frames, client-side, loopback)"):format(
  percentile(state, 0.5), percentile(state, 0.99)))
print(("frames.bin 100 frames: median %.2f ms, p99 %.2f ms (50 random starts)"):format(percentile(range, 0.5),
  percentile(range, 0.99)))

if resume_at <= info.last_frame then time_resume() end
rec:close()
