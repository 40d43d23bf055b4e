-- The default live-session policy (protocol.md): configure → metadata, start → paced frames,
-- stop → complete. The host calls on_message(session, raw_text) for each client message and
-- on_tick(session) when the timer set with session:schedule fires. Loaded afresh for every
-- connection, so edits apply to the next connection. docs/session-api.md describes `session`.
local json = require "lib.json"
local validate = require "lib.validate"
local pacing = require "lib.pacing"
local scenarios = require "lib.scenarios"
local resume = require "lib.resume"
local recording = require "lib.recording"
local loop = require "lib.loop"

local M = {}

-- In speed-0 runs, wait while this many frames are still queued for the client: "as fast as the
-- host can" must not mean "faster than the client reads", which would only drop frames.
local FAST_QUEUE_LIMIT = 8

-- How a message's `type` reads in an error: strings as they are, anything else by its JSON kind.
local function describe(v)
  if type(v) == "string" then return v end
  if v == nil or v == json.null then return "null" end
  if type(v) == "table" then return "object" end
  return tostring(v)
end

local function send_error(session, message)
  session:send(json.error(message))
end

-- A fatal error during configure/start: error, then close.
local function fail(session, message)
  send_error(session, message)
  session:close()
  session.phase = "closed"
end

-- A connection that never gets to `start` would hold one of the host's --max-sessions slots (and its
-- world) for ever: it gets this long between connecting and configure, and between configure and
-- start. Once streaming, the run's own duration cap bounds it.
local function arm_idle(session)
  local idle = session.limits.idle_timeout_s
  if idle and idle > 0 then session:set_timer(idle) end
end

local function complete(session)
  local run = session.run
  session:schedule(nil)
  local dropped = session:dropped()
  local elapsed = run and run.started and (session:now() - run.started) or 0
  local sent = run and (run.frames - dropped) or 0
  local simulated = run and run.timestep_ms and loop.simulated_s(run) or 0
  -- (ext) the scenario's on_complete summary rides along as `summary`.
  local summary, serr
  if run and run.scenario then summary, serr = scenarios.summary_json(run.scenario, run.world) end
  if serr then session:log(serr) end
  -- (ext) a recorded run says how its recording ended (docs/recordings.md).
  local rec = run and recording.finish(session, run, true)
  session:send(string.format(
    '{"type":"complete","total_frames":%d,"elapsed_s":%.3f,"simulated_s":%.6f,"dropped_frames":%d%s%s}',
    sent, elapsed, simulated, dropped, summary and (',"summary":' .. summary) or "",
    rec and (',"recording":' .. rec) or ""))
  session:close()
  session.phase = "closed"
end

-- ---------------------------------------------------------------------------------------------
-- configure

local function configure(session, msg, raw)
  if type(msg) == "table" and msg.type == "configure" and msg.resume ~= nil then
    return recording.resume(session, msg, fail)
  end
  local err = validate.configure(msg, session.limits)
  if err then return fail(session, err) end
  local run, berr = resume.build(session.assets, session.scripts_dir, msg,
    function(text) session:send(text) end, session)
  if not run then return fail(session, berr) end
  run.configure_raw = raw
  run.configure = msg
  session.run = run
  local meta = run.world:metadata_json()
  session:send('{"type":"metadata",' .. meta:sub(2))
  session.phase = "configured"
  arm_idle(session)
end

-- ---------------------------------------------------------------------------------------------
-- streaming

-- Makes the next frame (lib/loop.lua: the first is the current state, every later one follows a step)
-- and sends it; completes after the last one. Returns whether the run goes on.
local function advance(session)
  local run = session.run
  local data, _, _, recorded = loop.frame(run, true)
  if run.binary then
    session:send_frame_bin(data)
  else
    session:send_frame(data)
  end
  if not recorded then recording.failed(session, run) end
  if loop.done(run) then
    complete(session)
    return false
  end
  return true
end

local function schedule_next(session)
  local run = session.run
  if run.paused then return end
  local now = session:now()
  if run.clock.period == 0 then
    -- As fast as possible, but never faster than the client drains its queue.
    session:schedule(session:queued() >= FAST_QUEUE_LIMIT and now + 0.001 or now)
    return
  end
  session:schedule(run.clock:due(run.frames, now))
end

local function start(session, settings)
  local run = session.run
  run.contacts = settings.contacts
  run.binary = settings.encoding == "binary" -- SHF1 frames as binary messages (docs/frames.md)
  -- A resumed run starts at its frame f (run.frames), and its duration counts from there.
  loop.start(run, settings.timestep_ms, settings.duration_s)
  run.started = session:now()
  run.paused_s = 0 -- wall seconds spent paused, left out of the real-time factor
  run.clock = pacing.new(run.timestep, settings.speed, run.started)
  if run.frames > 0 then run.clock:resume(run.frames, run.started) end -- resumed at frame f: f is due now
  session.phase = "streaming"
  if settings.record then recording.start(session, run, settings.snapshots) end
  -- frame 0 (or the resumed frame f): the current state
  if advance(session) then schedule_next(session) end
end

local function ensure_integer(v, lo, hi)
  return validate.finite(v) and v == math.floor(v) and v >= lo and v <= hi
