-- The asset DB: default contents, the Lua API, `simhost assets` (list/show/import/build) and every bad
-- import (the DB must stay byte-for-byte unchanged). Uses the real built DB (SIMHOST_DB), copied before
-- any write.
local env = require "env"
local mf = require "meshfiles"
local simhost = require "simhost"

local first_nine = { "unit_cube", "large_cube", "tiny_cube", "floor_slab", "unit_sphere", "small_sphere",
  "large_sphere", "cube", "pyramid" }

local function sh(args)
  return env.run(env.q(env.bin) .. " " .. args)
end

local function copy(from, to)
  mf.write(to, assert(mf.read(from)))
end

-- Signed volume of the tetrahedra (c, a, b, c3) sums to the solid's volume; here a per-triangle check
-- that each normal points away from the convex shape's centroid (CCW seen from outside).
local function outward(positions, centroid)
  local bad = 0
  for i = 1, #positions, 9 do
    local a = { positions[i], positions[i + 1], positions[i + 2] }
    local b = { positions[i + 3], positions[i + 4], positions[i + 5] }
    local c = { positions[i + 6], positions[i + 7], positions[i + 8] }
    local u = { b[1] - a[1], b[2] - a[2], b[3] - a[3] }
    local v = { c[1] - a[1], c[2] - a[2], c[3] - a[3] }
    local n = { u[2] * v[3] - u[3] * v[2], u[3] * v[1] - u[1] * v[3], u[1] * v[2] - u[2] * v[1] }
    local m = { (a[1] + b[1] + c[1]) / 3 - centroid[1], (a[2] + b[2] + c[2]) / 3 - centroid[2],
      (a[3] + b[3] + c[3]) / 3 - centroid[3] }
    if n[1] * m[1] + n[2] * m[2] + n[3] * m[3] <= 0 then bad = bad + 1 end
  end
  return bad
end

