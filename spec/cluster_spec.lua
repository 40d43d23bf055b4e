-- More than one machine (docs/deploy.md): three real `simhost serve` hosts behind a real HAProxy run
-- from docs/haproxy.cfg, all on free loopback ports. Every wait is bounded by a deadline and nothing
-- asserts a duration: runs are short and small (one cube), and under 64 frames each, so a slow
-- reader never loses one to the outbox bound.
local env = require "env"
local server = require "server"
local haproxy = require "haproxy"
local ws = require "ws"
local cjson = require "cjson"
local socket = require "socket"

local MAX_SESSIONS = 16
local WAIT = env.sanitize and 90 or 30 -- the deadline of any one wait, generous for a loaded machine

local CONFIGURE = cjson.encode {
  type = "configure",
  objects = { { asset_name = "unit_cube", position = { 0, 0, 2 }, orientation = { 0, 0, 0 }, object_type = "inertial" } },
}

local function recv_json(c)
  local m, err = c:receive(WAIT)
  if not m then error("no message: " .. tostring(err), 2) end
  return cjson.decode(m)
end

-- A session through `url`, configured; returns the client and the host HAProxy gave it.
local function open(url)
  local c, err = ws.connect(url, WAIT)
  assert(c, "connect: " .. tostring(err))
  c:send(CONFIGURE)
  local m = recv_json(c)
  assert.equal("metadata", m.type, cjson.encode(m))
  return c, c.headers["x-simhost-server"]
end

local function start(c, timestep_ms, duration_s)
  c:send(cjson.encode { type = "start", timestep_ms = timestep_ms, duration_s = duration_s })
end

