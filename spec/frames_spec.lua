-- SHF1 binary frames (docs/frames.md) against the JSON frames of the same state, read by a second,
-- independent decoder written from the contract alone (spec/support/shf1.lua, string.unpack), both from
-- w:frame_bin directly and from a real `simhost serve` over a real WebSocket (start {"encoding":"binary"}).
-- Agreement is to the last float bit: each JSON number, rounded to float32, must pack to the same four
-- bytes as the binary value.
local simhost = require "simhost"
local env = require "env"
local server = require "server"
local ws = require "ws"
local cjson = require "cjson"
local shf1 = require "shf1"

local function f32(x)
  return string.pack("<f", x)
end

-- The same float32, bit for bit (what string.pack("<f") makes of the JSON number and of the binary one).
local function same_bits(json_number, bin_number, what)
  assert(f32(json_number) == f32(bin_number),
    ("%s: JSON %.9g vs binary %.9g differ in their float32 bits"):format(what, json_number, bin_number))
end

local function same_xyz(j, b, what)
  same_bits(j.x, b[1], what .. ".x")
  same_bits(j.y, b[2], what .. ".y")
  same_bits(j.z, b[3], what .. ".z")
end

-- float32 rounding of a double, as C stores a float.
local function round32(x)
  return (string.unpack("<f", string.pack("<f", x)))
end

-- The binary point is the float32 midpoint of the JSON's point_a and point_b: 0.5f * (a + b).
local function midpoint(a, b)
  return round32(round32(a) + round32(b)) * 0.5
end

