-- Driving live sessions from the REPL (issue 6): a real `simhost serve --repl-socket`, a live session over
-- a real WebSocket (simhost.ws), and `simhost attach` piped, as a person's scripts would use it. Every
-- wait is for an event (a frame, a message, an exit), bounded only by generous timeouts: on a loaded
-- 2-core machine, under ASan, nothing here depends on how fast frames come.
local env = require "env"
local server = require "server"
local cjson = require "cjson"
local simhost = require "simhost"

local WAIT = env.sanitize and 60 or 20 -- seconds for anything that should come "soon"
local QUIET = 0.3 -- seconds of silence that show frames have stopped

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Runs Lua in a fresh attached REPL (piped, non-interactive); returns stdout, stderr, exit status.
local function attach(sock, code)
  local dir = env.tmpdir()
  -- One line: the REPL runs each complete line as its own chunk, and locals do not outlive a chunk.
  write_file(dir .. "/in.lua", code:gsub("\n%s*", " ") .. "\n")
  local out, err, rc = env.run(env.q(env.bin) .. " attach " .. env.q(sock) .. " <" .. env.q(dir .. "/in.lua"))
  env.rmtree(dir)
  return out, err, rc
end

-- Like attach, but every line of stdout is one value; fails the test if the chunk failed.
local function ask(sock, code)
  local out, err, rc = attach(sock, code)
  assert(rc == 0, "attach failed (" .. tostring(rc) .. "):\n" .. code .. "\n" .. out .. err)
  return out
end

local function connect(srv)
  return assert(simhost.ws.connect(srv.url, WAIT))
end

local CUBE = '{"type":"configure","objects":[{"asset_name":"unit_cube","position":[0,0,5],'
  .. '"orientation":[0,0,0],"object_type":"inertial"}]}'

-- Configures a cube 5 m above the ground; returns the cube's body id.
local function configure(c)
  assert(c:send(CUBE))
  local meta = cjson.decode((assert(c:receive(WAIT))))
  assert.equal("metadata", meta.type)
  for _, b in ipairs(meta.bodies) do
    if b.asset_name == "unit_cube" then return b.body_id end
  end
  error("no cube in metadata")
end

-- The next message, decoded; nil, "timeout" | "closed" when there is none.
local function next_msg(c, timeout)
  local text, err = c:receive(timeout)
  if not text then return nil, err end
  return (cjson.decode(text))
end

local function next_frame(c)
  local m = assert(next_msg(c, WAIT))
  assert.equal("frame", m.type, cjson.encode(m))
  return m.data
end

local function height(frame, body)
  for _, st in ipairs(frame.states) do
    if st.body_id == body then return st.position.z end
  end
  error("body " .. body .. " not in frame " .. frame.frame_id)
end

local function octal_mode(path)
  local p = io.popen("stat -c %a " .. env.q(path))
  local mode = p:read("*l")
  p:close()
  return mode
end

