-- The shipped scenarios (scripts/scenarios/*.lua, docs/scenarios.md): each runs 2 simulated seconds
-- without error, NaN or energy growth past physics.md's audit bound, and each does what it claims.
-- Scenes are built by scripts/lib/run.lua, the code `simhost run` uses, in this process; the last
-- block drives scenarios over a real `simhost serve` (custom messages, param errors, hot reload).
local env = require "env"
local cjson = require "cjson"
local simhost = require "simhost"
local run = require "lib.run"
local scenarios = require "lib.scenarios"

local SCRIPTS = env.source_dir .. "/scripts"
local SHIPPED = { "avalanche", "bounce", "cradle", "dominoes", "drop", "pyramid", "ramp", "stack", "tumble", "wrecking" }

local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

-- Runs a scenario for `duration` s at `timestep_ms`, auditing every step: no NaN anywhere in a body's
-- state, and the largest one-step rise of total energy. The initial energy is measured after setup,
-- so energy a scenario injects on purpose there (a tipped domino, a thrown ball, a spin) is part of it.
-- each(job, n) is called after frame n. Returns job, audit.
local function play(name, params, duration, timestep_ms, each)
  local job = run.prepare { scripts_dir = SCRIPTS, name = name, params = params or {}, assets_path = env.db,
                            duration = duration, timestep_ms = timestep_ms or 16 }
  local w = job.world
  local audit = { e0 = w:energy().total, max_rise = 0, at = 0, nan = nil }
  local prev = audit.e0
  run.frame(job)
  if each then each(job, 0) end
  for n = 1, job.total - 1 do
    run.frame(job)
    local e = w:energy().total
    if e - prev > audit.max_rise then audit.max_rise, audit.at = e - prev, n end
    prev = e
    if not audit.nan then
      for _, id in ipairs(w:bodies()) do
        local b = w:body(id)
        for _, v in ipairs { b.position, b.velocity, b.angular_velocity } do
          if not (finite(v.x) and finite(v.y) and finite(v.z)) then audit.nan = ("body %d at frame %d"):format(id, n) end
        end
        local q = b.orientation
        if not (finite(q.w) and finite(q.x) and finite(q.y) and finite(q.z)) then audit.nan = ("body %d at frame %d"):format(id, n) end
      end
    end
    if each then each(job, n) end
  end
  return job, audit
end

local geometry = require "geometry"

-- The lowest point of body b's hull in the world (its asset's hull corners placed at its state).
local function lowest_z(b)
  return geometry.lowest_z(b, geometry.asset_corners(simhost.assets.open(env.db), b.asset_name))
end

local function summary(job)
  return job.scenario.on_complete(job.world)
end

describe("shipped scenarios", function()
  it("are the ten of the issue, each with a description and typed, ranged params whose defaults pass", function()
    local names = scenarios.names(SCRIPTS)
    for _, want in ipairs(SHIPPED) do
      local found = false
      for _, n in ipairs(names) do found = found or n == want end
      assert.is_true(found, want .. " is shipped")
    end
    for _, name in ipairs(SHIPPED) do
      local s = scenarios.load(SCRIPTS, name)
      assert.is_string(s.description, name)
      assert.is_true(#s.description > 0, name)
      for pname, spec in pairs(s.params) do
        assert.is_table(spec, name .. "." .. pname .. " is a full spec")
        assert.is_string(spec.type, name .. "." .. pname .. " has a type")
        assert.is_string(spec.doc, name .. "." .. pname .. " has a doc")
        if spec.type == "integer" or spec.type == "number" then
          assert.is_number(spec.min, name .. "." .. pname .. " has a min")
          assert.is_number(spec.max, name .. "." .. pname .. " has a max")
        end
      end
      local params, err = scenarios.resolve_params(s, {}, { assets = simhost.assets.open(env.db) })
      assert.is_nil(err, name)
      assert.is_table(params, name)
    end
  end)

  for _, name in ipairs(SHIPPED) do
    it(name .. ": 2 s headless, no NaN, no step raises the energy by more than 1e-3 of the initial", function()
      local job, audit = play(name, {}, 2)
      assert.equal(126, job.frames) -- ⌊2000 / 16⌋ + 1
      assert.is_nil(audit.nan, "NaN in " .. tostring(audit.nan))
      local bound = 1e-3 * math.abs(audit.e0)
      assert(audit.max_rise <= bound, ("energy rose %.4g J in one step (frame %d), bound %.4g J (E0 %.4g J)")
        :format(audit.max_rise, audit.at, bound, audit.e0))
      -- The summary is JSON on the wire: it must encode.
      local s = job.scenario.on_complete and summary(job)
      if s then assert.is_string(cjson.encode(s)) end
    end)
  end
end)

-- physics.md: dt of 10, 16 and 33 ms must all be stable. The same audit at the other two steps; every
-- row runs (a row the solver does not meet fails, never pending, never a looser bound).
describe("shipped scenarios at 10 and 33 ms steps", function()
  for _, ms in ipairs { 10, 33 } do
    for _, name in ipairs(SHIPPED) do
      local title = ("%s at %d ms: 2 s, no NaN, no step raises the energy by more than 1e-3 of the initial")
        :format(name, ms)
      it(title, function()
        local _, audit = play(name, {}, 2, ms)
        assert.is_nil(audit.nan, "NaN in " .. tostring(audit.nan))
        local bound = 1e-3 * math.abs(audit.e0)
        assert(audit.max_rise <= bound, ("energy rose %.4g J in one step (frame %d), bound %.4g J (E0 %.4g J)")
          :format(audit.max_rise, audit.at, bound, audit.e0))
      end)
    end
  end
end)

describe("scenario claims", function()
  it("drop: every body comes to rest on the ground", function()
    local job = play("drop", { count = 4, assets = "unit_cube,small_sphere,pyramid,cylinder" }, 4)
    local s = summary(job)
    assert.equal(4, s.bodies_at_rest)
    for _, id in ipairs(job.world:bodies()) do
      local b = job.world:body(id)
      -- Every hull corner at or above the ground's top face, less physics.md row 20's 1 cm penetration
      -- (an origin would let a cube sink by half its size).
      if not b.is_environment then
        local low = lowest_z(b)
        assert(low > -0.01, ("%s on the ground: its lowest corner at z %.4f"):format(b.asset_name, low))
      end
    end
  end)

  it("bounce: first apexes rise with restitution, each e^2 h within 5 % (physics.md row 5)", function()
    local job = play("bounce", {}, 3)
    local s = summary(job)
    for i = 1, #s.first_apex_m do
      if i > 1 then
        assert(s.first_apex_m[i] > s.first_apex_m[i - 1],
          ("apex %d (e %.2f) %.4f m not above apex %d %.4f m"):format(i, s.restitution[i], s.first_apex_m[i], i - 1, s.first_apex_m[i - 1]))
      end
      local err = math.abs(s.first_apex_m[i] - s.ideal_apex_m[i]) / s.ideal_apex_m[i]
      assert(err < 0.05, ("e %.2f: apex %.4f m, ideal %.4f m"):format(s.restitution[i], s.first_apex_m[i], s.ideal_apex_m[i]))
    end
  end)

  it("stack: 10 cubes stand 10 s: top drift < 1 cm and sag < 1 cm (physics.md row 11's bounds)", function()
    local job = play("stack", {}, 10)
    local s = summary(job)
    assert(s.top_drift_m < 0.01, ("top drift %.5f m"):format(s.top_drift_m))
    assert(s.top_sag_m < 0.01, ("top sag %.5f m"):format(s.top_sag_m))
  end)

  it("stack: the tower does not topple: every cube stays on the one below (offset < 5 cm), tilt < 0.5 deg", function()
    local job = play("stack", {}, 5)
    local w = job.world
    local prev
    for _, id in ipairs(w:bodies()) do
      local b = w:body(id)
      if not b.is_environment then
        local q = b.orientation
        local tilt = math.deg(math.acos(math.min(1, 1 - 2 * (q.x * q.x + q.y * q.y))))
        assert(tilt < 0.5, ("cube %d tilted %.3f deg"):format(id, tilt))
        if prev then
          local d = math.sqrt((b.position.x - prev.x) ^ 2 + (b.position.y - prev.y) ^ 2)
          assert(d < 0.05, ("cube %d is %.4f m off the one below"):format(id, d))
        end
        prev = b.position
      end
    end
  end)

  it("pyramid: base 10 stands 10 s: top drift < 1 cm, sag < 3 cm (physics.md row 12's bounds)", function()
    local job = play("pyramid", { base = 10 }, 10)
    local s = summary(job)
    assert(s.top_drift_m < 0.01, ("top drift %.5f m"):format(s.top_drift_m))
    assert(s.top_sag_m < 0.03, ("top sag %.5f m"):format(s.top_sag_m))
  end)

  it("dominoes: the wave runs the whole curve and the last domino falls", function()
    local job = play("dominoes", {}, 6)
    local s = summary(job)
    assert.equal(s.count, s.fallen)
    assert(s.last_fell_at_s > 0, "the last one fell during the run")
  end)

  it("ramp: boxes with friction under tan(angle) slide at g(sin - mu cos) (3 %), the others creep < 1 mm", function()
    -- 100 steps of 10 ms: 1.000 s exactly, before the fastest box reaches the end of its incline.
    local job = play("ramp", {}, 1, 10)
    local s = summary(job)
    local th = math.rad(30)
    local t = (job.frames - 1) * 0.01
    for i, mu in ipairs(s.friction) do
      if mu < math.tan(th) then
        local want = 0.5 * 9.81 * (math.sin(th) - mu * math.cos(th)) * t * t
        local err = math.abs(s.moved_m[i] - want) / want
        assert(err < 0.03, ("mu %.2f: slid %.4f m, expected %.4f m"):format(mu, s.moved_m[i], want))
      else
        assert(s.moved_m[i] < 0.001, ("mu %.2f: crept %.5f m"):format(mu, s.moved_m[i]))
      end
    end
    -- And they keep to it: the sticky ones have not moved after 5 s either (physics.md row 10).
    local job5 = play("ramp", {}, 5)
    local s5 = summary(job5)
    for i, mu in ipairs(s5.friction) do
      if mu > math.tan(th) then assert(s5.moved_m[i] < 0.001, ("mu %.2f: crept %.5f m in 5 s"):format(mu, s5.moved_m[i])) end
    end
  end)

  it("cradle: the first box's momentum ends in the last box (within 1 %), the others stop", function()
    local job = play("cradle", {}, 3)
    local s = summary(job)
    local v = s.velocity_x
    assert(math.abs(v[#v] - s.initial_speed) < 0.01 * s.initial_speed, ("last box %.5f m/s of %.3f"):format(v[#v], s.initial_speed))
    for i = 1, #v - 1 do
      assert(math.abs(v[i]) < 0.01 * s.initial_speed, ("box %d still moves at %.5f m/s"):format(i, v[i]))
    end
  end)

  it("tumble: the spin about the middle axis flips; rotational energy within 1 % (physics.md row 15)", function()
    local e_first, e_min, e_max
    local min_y = 1
    local job = play("tumble", {}, 4, 16, function(j, n)
      local w = j.world
      local id = w:bodies()[1]
      local q = w:body(id).orientation
      min_y = math.min(min_y, 1 - 2 * (q.x * q.x + q.z * q.z)) -- world y of the body's own Y axis
      local e = w:energy().kinetic
      if n == 0 then e_first = e end
      e_min, e_max = math.min(e_min or e, e), math.max(e_max or e, e)
    end)
    assert.equal(1, #job.world:bodies()) -- ground = false: the box alone
    assert(min_y < -0.9, ("the box's Y axis never turned over: min %.3f"):format(min_y))
    assert(summary(job).flips >= 1, "on_step counted the flip")
    assert((e_max - e_min) / e_first < 0.01, ("rotational energy %.4f .. %.4f J"):format(e_min, e_max))
  end)

  it("avalanche: the heap runs down the slope onto the ground, nothing sinks below it", function()
    local job = play("avalanche", {}, 5)
    local s = summary(job)
    assert(s.on_flat_ground > 0, "some bodies reached the flat ground")
    assert(s.highest_z_m < s.start_highest_z_m - 2, ("heap top %.2f m, started %.2f m"):format(s.highest_z_m, s.start_highest_z_m))
    for _, id in ipairs(job.world:bodies()) do
      local b = job.world:body(id)
      if not b.is_environment then
        local low = lowest_z(b) -- hull corners, less physics.md row 20's 1 cm penetration
        assert(low > -0.01, ("body %d (%s): lowest corner at z %.4f"):format(id, b.asset_name, low))
      end
    end
  end)

  it("wrecking: the ball brings down most of the wall", function()
    local job = play("wrecking", {}, 3)
    local s = summary(job)
    assert(s.bricks_moved > s.bricks / 2, ("%d of %d bricks moved"):format(s.bricks_moved, s.bricks))
  end)
end)

describe("scenario params", function()
  local db = simhost.assets.open(env.db)
  local drop = scenarios.load(SCRIPTS, "drop")

  local rows = {
    { { foo = 1 }, "unknown param 'foo'" },
    { { count = 0 }, "param 'count' must be an integer in 1 … 100" },
    { { count = 101 }, "param 'count' must be an integer in 1 … 100" },
    { { count = 2.5 }, "param 'count' must be an integer in 1 … 100" },
    { { count = "3" }, "param 'count' must be an integer in 1 … 100" }, -- JSON strings are not numbers
    { { height = 0 }, "param 'height' must be a number in 0.5 … 50" },
    { { height = 0 / 0 }, "param 'height' must be a number in 0.5 … 50" },
    { { height = math.huge }, "param 'height' must be a number in 0.5 … 50" },
    { { assets = 7 }, "param 'assets' must be a list of asset names (an array, or one string of names separated by commas)" },
    { { assets = "unit_cube,,pyramid" }, "param 'assets' must be a list of asset names (an array, or one string of names separated by commas)" },
    { { assets = {} }, "param 'assets' must be a list of asset names (an array, or one string of names separated by commas)" },
    { { assets = { "unit_cube", 3 } }, "param 'assets' must be a list of asset names (an array, or one string of names separated by commas)" },
    { { assets = { "unit_cube", "" } }, "param 'assets' must be a list of asset names (an array, or one string of names separated by commas)" },
    { { assets = "unit_cube,no_such_asset" }, "param 'assets': Asset 'no_such_asset' not found" },
    { { assets = { "pyramid", "no_such_asset" } }, "param 'assets': Asset 'no_such_asset' not found" },
  }
  for _, row in ipairs(rows) do
    local k, v = next(row[1])
    it(("refuses %s = %s with one line naming the param"):format(k, tostring(v)), function()
      local params, err = scenarios.resolve_params(drop, row[1], { assets = db })
      assert.is_nil(params)
      assert.equal(row[2], err)
    end)
  end

  it("reads command-line strings by the param's type; JSON values as they are", function()
    local p = assert(scenarios.resolve_params(drop, { count = "7", height = "2.5" }, { from_strings = true, assets = db }))
    assert.equal(7, p.count)
    assert.equal("integer", math.type(p.count))
    assert.equal(2.5, p.height)
    assert.equal(10, assert(scenarios.resolve_params(drop, { count = 10.0 })).count)
    local _, err = scenarios.resolve_params(drop, { count = "seven" }, { from_strings = true })
    assert.equal("param 'count' must be an integer in 1 … 100", err)
    local tumble = scenarios.load(SCRIPTS, "tumble")
    local _, err2 = scenarios.resolve_params(tumble, { spin = "fast" }, { from_strings = true })
    assert.equal("param 'spin' must be a number in 1 … 100", err2)
  end)

  it("fills every default", function()
    local p = assert(scenarios.resolve_params(drop, {}))
    assert.same({ count = 3, height = 2.0, spacing = 2.5, assets = { "unit_cube" }, restitution = 0.5 }, p)
  end)

  it("hands `assets` to the scenario as a list, whether it came as a comma string or an array", function()
    local from_cli = assert(scenarios.resolve_params(drop, { assets = " unit_cube, pyramid" }, { from_strings = true, assets = db }))
    assert.same({ "unit_cube", "pyramid" }, from_cli.assets)
    local from_json = assert(scenarios.resolve_params(drop, { assets = { "unit_cube", "pyramid" } }, { assets = db }))
    assert.same({ "unit_cube", "pyramid" }, from_json.assets)
    local avalanche = scenarios.load(SCRIPTS, "avalanche")
    assert.same({ "tiny_cube", "small_sphere", "pyramid", "cylinder", "capsule", "tetrahedron", "unit_cube" },
      assert(scenarios.resolve_params(avalanche, {})).assets)
  end)

  it("are listed with their defaults and (ext) their types and ranges", function()
    local list = cjson.decode(scenarios.list_json(SCRIPTS))
    local by = {}
    for _, s in ipairs(list) do by[s.name] = s end
    for _, name in ipairs(SHIPPED) do
      assert.is_table(by[name], name)
      assert.is_string(by[name].description)
      for pname, info in pairs(by[name].param_info) do
        assert.is_not_nil(by[name].params[pname], name .. "." .. pname .. " default")
        assert.is_string(info.type)
      end
    end
    assert.equal(3, by.drop.params.count)
    assert.same({ type = "integer", min = 1, max = 100, doc = "how many bodies" }, by.drop.param_info.count)
  end)
end)

-- ------------------------------------------------------------------------------------------------
-- Over the live protocol

describe("scenarios over the live protocol", function()
  local server = require "server"
  local ws = require "ws"
  local scripts_dir = require "scripts_dir"
  local srv, tmp, scripts

  setup(function()
    tmp, scripts = scripts_dir.make()
    srv = server.start { scripts = scripts }
  end)

  teardown(function()
    if srv then srv:stop_clean() end -- exit 0: under ASan a leak report would make it non-zero
    if tmp then env.rmtree(tmp) end
  end)

  local function recv_json(c)
    local m, err = c:receive(10)
    if not m then error("no message: " .. tostring(err), 2) end
    return cjson.decode(m)
  end

  local function configure(c, name, params)
    assert(c:send(cjson.encode { type = "configure", scenario = name, params = params }))
    return recv_json(c)
  end

  it("wrecking: {\"type\":\"throw\"} throws another ball that flies at the wall", function()
    local c = assert(ws.connect(srv.url))
    local meta = configure(c, "wrecking", { rows = 3, width = 3 })
    assert.equal("metadata", meta.type)
    assert.equal(1 + 9 + 1, #meta.bodies) -- ground, bricks, the first ball
    c:send('{"type":"start","timestep_ms":16,"duration_s":30,"speed":0}')
    assert.equal("frame", recv_json(c).type)
    c:send('{"type":"throw","speed":20,"from":[-6,3,2],"target":[0,0,1]}')
    local thrown, frames_after = nil, 0
    local first_x, last_x
    while frames_after < 40 do
      local m = recv_json(c)
      if m.type == "thrown" then
        thrown = m.body_id
      elseif m.type == "frame" and thrown then
        for _, st in ipairs(m.data.states) do
          if st.body_id == thrown then
            first_x = first_x or st.position.x
            last_x = st.position.x
          end
        end
        frames_after = frames_after + 1
      end
    end
    assert.is_number(thrown, "the scenario answered 'thrown' with the new body's id")
    assert(last_x > first_x + 1, ("the new ball flew towards the wall: x %.2f -> %.2f"):format(first_x, last_x))
    -- A bad field gets the scenario's error reply and the run goes on.
    c:send('{"type":"throw","speed":"fast"}')
    local err
    repeat
      local m = recv_json(c)
      if m.type == "error" then err = m.message end
    until err
    assert.equal("'speed' must be a number in 1 … 100", err)
    c:send('{"type":"stop"}')
    local m
    repeat m = recv_json(c) until m.type == "complete"
    assert.equal(2, m.summary.balls_thrown) -- (ext) on_complete's summary rides in `complete`
    assert.equal(9, m.summary.bricks)
    c:close()
  end)

  it("a bad param is an error naming it, then a close", function()
    for _, row in ipairs {
      { { count = 500 }, "param 'count' must be an integer in 1 … 100" },
      { { nope = 1 }, "unknown param 'nope'" },
      { { radius = 0.5, count = 100 }, "params 'count' × 'spacing' (30.0 m) must fit on 0.9 of the circle of "
        .. "'radius' (2.8 m)", "dominoes" },
    } do
      local c = assert(ws.connect(srv.url))
      assert.same({ type = "error", message = row[2] }, configure(c, row[3] or "drop", row[1]))
      local m, err = c:receive(5)
      assert.is_nil(m)
      assert.equal("closed", err)
    end
  end)

  it("tumble's world has no gravity and no ground", function()
    local c = assert(ws.connect(srv.url))
    local meta = configure(c, "tumble")
    assert.equal(1, #meta.bodies)
    c:send('{"type":"start","timestep_ms":50,"duration_s":0.5,"speed":0}')
    local z = {}
    local m
    repeat
      m = recv_json(c)
      if m.type == "frame" then z[#z + 1] = m.data.states[1].position.z end
    until m.type == "complete"
    assert.equal(11, #z)
    assert(math.abs(z[#z] - z[1]) < 1e-4, ("the box stayed put: z %.5f -> %.5f"):format(z[1], z[#z]))
  end)

  it("hot reload: an edited scenario takes effect on the next session, no restart", function()
    local function count_bodies()
      local c = assert(ws.connect(srv.url))
      local meta = configure(c, "drop", {})
      c:close()
      return #meta.bodies
    end
    local pid = srv.pid
    assert.equal(1 + 3, count_bodies())
    local path = scripts .. "/scenarios/drop.lua"
    local f = assert(io.open(path, "rb"))
    local src = f:read("a")
    f:close()
    local edited = src:gsub("count = { default = 3,", "count = { default = 5,", 1)
    assert.are_not.equal(src, edited)
    scripts_dir.write(scripts, "scenarios/drop.lua", edited)
    assert.equal(1 + 5, count_bodies())
    -- The listing reads the file at request time too.
    local _, _, body = server.get(srv.port, "/api/v1/live/scenarios")
    for _, s in ipairs(cjson.decode(body)) do
      if s.name == "drop" then
        assert.equal(5, s.params.count)
        assert.same({ type = "integer", min = 1, max = 100, doc = "how many bodies" }, s.param_info.count)
      end
    end
    -- A new scenario file is runnable at once.
    scripts_dir.write(scripts, "scenarios/one.lua", [[
return { description = "one cube", params = {},
  setup = function(world) world:spawn { asset = "unit_cube", position = { 0, 0, 3 } } end }]])
    local c = assert(ws.connect(srv.url))
    assert.equal(2, #configure(c, "one").bodies)
    c:close()
    assert.equal(pid, srv.pid)
    assert.is_true(srv:alive())
  end)
end)