-- Reads every client concurrently until each has `until_frames` frames (when given) or has ended
-- (`complete`, or the socket closed). Each entry: {c = client, frames = {frame ids}, done = msg?,
-- closed = bool}.
local function follow(runs, until_frames)
  local deadline = socket.gettime() + WAIT
  local function pending(r)
    if r.done or r.closed then return false end
    return until_frames == nil or #r.frames < until_frames
  end
  while socket.gettime() < deadline do
    local socks, by_sock = {}, {}
    for _, r in ipairs(runs) do
      if pending(r) then
        socks[#socks + 1] = r.c.sock
        by_sock[r.c.sock] = r
      end
    end
    if #socks == 0 then return end
    local ready = socket.select(socks, nil, 1)
    for _, s in ipairs(ready) do
      local r = by_sock[s]
      local m, err = r.c:receive(WAIT)
      if not m then
        assert.equal("closed", err)
        r.closed = true
      else
        local msg = cjson.decode(m)
        if msg.type == "frame" then
          r.frames[#r.frames + 1] = msg.data.frame_id
        else
          r.done = msg
        end
      end
    end
  end
  error("sessions still running at the deadline")
end

-- A run that reached `complete` with every frame: ids 0 .. n-1, none dropped.
local function assert_complete(r, n)
  assert.is_table(r.done, "no complete message")
  assert.equal("complete", r.done.type, cjson.encode(r.done))
  assert.equal(n, r.done.total_frames)
  assert.equal(0, r.done.dropped_frames)
  assert.equal(n, #r.frames)
  for i, id in ipairs(r.frames) do assert.equal(i - 1, id) end
end

local function agent_line(port)
  local c = assert(socket.tcp())
  c:settimeout(WAIT)
  assert(c:connect("127.0.0.1", port))
  local line = c:receive("*l")
  c:close()
  return line
end

local function wait_until(fn, what)
  local deadline = socket.gettime() + WAIT
  while socket.gettime() < deadline do
    if fn() then return end
    socket.sleep(0.02)
  end
  error("timed out waiting for " .. what)
end

describe("three hosts behind HAProxy", function()
  local hosts, proxy, by_name = {}, nil, {}

  setup(function()
    for i = 1, 3 do
      local agent_port = server.free_port()
      local h = server.start {
        args = string.format("--agent-port %d --max-sessions %d --exit-when-drained", agent_port, MAX_SESSIONS),
      }
      h.agent_port = agent_port
      h.name = "host" .. i -- docs/haproxy.cfg's server names, in SIMHOST_HOST1..3 order
      hosts[i] = h
      by_name[h.name] = h
    end
    proxy = haproxy.start(hosts, { max_sessions = MAX_SESSIONS, inter = "200ms" })
    assert(proxy:wait_serving({ "host1", "host2", "host3" }, WAIT), "haproxy did not bring all three hosts up:\n" ..
      proxy:read_log())
  end)

  teardown(function()
    if proxy then proxy:stop() end
    for _, h in ipairs(hosts) do h:stop("KILL") end
  end)

  it("spreads 30 sessions over all three hosts, each reporting its share in health and agent check", function()
    local runs, per_name = {}, {}
    for i = 1, 30 do
      local c, name = open(proxy.url)
      assert.is_truthy(by_name[name], "unknown host " .. tostring(name))
      per_name[name] = (per_name[name] or 0) + 1
      runs[i] = { c = c, frames = {} }
    end
    local total = 0
    for _, h in ipairs(hosts) do
      local health = h:health()
      assert.equal("ok", health.status)
      assert.equal(MAX_SESSIONS, health.max_sessions)
      assert.is_true(health.sessions > 0, h.name .. " has no session")
      assert.equal(per_name[h.name], health.sessions)
      total = total + health.sessions
      local free = (MAX_SESSIONS - health.sessions) * 100 // MAX_SESSIONS
      assert.equal(string.format("up ready %d%%", free), agent_line(h.agent_port))
    end
    assert.equal(30, total)
    for _, r in ipairs(runs) do start(r.c, 50, 0.5) end
    follow(runs)
    for _, r in ipairs(runs) do assert_complete(r, 11) end
    for _, h in ipairs(hosts) do
      wait_until(function() return h:health().sessions == 0 end, h.name .. " to close its sessions")
    end
  end)

  it("SIGKILL of one host: its clients see the socket close, the others complete, new sessions go to the live hosts", function()
    local runs = {}
    for i = 1, 9 do
      local c, name = open(proxy.url)
      runs[i] = { c = c, frames = {}, host = name }
    end
    -- The victim: the host with the most of these sessions (leastconn gives each three).
    local count = {}
    for _, r in ipairs(runs) do count[r.host] = (count[r.host] or 0) + 1 end
    local victim = "host1"
    for name, n in pairs(count) do
      if n > (count[victim] or 0) then victim = name end
    end
    local others = 0
    for _, r in ipairs(runs) do
      r.victim = r.host == victim
      -- The victim's runs are long (still streaming when it dies); the others' 31 frames at 100 ms.
      if r.victim then start(r.c, 1000, 60) else start(r.c, 100, 3); others = others + 1 end
    end
    assert.is_true(others > 0, "every session landed on " .. victim)
    follow(runs, 1) -- every session is streaming
    by_name[victim]:stop("KILL")
    follow(runs)
    for _, r in ipairs(runs) do
      if r.victim then
        assert.is_true(r.closed, "a client of the killed host saw its socket close")
        assert.is_nil(r.done)
      else
        assert_complete(r, 31)
      end
    end
    local fresh = {}
    for i = 1, 6 do
      local c, name = open(proxy.url)
      assert.is_truthy(by_name[name], "unknown host " .. tostring(name))
      assert.are_not.equal(victim, name)
      fresh[i] = { c = c, frames = {} }
      start(c, 50, 0.2)
    end
    follow(fresh)
    for _, r in ipairs(fresh) do assert_complete(r, 5) end
    for name, h in pairs(by_name) do
      if name ~= victim then
        wait_until(function() return h:health().sessions == 0 end, name .. " to close its sessions")
      end
    end
    by_name[victim] = nil
  end)

  it("drains a host: its running session completes, the next 10 sessions land elsewhere, and it exits 0", function()
    local names = {}
    for name in pairs(by_name) do names[#names + 1] = name end
    table.sort(names)
    assert.is_true(#names >= 2, "two live hosts left")
    local drained = by_name[names[1]]
    -- A session on the host itself, paused so it is surely still running while the host drains.
    local c = assert(ws.connect(drained.url, WAIT))
    c:send(CONFIGURE)
    assert.equal("metadata", recv_json(c).type)
    local run = { c = c, frames = {} }
    start(c, 100, 2)
    follow({ run }, 1)
    c:send('{"type":"pause"}')
    local before = drained:health().sessions_total
    os.execute("kill -USR1 " .. drained.pid)
    wait_until(function() return drained:health().status == "draining" end, "the host to drain")
    assert.equal(1, drained:health().sessions)
    assert.equal("drain", agent_line(drained.agent_port))
    for _ = 1, 10 do
      local other, name = open(proxy.url)
      assert.is_truthy(by_name[name], "unknown host " .. tostring(name))
      assert.are_not.equal(drained.name, name)
      other:close()
    end
    assert.equal(before, drained:health().sessions_total, "no new session on the draining host")
    c:send('{"type":"resume"}')
    follow({ run })
    assert_complete(run, 21)
    assert.equal(0, drained:wait_exit(WAIT), "exit status once drained\n" .. (drained.final_log or ""))
    by_name[drained.name] = nil
  end)

  it("SIGTERM: a running session is told \"host shutting down\", and the host exits 0", function()
    local name = next(by_name)
    local h = by_name[name]
    local c = assert(ws.connect(h.url, WAIT))
    c:send(CONFIGURE)
    assert.equal("metadata", recv_json(c).type)
    start(c, 1000, 60)
    assert.equal("frame", recv_json(c).type)
    os.execute("kill -TERM " .. h.pid)
    local m
    repeat m = recv_json(c) until m.type ~= "frame"
    assert.same({ type = "error", message = "host shutting down" }, m)
    assert.equal("closed", select(2, c:receive(WAIT)))
    assert.equal(0, h:wait_exit(WAIT), "exit status after SIGTERM\n" .. (h.final_log or ""))
  end)
end)

-- The directives of a configuration: comments and blank lines dropped, every quoted value (an
-- address, a port, a number from the environment) replaced by "V", server lines left out.
local function directives(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and not line:match("^#") and not line:match("^server ") and not line:match("^presetenv ") then
      out[#out + 1] = (line:gsub('"[^"]*"', "V"))
    end
  end
  return out
end

describe("simhost cluster", function()
  it("prints help, and refuses a bad flag with one line and status 2", function()
    local out, _, rc = env.run(env.q(env.bin) .. " cluster --help")
    assert.equal(0, rc)
    assert.truthy(out:find("--hosts", 1, true))
    for _, bad in ipairs { "--hosts 0", "--port x", "--check-inter soon", "--bogus 1", "--host 'a b'" } do
      local _, err, rc2 = env.run(env.q(env.bin) .. " cluster " .. bad)
      assert.equal(2, rc2, bad)
      assert.equal(1, select(2, err:gsub("\n", "")), bad .. ": " .. err)
    end
  end)

  it("writes docs/haproxy.cfg's directives, one server line per host", function()
    local out, _, rc = env.run(env.q(env.bin) .. " cluster --hosts 5 --print-config")
    assert.equal(0, rc)
    local f = assert(io.open(haproxy.config, "rb"))
    local doc = f:read("a")
    f:close()
    assert.same(directives(doc), directives(out))
    assert.equal(5, select(2, out:gsub("\n    server host%d", "")))
  end)

  it("runs hosts behind a real haproxy, serves a session through it, and stops everything on SIGTERM", function()
    local port = server.free_port()
    -- A handle like server.start's, so stop() and wait_exit() apply to the cluster process.
    local cl = setmetatable({ dir = env.tmpdir() }, server)
    cl.log = cl.dir .. "/cluster.log"
    cl.proc, cl.pid = server.spawn(string.format("%s cluster --hosts 2 --port %d --check-inter 200ms -- --workers 1",
      env.q(env.bin), port), cl.log)
    finally(function() cl:stop() end)
    local read_log = function() return cl:read_log() end
    assert(haproxy.wait_serving({ port = port }, { "host1", "host2" }, WAIT), "cluster did not come up:\n" .. read_log())
    local c, name = open("ws://127.0.0.1:" .. port .. "/api/v1/live")
    assert.truthy(name == "host1" or name == "host2", tostring(name))
    local run = { c = c, frames = {} }
    start(c, 50, 0.2)
    follow({ run })
    assert_complete(run, 5)
    -- bench-live through the proxy counts the sessions per host from HAProxy's X-Simhost-Server.
    local out, err, rc = env.run(string.format("%s bench-live --url ws://127.0.0.1:%d/api/v1/live --sessions 4 " ..
      "--bodies 1 --seconds 0.2 --timestep-ms 50", env.q(env.bin), port))
    assert.equal(0, rc, out .. err)
    local spread = assert(out:match("sessions per host: ([^\n]+)"), out)
    local counted = 0
    for host, n in spread:gmatch("(host%d)=(%d+)") do
      assert.truthy(host == "host1" or host == "host2", spread)
      counted = counted + tonumber(n)
    end
    assert.equal(4, counted, spread)
    local text = read_log()
    local pids = {}
    for p in text:gmatch("host%d pid (%d+)") do pids[#pids + 1] = p end
    assert.equal(2, #pids, text)
    os.execute("kill -TERM " .. cl.pid)
    assert.equal(0, cl:wait_exit(WAIT), "exit status after SIGTERM\n" .. text)
    for _, p in ipairs(pids) do
      assert.is_nil(io.open("/proc/" .. p .. "/stat", "r"), "host pid " .. p .. " still running")
    end
  end)
end)

describe("draining from the REPL", function()
  it("host.drain() refuses new sessions with 503 and, with --exit-when-drained, exits 0 after the last", function()
    local dir = env.tmpdir()
    local sock = dir .. "/repl.sock"
    local agent_port = server.free_port()
    local h = server.start { args = string.format("--repl-socket %s --agent-port %d --exit-when-drained",
      env.q(sock), agent_port) }
    finally(function() h:stop(); env.rmtree(dir) end)
    local c = assert(ws.connect(h.url, WAIT)) -- keeps the host running while it drains
    c:send(CONFIGURE)
    assert.equal("metadata", recv_json(c).type)
    local f = assert(io.open(dir .. "/in.lua", "wb"))
    f:write("print(host.drain(), host.stats().state)\n")
    f:close()
    local out, err, rc = env.run(env.q(env.bin) .. " attach " .. env.q(sock) .. " <" .. env.q(dir .. "/in.lua"))
    assert.equal(0, rc, out .. err)
    assert.equal("draining\tdraining\n", out)
    assert.equal("drain", agent_line(agent_port))
    local health_status, _, body = server.get(h.port, "/api/v1/health")
    assert.equal(503, health_status)
    assert.equal("draining", cjson.decode(body).status)
    local refused, why = ws.connect(h.url, WAIT)
    assert.is_nil(refused)
    assert.truthy(tostring(why):match("^HTTP/1%.%d 503"), tostring(why))
    c:close()
    assert.equal(0, h:wait_exit(WAIT), "exit status once drained\n" .. (h.final_log or ""))
  end)
end)

describe("recordings in one shared directory", function()
  it("a run recorded through one host lists, replays and verifies through another", function()
    local dir = env.tmpdir()
    local args = "--recordings " .. env.q(dir)
    local a, b = server.start { args = args }, server.start { args = args }
    finally(function()
      a:stop("KILL")
      b:stop("KILL")
    end)
    local c, err = ws.connect("ws://127.0.0.1:" .. a.port .. "/api/v1/live", WAIT)
    assert(c, "connect: " .. tostring(err))
    c:send(CONFIGURE)
    assert.equal("metadata", recv_json(c).type)
    c:send(cjson.encode { type = "start", timestep_ms = 16, duration_s = 0.5, record = true })
    local frames, done = {}, nil
    repeat
      local m = recv_json(c)
      if m.type == "frame" then frames[#frames + 1] = m.data end
      if m.type == "complete" then done = m end
    until done
    c:close()
    assert.is_true(done.recording.complete, cjson.encode(done))
    local id = done.recording.id
    -- Host b never saw the run: it reads the file host a wrote.
    local status, _, body = server.get(b.port, "/api/v1/simulations")
    assert.equal(200, status, body)
    local listed
    for _, e in ipairs(cjson.decode(body)) do
      if e.id == id then listed = e end
    end
    assert(listed, "host b lists the recording: " .. body)
    assert.is_true(listed.complete)
    local s2, _, meta = server.get(b.port, "/api/v1/simulations/" .. id .. "/metadata")
    assert.equal(200, s2, meta)
    assert.equal(#frames, cjson.decode(meta).total_frames)
    local last = frames[#frames]
    local s3, _, state = server.get(b.port, ("/api/v1/simulations/%s/frames/%d/state"):format(id, last.frame_id))
    assert.equal(200, s3, state)
    local f = cjson.decode(state)
    assert.equal(last.frame_id, f.frame_id)
    assert.equal(#last.states, #f.states)
    for i, st in ipairs(last.states) do
      assert.equal(st.body_id, f.states[i].body_id)
      for _, k in ipairs { "x", "y", "z" } do
        assert.equal(st.position[k], f.states[i].position[k]) -- the same float32 text on both paths
      end
    end
    a:stop_clean()
    b:stop_clean()
  end)
end)
