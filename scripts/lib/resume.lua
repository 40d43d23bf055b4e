-- Building a run's world from what a recording kept (docs/recordings.md "Resume"): the configure message
-- of a live run or the scenario and params of `simhost run`, then the same steps, on_step calls and
-- inputs (apply_impulse, scenario messages) as the run had. The physics is deterministic, so the states
-- reached are bit-identical to the recorded ones; session.lua (configure {"resume": ...}), the
-- `recordings verify` command and the specs all use it.
local simhost = require "simhost"
local json = require "lib.json"
local scenarios = require "lib.scenarios"
local loop = require "lib.loop"

local M = {}

-- The objects of a configure message, spawned as protocol.md says (defaults included).
function M.spawn_objects(world, objects)
  for _, o in ipairs(objects or {}) do
    local env = o.object_type == "environment"
    world:spawn {
      asset = o.asset_name,
      position = o.position,
      orientation = o.orientation,
      environment = env,
      mass = not env and (o.mass or 10.0) or nil,
      restitution = o.restitution or (env and 0.5 or 0.8),
      friction = o.friction or 0.5,
      velocity = o.velocity,
      angular_velocity = o.angular_velocity,
    }
  end
end

-- The world of a (validated) configure message: returns run = {world, scenario, params, ctx}, or nil
-- and the error line for the client. send: the scenario's ctx:reply (nil: replies go nowhere).
function M.build(db, scripts_dir, msg, send, session)
  for _, o in ipairs(msg.objects or {}) do
    if db:find(o.asset_name) == nil then return nil, "Asset '" .. o.asset_name .. "' not found" end
  end
  local scenario, params
  if msg.scenario ~= nil then
    scenario = scenarios.load(scripts_dir, msg.scenario)
    if not scenario then return nil, "Scenario '" .. msg.scenario .. "' not found" end
    local perr
    params, perr = scenarios.resolve_params(scenario, msg.params, { assets = db })
    if not params then return nil, perr end
  end
  local world = scenarios.new_world(db, scenario)
  if scenarios.wants_ground(scenario, msg.ground) then
    local _, gerr = scenarios.spawn_ground(world, db)
    if gerr then return nil, gerr end
  end
  M.spawn_objects(world, msg.objects)
  local ctx
  if scenario then
    ctx = scenarios.context(world, params, db, send, session)
    scenario.setup(world, params, ctx)
  end
  return { world = world, scenario = scenario, params = params, ctx = ctx, frames = 0 }
end

-- What a recording says built its world, as a configure message: the live run's own, or one naming
-- the scenario and params of a headless run (its params were resolved, so they check again as given).
local function configure_of(info)
  if info.configure ~= "" then return json.decode(info.configure) end
  local params = info.params ~= "" and json.decode(info.params) or nil
  return { type = "configure", scenario = info.scenario, params = params }
end

-- A recorded input applied to a rebuilt run, as the live handler applied it.
function M.apply_input(run, msg)
  if msg.type == "apply_impulse" then
    run.world:apply_impulse(math.tointeger(msg.body_id), msg.impulse, msg.point)
  elseif run.scenario and run.scenario.on_message then
    run.scenario.on_message(run.ctx, msg)
  end
end

-- One step to the next frame: lib/loop.lua's step, the one live sessions and `simhost run` take.
function M.advance(run)
  loop.step(run)
  run.frames = run.frames + 1
end

-- The run at frame 0, rebuilt from what recording `rec` says built it, with its inputs; or nil and why.
local function rebuild_start(db, scripts_dir, rec, info)
  local msg = configure_of(info)
  if type(msg) ~= "table" then return nil, "the recording's configure message is damaged" end
  if type(msg.resume) == "table" then
    return nil, ("Recording '%s' continues '%s' from frame %s: resume from that one"):format(info.id,
      tostring(msg.resume.recording), tostring(math.tointeger(msg.resume.frame) or msg.resume.frame))
  end
  local run, err = M.build(db, scripts_dir, msg, nil, nil)
  if not run then return nil, err end
  run.timestep_ms = math.floor(info.timestep * 1000 + 0.5)
  run.timestep = run.timestep_ms / 1000
  run.configure = msg
  run.inputs = rec:inputs()
  run.frames = 1 -- frame 0 is the state after setup; run.frames is the next frame to make
  return run
end