describe("host.* in an attached REPL", function()
  local srv, dir, sock

  setup(function()
    dir = env.tmpdir()
    sock = dir .. "/repl.sock"
    -- A CPU limit far above anything here, so the "session ends while a request waits" case ends the
    -- eval by closing the client, not by the limit.
    srv = server.start { args = "--repl-socket " .. env.q(sock) .. " --lua-cpu-ms 120000" }
  end)

  teardown(function()
    srv:stop_clean()
    assert.is_nil(io.open(sock), "the socket file is removed when the host exits")
    env.rmtree(dir)
  end)

  it("creates the socket with mode 0600", function()
    assert.equal("600", octal_mode(sock))
  end)

  it("lists a live session, reads a body's height inside it, pauses, steps 3 frames, resumes and kills it", function()
    local c = connect(srv)
    local cube = configure(c)
    assert(c:send('{"type":"start","timestep_ms":50,"duration_s":600}'))
    local f0 = next_frame(c)
    assert.equal(0, f0.frame_id)
    repeat -- let the cube fall a little, so its height says something
      f0 = next_frame(c)
    until f0.frame_id >= 5

    -- host.sessions(): the one session, streaming, with the ground and the cube
    local out = ask(sock, [[
      local all = host.sessions()
      print(#all)
      local s = all[1]
      print(s.id) print(s.state) print(s.bodies) print(s.peer) print(math.type(s.frame)) print(type(s.rtf))]])
    local n, id, state, bodies, peer, frame_type, rtf_type =
      out:match("^(%d+)\n(%d+)\n(%a+)\n(%d+)\n(%S+)\n(%a+)\n(%a+)\n$")
    assert(n, out)
    assert.equal("1", n)
    assert.equal("streaming", state)
    assert.equal("2", bodies)
    assert.truthy(peer:match("^127%.0%.0%.1:%d+$"), peer)
    assert.equal("integer", frame_type)
    assert.equal("number", rtf_type)
    id = tonumber(id)

    -- pause: the answer names the last frame sent; once it has arrived, no frame follows
    local paused_at = ask(sock, ("local st = host.session(%d):pause() print(st.state) print(st.frame)"):format(id))
    local pstate, last = paused_at:match("^(%a+)\n(%d+)\n$")
    assert.equal("paused", pstate, paused_at)
    last = tonumber(last)
    local f = f0
    while f.frame_id < last do
      f = next_frame(c)
    end
    assert.equal(last, f.frame_id, "frames after the pause point")
    local none, why = c:receive(QUIET)
    assert.is_nil(none, "a frame arrived while paused: " .. tostring(none))
    assert.equal("timeout", why)

    -- eval inside the session's own state: the cube's height, the same as in the last frame sent
    local z = tonumber(ask(sock, ("print(host.session(%d):eval('world:body(%d).position.z'))"):format(id, cube)))
    assert(z, "no number from eval")
    assert.is_true(z < 5 and z > 0, "height " .. z)
    assert.is_near(height(f, cube), z, 1e-5)

    -- step 3: exactly three frames, the next three ids, then silence again
    local stepped = ask(sock, ("local st = host.session(%d):step(3) print(st.state) print(st.frame)"):format(id))
    assert.equal("paused\n" .. (last + 3) .. "\n", stepped)
    for k = 1, 3 do
      assert.equal(last + k, next_frame(c).frame_id)
    end
    none, why = c:receive(QUIET)
    assert.is_nil(none, "a 4th frame arrived after step(3): " .. tostring(none))
    assert.equal("timeout", why)

    -- resume: frames flow again, in sequence from where the steps left off
    assert.equal("streaming\n", ask(sock, ("print(host.session(%d):resume().state)"):format(id)))
    for k = 4, 6 do
      assert.equal(last + k, next_frame(c).frame_id)
    end

    -- kill: the client gets the protocol's error with the reason, then the connection closes
    assert.equal("session " .. id .. " killed\n",
      ask(sock, ("print(host.session(%d):kill('maintenance window'))"):format(id)))
    local m
    repeat
      m = assert(next_msg(c, WAIT))
    until m.type ~= "frame"
    assert.same({ type = "error", message = "maintenance window" }, m)
    local after, closed = c:receive(WAIT)
    assert.is_nil(after)
    assert.equal("closed", closed)
    c:close()

    -- and the session is gone from the list (the actor ends it on its worker, so poll)
    local deadline = os.time() + WAIT
    repeat
      out = ask(sock, "print(#host.sessions())")
    until out == "0\n" or os.time() > deadline
    assert.equal("0\n", out)
    local _, err, rc = attach(sock, ("host.session(%d):info()"):format(id))
    assert.equal(1, rc)
    assert.truthy(err:find("no live session " .. id, 1, true), err)
  end)

  it("answers unknown ids, eval errors and misuse with one clear line, and the session goes on", function()
    local c = connect(srv)
    configure(c) -- configured, waiting for start
    local c2 = connect(srv)
    configure(c2)
    local listed = ask(sock, "for _, s in ipairs(host.sessions()) do print(s.id, s.state, s.bodies, s.frame) end")
    local ids = {}
    for sid, state, bodies, frame in listed:gmatch("(%d+)\t(%a+)\t(%d+)\t(%a+)\n") do
      ids[#ids + 1] = tonumber(sid)
      assert.equal("configured", state)
      assert.equal("2", bodies)
      assert.equal("nil", frame) -- not started: no frame yet
    end
    assert.equal(2, #ids, listed)
    assert.is_true(ids[1] < ids[2], "listed by id")
    local id = ids[1]
    local out
    local h = ("local h = host.session(%d) "):format(id)

    assert.equal("false\tno live session 999999 (host.sessions() lists them)\n",
      ask(sock, "print(pcall(host.session, 999999))"))
    out = ask(sock, "print(pcall(host.session, 'x'))")
    assert.truthy(out:find("bad argument #1", 1, true) and out:find("number expected, got string", 1, true), out)

    -- syntax and runtime errors come back as text
    out = ask(sock, h .. "print(pcall(h.eval, h, 'x('))")
    assert.truthy(out:match("^false\teval:1: .*near <eof>\n$"), out)
    out = ask(sock, h .. "print(pcall(h.eval, h, 'nil + 1'))")
    assert.truthy(out:match("^false\teval:1: attempt to perform arithmetic on a nil value"), out)
    out = ask(sock, h .. "print(pcall(h.eval, h, 'error({})'))")
    assert.equal("false\terror object is a table value\n", out)
    -- the REPL's own error path: a piped attach reports it on stderr and exits 1
    local _, err, rc = attach(sock, h .. "h:eval('error(\"boom\")')")
    assert.equal(1, rc)
    assert.truthy(err:find("eval:1: boom", 1, true), err)

    -- prints and values come back as text; globals persist across evals; the script's objects are there
    assert.equal("hi\t1\n2\tx\t{ a = 1 }\n", ask(sock, h .. [[print(h:eval("print('hi', 1) return 2, 'x', {a = 1}"))]]))
    ask(sock, h .. "h:eval('counter = 41')")
    assert.equal("42\n", ask(sock, h .. "print(h:eval('counter + 1'))"))
    assert.equal("configured\t" .. id .. "\n", ask(sock, h .. "print(h:eval('session.phase, session.id'))"))

    -- pause and step follow the script's rules (the same as the WebSocket messages)
    out = ask(sock, h .. "print(pcall(h.pause, h))")
    assert.equal("false\tsession " .. id .. " is not streaming (it is configured)\n", out)
    assert(c:send('{"type":"start","timestep_ms":50,"duration_s":600}'))
    assert.equal(0, next_frame(c).frame_id)
    out = ask(sock, h .. "print(pcall(h.step, h, 2))")
    assert.equal("false\t'step' is only allowed while paused\n", out)
    out = ask(sock, h .. "h:pause() print(pcall(h.step, h, 0))")
    assert.equal("false\t'frames' must be an integer in 1 … 100000\n", out)
    -- none of this reached the client as an error, and the session still runs
    assert.equal("streaming\n", ask(sock, h .. "print(h:resume().state)"))
    local m
    repeat
      m = assert(next_msg(c, WAIT))
      assert.equal("frame", m.type, cjson.encode(m))
    until m.data.frame_id >= 3
    c:close()
    c2:close()
  end)

  it("does not hang when the session ends while a request waits for it", function()
    local c = connect(srv)
    configure(c)
    local id = tonumber(ask(sock, "local s = host.sessions() print(s[#s].id)"))
    -- The eval tells the client it has started, then spins; the client then hangs up.
    local indir = env.tmpdir()
    write_file(indir .. "/in.lua", ("print(pcall(host.session(%d).eval, host.session(%d), %q))\n"):format(id, id,
      [[session:send('{"type":"marker"}') while true do end]]))
    local p = io.popen(env.q(env.bin) .. " attach " .. env.q(sock) .. " <" .. env.q(indir .. "/in.lua") .. " 2>&1")
    local m = assert(next_msg(c, WAIT))
    assert.equal("marker", m.type)
    c:close()
    local out = p:read("a")
    p:close()
    env.rmtree(indir)
    assert.equal("false\tsession " .. id .. " was closed while the request ran\n", out)
    local _, err, rc = attach(sock, ("host.session(%d)"):format(id))
    assert.equal(1, rc)
    assert.truthy(err:find("no live session " .. id, 1, true), err)
  end)

  it("gives up waiting after the eval's timeout; the late answer is dropped without a leak", function()
    local c = connect(srv)
    configure(c)
    local id = tonumber(ask(sock, "local s = host.sessions() print(s[#s].id)"))
    local out = ask(sock, ("local h = host.session(%d) print(pcall(h.eval, h, %q, 0.5))"):format(id,
      [[session:send('{"type":"marker"}') while true do end]]))
    assert.equal("false\tsession " .. id .. " did not answer within 0.5 s (a long callback?); it may still run\n",
      out)
    -- It did run (and still does): the marker came. Hanging up ends it; the request is freed then, which
    -- the ASan run's leak check at the host's exit (teardown) verifies.
    assert.equal("marker", assert(next_msg(c, WAIT)).type)
    c:close()
    local deadline = os.time() + WAIT
    repeat
      out = ask(sock, ("for _, s in ipairs(host.sessions()) do if s.id == %d then print(s.id) end end"):format(id))
    until out == "" or os.time() > deadline
    assert.equal("", out)
  end)
end)

describe("host.* limits and the terminal REPL", function()
  it("stops an eval at the session's CPU limit and the session goes on", function()
    local dir = env.tmpdir()
    local sock = dir .. "/repl.sock"
    local srv = server.start { args = "--repl-socket " .. env.q(sock) .. " --lua-cpu-ms 200" }
    finally(function()
      srv:stop()
      env.rmtree(dir)
    end)
    local c = connect(srv)
    configure(c)
    local h = "local h = host.sessions()[1] h = host.session(h.id) "
    assert.equal("false\tstopped: over the session's CPU limit (200 ms)\n",
      ask(sock, h .. "print(pcall(h.eval, h, 'while true do end'))"))
    assert.equal("2\n", ask(sock, h .. "print(h:eval('1 + 1'))"))
    assert.equal("configured\n", ask(sock, h .. "print(h:info().state)"))
    c:close()
    srv:stop_clean()
  end)

  it("gives `serve --repl` on the terminal the same host table", function()
    local port = server.free_port()
    local out, err, rc = env.run("printf '%s\\n' 'print(type(host.sessions), type(host.session), #host.sessions())' "
      .. "'print(pcall(host.session, 1))' | " .. env.q(env.bin) .. " serve --port " .. port .. " --assets "
      .. env.q(env.db) .. " --repl")
    assert.equal(0, rc, err)
    assert.equal("function\tfunction\t0\nfalse\tno live session 1 (host.sessions() lists them)\n", out)
  end)
end)
