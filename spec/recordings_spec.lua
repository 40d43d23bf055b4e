-- Recordings (docs/recordings.md) end to end: real SQLite files written by a real `simhost serve` and
-- `simhost run`, read back over the replay routes on a loopback port, through the CLI and through
-- simhost.recording; a run cut by kill -9; an unwritable directory; corrupt and foreign files; resume.
local env = require "env"
local server = require "server"
local ws = require "ws"
local cjson = require "cjson"
local socket = require "socket"
local simhost = require "simhost"
local scripts_dir = env.source_dir .. "/scripts"

package.path = scripts_dir .. "/?.lua;" .. package.path
local resume = require "lib.resume"

local function recv_json(c)
  local m, err = c:receive(30)
  if not m then error("no message: " .. tostring(err), 2) end
  return cjson.decode(m)
end

local function get_json(port, path)
  local status, headers, body = server.get(port, path)
  return status, body and body ~= "" and cjson.decode(body) or nil, headers, body
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- A live run over the WebSocket: configure, start (with `start_extra`), every message until complete.
local function live_run(port, configure, start_extra, after_start)
  local c = assert(ws.connect("ws://127.0.0.1:" .. port .. "/api/v1/live"))
  c:send(cjson.encode(configure))
  local meta = recv_json(c)
  assert.equal("metadata", meta.type, cjson.encode(meta))
  local start = { type = "start", timestep_ms = 16, duration_s = 1, speed = 0 }
  for k, v in pairs(start_extra or {}) do start[k] = v end
  c:send(cjson.encode(start))
  if after_start then after_start(c) end
  local frames = {}
  while true do
    local m = recv_json(c)
    if m.type == "complete" then
      c:close()
      return meta, frames, m
    end
    assert.equal("frame", m.type, cjson.encode(m))
    frames[#frames + 1] = m.data
  end
end

local drop = { type = "configure", scenario = "drop", params = { count = 3 } }

describe("recordings", function()
  local dir, srv

  setup(function()
    dir = env.tmpdir()
    os.execute("mkdir -p " .. dir .. "/rec")
    srv = server.start { args = "--recordings " .. env.q(dir .. "/rec") }
  end)

  teardown(function()
    if srv then srv:stop_clean() end
    if dir then env.rmtree(dir) end
  end)

  describe("a live run recorded and replayed", function()
    local meta, frames, done, id

    setup(function()
      meta, frames, done = live_run(srv.port, drop, { record = true })
      id = done.recording and done.recording.id
    end)

    it("says in `complete` which recording it made and that it is complete", function()
      assert.is_string(id)
      assert.is_true(done.recording.complete)
      assert.equal(#frames, done.recording.frames)
    end)

    it("lists it (newest first) with the old shape {id, name, path}", function()
      local status, list = get_json(srv.port, "/api/v1/simulations")
      assert.equal(200, status)
      local e = list[1]
      assert.equal(id, e.id)
      assert.equal("drop", e.name)
      assert.equal(id .. ".db", e.path)
      assert.is_true(e.readable)
      assert.is_true(e.complete)
      assert.equal("live", e.source)
      assert.equal(#frames, e.total_frames)
    end)

    it("answers metadata with the bodies and total_frames", function()
      local status, m = get_json(srv.port, "/api/v1/simulations/" .. id .. "/metadata")
      assert.equal(200, status)
      assert.equal(#frames, m.total_frames)
      assert.equal(#meta.bodies, #m.bodies)
      for i, b in ipairs(m.bodies) do
        assert.equal(meta.bodies[i].body_id, b.body_id)
        assert.equal(meta.bodies[i].mass, b.mass)
        assert.equal(meta.bodies[i].restitution, b.restitution)
        assert.equal(meta.bodies[i].friction, b.friction)
        assert.equal(meta.bodies[i].asset_id, b.asset_id)
        assert.equal(meta.bodies[i].is_environment, b.is_environment)
      end
    end)

    it("lists the frames with their times", function()
      local status, list = get_json(srv.port, "/api/v1/simulations/" .. id .. "/frames")
      assert.equal(200, status)
      assert.equal(#frames, #list)
      for i, f in ipairs(list) do
        assert.equal(i - 1, f.frame_id)
        assert.is_number(f.simulation_time)
      end
    end)

    it("serves each frame's state with the states the live client saw", function()
      for _, n in ipairs { 0, 5, #frames - 1 } do
        local status, f = get_json(srv.port, ("/api/v1/simulations/%s/frames/%d/state"):format(id, n))
        assert.equal(200, status)
        local live = frames[n + 1]
        assert.equal(n, f.frame_id)
        assert.equal(#live.states, #f.states)
        for i, s in ipairs(f.states) do
          local l = live.states[i]
          assert.equal(l.body_id, s.body_id)
          assert.same(l.position, s.position)
          assert.same(l.orientation, s.orientation)
          assert.same(l.velocity, s.velocity)
          assert.same(l.angular_velocity, s.angular_velocity)
        end
        assert.is_table(f.collisions)
        assert.same({}, f.friction_constraints)
      end
      -- Every frame's collisions as the live client saw them: same pairs, normals and point counts.
      local touched = 0
      for n = 0, #frames - 1 do
        local _, f = get_json(srv.port, ("/api/v1/simulations/%s/frames/%d/state"):format(id, n))
        local live = frames[n + 1]
        assert.equal(#live.collisions, #f.collisions, "frame " .. n)
        for i, c in ipairs(f.collisions) do
          local l = live.collisions[i]
          touched = touched + 1
          assert.equal(l.body_a_id, c.body_a_id)
          assert.equal(l.body_b_id, c.body_b_id)
          assert.same(l.normal, c.normal)
          assert.equal(#l.contacts, #c.contacts)
          assert.is_number(c.contacts[1].point_a.x)
        end
        assert.equal(live.solver == nil or live.solver == cjson.null, f.solver == cjson.null, "frame " .. n)
      end
      assert.is_true(touched > 0) -- the cubes hit the ground within the second
    end)

    it("serves a range and a binary range", function()
      local status, r = get_json(srv.port, "/api/v1/simulations/" .. id .. "/frames/range?start=3&count=4")
      assert.equal(200, status)
      assert.equal(4, #r)
      for i, f in ipairs(r) do assert.equal(2 + i, f.frame_id) end
      local s2, headers, body = server.get(srv.port, "/api/v1/simulations/" .. id .. "/frames.bin?start=0&count=5")
      assert.equal(200, s2)
      assert.equal("application/octet-stream", headers["content-type"])
      local pos, n = 1, 0
      while pos <= #body do
        local len = string.unpack("<I4", body, pos)
        local frame = body:sub(pos + 4, pos + 3 + len)
        assert.equal("SHF1", frame:sub(1, 4))
        assert.equal(n, string.unpack("<I4", frame, 9))
        pos = pos + 4 + len
        n = n + 1
      end
      assert.equal(5, n)
    end)

    it("serves the energy series, per body energies and velocities", function()
      local status, e = get_json(srv.port, "/api/v1/simulations/" .. id .. "/energy")
      assert.equal(200, status)
      assert.equal(#frames, #e)
      assert.equal(0, e[1].delta_e)
      for _, p in ipairs(e) do
        assert.is_number(p.total_system_e)
        -- Both printed with 9 significant digits: each off by at most half a unit in the 9th.
        assert.near(p.total_system_e - e[1].total_system_e, p.delta_e, 3e-9 * math.abs(e[1].total_system_e))
      end
      local body = meta.bodies[2].body_id -- the first cube (body 1 is the ground)
      local s2, be = get_json(srv.port, ("/api/v1/simulations/%s/energy/%d"):format(id, body))
      assert.equal(200, s2)
      assert.equal(#frames, #be)
      assert.equal(body, be[1].body_id)
      assert.near(be[1].linear_ke + be[1].rotational_ke + be[1].potential_e, be[1].total_e, 3e-9 * be[1].total_e)
      assert.is_true(be[1].potential_e > 0)
      local s3, v = get_json(srv.port, ("/api/v1/simulations/%s/velocity/%d"):format(id, body))
      assert.equal(200, s3)
      assert.equal(#frames, #v)
      local mid = v[10]
      assert.equal(frames[10].states[2].velocity.z, mid.vz)
      assert.near(math.sqrt(mid.vx ^ 2 + mid.vy ^ 2 + mid.vz ^ 2), mid.speed, 1e-9)
    end)

    it("serves the render geometry of its assets", function()
      local status, a = get_json(srv.port, "/api/v1/simulations/" .. id .. "/assets")
      assert.equal(200, status)
      assert.same(meta.assets, a)
    end)

    it("answers bad ids, numbers and ranges with 404/400 and a line naming what was wrong", function()
      local base = "/api/v1/simulations/" .. id
      local rows = {
        { "/api/v1/simulations/nope/metadata", 404, "nope" },
        { "/api/v1/simulations/..%2F..%2Fetc/metadata", 404, nil },
        { "/api/v1/simulations/../rec/metadata", 404, nil },
        { base .. "/frames/abc/state", 400, "frame id" },
        { base .. "/frames/-1/state", 400, "frame id" },
        { base .. "/frames/999999/state", 404, "no frame 999999" },
        { base .. "/frames/range?count=3", 400, "'start' is required" },
        { base .. "/frames/range?start=0", 400, "'count' is required" },
        { base .. "/frames/range?start=0&count=0", 400, "'count'" },
        { base .. "/frames/range?start=x&count=2", 400, "'start'" },
        { base .. "/frames/range?start=100000&count=2", 404, "no frame at or after 100000" },
        { base .. "/frames.bin?start=0&count=-2", 400, "'count'" },
        { base .. "/energy/999", 404, "no body 999" },
        { base .. "/velocity/x", 400, "body id" },
        { base .. "/nothing", 404, "not found" },
      }
      for _, row in ipairs(rows) do
        local status, body = get_json(srv.port, row[1])
        assert.equal(row[2], status, row[1])
        assert.is_string(body.error, row[1])
        if row[3] then assert.truthy(body.error:find(row[3], 1, true), row[1] .. ": " .. body.error) end
      end
    end)

    it("refuses DELETE unless the host runs with --allow-delete", function()
      local c = assert(socket.tcp())
      c:settimeout(10)
      assert(c:connect("127.0.0.1", srv.port))
      c:send("DELETE /api/v1/simulations/" .. id .. " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      local line = c:receive("*l")
      c:close()
      assert.equal("403", line:match("^HTTP/1%.%d (%d+)"))
      assert.equal(200, (server.get(srv.port, "/api/v1/simulations/" .. id .. "/metadata")))
    end)

    it("opens in Lua: info, frames, frame, body_series, energy", function()
      local rec = simhost.recording.open(dir .. "/rec/" .. id .. ".db")
      local info = rec:info()
      assert.equal(id, info.id)
      assert.is_true(info.complete)
      assert.equal("live", info.source)
      assert.equal("drop", info.scenario)
      assert.equal(#frames, info.frames)
      assert.equal(#frames, #rec:frames())
      local f = rec:frame(7)
      assert.equal(7, f.frame_id)
      assert.equal(frames[8].states[3].position.x, f.states[3].position.x)
      assert.equal("unit_cube", f.states[3].asset_name)
      assert.is_nil(rec:frame(100000))
      local zs, ts = rec:body_series(meta.bodies[2].body_id, "position")
      assert.equal(#frames, #zs)
      assert.equal(#frames, #ts)
      assert.is_true(zs[1].z > zs[#zs].z) -- it fell
      local e = rec:energy()
      assert.equal(#frames, #e)
      -- A dropped cube loses energy to the ground and never gains more than the solver's slack.
      for i = 2, #e do assert.is_true(e[i].total_e <= e[1].total_e + 1e-3 * math.abs(e[1].total_e)) end
      rec:close()
    end)
  end)

  it("lists corrupt and foreign files as unreadable with the reason, and their routes 404", function()
    write_file(dir .. "/rec/garbage.db", string.rep("not a database ", 100))
    os.execute("sqlite3 " .. env.q(dir .. "/rec/foreign.db") .. " 'CREATE TABLE t(x); INSERT INTO t VALUES(1);'")
    local status, list = get_json(srv.port, "/api/v1/simulations")
    assert.equal(200, status)
    local seen = {}
    for _, e in ipairs(list) do seen[e.id] = e end
    assert.is_false(seen.garbage.readable)
    assert.truthy(seen.garbage.error:find("not a", 1, true), seen.garbage.error)
    assert.is_false(seen.foreign.readable)
    assert.truthy(seen.foreign.error:find("not a simhost recording", 1, true), seen.foreign.error)
    local s2, body = get_json(srv.port, "/api/v1/simulations/garbage/frames")
    assert.equal(404, s2)
    assert.truthy(body.error:find("unreadable", 1, true))
    os.remove(dir .. "/rec/garbage.db")
    os.remove(dir .. "/rec/foreign.db")
  end)

  it("serves a recording replaced under the same name afresh (the host keeps finished ones open)", function()
    local runs = {}
    for i, duration in ipairs { 0.2, 0.5 } do
      runs[i] = dir .. "/swap" .. i .. ".db"
      local _, err, rc = env.run(("%s run drop --duration %s --record %s"):format(env.q(env.bin), duration,
        env.q(runs[i])))
      assert.equal(0, rc, err)
    end
    local target = dir .. "/rec/swap.db"
    local function frames_now()
      local status, m = get_json(srv.port, "/api/v1/simulations/swap/metadata")
      assert.equal(200, status)
      return m.total_frames
    end
    -- cp rewrites the same inode (its size and mtime change); rm + cp makes a new one.
    assert(os.execute(("cp %s %s"):format(env.q(runs[1]), env.q(target))))
    assert.equal(13, frames_now())
    assert.equal(13, frames_now())
    assert(os.execute(("cp %s %s"):format(env.q(runs[2]), env.q(target))))
    assert.equal(32, frames_now())
    os.remove(target)
    assert.equal(404, (get_json(srv.port, "/api/v1/simulations/swap/metadata")))
    assert(os.execute(("cp %s %s"):format(env.q(runs[1]), env.q(target))))
    assert.equal(13, frames_now())
    os.remove(target)
  end)

  it("answers every route of a damaged file with its status and a JSON line, and keeps serving", function()
    -- Found by fuzz_recording: a real recording whose frames table is out of order (its row index lists
    -- frames the table cannot find; some rows read back empty).
    local src = env.source_dir .. "/spec/fuzz/corpus/fuzz_recording/damaged_table_order.db"
    assert(os.execute(("cp %s %s"):format(env.q(src), env.q(dir .. "/rec/damaged.db"))))
    local routes = { "/metadata", "/frames", "/frames/0/state", "/frames/32/state", "/frames.bin?start=0&count=100",
      "/frames/range?start=0&count=100", "/energy", "/energy/2", "/velocity/2", "/assets" }
    for _, p in ipairs(routes) do
      local status, _, body = server.get(srv.port, "/api/v1/simulations/damaged" .. p)
      assert.is_number(status, p)
      if status ~= 200 then assert.is_string(cjson.decode(body).error, p) end
    end
    assert.equal(200, (server.get(srv.port, "/api/v1/health")))
    os.remove(dir .. "/rec/damaged.db")
  end)

  it("resumes a live run from a recorded frame: frame f and 200 after are bit-identical", function()
    -- The original: 313 frames, paused right after start, stepped, nudged (recorded as an input), resumed;
    -- a world snapshot every 8 frames, so the resume restores the latest one at or before f.
    local _, frames, done = live_run(srv.port, drop, { record = true, duration_s = 5, snapshots = 8 }, function(c)
      c:send(cjson.encode { type = "pause" })
      c:send(cjson.encode { type = "step", frames = 10 })
      c:send(cjson.encode { type = "apply_impulse", body_id = 2, impulse = { 0, 0, 40 } })
      c:send(cjson.encode { type = "resume" })
    end)
    local original = done.recording.id
    assert.equal(313, #frames)
    local a = simhost.recording.open(dir .. "/rec/" .. original .. ".db")
    local inputs = a:inputs()
    assert.equal(1, #inputs)
    -- Resume a few frames after the nudge: the rebuild must have applied it to be bit-identical.
    local f = inputs[1].after_frame + 5
    assert.is_true(f + 200 <= 312, "the nudge came too late: after frame " .. inputs[1].after_frame)
    local meta, resumed, done2 = live_run(srv.port,
      { type = "configure", resume = { recording = original, frame = f } }, { record = true, duration_s = 3.2 })
    assert.equal(201, #resumed)
    assert.is_true(f >= 8)
    assert.same({ recording = original, frame = f, from_snapshot = f - f % 8 }, meta.resumed)
    assert.equal(f, resumed[1].frame_id)
    local b = simhost.recording.open(dir .. "/rec/" .. done2.recording.id .. ".db")
    for n = f, f + 200 do
      local want, got = a:frame_bin(n), b:frame_bin(n)
      assert.is_string(got, "frame " .. n)
      assert.is_true(want == got, "frame " .. n .. " differs")
    end
    local recorded, snapshots = a:info().frames, a:snapshot_frames()
    a:close()
    b:close()
    local out, err, rc = env.run(("%s recordings verify %s --dir %s"):format(env.q(env.bin), original,
      env.q(dir .. "/rec")))
    assert.equal(0, rc, err)
    assert.truthy(out:find("bit-identical", 1, true), out)
    -- verify ran one segment from frame 0 and one from each snapshot (8, 16, ...; all 313 frames have 39,
    -- but a loaded machine can cut the recording when its writer falls behind the as-fast-as-possible run).
    assert.is_true(#snapshots >= 2)
    assert.truthy(out:find(("%d frames re-simulated (%d segments)"):format(recorded, #snapshots + 1), 1, true), out)
    -- The fork's own recording starts at f: resuming it points back to the original.
    local c = assert(ws.connect("ws://127.0.0.1:" .. srv.port .. "/api/v1/live"))
    c:send(cjson.encode { type = "configure", resume = { recording = done2.recording.id, frame = f + 1 } })
    local m = recv_json(c)
    assert.equal("error", m.type)
    assert.equal(("Recording '%s' continues '%s' from frame %d: resume from that one"):format(done2.recording.id,
      original, f), m.message)
    c:close()
  end)

  it("rejects a start whose \"snapshots\" is not an integer >= 0", function()
    for _, k in ipairs { -1, 1.5, "8" } do
      local c = assert(ws.connect("ws://127.0.0.1:" .. srv.port .. "/api/v1/live"))
      c:send(cjson.encode(drop))
      assert.equal("metadata", recv_json(c).type)
      c:send(cjson.encode { type = "start", record = true, snapshots = k })
      local m = recv_json(c)
      assert.equal("error", m.type)
      assert.equal("'snapshots' must be an integer >= 0 (frames between world snapshots; 0: none)", m.message)
      c:close()
    end
  end)

  it("rejects a resume of an unknown recording or frame with one error line", function()
    for _, row in ipairs {
      { { recording = "nope", frame = 1 }, "Recording 'nope' not found" },
      { { recording = "../x", frame = 1 }, "Recording '../x' not found" },
      { { recording = 7, frame = 1 }, "'resume.recording' must be a recording id" },
      { { recording = "nope", frame = "x" }, "'resume.frame' must be an integer" },
      { "x", "'resume' must be an object" },
    } do
      local c = assert(ws.connect("ws://127.0.0.1:" .. srv.port .. "/api/v1/live"))
      c:send(cjson.encode { type = "configure", resume = row[1] })
      local m = recv_json(c)
      assert.equal("error", m.type)
      assert.equal(row[2], m.message)
      c:close()
    end
  end)
end)

describe("recordings without a server", function()
  local dir

  before_each(function() dir = env.tmpdir() end)
  after_each(function() env.rmtree(dir) end)

  it("records a headless run with --record FILE", function()
    local out, err, rc = env.run(("%s run drop --duration 0.5 --record %s"):format(env.q(env.bin),
      env.q(dir .. "/head.db")))
    assert.equal(0, rc, err)
    assert.truthy(out:find("recording: head complete", 1, true), out)
    local rec = simhost.recording.open(dir .. "/head.db")
    local info = rec:info()
    assert.equal("run", info.source)
    assert.equal("drop", info.scenario)
    assert.is_true(info.complete)
    assert.equal(32, info.frames)
    assert.equal(4, info.bodies)
    assert.equal(4, #rec:frame(31).states)
    rec:close()
  end)

  it("leaves a file that opens and replays up to its last commit when the host is killed with -9", function()
    local path = dir .. "/cut.db"
    local p = io.popen(("sh -c %s"):format(env.q(("echo $$; exec %s run drop --param count=60 --duration 3000 " ..
      "--record %s >/dev/null 2>&1"):format(env.q(env.bin), env.q(path)))))
    local pid = tonumber(p:read("*l"))
    -- Wait for a few committed frames (no time bound: a loaded machine just takes longer).
    local frames = 0
    while frames < 40 do
      socket.sleep(0.05)
      local ok, rec = pcall(simhost.recording.open, path)
      if ok then
        frames = rec:info().frames
        rec:close()
      end
    end
    os.execute("kill -9 " .. pid)
    p:close()
    local rec = simhost.recording.open(path)
    local info = rec:info()
    assert.is_false(info.finished)
    assert.is_false(info.complete)
    assert.equal("the host stopped before the run ended", info.reason)
    assert.is_true(info.frames >= 40)
    assert.equal(info.frames - 1, info.last_frame)
    assert.equal(info.last_frame, rec:frame(info.last_frame).frame_id)
    assert.equal(61, #rec:frame(info.last_frame).states)
    rec:close()
    -- The CLI lists it as incomplete and removes it.
    local out, err, rc = env.run(("%s recordings list --dir %s"):format(env.q(env.bin), env.q(dir)))
    assert.equal(0, rc, err)
    assert.truthy(out:find("cut", 1, true) and out:find("incomplete", 1, true), out)
  end)

  it("removes at start the .part files a killed host left (older than a minute), keeps a fresh one", function()
    local rec = dir .. "/parts"
    os.execute("mkdir -p " .. env.q(rec))
    -- A host killed between creating a recording and its first commit leaves ID.db.part (recorder.c).
    for _, f in ipairs { "stale.db.part", "stale.db.part-wal", "stale.db.part-shm", "fresh.db.part" } do
      write_file(rec .. "/" .. f, "")
    end
    os.execute("touch -d '2 hours ago' " .. env.q(rec .. "/stale.db.part"))
    local srv = server.start { args = "--recordings " .. env.q(rec) }
    srv:stop_clean()
    local function exists(f) local h = io.open(rec .. "/" .. f, "rb"); if h then h:close() end; return h ~= nil end
    for _, f in ipairs { "stale.db.part", "stale.db.part-wal", "stale.db.part-shm" } do
      assert.is_false(exists(f), f .. " still there")
    end
    -- A neighbour host sharing the directory may be creating this one right now.
    assert.is_true(exists("fresh.db.part"))
    assert.truthy(srv.final_log:find("recordings: removed 1 unfinished file (ID.db.part)", 1, true), srv.final_log)
  end)

  it("marks the recording failed when the directory is unwritable, and the session goes on", function()
    write_file(dir .. "/file", "x")
    local srv = server.start { args = "--recordings " .. env.q(dir .. "/file/rec") }
    local _, frames, done = live_run(srv.port, drop, { record = true, duration_s = 0.2 })
    assert.equal(13, #frames)
    assert.is_false(done.recording.complete)
    assert.truthy(done.recording.reason:find("cannot create", 1, true), done.recording.reason)
    local status = server.get(srv.port, "/api/v1/health")
    assert.equal(200, status)
    srv:stop_clean()
    assert.truthy(srv.final_log:find("failed: cannot create", 1, true), srv.final_log)
  end)

  it("has a CLI: list, show, export --csv/--jsonl, rm, and clear usage errors", function()
    local bin = env.q(env.bin)
    local _, err, rc = env.run(("%s run drop --duration 0.2 --record %s"):format(bin, env.q(dir .. "/r1.db")))
    assert.equal(0, rc, err)
    local d = " --dir " .. env.q(dir)
    local out
    out, err, rc = env.run(bin .. " recordings show r1" .. d)
    assert.equal(0, rc, err)
    assert.truthy(out:find("frames: 13 (0 ... 12)", 1, true), out)
    out, err, rc = env.run(bin .. " recordings export r1 --csv --bodies 2" .. d)
    assert.equal(0, rc, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(14, #lines)
    assert.truthy(lines[2]:match("^0,0,2,"), lines[2])
    out, err, rc = env.run(bin .. " recordings export r1 --jsonl" .. d)
    assert.equal(0, rc, err)
    local n = 0
    for l in out:gmatch("[^\n]+") do
      n = n + 1
      assert.equal(n - 1, cjson.decode(l).frame_id)
    end
    assert.equal(13, n)
    for _, row in ipairs {
      { " recordings", 2, "which command" },
      { " recordings frob" .. d, 2, "unknown command 'frob'" },
      { " recordings show" .. d, 2, "which recording" },
      { " recordings show nope" .. d, 1, "no recording 'nope'" },
      { " recordings export r1" .. d, 2, "--jsonl or --csv" },
      { " recordings export r1 --csv --bodies 99" .. d, 1, "no body 99" },
      { " recordings show ../r1" .. d, 1, "no recording '../r1'" },
    } do
      _, err, rc = env.run(bin .. row[1])
      assert.equal(row[2], rc, row[1] .. ": " .. err)
      assert.truthy(err:find(row[3], 1, true), row[1] .. ": " .. err)
    end
    out, err, rc = env.run(bin .. " recordings rm r1" .. d)
    assert.equal(0, rc, err)
    assert.is_nil(io.open(dir .. "/r1.db"))
  end)

  it("keeps re-simulated states bit-identical to a headless recording (rebuild in Lua)", function()
    local _, err, rc = env.run(("%s run drop --duration 5 --record %s"):format(env.q(env.bin), env.q(dir .. "/h.db")))
    assert.equal(0, rc, err)
    local db = simhost.assets.open(env.db)
    local rec = simhost.recording.open(dir .. "/h.db")
    local f = 100
    local run = assert(resume.rebuild(db, scripts_dir, rec, f))
    assert.is_nil(run.from_snapshot) -- no snapshots: re-simulated from frame 0
    for n = f, f + 200 do
      if n > f then resume.advance(run) end
      local got = simhost.recording.encode(run.world, n, n * run.timestep_ms / 1000)
      assert.is_true(got == rec:frame_bin(n), "frame " .. n .. " differs")
    end
    rec:close()
  end)

  it("stores a world snapshot every K frames with --snapshot-every K", function()
    local _, err, rc = env.run(("%s run drop --duration 1 --record %s --snapshot-every 20"):format(env.q(env.bin),
      env.q(dir .. "/k.db")))
    assert.equal(0, rc, err)
    local rec = simhost.recording.open(dir .. "/k.db")
    assert.same({ 20, 40, 60 }, rec:snapshot_frames())
    local blob, at = rec:snapshot(59)
    assert.equal(40, at)
    assert.equal("SHWS", blob:sub(1, 4))
    assert.is_nil(rec:snapshot(19))
    rec:close()
    _, err, rc = env.run(("%s run drop --record %s --snapshot-every 0"):format(env.q(env.bin), env.q(dir .. "/k0.db")))
    assert.equal(2, rc)
    assert.truthy(err:find("--snapshot-every", 1, true), err)
  end)

  -- A recording made here, frame by frame, whose run description is a lie: it says 5 cubes where the
  -- world had 3. Rebuilding from frame 0 cannot match it; a resume that restored a snapshot does.
  it("resumes from the nearest snapshot: only the frames after it are re-simulated, inputs after it replayed",
    function()
      local db = simhost.assets.open(env.db)
      local run = assert(resume.build(db, scripts_dir, drop))
      run.timestep_ms, run.timestep = 16, 0.016
      local lie = cjson.encode { type = "configure", scenario = "drop", params = { count = 5 } }
      local r = simhost.recorder.start { path = dir .. "/lie.db", id = "lie", world = run.world, timestep = 0.016,
        source = "live", configure = lie, metadata = run.world:metadata_json(), snapshots = 25,
        wait_when_full = true }
      local nudges = { [40] = 2, [55] = 3 } -- after frame 40 (before snapshot 50) and 55 (after it)
      assert.is_true(r:frame(run.world, 0, 0))
      run.frames = 1
      for n = 1, 120 do
        local body = nudges[n - 1]
        if body then
          local msg = { type = "apply_impulse", body_id = body, impulse = { 3, 0, 30 } }
          r:input(n - 1, cjson.encode(msg))
          resume.apply_input(run, msg)
        end
        resume.advance(run)
        assert.is_true(r:frame(run.world, n, n * 0.016))
      end
      assert.equal("finished", r:finish(true).state)
      run.world:close()
      local rec = simhost.recording.open(dir .. "/lie.db")
      for _, case in ipairs { { 60, 50 }, { 75, 75 }, { 99, 75 } } do
        local f, from = case[1], case[2]
        local again = assert(resume.rebuild(db, scripts_dir, rec, f))
        assert.equal(from, again.from_snapshot)
        for n = f, 120 do
          if n > f then resume.advance(again) end
          assert.is_true(simhost.recording.encode(again.world, n, n * 0.016) == rec:frame_bin(n), "frame " .. n)
        end
        again.world:close()
      end
      -- Before the first snapshot the rebuild starts from the (lying) description, and differs.
      local early = assert(resume.rebuild(db, scripts_dir, rec, 10))
      assert.is_nil(early.from_snapshot)
      assert.is_false(simhost.recording.encode(early.world, 10, 0.16) == rec:frame_bin(10))
      early.world:close()
      rec:close()
      -- verify names the first frame that differs (frame 0: segment 0 starts from the description).
      local out, err, rc = env.run(("%s recordings verify lie --dir %s"):format(env.q(env.bin), env.q(dir)))
      assert.equal(1, rc, err)
      assert.truthy(out:find("frame 0 differs", 1, true), out)
    end)

  it("trims the oldest finished recordings past the retention cap, never the newest", function()
    local db = simhost.assets.open(env.db)
    for i = 1, 3 do
      local w = simhost.world { assets = db }
      w:spawn { asset = "unit_cube", position = { 0, 0, 2 }, mass = 1 }
      local r = simhost.recorder.start { path = dir .. "/r" .. i .. ".db", id = "r" .. i, world = w, timestep = 0.016,
        metadata = w:metadata_json(), retention_dir = dir, retention_mb = 0.000001 }
      for n = 0, 5 do
        if n > 0 then w:step(0.016) end
        assert.is_true(r:frame(w, n, n * 0.016))
      end
      assert.equal("finished", r:finish(true).state)
      w:close()
    end
    local names = simhost.recording.list(dir)
    assert.equal(1, #names)
    assert.equal("r3", names[1].id)
  end)
end)
