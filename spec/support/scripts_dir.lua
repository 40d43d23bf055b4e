-- A scratch copy of scripts/ with some files replaced, for specs that run the host with a modified
-- session script (--scripts DIR).
local env = require "env"

local M = {}

-- files: { ["session.lua"] = "source", ["scenarios/x.lua"] = "..." }. Returns the dir; remove it
-- with env.rmtree.
function M.make(files)
  local dir = env.tmpdir()
  os.execute("cp -R " .. env.q(env.source_dir .. "/scripts") .. " " .. env.q(dir .. "/scripts"))
  for name, src in pairs(files or {}) do M.write(dir .. "/scripts", name, src) end
  return dir, dir .. "/scripts"
end

function M.write(scripts, name, src)
  local path = scripts .. "/" .. name
  os.execute("mkdir -p " .. env.q(path:match("^(.*)/")))
  local f = assert(io.open(path, "wb"))
  f:write(src)
  f:close()
end

-- A session script driven by plain-text commands, to exercise the host rather than the protocol.
M.probe = [[
local M = {}
local pad = ""
function M.on_message(session, raw)
  local cmd, arg = raw:match("^(%S+)%s*(.*)$")
  if cmd == "echo" then
    session:send(arg)
  elseif cmd == "error" then
    error("boom from the script")
  elseif cmd == "error_table" then
    error({ code = 1 })
  elseif cmd == "loop" then
    while true do end
  elseif cmd == "pcall_loop" then
    while true do pcall(function() while true do end end) end
  elseif cmd == "hog" then
    local t = {}
    for i = 1, math.maxinteger do t[i] = string.rep("x", 1024) .. i end
  elseif cmd == "pcall_hog" then
    local t = {}
    while true do
      pcall(function() for i = #t + 1, math.maxinteger do t[i] = string.rep("y", 1024) .. i end end)
    end
  elseif cmd == "world_hog" then
    -- 4000 more cubes into one world per message: little Lua memory, megabytes of C memory
    local simhost = require "simhost"
    session.hog = session.hog or simhost.world { assets = session.assets }
    local base = session.hog:stats().bodies
    for i = base, base + 3999 do
      session.hog:spawn { asset = "unit_cube", position = { (i % 200) * 2, (i // 200) * 2, 1 } }
    end
    session:send(tostring(session.hog:stats().memory_bytes))
  elseif cmd == "world_cycle" then
    -- a world of 8000 cubes built and closed: its memory must be given back to the budget
    local simhost = require "simhost"
    local w = simhost.world { assets = session.assets }
    for i = 0, 7999 do w:spawn { asset = "unit_cube", position = { (i % 200) * 2, (i // 200) * 2, 1 } } end
    local bytes = w:stats().memory_bytes
    w:close()
    session:send(tostring(bytes))
  elseif cmd == "flood" then
    -- frames of `arg` bytes as fast as the timer allows (every 2 ms)
    pad = string.rep("p", tonumber(arg) or 1000)
    session.sent = 0
    session:schedule(session:now())
  elseif cmd == "burst" then
    -- `count` frames of `size` bytes in one callback, then "burst done": how many frames the host
    -- makes no longer depends on how often a loaded machine runs the timer
    local size, count = arg:match("^(%d+)%s+(%d+)$")
    local body = string.rep("p", tonumber(size))
    for n = 1, tonumber(count) do session:send_frame(string.format('{"n":%d,"pad":"%s"}', n, body)) end
    session.sent = nil
    session.burst = tonumber(count)
    session:send(string.format("burst done %d %d", session:queued(), session:dropped()))
  elseif cmd == "stats" then
    session:schedule(nil)
    session:send(string.format('{"dropped":%d,"queued":%d,"sent":%d}', session:dropped(), session:queued(),
      session.sent or session.burst or 0))
  elseif cmd == "limits" then
    local l = session.limits
    session:send(string.format('{"max_objects":%d,"max_duration_s":%g,"max_message_bytes":%d,"id":%d,"scripts":%q}',
      l.max_objects, l.max_duration_s, l.max_message_bytes, session.id, session.scripts_dir))
  elseif cmd == "timer" then
    session.ticks = 0
    session.t0 = session:now()
    session:set_timer(tonumber(arg))
  elseif cmd == "spam" then
    -- control messages of 1 MB in a loop; counts how many the host accepted, then reports
    local chunk, accepted = string.rep("s", 1000000), 0
    for _ = 1, 200 do
      if session:send(chunk) then accepted = accepted + 1 end
    end
    session.spam_accepted = accepted
  elseif cmd == "close" then
    session:send("bye")
    session:close()
  elseif cmd == "len" then
    session:send(tostring(#arg))
  else
    session:send("unknown " .. tostring(cmd))
  end
end
function M.on_tick(session)
  if session.sent then
    session.sent = session.sent + 1
    session:send_frame(string.format('{"n":%d,"pad":"%s"}', session.sent, pad))
    session:set_timer(0.002)
  elseif session.t0 then
    session:send(string.format("tick %.3f", session:now() - session.t0))
    session.t0 = nil
  end
end
return M
]]

return M