-- Checks a decoded binary frame against the decoded JSON frame of the same state, field by field.
local function agree(jf, bf, contacts)
  assert.equal(jf.frame_id, bf.frame_id)
  assert.equal(jf.simulation_time, bf.simulation_time) -- a double on both sides: exact
  assert.equal(#jf.states, #bf.bodies)
  for i, s in ipairs(jf.states) do
    local b = bf.bodies[i]
    local what = ("frame %d body %d"):format(jf.frame_id, s.body_id)
    assert.equal(s.body_id, b.id, what)
    same_xyz(s.position, b.position, what .. " position")
    same_bits(s.orientation.x, b.orientation[1], what .. " qx")
    same_bits(s.orientation.y, b.orientation[2], what .. " qy")
    same_bits(s.orientation.z, b.orientation[3], what .. " qz")
    same_bits(s.orientation.w, b.orientation[4], what .. " qw")
    same_xyz(s.velocity, b.velocity, what .. " velocity")
    same_xyz(s.angular_velocity, b.angular_velocity, what .. " angular_velocity")
    assert.equal(s.is_environment, b.environment, what)
    assert.equal(s.sleeping, b.sleeping, what)
  end
  assert.equal(contacts, bf.has_contacts)
  assert.equal(contacts, bf.has_friction) -- the host writes the friction block with every contacts block
  local k = 0
  for _, col in ipairs(jf.collisions) do
    for _, p in ipairs(col.contacts) do
      k = k + 1
      local r = bf.contacts[k]
      local what = ("frame %d contact point %d"):format(jf.frame_id, k)
      assert.is_not_nil(r, what .. " missing from the binary frame")
      assert.equal(col.body_a_id, r.body_a, what)
      assert.equal(col.body_b_id, r.body_b, what)
      same_xyz(col.normal, r.normal, what .. " normal")
      same_bits(midpoint(p.point_a.x, p.point_b.x), r.point[1], what .. " point.x")
      same_bits(midpoint(p.point_a.y, p.point_b.y), r.point[2], what .. " point.y")
      same_bits(midpoint(p.point_a.z, p.point_b.z), r.point[3], what .. " point.z")
      same_bits(p.depth, r.depth, what .. " depth")
      same_bits(p.normal_impulse, r.normal_impulse, what .. " normal_impulse")
      same_bits(p.friction_impulse, r.friction_impulse, what .. " friction_impulse")
      assert.is_not_nil(r.friction, what .. " has no friction vector")
      same_xyz(p.friction_impulse_vector, r.friction, what .. " friction_impulse_vector")
    end
  end
  assert.equal(k, #bf.contacts)
  if jf.solver == cjson.null then
    assert.is_nil(bf.solver)
  else
    local s, b = jf.solver, bf.solver
    assert.is_not_nil(b, "solver block missing")
    assert.equal(s.iterations, b.iterations)
    same_bits(s.residual, b.residual, "residual")
    assert.equal(s.converged and 1 or 0, b.converged)
    assert.equal(s.num_constraints, b.constraints)
    assert.equal(s.num_contacts, b.contacts)
  end
end

local function decode(bytes)
  local f, err = shf1.decode(bytes)
  assert(f, "the contract's reader refused the host's frame: " .. tostring(err))
  return f
end

describe("w:frame_bin", function()
  local db
  setup(function()
    db = simhost.assets.open(env.db)
  end)

  -- A ground slab, a stack and a few tumbling cubes: contacts, friction, a solver block, and (after
  -- settling) sleeping bodies.
  local function pile()
    local w = simhost.world { assets = db }
    w:spawn_box { half_extents = { 20, 20, 0.5 }, position = { 0, 0, -0.5 }, environment = true }
    for i = 0, 5 do
      w:spawn { asset = "unit_cube", position = { (i % 3) * 0.3, 0, 0.6 + 1.05 * i }, orientation = { 0.1 * i, 0, 0.2 },
                mass = 1 + i, angular_velocity = { 0, 0.5 * i, 0 }, restitution = 0.2 }
    end
    return w
  end

  it("encodes the state frame_json shows, to the last float bit, frame after frame", function()
    local w = pile()
    local saw_contacts, saw_sleep, saw_no_solver, saw_solver = false, false, false, false
    for n = 0, 240 do
      if n > 0 then w:step(1 / 60) end
      local t = n / 60
      local jf = cjson.decode(w:frame_json(n, { simulation_time = t }))
      local bf = decode(w:frame_bin(n, { simulation_time = t }))
      agree(jf, bf, true)
      saw_contacts = saw_contacts or #bf.contacts > 0
      saw_solver = saw_solver or bf.solver ~= nil
      saw_no_solver = saw_no_solver or bf.solver == nil
      for _, b in ipairs(bf.bodies) do saw_sleep = saw_sleep or b.sleeping end
    end
    assert.is_true(saw_contacts, "no contacts")
    assert.is_true(saw_solver, "no solver block")
    assert.is_true(saw_no_solver, "always a solver block")
    assert.is_true(saw_sleep, "nothing slept")
    w:close()
  end)

  it("carries each contact point's friction vector, as frame_json does, for a box sliding on the ground", function()
    local w = simhost.world { assets = db }
    w:spawn_box { half_extents = { 20, 20, 0.5 }, position = { 0, 0, -0.5 }, environment = true }
    local box = w:spawn { asset = "unit_cube", position = { 0, 0, 0.5 }, velocity = { 3, 0, 0 }, mass = 2 }
    local sliding = 0
    for n = 1, 30 do
      w:step(1 / 60)
      local jf = cjson.decode(w:frame_json(n, { simulation_time = n / 60 }))
      local bf = decode(w:frame_bin(n, { simulation_time = n / 60 }))
      agree(jf, bf, true)
      for _, c in ipairs(bf.contacts) do
        -- The box moves +x: the friction impulse on body B points -x when B is the box, +x when B is
        -- the ground.
        local against = c.body_b == box and -c.friction[1] or c.friction[1]
        if against > 0 then sliding = sliding + 1 end
      end
    end
    assert.is_true(sliding > 0, "no contact point carried a friction vector against the sliding")
    w:close()
  end)

  it("leaves out velocities and contacts when asked, and stays within 60 bytes a body", function()
    local w = pile()
    for _ = 1, 30 do w:step(1 / 60) end
    local full = w:frame_bin(30)
    local bare = w:frame_bin(30, { contacts = false, velocities = false })
    local bf = decode(bare)
    assert.is_false(bf.has_velocities)
    assert.is_false(bf.has_contacts)
    assert.is_nil(bf.bodies[1].velocity)
    assert.equal(0, bf.offsets.velocities)
    local nobody = decode(full)
    assert.is_true(#nobody.contacts > 0)
    -- 64-byte header, 57 bytes a body padded to 8 per block, 48 a contact point and 12 for its friction
    -- vector (padded to 8), 24 for the solver.
    local n, c = #nobody.bodies, #nobody.contacts
    local pad = function(x) return (x + 7) // 8 * 8 end
    assert.equal(64 + pad(4 * n) + pad(28 * n) + pad(n) + 24 * n + 48 * c + pad(12 * c) + 24, #full)
    assert.is_true((#full - 64 - 48 * c - pad(12 * c) - 24) / n <= 60)
    assert.is_false(bf.has_friction)
    assert.equal(0, bf.offsets.friction)
    w:close()
  end)

  it("refuses a frame id outside u32 and bad options", function()
    local w = pile()
    assert.has_error(function() w:frame_bin(-1) end)
    assert.has_error(function() w:frame_bin(2 ^ 32 // 1) end)
    assert.has_error(function() w:frame_bin(0, { simulation_time = 0 / 0 }) end)
    assert.has_error(function() w:frame_bin(0, { contacts = "yes" }) end)
    w:close()
  end)

  it("is refused by the contract's reader when truncated or lying", function()
    local w = pile()
    for _ = 1, 30 do w:step(1 / 60) end
    local bytes = w:frame_bin(30)
    assert.is_not_nil(shf1.decode(bytes))
    for n = 0, #bytes - 1 do
      assert.is_nil(shf1.decode(bytes:sub(1, n)), "a " .. n .. "-byte truncation")
    end
    local function with_u32(at, v) return bytes:sub(1, at) .. string.pack("<I4", v) .. bytes:sub(at + 5) end
    assert.is_nil(shf1.decode(with_u32(12, 1000)))   -- body count
    assert.is_nil(shf1.decode(with_u32(24, 10000)))  -- contact count
    assert.is_nil(shf1.decode(with_u32(36, 68)))     -- pose offset not 8-aligned
    assert.is_nil(shf1.decode(with_u32(36, 64)))     -- pose on top of ids
    w:close()
  end)
end)

describe("live binary frames", function()
  local srv
  setup(function()
    srv = server.start()
  end)
  teardown(function()
    if srv then srv:stop_clean() end
  end)

  local objects = {}
  for i = 0, 4 do
    objects[#objects + 1] = { asset_name = "unit_cube", object_type = "inertial", position = { (i % 2) * 0.4, 0, 0.6 + 1.1 * i },
                              orientation = { 0.2 * i, 0.1, 0 }, mass = 1 + i }
  end

  -- Runs the same configuration with the given encoding; returns the frames (raw messages, whether each
  -- came as a binary message) and the complete message.
  local function run(encoding)
    local c = assert(ws.connect(srv.url))
    c:send(cjson.encode { type = "configure", objects = objects })
    local meta_raw = assert(c:receive(10))
    assert.is_false(c.last_binary)
    local meta = cjson.decode(meta_raw)
    assert.equal("metadata", meta.type)
    c:send(cjson.encode { type = "start", timestep_ms = 10, duration_s = 3, speed = 0, encoding = encoding })
    local frames = {}
    while true do
      local m = assert(c:receive(30))
      if not c.last_binary then
        local msg = cjson.decode(m)
        if msg.type == "complete" then
          c:close()
          return frames, msg, meta
        end
        assert.equal("frame", msg.type, m:sub(1, 200))
        frames[#frames + 1] = { data = msg.data, binary = false }
      else
        frames[#frames + 1] = { data = m, binary = true }
      end
    end
  end

  it("streams SHF1 binary messages that agree with the JSON frames of the same run", function()
    local bin, done_b, meta = run("binary")
    local json = run("json")
    assert.equal(301, #bin)
    assert.equal(301, #json)
    assert.equal(301, done_b.total_frames)
    local sleeping = false
    for i = 1, #bin do
      assert.is_true(bin[i].binary, "frame " .. i .. " came as text")
      assert.is_false(json[i].binary)
      local bf = decode(bin[i].data)
      agree(json[i].data, bf, true)
      for k, b in ipairs(bf.bodies) do
        assert.equal(meta.bodies[k].body_id, b.id) -- metadata's body order
        sleeping = sleeping or b.sleeping
      end
    end
    assert.is_true(sleeping, "the pile never slept: the run does not cover the sleeping flag")
  end)

  it("sends no contacts block when the run asks for no contacts", function()
    local c = assert(ws.connect(srv.url))
    c:send(cjson.encode { type = "configure", objects = objects })
    assert(c:receive(10))
    c:send(cjson.encode { type = "start", timestep_ms = 10, duration_s = 1, speed = 0, encoding = "binary",
                          contacts = false })
    local n = 0
    while true do
      local m = assert(c:receive(30))
      if not c.last_binary then
        assert.equal("complete", cjson.decode(m).type)
        break
      end
      local bf = decode(m)
      assert.is_false(bf.has_contacts)
      assert.is_true(bf.has_velocities)
      n = n + 1
    end
    assert.equal(101, n)
    c:close()
  end)

  for _, bad in ipairs { '"xml"', '"JSON"', "1", "true", "null", '["binary"]' } do
    it("refuses start with encoding " .. bad .. ", naming the field", function()
      local c = assert(ws.connect(srv.url))
      c:send(cjson.encode { type = "configure", objects = objects })
      assert(c:receive(10))
      c:send('{"type":"start","encoding":' .. bad .. '}')
      local m = assert(c:receive(10))
      assert.same({ type = "error", message = "'encoding' must be \"json\" or \"binary\"" }, cjson.decode(m))
      local again, err = c:receive(5)
      assert.is_nil(again)
      assert.equal("closed", err)
    end)
  end
end)