end

local streaming = {}

function streaming.stop(session)
  complete(session)
end

-- Each streaming handler returns nil, or the line a client gets as an `error` (the run goes on).
-- M.control (the host's REPL) calls pause, resume and step too, and hands the line back instead.
function streaming.pause(session)
  local run = session.run
  if not run.paused then run.paused_at = session:now() end
  run.paused = true
  session:schedule(nil)
end

function streaming.resume(session)
  local run = session.run
  if not run.paused then return end
  run.paused = false
  run.paused_s = run.paused_s + (session:now() - run.paused_at)
  run.clock:resume(run.frames - 1, session:now())
  schedule_next(session)
end

function streaming.step(session, msg)
  local run = session.run
  if not run.paused then return "'step' is only allowed while paused" end
  local n = msg.frames
  if n == nil then n = 1 end
  if not ensure_integer(n, 1, 100000) then return "'frames' must be an integer in 1 … 100000" end
  for _ = 1, n do
    if not advance(session) then return end
  end
end

function streaming.speed(session, msg)
  local run = session.run
  if not validate.finite(msg.speed) or msg.speed < 0 then
    return "'speed' must be a finite number >= 0"
  end
  run.clock:set_speed(msg.speed, run.frames - 1, session:now())
  if not run.paused then schedule_next(session) end
end

function streaming.apply_impulse(session, msg)
  local run = session.run
  local id = msg.body_id
  if not (ensure_integer(id, 0, math.maxinteger) and run.world:is_valid(math.tointeger(id))) then
    return "'body_id' must name a body of this world"
  end
  if not validate.vec(msg.impulse, 3) then return "'impulse' must be an array of 3 finite numbers" end
  if msg.point ~= nil and not validate.vec(msg.point, 3) then
    return "'point' must be an array of 3 finite numbers"
  end
  run.world:apply_impulse(math.tointeger(id), msg.impulse, msg.point)
  if run.recorder then recording.input(run, msg) end
end

local function on_streaming_message(session, msg)
  local kind = msg.type
  local handler = type(kind) == "string" and streaming[kind]
  if handler then
    local err = handler(session, msg)
    if err then send_error(session, err) end
    return
  end
  local run = session.run
  if run.scenario and run.scenario.on_message and type(kind) == "string" then
    if run.scenario.on_message(run.ctx, msg) then
      if run.recorder then recording.input(run, msg) end
      return
    end
  end
  send_error(session, "Unknown message type '" .. describe(kind) .. "'")
end

-- ---------------------------------------------------------------------------------------------
-- entry points

function M.on_open(session)
  session.phase = "new"
  arm_idle(session)
end

function M.on_message(session, raw)
  local msg = json.decode(raw)
  local phase = session.phase
  if phase == "closed" then return end
  if type(msg) ~= "table" then
    if phase == "streaming" then return send_error(session, "Invalid JSON message") end
    return fail(session, "Invalid JSON message")
  end
  if phase == "new" then
    return configure(session, msg, raw)
  elseif phase == "configured" then
    if msg.type == "stop" then return complete(session) end
    if msg.type ~= "start" then
      return fail(session, "Expected 'start' or 'stop', got '" .. describe(msg.type) .. "'")
    end
    local err, settings = validate.start(msg, session.limits)
    if err then return fail(session, err) end
    local rerr = recording.settings(session, msg, settings)
    if rerr then return fail(session, rerr) end
    return start(session, settings)
  elseif phase == "streaming" then
    return on_streaming_message(session, msg)
  end
end

-- The host's REPL (docs/repl.md): host.sessions() and a handle's :info() read M.status; :pause(),
-- :resume() and :step(n) call M.control with the message a WebSocket client would send, so both run
-- the same code. M.control returns nil or an error line (for the REPL, not sent to the client).
local CONTROLLABLE = { pause = true, resume = true, step = true }

function M.status(session)
  local run = session.run
  local phase = session.phase
  local st = { state = phase }
  if run then
    st.bodies = #run.world:bodies()
    if run.started then
      st.frame = run.frames - 1
      if run.paused then st.state = "paused" end
      local now = session:now()
      local wall = now - run.started - run.paused_s - (run.paused and (now - run.paused_at) or 0)
      local simulated = loop.simulated_s(run)
      st.rtf = wall > 0 and simulated / wall or 0
    end
  end
  return st
end

function M.control(session, msg)
  if not CONTROLLABLE[msg.type] then return "unknown control '" .. tostring(msg.type) .. "'" end
  if session.phase ~= "streaming" then
    return "session " .. session.id .. " is not streaming (it is " .. tostring(session.phase) .. ")"
  end
  return streaming[msg.type](session, msg)
end

function M.on_tick(session)
  if session.phase == "new" or session.phase == "configured" then
    return fail(session, ("idle for %g s without starting a run"):format(session.limits.idle_timeout_s))
  end
  if session.phase ~= "streaming" or session.run.paused then return end
  local run = session.run
  if run.clock.period == 0 and session:queued() >= FAST_QUEUE_LIMIT then
    return schedule_next(session)
  end
  if advance(session) then schedule_next(session) end
end

return M
