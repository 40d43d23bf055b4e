-- simhost.world: the Lua API of docs/lua-api.md and its errors (docs/physics.md has the physics itself).
local simhost = require "simhost"
local env = require "env"
local cjson = require "cjson"

local db
setup(function()
  db = simhost.assets.open(env.db)
end)

local function world(opts)
  opts = opts or {}
  opts.assets = db
  return simhost.world(opts)
end

local function ground(w)
  return w:spawn_box{ half_extents = { 20, 20, 0.5 }, position = { 0, 0, -0.5 }, environment = true }
end

-- Every number in a decoded JSON value is finite.
local function all_finite(v)
  if type(v) == "number" then return v == v and v > -math.huge and v < math.huge end
  if type(v) == "table" then
    for _, x in pairs(v) do
      if not all_finite(x) then return false end
    end
  end
  return true
end

describe("simhost.world", function()
  it("spawns assets and custom hulls, steps, and reports bodies in spawn order", function()
    local w = world()
    local g = ground(w)
    local c = w:spawn{ asset = "unit_cube", position = { 0, 0, 2 }, mass = 3 }
    local h = w:spawn{ hull_points = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 }, position = { 3, 0, 1 } }
    assert.are.same({ g, c, h }, w:bodies())
    assert.are.equal(0, w:time())
    w:step(1 / 60)
    assert.is_near(1 / 60, w:time(), 1e-9)
    local b = w:body(c)
    assert.are.equal("unit_cube", b.asset_name)
    assert.are.equal(3, b.mass)
    assert.is_false(b.is_environment)
    assert.is_true(b.velocity.z < 0)
    assert.is_true(w:body(g).is_environment)
    assert.are.equal(0, w:body(g).mass)
  end)

  it("keeps each body's asset (the bindings' side table; physics knows none) for w:body, frames and metadata", function()
    local w = world()
    local c = w:spawn{ asset = "unit_cube", position = { 0, 0, 2 } }
    local p = w:spawn{ asset = "pyramid", position = { 3, 0, 2 } }
    local h = w:spawn{ hull_points = { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 }, position = { 6, 0, 1 } }
    local want = {
      [c] = { db:find("unit_cube").asset_id, "unit_cube" },
      [p] = { db:find("pyramid").asset_id, "pyramid" },
      [h] = { -1, "custom_1" },
    }
    for id, a in pairs(want) do
      assert.same(a, { w:body(id).asset_id, w:body(id).asset_name })
    end
    for _, s in ipairs(cjson.decode(w:frame_json(0)).states) do
      assert.equal(want[s.body_id][1], s.asset_id)
    end
    local m = cjson.decode(w:metadata_json())
    for _, b in ipairs(m.bodies) do
      assert.same(want[b.body_id], { b.asset_id, b.asset_name })
    end
    assert.same({ want[c][1], want[p][1], -1 }, { m.assets[1].asset_id, m.assets[2].asset_id, m.assets[3].asset_id })
  end)

  it("reports the asset origin, not the centre of mass, as position (pyramid: centroid at z = h/4)", function()
    local w = world{ gravity = { 0, 0, 0 } }
    local id = w:spawn{ asset = "pyramid", position = { 1, 2, 3 } }
    local b = w:body(id)
    assert.is_near(1, b.position.x, 1e-6)
    assert.is_near(2, b.position.y, 1e-6)
    assert.is_near(3, b.position.z, 1e-6)
    assert.is_near(3.25, b.center_of_mass.z, 1e-4)
  end)

  it("takes orientation as {pitch, roll, yaw} (R = Rz Ry Rx) or a quaternion {w, x, y, z}", function()
    local w = world{ gravity = { 0, 0, 0 } }
    local a = w:spawn{ asset = "unit_cube", orientation = { 0, 0, math.pi / 2 } }
    local q = w:body(a).orientation
    assert.is_near(math.cos(math.pi / 4), q.w, 1e-6)
    assert.is_near(math.sin(math.pi / 4), q.z, 1e-6)
    local b = w:spawn{ asset = "unit_cube", quaternion = { 0, 1, 0, 0 } }
    q = w:body(b).orientation
    assert.is_near(1, math.abs(q.x), 1e-6)
  end)

  it("gives vectors back in the shape they go in: arrays, with .x/.y/.z (.w) still readable", function()
    local w = world()
    local id = w:spawn{ asset = "unit_cube", position = { 1, 2, 3 }, quaternion = { 1, 0, 0, 0 } }
    local b = w:body(id)
    assert.same({ 1, 2, 3 }, { table.unpack(b.position) })
    assert.equal(3, #b.position)
    assert.equal(3, b.position.z)
    assert.same({ 1, 0, 0, 0 }, { table.unpack(b.orientation) }) -- {w, x, y, z}, as spawn's quaternion
    assert.equal(1, b.orientation.w)
    assert.same({ 1, 2, 3 }, cjson.decode(cjson.encode(b.position))) -- JSON sees an array
    b.position.z = 9 -- writes the array slot
    assert.equal(9, b.position[3])
    local copy = w:body(w:spawn{ asset = "unit_cube", position = b.position, quaternion = b.orientation })
    assert.equal(9, copy.position.z)
    w:spawn_box{ half_extents = { 5, 5, 0.5 }, position = { 1, 2, 2 }, environment = true } -- the first rests on it
    w:step(1 / 60)
    local c = assert(w:contacts()[1])
    assert.equal(3, #c.normal)
    assert.equal(c.normal[3], c.normal.z)
    assert.equal(c.contacts[1].point_a[1], c.contacts[1].point_a.x)
  end)

  it("tells whether an id names a body of this world: w:is_valid", function()
    local w = world()
    local id = w:spawn{ asset = "unit_cube" }
    assert.is_true(w:is_valid(id))
    for _, v in ipairs{ id + 1, -1, 1 + (1 << 32), 1.5, "1", true } do
      assert.is_false(w:is_valid(v), tostring(v))
    end
    assert.is_false(w:is_valid(nil))
  end)

  it("applies impulses and velocities, and wakes sleeping bodies", function()
    local w = world()
    ground(w)
    local id = w:spawn{ asset = "unit_cube", position = { 0, 0, 0.5 } }
    for _ = 1, 60 do w:step(1 / 60) end
    assert.is_true(w:body(id).sleeping)
    w:apply_impulse(id, { 0, 0, 50 })
    assert.is_false(w:body(id).sleeping)
    assert.is_near(5, w:body(id).velocity.z, 1e-4) -- 50 N s on 10 kg
    w:set_velocity(id, { 1, 0, 0 }, { 0, 0, 2 })
    local b = w:body(id)
    assert.are.equal(1, b.velocity.x)
    assert.are.equal(2, b.angular_velocity.z)
    w:apply_impulse(id, { 0, 10, 0 }, { 0.5, 0, 0.5 })
    assert.is_true(w:body(id).angular_velocity.z > 2)
  end)

  it("spawns bodies asleep on request; a push wakes them", function()
    local w = world()
    ground(w)
    local id = w:spawn{ asset = "unit_cube", position = { 0, 0, 0.5 }, asleep = true }
    w:step(1 / 60)
    assert.is_true(w:body(id).sleeping)
    assert.are.equal(0, w:stats().awake)
    w:apply_impulse(id, { 0, 0, 1 })
    assert.is_false(w:body(id).sleeping)
  end)

  it("lists contacts like the protocol's collisions, and the solver block", function()
    local w = world()
    local g = ground(w)
    local id = w:spawn{ asset = "unit_cube", position = { 0, 0, 0.5 } }
    assert.is_nil(w:solver())
    w:set_sleeping(false)
    w:step(1 / 60)
    local cs = w:contacts()
    assert.are.equal(1, #cs)
    local c = cs[1]
    assert.are.equal(g, c.body_a_id)
    assert.are.equal(id, c.body_b_id)
    assert.is_near(1, c.normal.z, 1e-6)
    assert.are.equal(4, #c.contacts)
    for _, p in ipairs(c.contacts) do
      assert.is_true(p.depth >= 0 and p.depth < 0.005)
      assert.is_true(p.normal_impulse > 0)
    end
    local s = w:solver()
    assert.are.equal(12, s.iterations) -- 4 sub-steps x (solve + 2 relax passes)
    assert.are.equal(1, s.num_constraints)
    assert.are.equal(4, s.num_contacts)
    assert.is_true(s.residual >= 0)
    assert.are.equal(s.residual < 1e-3, s.converged)
    local st = w:stats()
    assert.are.equal(2, st.bodies)
    assert.are.equal(1, st.awake)
    assert.are.equal(1, st.contacts)
    assert.is_true(st.step_ms >= 0)
  end)

  it("reports contact impulses per step: a resting box's normal impulses sum to m g dt", function()
    local w = world()
    ground(w)
    w:spawn{ asset = "unit_cube", position = { 0, 0, 0.5 }, mass = 10 }
    w:set_sleeping(false)
    for _ = 1, 120 do w:step(1 / 60) end
    local sum = 0
    for _, p in ipairs(w:contacts()[1].contacts) do sum = sum + p.normal_impulse end
    assert.is_near(10 * 9.81 / 60, sum, 1e-3 * 10 * 9.81 / 60)
  end)

  it("reports each contact point's friction impulse as a vector: on B, against the slide, |v| = mu N", function()
    local w = world()
    local g = w:spawn_box{ half_extents = { 20, 20, 0.5 }, position = { 0, 0, -0.5 }, environment = true, friction = 0.5 }
    local id = w:spawn{ asset = "unit_cube", position = { 0, 0, 0.5 }, velocity = { 3, 0, 0 }, friction = 0.5 }
    for _ = 1, 3 do w:step(1 / 60) end
    assert.is_true(w:body(id).velocity.x > 1, "still sliding")
    local c = w:contacts()[1]
    assert.are.equal(g, c.body_a_id) -- so the vector is the impulse on the box (B)
    local mu = 0.5
    for _, p in ipairs(c.contacts) do
      local f = p.friction_impulse_vector
      assert.is_near(p.friction_impulse, math.sqrt(f.x * f.x + f.y * f.y + f.z * f.z), 1e-6)
      assert.is_true(f.x < 0, "friction opposes the slide along +x")
      assert.is_near(0, f.x * c.normal.x + f.y * c.normal.y + f.z * c.normal.z, 1e-6)
      assert.is_near(mu * p.normal_impulse, p.friction_impulse, 1e-4 * math.max(1, p.normal_impulse))
    end
    local fj = cjson.decode(w:frame_json(1)).collisions[1].contacts
    for j, p in ipairs(c.contacts) do
      assert.is_near(p.friction_impulse_vector.x, fj[j].friction_impulse_vector.x, 1e-6)
      assert.is_near(p.friction_impulse_vector.y, fj[j].friction_impulse_vector.y, 1e-6)
      assert.is_near(p.friction_impulse_vector.z, fj[j].friction_impulse_vector.z, 1e-6)
    end
  end)

  it("computes energy: kinetic, potential m g z of the centre of mass, total", function()
    local w = world()
    local id = w:spawn{ asset = "unit_cube", position = { 0, 0, 2 }, mass = 2, velocity = { 3, 0, 0 } }
    local e = w:energy()
    assert.is_near(0.5 * 2 * 9, e.kinetic, 1e-4)
    assert.is_near(2 * 9.81 * w:body(id).center_of_mass.z, e.potential, 1e-3)
    assert.is_near(e.kinetic + e.potential, e.total, 1e-9)
    assert.is_truthy(id)
  end)

  it("encodes a protocol frame and metadata as JSON in C", function()
    local w = world()
    local g = ground(w)
    local id = w:spawn{ asset = "unit_cube", position = { 0, 0, 0.5 }, restitution = 0.3, friction = 0.7 }
    w:step(1 / 60)
    local f = cjson.decode(w:frame_json(7, { simulation_time = 0.112 }))
    assert.are.equal(7, f.frame_id)
    assert.are.equal(0.112, f.simulation_time)
    assert.are.equal(2, #f.states)
    local s = f.states[2]
    assert.are.equal(id, s.body_id)
    for _, k in ipairs{ "position", "velocity", "angular_velocity" } do
      assert.is_number(s[k].x)
    end
    assert.is_number(s.orientation.w)
    assert.is_false(s.is_environment)
    assert.are.equal(1, #f.collisions)
    assert.are.equal(g, f.collisions[1].body_a_id)
    assert.is_number(f.collisions[1].contacts[1].normal_impulse)
    assert.are.equal(12, f.solver.iterations)
    assert.is_true(all_finite(f))
    local nc = cjson.decode(w:frame_json(8, { contacts = false }))
    assert.are.equal(0, #nc.collisions)

    local m = cjson.decode(w:metadata_json())
    assert.are.equal(2, #m.bodies)
    assert.are.equal("unit_cube", m.bodies[2].asset_name)
    assert.is_near(0.3, m.bodies[2].restitution, 1e-6)
    assert.is_near(0.7, m.bodies[2].friction, 1e-6)
    assert.is_true(m.bodies[1].is_environment)
    -- A unit cube's inertia about its centre is m/6 on the diagonal (row-major 3x3, body frame).
    local I, mass = m.bodies[2].inertia, m.bodies[2].mass
    assert.are.equal(9, #I)
    for k = 1, 9 do
      assert.is_near((k == 1 or k == 5 or k == 9) and mass / 6 or 0, I[k], 1e-5 * mass)
    end
    assert.are.equal(2, #m.assets)
    for _, a in ipairs(m.assets) do
      assert.are.equal(a.vertex_count * 3, #a.positions)
      assert.are.equal(0, a.vertex_count % 3)
      assert.is_true(a.vertex_count > 0)
    end
    assert.is_true(all_finite(m))
  end)

  it("frame solver is null without contacts", function()
    local w = world()
    w:spawn{ asset = "unit_cube", position = { 0, 0, 50 } }
    w:step(1 / 60)
    assert.are.equal(cjson.null, cjson.decode(w:frame_json(1)).solver)
  end)

  describe("rejects bad arguments with one clear line", function()
    local w
    before_each(function()
      w = world()
    end)

    local cases = {
      { "unknown asset", function() w:spawn{ asset = "nope" } end, "unknown asset 'nope'" },
      { "mass <= 0", function() w:spawn{ asset = "unit_cube", mass = 0 } end, "field 'mass' must be a finite number > 0" },
      { "NaN mass", function() w:spawn{ asset = "unit_cube", mass = 0 / 0 } end, "field 'mass'" },
      { "mass past the core's cap", function() w:spawn{ asset = "unit_cube", mass = 2e9 } end,
        "field 'mass' must be at most 1000000000" },
      { "string mass", function() w:spawn{ asset = "unit_cube", mass = "10" } end, "field 'mass' must be a finite number > 0" },
      { "restitution > 1", function() w:spawn{ asset = "unit_cube", restitution = 1.5 } end, "field 'restitution'" },
      { "negative friction", function() w:spawn{ asset = "unit_cube", friction = -1 } end, "field 'friction'" },
      { "infinite position", function() w:spawn{ asset = "unit_cube", position = { 0, 1 / 0, 0 } } end, "field 'position'" },
      { "short position", function() w:spawn{ asset = "unit_cube", position = { 0, 1 } } end, "field 'position'" },
      { "zero quaternion", function() w:spawn{ asset = "unit_cube", quaternion = { 0, 0, 0, 0 } } end, "quaternion" },
      { "degenerate hull", function() w:spawn{ hull_points = { 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0 } } end, "hull" },
      { "unknown body id", function() w:body(12345) end, "unknown body id 12345" },
      { "stale-looking id", function() w:body(1 + (1 << 32)) end, "unknown body id" },
      { "bad dt", function() w:step(0) end, "dt must be" },
      { "NaN dt", function() w:step(0 / 0) end, "dt must be" },
      { "bad impulse", function() w:apply_impulse(w:spawn{ asset = "unit_cube" }, { 0, 0 / 0, 0 }) end, "impulse" },
      { "bad gravity", function() simhost.world{ gravity = { 0, 0, 1 / 0 } } end, "field 'gravity'" },
      { "bad substeps", function() simhost.world{ substeps = 0 } end, "field 'substeps'" },
      { "zero contact_hertz", function() simhost.world{ contact_hertz = 0 } end, "field 'contact_hertz'" },
      { "NaN contact_hertz", function() simhost.world{ contact_hertz = 0 / 0 } end, "field 'contact_hertz'" },
      { "zero threads", function() simhost.world{ threads = 0 } end, "field 'threads' must be an integer in 1 … 64" },
      { "65 threads", function() simhost.world{ threads = 65 } end, "field 'threads' must be an integer in 1 … 64" },
      { "half a thread", function() simhost.world{ threads = 1.5 } end, "field 'threads' must be an integer in 1 … 64" },
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        local ok, err = pcall(case[2])
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find(case[3], 1, true), tostring(err))
      end)
    end
  end)

  it("steps to the same bits on 1, 2 and 8 threads (threads = N)", function()
    -- A base-16 pyramid has 256 contacts, over twice SH_TASK_MIN_CONTACTS: its narrow phase splits.
    local function run(threads)
      local w = world{ threads = threads, sleeping = false }
      ground(w)
      for row = 0, 15 do
        for i = 0, 15 - row do
          w:spawn_box{ half_extents = { 0.5, 0.5, 0.5 }, position = { i - (15 - row) / 2, 0, row + 0.5 }, mass = 10 }
        end
      end
      w:spawn_box{ half_extents = { 0.4, 0.4, 0.4 }, position = { 0.3, 0, 20 }, velocity = { 0, 0, -5 }, mass = 50 }
      for _ = 1, 60 do w:step(1 / 60) end
      local out = {}
      for _, id in ipairs(w:bodies()) do
        local b = w:body(id)
        for _, v in ipairs{ b.position, b.velocity, b.orientation, b.angular_velocity } do
          for k = 1, #v do out[#out + 1] = ("%a"):format(v[k]) end
        end
      end
      w:close()
      return table.concat(out, " ")
    end
    local one = run(1)
    assert.are.equal(one, run(2))
    assert.are.equal(one, run(8))
  end)

  it("survives being closed and collected", function()
    local w = world()
    w:spawn{ asset = "unit_cube" }
    w:close()
    assert.has_error(function() w:step(1 / 60) end)
    w:close() -- twice is fine
    collectgarbage()
  end)
end)

describe("simhost bench", function()
  it("prints one line per scene in the physics.md format", function()
    local out, _, rc = env.run(env.q(env.bin) .. " bench cluster_drop sparse --steps 3")
    assert.are.equal(0, rc)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(2, #lines)
    assert.is_truthy(lines[1]:match("^scene=cluster_drop bodies=33 steps=3 threads=%d+ ms_per_step=[%d.]+ shift_m=[%d.-]+ sag_m=[%d.-]+$"),
                     lines[1])
    assert.is_truthy(lines[2]:match("^scene=sparse bodies=10001 steps=3 "), lines[2])
  end)

  it("judges a pyramid over the whole run: max_shift_m, max_sag_m and stands= after the final values", function()
    local out, err, rc = env.run(env.q(env.bin) .. " bench large_pyramid --base 4 --steps 20 --trace 10")
    assert.are.equal(0, rc)
    assert.is_truthy(out:match("^scene=large_pyramid bodies=11 steps=20 threads=%d+ ms_per_step=[%d.]+ shift_m=[%d.]+ sag_m=[%d.-]+"
                               .. " max_shift_m=[%d.]+ max_sag_m=[%d.-]+ stands=yes\n$"), out)
    -- The trace goes to stderr, one line per K steps.
    assert.is_truthy(err:match("^step=10 shift_m=[%d.]+ sag_m=[%d.-]+\nstep=20 shift_m=[%d.]+ sag_m=[%d.-]+\n$"), err)
    -- Before step 100 nothing counts as sway yet.
    assert.are.equal("0.0000", out:match("max_shift_m=([%d.]+)"))
    -- --probe K: the tower row by row every K steps, to stderr, the result line unchanged. A settled base-4
    -- pyramid's contacts under each row carry the weight above it (load = 1).
    out, err, rc = env.run(env.q(env.bin) .. " bench large_pyramid --base 4 --steps 60 --probe 30")
    assert.are.equal(0, rc)
    assert.is_truthy(out:match("^scene=large_pyramid bodies=11 steps=60 .* stands=yes\n$"), out)
    local rows = 0
    for row, cubes, load in err:gmatch("probe step=60 row=(%d+) cubes=(%d+) [^\n]* load=([%d.]+) ") do
      rows = rows + 1
      assert.are.equal(rows - 1, tonumber(row))
      assert.are.equal(4 - tonumber(row), tonumber(cubes))
      assert(math.abs(tonumber(load) - 1) < 0.01, err)
    end
    assert.are.equal(4, rows, err)
    assert.is_truthy(err:match("probe step=30 tower points=%d+ side_points=%d+ churn=%d+\n"), err)
    -- --lean K: after each of the first K steps one line, to stderr: how far the wall left its mirror symmetry.
    out, err, rc = env.run(env.q(env.bin) .. " bench large_pyramid --base 4 --steps 5 --lean 3")
    assert.are.equal(0, rc)
    assert.is_truthy(out:match("^scene=large_pyramid bodies=11 steps=5 .* stands=yes\n$"), out)
    local steps = {}
    for step, dy, top in err:gmatch("lean step=(%d+) max_dy_m=([%d.e+-]+) max_tilt_x=[%d.e+-]+ "
                                    .. "max_twist_z=[%d.e+-]+ top_y_m=([%d.e+-]+)\n") do
      steps[#steps + 1] = tonumber(step)
      assert(tonumber(dy) >= math.abs(tonumber(top)), err)
    end
    assert.are.same({1, 2, 3}, steps, err)
    -- Half-hertz contacts cannot hold a base-10 pyramid up: the top sinks well over 0.75 m.
    out, _, rc = env.run(env.q(env.bin) .. " bench large_pyramid --base 10 --hertz 0.5 --steps 120")
    assert.are.equal(0, rc)
    local sag = tonumber(out:match(" why=sag:([%d.]+)\n$"))
    assert(sag and sag > 0.75, out)
    assert.are.equal(sag, tonumber(out:match("max_sag_m=([%d.]+)")))
  end)

  it("--threads N runs the step's tasks on N threads, prints threads=N, and gives the same bits", function()
    local hashes = {}
    for _, n in ipairs{ 1, 2, 8 } do
      local out, _, rc = env.run(env.q(env.bin) .. " bench large_pyramid --base 20 --steps 30 --hash --threads " .. n)
      assert.are.equal(0, rc)
      assert.are.equal(tostring(n), out:match(" threads=(%d+) "), out)
      hashes[#hashes + 1] = out:match(" hash=(%x+)\n$")
    end
    assert.is_truthy(hashes[1], "no hash")
    assert.are.equal(hashes[1], hashes[2])
    assert.are.equal(hashes[1], hashes[3])
    for _, bad in ipairs{ "0", "65", "x" } do
      local out, err, rc = env.run(env.q(env.bin) .. " bench cluster_drop --threads " .. bad)
      assert.are.equal(2, rc)
      assert.are.equal("", out)
      assert.are.equal("simhost bench: --threads must be an integer in 1 … 64, got '" .. bad .. "'\n", err)
    end
  end)

  it("rejects an unknown scene with one line and exit status 2", function()
    local out, err, rc = env.run(env.q(env.bin) .. " bench nope")
    assert.are.equal(2, rc)
    assert.are.equal("", out)
    assert.are.equal("simhost bench: unknown scene 'nope' (see simhost bench --help)\n", err)
  end)

  it("--hertz sets the contact stiffness: a softer base-10 pyramid sags more; bad values exit 2", function()
    local function sag(extra)
      local out, _, rc = env.run(env.q(env.bin) .. " bench large_pyramid --base 10 --steps 120" .. extra)
      assert.are.equal(0, rc)
      return tonumber(out:match("sag_m=([%d.-]+)"))
    end
    local stiff, soft = sag(""), sag(" --hertz 30")
    -- Sag goes as 1/ω²: about four times the default 60 Hz's.
    assert(soft > 3 * stiff, ("sag %.4f m at 30 Hz, %.4f m at 60 Hz"):format(soft, stiff))
    for _, bad in ipairs{ "0", "-5", "nan", "inf", "1e9", "x" } do
      local out, err, rc = env.run(env.q(env.bin) .. " bench cluster_drop --hertz " .. bad)
      assert.are.equal(2, rc)
      assert.are.equal("", out)
      assert.are.equal("simhost bench: --hertz must be a number in 0 … 1000, above 0, got '" .. bad .. "'\n", err)
    end
  end)
end)
