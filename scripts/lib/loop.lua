-- The one run loop: stepping, frame production and the stop condition, shared by `simhost run`
-- (lib/run.lua), live sessions (session.lua) and rebuilding a recorded run (lib/resume.lua). Pacing,
-- pausing and where a frame goes stay with the caller; what a frame holds and when the run ends do not.
--
-- A run is a table with world, scenario (or nil), frames (the id of the next frame to make) and, after
-- loop.start, timestep_ms, timestep (s) and total (the frame id it stops before). Optional: contacts
-- (false: frames without `collisions`), binary (SHF1 frames instead of JSON), recorder (handed every
-- frame made).
local loop = {}

-- The simulated time of frame n: n·T exactly (protocol.md), not the world's running float sum of steps.
function loop.time(run, n)
  return n * run.timestep_ms / 1000
end

-- Sets the run's timestep and length: ⌊duration_ms / timestep_ms⌋ + 1 frames from the current one (a
-- resumed run starts at its frame f and its duration counts from there; the epsilon keeps 0.3 s / 100 ms
-- from rounding down). The first frame loop.frame makes is the state as it stands, without a step.
function loop.start(run, timestep_ms, duration_s)
  run.timestep_ms = timestep_ms
  run.timestep = timestep_ms / 1000
  run.total = run.frames + math.floor(duration_s * 1000 / timestep_ms + 1e-9) + 1
  run.first_frame = run.frames
end

-- One step to the next frame: the world steps, then the scenario's on_step sees the time after it.
function loop.step(run)
  run.world:step(run.timestep)
  local s = run.scenario
  if s and s.on_step then s.on_step(run.world, loop.time(run, run.frames), run.timestep) end
end

-- Makes the next frame: the run's first is the state after setup (or the resumed frame), every later one
-- follows one step. Returns the frame (the `data` JSON, or SHF1 bytes when run.binary) when `encode`,
-- else nil (no encoding cost for a run nobody reads); then its id, its time, and false when the recorder
-- refused it (a failed recording: the run goes on).
function loop.frame(run, encode)
  if run.frames > run.first_frame then loop.step(run) end
  local n = run.frames
  local t = loop.time(run, n)
  local data
  if encode then
    local opts = { contacts = run.contacts ~= false, simulation_time = t }
    data = run.binary and run.world:frame_bin(n, opts) or run.world:frame_json(n, opts)
  end
  local recorded = true
  if run.recorder then recorded = run.recorder:frame(run.world, n, t) and true or false end
  run.frames = n + 1
  return data, n, t, recorded
end

-- Whether the run has made its last frame.
function loop.done(run)
  return run.frames >= run.total
end

-- Simulated seconds up to the last frame made (0 before the first).
function loop.simulated_s(run)
  return run.frames > 0 and loop.time(run, run.frames - 1) or 0
end

return loop