describe("default asset DB", function()
  local db
  setup(function() db = simhost.assets.open(env.db) end)
  teardown(function() db:close() end)

  it("holds the old service's nine shapes as ids 1-9 in order, then the scenario shapes", function()
    local list = db:list()
    for i, name in ipairs(first_nine) do
      assert.equal(i, list[i].asset_id)
      assert.equal(name, list[i].name)
    end
    local rest = { "ground", "box_1x2x3", "plank", "domino", "ramp", "cylinder", "capsule", "tetrahedron", "thin_slab" }
    for i, name in ipairs(rest) do
      assert.equal(name, list[9 + i].name)
      assert.equal(9 + i, list[9 + i].asset_id)
    end
    assert.equal(18, #list)
    assert.equal(18, db:count())
  end)

  -- The old service's asset generator, shape by shape: an old client placing any of these by its
  -- old size must find its surfaces where it expects them.
  it("makes the nine old shapes exactly the old generator's sizes, each centred on its bounds (the pyramid on its base)", function()
    local old = {
      unit_cube = { 1, 1, 1 }, large_cube = { 2, 2, 2 }, tiny_cube = { 0.5, 0.5, 0.5 },
      floor_slab = { 100, 100, 100 }, -- "floor_slab (100.0 m cube)"
      unit_sphere = { 2, 2, 2 }, small_sphere = { 1, 1, 1 }, large_sphere = { 4, 4, 4 }, -- radius 1, 0.5, 2
      cube = { 1, 1, 1 }, pyramid = { 1, 1, 1 }, -- base 1 x 1, 1 tall
    }
    for _, name in ipairs(first_nine) do
      local a = assert(db:find(name), name)
      for k = 1, 3 do
        assert.is_near(old[name][k], a.bounds_max[k] - a.bounds_min[k], 1e-6, name .. " size along axis " .. k)
        local centre = (a.bounds_max[k] + a.bounds_min[k]) / 2
        local want = (name == "pyramid" and k == 3) and 0.5 or 0 -- the pyramid's origin is its base centre
        assert.is_near(want, centre, 1e-6, name .. " centre along axis " .. k)
      end
    end
  end)

  it("has the documented vertex counts, hull face counts and volumes", function()
    local expect = {
      -- name = { triangle-list vertices, hull faces, hull vertices, volume }
      unit_cube = { 36, 6, 8, 1 }, large_cube = { 36, 6, 8, 8 }, tiny_cube = { 36, 6, 8, 0.125 },
      floor_slab = { 36, 6, 8, 1e6 }, thin_slab = { 36, 6, 8, 10000 }, cube = { 36, 6, 8, 1 }, pyramid = { 18, 5, 5, 1 / 3 },
      ground = { 36, 6, 8, 40000 }, box_1x2x3 = { 36, 6, 8, 6 }, plank = { 36, 6, 8, 2 * 0.2 * 0.05 },
      domino = { 36, 6, 8, 0.05 * 0.25 * 0.5 }, ramp = { 24, 5, 6, 4 * 2 * 1 / 2 },
      tetrahedron = { 12, 4, 4, 1 / (6 * math.sqrt(2)) },
      cylinder = { 32 * 4 * 3, 34, 64, nil }, capsule = { nil, nil, 2 + 12 * 24, nil },
      unit_sphere = { 960, 320, 162, nil }, small_sphere = { 960, 320, 162, nil }, large_sphere = { 960, 320, 162, nil },
    }
    for name, e in pairs(expect) do
      local a = assert(db:find(name), name)
      if e[1] then assert.equal(e[1], a.vertex_count, name .. " vertices") end
      if e[2] then assert.equal(e[2], a.hull_face_count, name .. " hull faces") end
      if e[3] then assert.equal(e[3], a.hull_vertex_count, name .. " hull vertices") end
      if e[4] then assert.is_near(e[4], a.volume, 1e-5 * e[4], name .. " volume") end
    end
  end)

  it("puts every shape's origin where docs/assets.md says", function()
    local function bounds(name)
      local a = db:find(name)
      return a.bounds_min, a.bounds_max
    end
    local lo, hi = bounds("floor_slab")
    assert.same({ -50, -50, -50 }, lo)
    assert.same({ 50, 50, 50 }, hi)
    lo, hi = bounds("thin_slab")
    assert.same({ -50, -50, -0.5 }, lo)
    assert.same({ 50, 50, 0.5 }, hi)
    lo, hi = bounds("ground")
    assert.same({ -100, -100, -0.5 }, lo)
    assert.same({ 100, 100, 0.5 }, hi)
    lo, hi = bounds("pyramid")
    assert.same({ -0.5, -0.5, 0 }, lo)
    assert.same({ 0.5, 0.5, 1 }, hi)
    lo, hi = bounds("large_sphere")
    for k = 1, 3 do
      assert.is_near(-2, lo[k], 1e-6)
      assert.is_near(2, hi[k], 1e-6)
    end
    lo, hi = bounds("capsule")
    assert.is_near(-1, lo[3], 1e-6)
    assert.is_near(1, hi[3], 1e-6)
    lo, hi = bounds("ramp")
    assert.same({ -2, -1, -0.5 }, lo)
    assert.same({ 2, 1, 0.5 }, hi)
  end)

  it("stores unit-density mass properties matching the closed forms", function()
    local p = db:hull("pyramid")
    assert.is_near(1 / 3, p.volume, 1e-6)
    assert.is_near(0, p.centroid[1], 1e-7)
    assert.is_near(0.25, p.centroid[3], 1e-6) -- h/4 above the base
    local m = 1 / 3
    assert.is_near(m * (1 / 20 + 3 / 80), p.inertia[1][1], 1e-6)
    assert.is_near(m * (1 / 20 + 3 / 80), p.inertia[2][2], 1e-6)
    assert.is_near(m / 10, p.inertia[3][3], 1e-6)
    local b = db:hull("box_1x2x3")
    assert.is_near(6 * (4 + 9) / 12, b.inertia[1][1], 1e-5)
    assert.is_near(6 * (1 + 9) / 12, b.inertia[2][2], 1e-5)
    assert.is_near(6 * (1 + 4) / 12, b.inertia[3][3], 1e-5)
    assert.is_near(0, b.inertia[1][2], 1e-6)
    -- Icosphere of 162 vertices: inscribed in the sphere, 3.4 % short in volume (docs/assets.md).
    local s = db:hull("unit_sphere")
    local v = 4 / 3 * math.pi
    assert.is_true(s.volume < v and s.volume > 0.96 * v, "sphere volume " .. s.volume)
    local ramp = db:hull("ramp")
    assert.is_near(4, ramp.volume, 1e-5)
    -- Wedge centroid: a third of the way from the vertical back (x = +2) and from the bottom.
    assert.is_near(2 - 4 / 3, ramp.centroid[1], 1e-5)
    assert.is_near(-0.5 + 1 / 3, ramp.centroid[3], 1e-5)
  end)

  it("serves render meshes as triangle lists wound CCW from outside", function()
    for _, a in ipairs(db:list()) do
      local g = db:geometry(a.name)
      assert.equal(a.vertex_count, g.vertex_count)
      assert.equal(3 * g.vertex_count, #g.positions)
      assert.equal(0, g.vertex_count % 3)
      local h = db:hull(a.asset_id)
      assert.equal(0, outward(g.positions, h.centroid), a.name .. ": inward triangles")
    end
    assert.same(db:geometry(9), db:geometry("pyramid"))
  end)

  it("stores hulls whose edges name their left (face_a) and right (face_b) faces", function()
    for _, a in ipairs(db:list()) do
      local h = db:hull(a.name)
      assert.equal(2, h.vertex_count - #h.edges + #h.faces, a.name .. " Euler")
      local function has(face, from, to)
        local vs = h.faces[face].vertices
        for k = 1, #vs do
          if vs[k] == from and vs[k % #vs + 1] == to then return true end
        end
        return false
      end
      for _, e in ipairs(h.edges) do
        assert.is_true(has(e.face_a, e.v0, e.v1), a.name .. ": face_a lacks v0->v1")
        assert.is_true(has(e.face_b, e.v1, e.v0), a.name .. ": face_b lacks v1->v0")
      end
      for _, f in ipairs(h.faces) do
        local n = f.normal
        assert.is_near(1, n[1] * n[1] + n[2] * n[2] + n[3] * n[3], 1e-5)
        for _, vi in ipairs(f.vertices) do
          local x, y, z = h.vertices[3 * vi - 2], h.vertices[3 * vi - 1], h.vertices[3 * vi]
          assert.is_near(f.offset, n[1] * x + n[2] * y + n[3] * z, 1e-4 * (1 + math.abs(f.offset)))
        end
      end
    end
  end)
end)

describe("simhost.assets Lua API", function()
  local tmp
  before_each(function() tmp = env.tmpdir() end)
  after_each(function() env.rmtree(tmp) end)

  it("raises a clear error for a missing file and never creates it", function()
    local ok, err = pcall(simhost.assets.open, tmp .. "/missing.db")
    assert.is_false(ok)
    assert.matches(tmp .. "/missing.db: no such file", err, 1, true)
    assert.is_nil(mf.read(tmp .. "/missing.db"))
  end)

  it("rejects files that are not asset DBs", function()
    mf.write(tmp .. "/text.db", "hello\n")
    mf.write(tmp .. "/empty.db", "")
    os.execute("sqlite3 " .. env.q(tmp .. "/other.db") .. " 'CREATE TABLE t(x); INSERT INTO t VALUES (1);'")
    for _, name in ipairs { "text.db", "empty.db", "other.db" } do
      local ok, err = pcall(simhost.assets.open, tmp .. "/" .. name)
      assert.is_false(ok)
      assert.matches(tmp .. "/" .. name .. ": not an asset DB", err, 1, true)
    end
    local ok, err = pcall(simhost.assets.open, tmp)
    assert.is_false(ok)
    assert.matches("not an asset DB", err, 1, true)
  end)

  it("rejects a newer schema version and a corrupt row with one message", function()
    copy(env.db, tmp .. "/v.db")
    os.execute("sqlite3 " .. env.q(tmp .. "/v.db") .. " 'PRAGMA user_version = 7;'")
    local ok, err = pcall(simhost.assets.open, tmp .. "/v.db")
    assert.is_false(ok)
    assert.matches("schema version 7", err, 1, true)
    copy(env.db, tmp .. "/c.db")
    os.execute("sqlite3 " .. env.q(tmp .. "/c.db") ..
      " \"UPDATE assets SET hull_edges = x'0102' WHERE name = 'cube';\"")
    ok, err = pcall(simhost.assets.open, tmp .. "/c.db")
    assert.is_false(ok)
    assert.matches("asset 'cube' is corrupt", err, 1, true)
  end)

  it("finds by name, returns nil when absent, raises for unknown geometry", function()
    local db = simhost.assets.open(env.db)
    local a = db:find("cube")
    assert.equal(8, a.asset_id)
    assert.equal("primitive", a.category)
    assert.is_nil(db:find("no_such_asset"))
    assert.is_nil(db:find("Cube")) -- case-sensitive
    assert.has_error(function() db:geometry("no_such_asset") end,
      "bad argument #1 to 'geometry' (unknown asset 'no_such_asset')")
    assert.has_error(function() db:geometry(99) end, "bad argument #1 to 'geometry' (unknown asset id 99)")
    assert.has_error(function() db:geometry({}) end)
    assert.has_error(function() db:hull(1.5) end)
    assert.matches("^simhost.assets %(.*assets.db, 18 assets%)$", tostring(db))
    db:close()
  end)

  it("closes safely: twice, by __close, by __gc; methods on a closed DB raise", function()
    local db = simhost.assets.open(env.db)
    db:close()
    db:close()
    assert.equal("simhost.assets (closed)", tostring(db))
    assert.has_error(function() db:list() end, "calling 'list' on bad self (asset DB is closed)")
    do
      local scoped <close> = simhost.assets.open(env.db)
      assert.equal(18, #scoped:list())
    end
    for _ = 1, 20 do simhost.assets.open(env.db) end
    collectgarbage()
    collectgarbage()
  end)
end)

describe("simhost assets CLI", function()
  local tmp, db
  before_each(function()
    tmp = env.tmpdir()
    db = tmp .. "/assets.db"
    copy(env.db, db)
  end)
  after_each(function() env.rmtree(tmp) end)

  it("lists every asset with id, name, category, vertices, hull faces and volume", function()
    local out, err, rc = sh("assets list --db " .. env.q(db))
    assert.equal(0, rc)
    assert.equal("", err)
    assert.matches("id%s+name%s+category%s+vertices%s+hull faces%s+volume", out)
    assert.matches("\n%s+9%s+pyramid%s+primitive%s+18%s+5%s+0.333333\n", out)
    assert.matches("\n%s+1%s+unit_cube%s+primitive%s+36%s+6%s+1\n", out)
    local lines = 0
    for _ in out:gmatch("\n") do lines = lines + 1 end
    assert.equal(19, lines)
  end)

  it("uses the default DB without --db", function()
    local out, _, rc = env.run("SIMHOST_DB=" .. env.q(env.db) .. " " .. env.q(env.bin) .. " assets list")
    assert.equal(0, rc)
    assert.matches("floor_slab", out)
  end)

  it("reads the old service's MSD_ASSETS_DB when SIMHOST_DB is not set, SIMHOST_DB first when both are", function()
    local out, err, rc = env.run("env -u SIMHOST_DB MSD_ASSETS_DB=" .. env.q(env.db) .. " " .. env.q(env.bin) .. " assets list")
    assert.equal(0, rc, err)
    assert.matches("thin_slab", out)
    local _, err2, rc2 = env.run("env -u SIMHOST_DB MSD_ASSETS_DB=/nonexistent/old.db " .. env.q(env.bin) .. " assets list")
    assert.is_not.equal(0, rc2)
    assert.truthy(err2:find("/nonexistent/old.db", 1, true), err2)
    local _, err3, rc3 = env.run("SIMHOST_DB=" .. env.q(env.db) .. " MSD_ASSETS_DB=/nonexistent/old.db " .. env.q(env.bin)
      .. " assets list")
    assert.equal(0, rc3, err3)
  end)

  it("shows one asset with mass properties and bounds", function()
    local out, _, rc = sh("assets show pyramid --db " .. env.q(db))
    assert.equal(0, rc)
    assert.matches("asset 9: pyramid", out, 1, true)
    assert.matches("min (-0.5, -0.5, 0)  max (0.5, 0.5, 1)", out, 1, true)
    assert.matches("5 vertices, 5 faces (4 triangles, 1 quads, 0 larger), 8 edges", out, 1, true)
    assert.matches("centroid       (0, 0, 0.25) m", out, 1, true)
    assert.matches("0.0291667", out, 1, true)
    assert.matches("0.0333333", out, 1, true)
    out, _, rc = sh("assets show 1 --db " .. env.q(db))
    assert.equal(0, rc)
    assert.matches("asset 1: unit_cube", out, 1, true)
  end)

  it("reports an unknown asset in one line with status 1", function()
    local out, err, rc = sh("assets show nope --db " .. env.q(db))
    assert.equal(1, rc)
    assert.equal("", out)
    assert.equal("simhost assets: " .. db .. ": no asset named 'nope'\n", err)
  end)

  it("prints help for each command with status 0", function()
    for _, cmd in ipairs { "", "list ", "show ", "import ", "build " } do
      local out, _, rc = sh("assets " .. cmd .. "--help")
      assert.equal(0, rc, cmd)
      assert.matches("usage: simhost assets", out, 1, true)
    end
  end)

  it("exits 2 on bad usage", function()
    for _, args in ipairs { "", "frob", "list --bogus", "show", "import", "import x.stl", "list extra",
      "import x.stl --name", "build stray" } do
      local _, err, rc = sh("assets " .. args .. " --db " .. env.q(db))
      assert.equal(2, rc, args)
      assert.matches("simhost assets", err, 1, true)
    end
  end)

  describe("import", function()
    local function import(file, name, extra)
      return sh("assets import " .. env.q(file) .. " --name " .. name .. " --db " .. env.q(db) .. (extra or ""))
    end

    it("imports a binary STL, an ASCII STL and an OBJ, computing hull and mass", function()
      mf.write(tmp .. "/cube.stl", mf.binary_stl(mf.cube_triangles(2)))
      mf.write(tmp .. "/pyr.stl", mf.ascii_stl(mf.pyramid_triangles()))
      -- OBJ: quads (fan-triangulated), negative indices, v/vt/vn, v//vn and v/vt forms, comments.
      local _, quads = mf.cube_triangles(1)
      local obj = { "# cube", "mtllib x.mtl", "o cube" }
      for i = 0, 7 do
        obj[#obj + 1] = string.format("v %g %g %g", (i & 1 ~= 0) and 0.5 or -0.5, (i & 2 ~= 0) and 1 or -1,
          (i & 4 ~= 0) and 1.5 or -1.5)
      end
      obj[#obj + 1] = "vt 0 0"
      obj[#obj + 1] = "vn 0 0 1"
      local forms = { "%d", "%d/1", "%d//1", "%d/1/1", "%d", "%d" }
      for qi, q in ipairs(quads) do
        local corners = {}
        for k, c in ipairs(q) do
          -- Quad 5 uses negative (relative) indices.
          local idx = qi == 5 and (c - 8) or (c + 1)
          corners[k] = string.format(forms[qi], idx)
        end
        obj[#obj + 1] = "f " .. table.concat(corners, " ")
      end
      mf.write(tmp .. "/box.obj", table.concat(obj, "\n") .. "\n")

      local out, err, rc = import(tmp .. "/cube.stl", "stl_cube", " --category custom")
      assert.equal(0, rc, err)
      assert.matches("imported stl_cube as asset 19", out, 1, true)
      out, err, rc = import(tmp .. "/pyr.stl", "ascii_pyramid")
      assert.equal(0, rc, err)
      assert.matches("as asset 20", out, 1, true)
      out, err, rc = import(tmp .. "/box.obj", "obj_box")
      assert.equal(0, rc, err)
      assert.matches("as asset 21", out, 1, true)

      local d = simhost.assets.open(db)
      local a = d:find("stl_cube")
      assert.equal("custom", a.category)
      assert.equal(36, a.vertex_count)
      assert.equal(8, a.mesh_vertex_count) -- STL corners welded
      assert.equal(6, a.hull_face_count)
      assert.is_near(8, a.volume, 1e-5)
      assert.is_near(8, a.mesh_volume, 1e-5)
      local p = d:find("ascii_pyramid")
      assert.equal("imported", p.category)
      assert.equal(5, p.hull_face_count)
      assert.is_near(0.25, d:hull("ascii_pyramid").centroid[3], 1e-6)
      local b = d:find("obj_box")
      assert.equal(36, b.vertex_count)
      assert.equal(6, b.hull_face_count)
      assert.is_near(6, b.volume, 1e-5)
      assert.is_near(6, b.mesh_volume, 1e-5) -- closed and consistently wound
      assert.equal(0, outward(d:geometry("obj_box").positions, { 0, 0, 0 }))
      local h = d:hull("obj_box")
      assert.is_near(6 * (4 + 9) / 12, h.inertia[1][1], 1e-5)
      d:close()
    end)

    it("imports an open mesh: the hull's mass properties, no mesh volume", function()
      local tris = mf.cube_triangles(1)
      table.remove(tris) -- one triangle short: not closed
      mf.write(tmp .. "/open.stl", mf.binary_stl(tris))
      local _, err, rc = import(tmp .. "/open.stl", "open_cube")
      assert.equal(0, rc, err)
      local d = simhost.assets.open(db)
      local a = d:find("open_cube")
      assert.is_nil(a.mesh_volume)
      assert.is_near(1, a.volume, 1e-6)
      d:close()
    end)

    -- Each bad input: status 1, one line "simhost assets: ...", nothing on stdout, DB bytes unchanged.
    local function expect_rejected(file, name, fragment, target)
      target = target or db
      local before = mf.read(target)
      local out, err, rc = sh("assets import " .. env.q(file) .. " --name " .. name .. " --db " .. env.q(target))
      assert.equal(1, rc, err)
      assert.equal("", out)
      assert.matches("^simhost assets: [^\n]*\n$", err)
      assert.matches(fragment, err, 1, true)
      assert.equal(before, mf.read(target), "the DB changed")
      assert.is_nil(mf.read(target .. "-journal"))
    end

    it("rejects a missing file", function()
      expect_rejected(tmp .. "/nope.stl", "x", tmp .. "/nope.stl: no such file")
    end)

    it("rejects a truncated binary STL", function()
      local full = mf.binary_stl(mf.cube_triangles(1))
      mf.write(tmp .. "/t.stl", full:sub(1, #full - 7))
      expect_rejected(tmp .. "/t.stl", "x", "truncated binary STL")
      mf.write(tmp .. "/h.stl", full:sub(1, 60))
      expect_rejected(tmp .. "/h.stl", "x", "not an STL or OBJ file")
      mf.write(tmp .. "/h2.stl", full:sub(1, 90))
      expect_rejected(tmp .. "/h2.stl", "x", "truncated binary STL")
    end)

    it("rejects a truncated ASCII STL", function()
      local full = mf.ascii_stl(mf.pyramid_triangles())
      mf.write(tmp .. "/t.stl", full:sub(1, math.floor(#full / 2)))
      expect_rejected(tmp .. "/t.stl", "x", "truncated ASCII STL")
    end)

    it("rejects files that are neither STL nor OBJ", function()
      mf.write(tmp .. "/x.png", "\137PNG\r\n\26\n" .. string.rep("\0\1\2", 10))
      expect_rejected(tmp .. "/x.png", "x", "not an STL or OBJ file")
      mf.write(tmp .. "/x.txt", "just some words\nand more\n")
      expect_rejected(tmp .. "/x.txt", "x", "not an STL or OBJ file")
      mf.write(tmp .. "/empty.stl", "")
      expect_rejected(tmp .. "/empty.stl", "x", "not an STL or OBJ file")
      expect_rejected(tmp, "x", "not a regular file")
    end)

    it("rejects NaN and infinite coordinates", function()
      local tris = mf.cube_triangles(1)
      tris[3][2] = { 0.5, "nan", 0.5 }
      mf.write(tmp .. "/nan.stl", mf.ascii_stl(tris))
      expect_rejected(tmp .. "/nan.stl", "x", "not finite")
      tris = mf.cube_triangles(1)
      tris[5][1] = { 0.5, 0.5, 1 / 0 }
      mf.write(tmp .. "/inf.stl", mf.binary_stl(tris))
      expect_rejected(tmp .. "/inf.stl", "x", "not finite")
      mf.write(tmp .. "/inf.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 inf\nf 1 2 3\nf 1 2 4\n")
      expect_rejected(tmp .. "/inf.obj", "x", "not finite")
    end)

    it("rejects fewer than 4 non-coplanar points", function()
      mf.write(tmp .. "/flat.obj", "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n")
      expect_rejected(tmp .. "/flat.obj", "x", "at least 4 non-coplanar points")
      mf.write(tmp .. "/tri.stl", mf.binary_stl { { { 0, 0, 0 }, { 1, 0, 0 }, { 0, 1, 0 } } })
      expect_rejected(tmp .. "/tri.stl", "x", "at least 4 non-coplanar points")
    end)

    it("rejects malformed OBJ faces", function()
      mf.write(tmp .. "/bad.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 9\n")
      expect_rejected(tmp .. "/bad.obj", "x", "line 5: face refers to vertex 9")
      mf.write(tmp .. "/zero.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 0 1 2\n")
      expect_rejected(tmp .. "/zero.obj", "x", "line 5")
    end)

    it("rejects a duplicate name and an invalid name", function()
      mf.write(tmp .. "/cube.stl", mf.binary_stl(mf.cube_triangles(1)))
      expect_rejected(tmp .. "/cube.stl", "pyramid", "asset 'pyramid' already exists")
      expect_rejected(tmp .. "/cube.stl", "'bad name'", "invalid asset name")
    end)

    it("rejects a target that is not an asset DB, or missing", function()
      mf.write(tmp .. "/cube.stl", mf.binary_stl(mf.cube_triangles(1)))
      mf.write(tmp .. "/notdb.db", "plain text, not SQLite\n")
      expect_rejected(tmp .. "/cube.stl", "x", tmp .. "/notdb.db: not an asset DB", tmp .. "/notdb.db")
      local _, err, rc = sh("assets import " .. env.q(tmp .. "/cube.stl") .. " --name x --db " ..
        env.q(tmp .. "/none.db"))
      assert.equal(1, rc)
      assert.equal("simhost assets: " .. tmp .. "/none.db: no such file\n", err)
      assert.is_nil(mf.read(tmp .. "/none.db"))
    end)
  end)

  describe("build", function()
    it("rebuilds the default DB from assets/ with the same contents", function()
      local out, err, rc = sh("assets build --sources " .. env.q(env.source_dir .. "/assets") .. " --out " ..
        env.q(tmp .. "/rebuilt.db"))
      assert.equal(0, rc, err)
      assert.matches("18 assets", out, 1, true)
      local a, b = simhost.assets.open(env.db), simhost.assets.open(tmp .. "/rebuilt.db")
      local la, lb = a:list(), b:list()
      assert.same(la, lb)
      for _, asset in ipairs(la) do
        assert.same(a:hull(asset.name), b:hull(asset.name))
        assert.same(a:geometry(asset.name), b:geometry(asset.name))
      end
      a:close()
      b:close()
    end)

    it("fails with the manifest line and leaves no output", function()
      env.run("mkdir -p " .. env.q(tmp .. "/src"))
      mf.write(tmp .. "/src/default.txt", "box a primitive 1 1 1\nbox b primitive 1 -1 1\n")
      local out, err, rc = sh("assets build --sources " .. env.q(tmp .. "/src") .. " --out " .. env.q(tmp .. "/o.db"))
      assert.equal(1, rc)
      assert.equal("", out)
      assert.matches("^simhost assets: [^\n]*default.txt:2: parameter '%-1' must be a positive number", err)
      assert.is_nil(mf.read(tmp .. "/o.db"))
      mf.write(tmp .. "/src/default.txt", "blob a primitive 1\n")
      _, err, rc = sh("assets build --sources " .. env.q(tmp .. "/src") .. " --out " .. env.q(tmp .. "/o.db"))
      assert.equal(1, rc)
      assert.matches("default.txt:1: unknown shape 'blob'", err, 1, true)
      mf.write(tmp .. "/src/default.txt", "box a primitive 1 1 1\nbox a primitive 2 2 2\n")
      _, err, rc = sh("assets build --sources " .. env.q(tmp .. "/src") .. " --out " .. env.q(tmp .. "/o.db"))
      assert.equal(1, rc)
      assert.matches("default.txt:2: .*asset 'a' already exists", err)
      _, err, rc = sh("assets build --sources " .. env.q(tmp .. "/nowhere") .. " --out " .. env.q(tmp .. "/o.db"))
      assert.equal(1, rc)
      assert.matches("nowhere/default.txt: no such file", err, 1, true)
      assert.is_nil(mf.read(tmp .. "/o.db"))
    end)
  end)
end)