-- Puts the rebuilt run at snapshot frame s (the world restored from the recording's snapshot blob): the
-- next frame to make is s + 1. The scenario's Lua state is not in a snapshot: a scenario's on_step and
-- on_message see the time and the messages, so they carry on as they would have (docs/recordings.md).
local function restore(run, blob, s)
  local ok, err = simhost.recording.restore(run.world, blob)
  if not ok then return nil, ("the snapshot at frame %d cannot be restored: %s"):format(s, err) end
  run.frames = s + 1
  run.from_snapshot = s
  return run
end

-- Makes frames run.frames ... f with the recorded inputs (each applied after its frame, before the next
-- step). on_frame(run, n), when given, sees every frame n made and may return false to stop there.
local function play(run, f, on_frame)
  local inputs, k = run.inputs, 1
  while run.frames <= f do
    while inputs[k] and inputs[k].after_frame < run.frames - 1 do k = k + 1 end
    while inputs[k] and inputs[k].after_frame == run.frames - 1 do
      local m = json.decode(inputs[k].message)
      if type(m) == "table" then M.apply_input(run, m) end
      k = k + 1
    end
    M.advance(run)
    if on_frame and on_frame(run, run.frames - 1) == false then return false end
  end
  return true
end

-- Rebuilds recording `rec` (a simhost.recording) at frame f: returns the run with run.frames = f + 1
-- (the next frame to make is f + 1), or nil and why. A recording with snapshots starts from the latest
-- one at or before f (run.from_snapshot says which frame; nil: re-simulated from frame 0), so at most
-- K - 1 frames are re-simulated. on_frame(run, n), when given, sees every frame n made on the way
-- (0 ... f, or s + 1 ... f from snapshot s) and may return false to stop there.
function M.rebuild(db, scripts_dir, rec, f, on_frame)
  local info = rec:info()
  if math.type(f) ~= "integer" or f < 0 or f > info.last_frame then
    return nil, ("'frame' must be an integer in 0 … %d"):format(info.last_frame)
  end
  local run, err = rebuild_start(db, scripts_dir, rec, info)
  if not run then return nil, err end
  local blob, s = rec:snapshot(f)
  if blob then
    run, err = restore(run, blob, s)
    if not run then return nil, err end
  elseif on_frame and on_frame(run, 0) == false then
    return run
  end
  play(run, f, on_frame)
  return run
end

-- `recordings verify`: re-simulates the recording and compares every frame's SHF1 bytes with the
-- recorded ones, segment by segment: frames 0 ... s1 from the run's description, then each snapshot's
-- frames s ... the next snapshot from that snapshot (its own frame included, so a snapshot that does not
-- hold the recorded state is caught too). Returns {ok, frames (compared), first_diff (frame id) or nil,
-- segments, message}.
function M.verify(assets_path, scripts_dir, path)
  local db = simhost.assets.open(assets_path)
  local rec = simhost.recording.open(path)
  local info = rec:info()
  if info.frames == 0 then
    rec:close()
    return { ok = false, frames = 0, message = "the recording has no frames" }
  end
  local compared, first_diff, last = 0, nil, -1
  local function check(run, n)
    local want = rec:frame_bin(n)
    if want == nil then return true end -- a frame the writer lost (a cut run): nothing to compare
    local got = simhost.recording.encode(run.world, n, n * run.timestep_ms / 1000)
    if n > last then compared, last = compared + 1, n end -- a snapshot's frame is compared twice
    if got ~= want then
      first_diff = n
      return false
    end
  end
  local run, err = rebuild_start(db, scripts_dir, rec, info)
  local snaps = run and rec:snapshot_frames() or {}
  local segments = 0
  -- Segment i runs from its start (frame 0, or snapshot snaps[i]) through the next snapshot's frame.
  for i = 0, #snaps do
    if not run or first_diff then break end
    local s = i == 0 and 0 or snaps[i]
    if s > info.last_frame then break end
    if i > 0 then
      run, err = restore(run, rec:snapshot(s), s)
      if not run then break end
    end
    segments = segments + 1
    if check(run, s) ~= false then play(run, math.min(snaps[i + 1] or info.last_frame, info.last_frame), check) end
  end
  rec:close()
  if not run then return { ok = false, frames = compared, message = err } end
  run.world:close()
  local from = ("%d segment%s"):format(segments, segments == 1 and "" or "s")
  if first_diff then
    return { ok = false, frames = compared, first_diff = first_diff, segments = segments,
             message = ("frame %d differs from the recording"):format(first_diff) }
  end
  return { ok = true, frames = compared, segments = segments,
           message = ("%d frames re-simulated (%s), all bit-identical to the recording"):format(compared, from) }
end

-- The recording `id` in dir, opened, or nil and the line for the client.
function M.open(dir, id)
  if type(id) ~= "string" then return nil, "'resume.recording' must be a recording id" end
  local path = dir and simhost.recording.path(dir, id)
  if not path then return nil, "Recording '" .. id .. "' not found" end
  local ok, rec = pcall(simhost.recording.open, path)
  if not ok then return nil, "Recording '" .. id .. "' cannot be read" end
  return rec
end

return M
