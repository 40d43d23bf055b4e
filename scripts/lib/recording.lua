-- The live session's side of recordings (docs/recordings.md): start a recorder when `start` asks
-- (`"record": true`) or the host records every run (--record-all), hand it every frame sent and every
-- message that changed the world, say in `complete` how it ended, and resume a run from a recording.
-- A recording that fails (disk full, unwritable directory, a writer that fell behind) is logged and
-- reported; the run itself always goes on.
local simhost = require "simhost"
local json = require "lib.json"
local resume = require "lib.resume"

local M = {}

-- A start's recording fields: "record" (a boolean; default: the host's --record-all) and "snapshots" (a
-- world snapshot every K frames, an integer >= 0; default: the host's --snapshot-every). Sets
-- settings.record and settings.snapshots, or returns the error line for the client.
function M.settings(session, msg, settings)
  if msg.record ~= nil and type(msg.record) ~= "boolean" then return "'record' must be true or false" end
  local k = msg.snapshots
  if k ~= nil and (math.type(k) ~= "integer" and not (type(k) == "number" and k == math.floor(k)) or k < 0
                   or k > 1 << 30) then
    return "'snapshots' must be an integer >= 0 (frames between world snapshots; 0: none)"
  end
  local rs = session.recording
  settings.record = msg.record == true or (msg.record == nil and rs ~= nil and rs.all == true)
  settings.snapshots = k and math.tointeger(k) or (rs and rs.snapshot_every) or 0
end

function M.start(session, run, snapshots)
  local rs = session.recording
  if not rs or not rs.dir then
    session:log("recording: this host has no recordings directory")
    return
  end
  local name = run.scenario and run.configure and run.configure.scenario or "live"
  local id = simhost.recording.make_id(name, session.id)
  local cfg = run.configure or {}
  local ok, rec = pcall(simhost.recorder.start, {
    path = rs.dir .. "/" .. id .. ".db",
    id = id,
    world = run.world,
    source = "live",
    scenario = cfg.scenario,
    params = run.params and json.encode(run.params) or nil,
    configure = run.configure_raw,
    metadata = run.world:metadata_json(),
    timestep = run.timestep,
    retention_dir = rs.max_mb and rs.max_mb > 0 and rs.dir or nil,
    retention_mb = rs.max_mb,
    snapshots = snapshots,
  })
  if not ok then
    session:log("recording: " .. tostring(rec))
    return
  end
  run.recorder = rec
  run.recording_id = id
  session:log("recording " .. id)
end

-- The recorder refused a frame (lib/loop.lua hands it every frame made): logged once; the run goes on.
function M.failed(session, run)
  if run.recording_failed then return end
  run.recording_failed = true
  local st = run.recorder:status()
  session:log("recording " .. run.recording_id .. " stopped: " .. tostring(st.reason))
end

-- A message that changed the world after the last frame sent (applied before the next step).
function M.input(run, msg)
  run.recorder:input(run.frames - 1, json.encode(msg))
end

-- Ends the run's recording; returns the `recording` object of `complete` as JSON, or nil.
function M.finish(session, run, complete)
  local rec = run.recorder
  if not rec then return nil end
  run.recorder = nil
  local st = rec:finish(complete)
  local ok = st.state ~= "failed"
  if not ok then session:log("recording " .. run.recording_id .. " incomplete: " .. tostring(st.reason)) end
  return json.encode { id = run.recording_id, complete = ok and complete, reason = not ok and st.reason or nil,
                       frames = st.queued }
end

-- configure {"resume": {"recording": id, "frame": f}}: the run rebuilt at frame f, then a metadata
-- message; `start` streams on from frame f.
function M.resume(session, msg, fail)
  local r = msg.resume
  if type(r) ~= "table" then return fail(session, "'resume' must be an object") end
  local f = r.frame
  if math.type(f) ~= "integer" and not (type(f) == "number" and f == math.floor(f)) then
    return fail(session, "'resume.frame' must be an integer")
  end
  local rs = session.recording
  local rec, err = resume.open(rs and rs.dir, r.recording)
  if not rec then return fail(session, err) end
  local run
  run, err = resume.rebuild(session.assets, session.scripts_dir, rec, math.tointeger(f))
  rec:close()
  if not run then return fail(session, err) end
  run.frames = run.frames - 1 -- the world is at frame f; `start` sends it first
  -- A recording of this run starts at frame f: it names where it came from instead of a configure it
  -- could be rebuilt from (lib/resume.lua refuses to rebuild it and says so).
  run.configure_raw = json.encode { type = "configure", resume = { recording = r.recording, frame = run.frames } }
  session.run = run
  local meta = run.world:metadata_json()
  -- "from_snapshot": the snapshot frame the world was restored from (absent: re-simulated from frame 0).
  local from = run.from_snapshot and (',"from_snapshot":%d'):format(run.from_snapshot) or ""
  session:log(("resumed %s at frame %d from %s"):format(r.recording, run.frames,
    run.from_snapshot and ("the snapshot at frame " .. run.from_snapshot) or "frame 0"))
  session:send(('{"type":"metadata","resumed":{"recording":%s,"frame":%d%s},'):format(json.encode(r.recording),
    run.frames, from) .. meta:sub(2))
  session.phase = "configured"
  local idle = session.limits.idle_timeout_s
  if idle and idle > 0 then session:set_timer(idle) end
end

return M
