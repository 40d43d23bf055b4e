-- A separate client process for load tests: configures N cubes, streams for S seconds, reads every
-- frame as it comes, prints "streaming" once frames flow and "done <frames> <dropped>" at the end.
-- Run as: lua5.4 load_client.lua URL N S   (LUA_PATH must reach spec/support)
local ws = require "ws"
local cjson = require "cjson"

local url, n, seconds = arg[1], tonumber(arg[2]), tonumber(arg[3])
local objects = {}
for i = 0, n - 1 do
  objects[#objects + 1] = {
    asset_name = "unit_cube", object_type = "inertial", orientation = { 0, 0, 0 },
    position = { (i % 20) * 1.5 - 15, ((i // 20) % 20) * 1.5 - 15, 1 + (i // 400) * 1.2 },
  }
end
local c = assert(ws.connect(url, 60))
c:send(cjson.encode { type = "configure", objects = objects })
local meta = assert(c:receive(60))
assert(meta:find('"metadata"', 1, true), meta)
c:send(cjson.encode { type = "start", timestep_ms = 16, duration_s = seconds })
local frames = 0
while true do
  local m = assert(c:receive(60))
  if m:sub(1, 15) == '{"type":"frame"' then
    frames = frames + 1
    if frames == 1 then
      io.write("streaming\n")
      io.flush()
    end
  else
    local done = cjson.decode(m)
    io.write(string.format("done %d %d\n", frames, done.dropped_frames or -1))
    break
  end
end
c:close()
