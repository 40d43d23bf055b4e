-- `simhost run SCENARIO`: the Lua half of the headless runner. core/host/cmd_run.c parses the command
-- line, owns the clock, the progress bar, SIGINT and the --out file, and calls these three functions:
--   job = run.prepare{...}       build the scenario's world (the same checks as a live configure)
--   run.frame(job, want_json)    frame 0 is the initial state; every later call steps once first
--   run.summary(job, wall_s, interrupted)  the summary lines printed on stdout
-- Frames are made by lib/loop.lua, the loop live sessions run too, so a run writes the live protocol's
-- frames exactly.
local simhost = require "simhost"
local scenarios = require "lib.scenarios"
local json = require "lib.json"
local loop = require "lib.loop"

local run = {}

-- A run that cannot start: `kind` is "usage" (unknown scenario, bad param: exit 2) or "fail" (exit 1).
local function refuse(kind, message)
  error({ kind = kind, message = message }, 0)
end

-- opts: scripts_dir, name, params (name → string, from --param), assets_path,
--       duration (s, or nil for the scenario's `duration`, else 10), timestep_ms (integer).
function run.prepare(opts)
  local ok, db = pcall(simhost.assets.open, opts.assets_path)
  if not ok then refuse("fail", tostring(db):gsub("^[^:]*:%d+: ", "")) end
  local found, s = pcall(scenarios.load, opts.scripts_dir, opts.name)
  if not found then refuse("fail", "scenario '" .. opts.name .. "': " .. tostring(s)) end
  if not s then
    local names = table.concat(scenarios.names(opts.scripts_dir), ", ")
    refuse("usage", "unknown scenario '" .. opts.name .. "' (have: " .. names .. ")")
  end
  local params, perr = scenarios.resolve_params(s, opts.params, { from_strings = true, assets = db })
  if not params then refuse("usage", perr) end

  local world = scenarios.new_world(db, s)
  if scenarios.wants_ground(s, nil) then
    local _, gerr = scenarios.spawn_ground(world, db)
    if gerr then refuse("fail", gerr) end
  end
  local ctx = scenarios.context(world, params, db, nil, nil)
  s.setup(world, params, ctx)

  local duration = opts.duration or tonumber(s.duration) or 10
  local job = { name = opts.name, scenario = s, params = params, world = world, db = db, ctx = ctx,
                duration = duration, frames = 0 }
  loop.start(job, opts.timestep_ms, duration) -- job.total: ⌊duration_ms / timestep_ms⌋ + 1, as a live run
  if opts.record then job.recorder, job.recording_id = run.start_recording(job, opts) end
  return job
end

-- --record [FILE] (docs/recordings.md): the file given, else a fresh id in the recordings directory
-- (--recordings DIR, else recordings/ beside the asset DB, created if missing).
function run.start_recording(job, opts)
  local rec = opts.record
  local path, id = rec.file, nil
  if path then
    id = path:match("([^/]+)%.db$")
    if not id or id:match("^[%w_%-][%w_%.%-]*$") == nil then
      refuse("usage", "--record FILE: the file name must be an id (letters, digits, '_', '-', '.') ending in .db")
    end
  else
    local dir = rec.dir or ((opts.assets_path:match("^(.*)/[^/]*$") or ".") .. "/recordings")
    simhost.recording.ensure_dir(dir)
    id = simhost.recording.make_id(opts.name, rec.tag)
    path = dir .. "/" .. id .. ".db"
  end
  local r = simhost.recorder.start {
    path = path, id = id, world = job.world, source = "run", scenario = opts.name,
    params = json.encode(job.params), metadata = job.world:metadata_json(), timestep = job.timestep,
    -- a headless run has no client to keep up with: it waits for the disk rather than lose frames
    wait_when_full = true,
    snapshots = rec.snapshots,
  }
  return r, id
end

-- Makes the next frame (lib/loop.lua): frame 0 is the state after setup; frame n follows n steps.
-- Returns the frame's `data` JSON when want_json, else nothing (no encoding cost without --out).
function run.frame(job, want_json)
  return (loop.frame(job, want_json))
end

-- Summary tables print as JSON with 6 significant digits: a terminal line, not a data file.
local short = require("cjson").new()
short.encode_number_precision(6)
short.encode_invalid_numbers(false)

local function show(v)
  if math.type(v) == "float" then return string.format("%.6g", v) end
  if type(v) == "table" then
    local ok, enc = pcall(short.encode, v)
    return ok and enc or "(not JSON)"
  end
  return tostring(v)
end

-- The summary, "key: value" per line: the run's numbers, then the scenario's on_complete table as
-- "summary.KEY: value" (sorted by key, so the output is stable).
function run.summary(job, wall_s, interrupted)
  local world = job.world
  local stats = world:stats()
  local frames = job.frames
  local simulated = loop.simulated_s(job)
  local pnames = {}
  for k, v in pairs(job.params) do pnames[#pnames + 1] = k .. "=" .. show(v) end
  table.sort(pnames)
  local lines = {
    "scenario: " .. job.name,
    "params: " .. table.concat(pnames, " "),
    "frames: " .. frames .. " of " .. job.total,
    string.format("simulated_s: %.3f", simulated),
    string.format("wall_s: %.3f", wall_s),
    string.format("realtime_factor: %.2f", wall_s > 0 and simulated / wall_s or 0),
    "bodies: " .. stats.bodies,
    "contacts: " .. stats.contacts,
    "interrupted: " .. (interrupted and "yes" or "no"),
  }
  if job.recorder then
    local st = job.recorder:finish(not interrupted, interrupted and "interrupted (Ctrl-C)" or nil)
    job.recorder = nil
    lines[#lines + 1] = "recording: " .. job.recording_id ..
      (st.state == "failed" and (" incomplete: " .. tostring(st.reason)) or (interrupted and " incomplete" or " complete"))
  end
  local summary = job.scenario.on_complete and job.scenario.on_complete(world)
  if type(summary) == "table" then
    local keys = {}
    for k in pairs(summary) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do lines[#lines + 1] = "summary." .. tostring(k) .. ": " .. show(summary[k]) end
  end
  return table.concat(lines, "\n") .. "\n"
end

return run
