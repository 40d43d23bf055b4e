-- Writers of small mesh files (binary STL, ASCII STL, OBJ) for the asset specs, and shape data.
local M = {}

-- A unit cube centred at the origin as triangles {{a,b,c}, ...} of {x,y,z}, CCW seen from outside.
function M.cube_triangles(size)
  local h = (size or 1) / 2
  local function c(i)
    return { (i & 1 ~= 0) and h or -h, (i & 2 ~= 0) and h or -h, (i & 4 ~= 0) and h or -h }
  end
  -- Quads as corner bit patterns, CCW from outside (bit 0 = +x, bit 1 = +y, bit 2 = +z).
  local quads = {
    { 0, 2, 3, 1 }, { 4, 5, 7, 6 }, -- -z, +z
    { 0, 1, 5, 4 }, { 2, 6, 7, 3 }, -- -y, +y
    { 0, 4, 6, 2 }, { 1, 3, 7, 5 }, -- -x, +x
  }
  local tris = {}
  for _, q in ipairs(quads) do
    tris[#tris + 1] = { c(q[1]), c(q[2]), c(q[3]) }
    tris[#tris + 1] = { c(q[1]), c(q[3]), c(q[4]) }
  end
  return tris, quads
end

-- Square pyramid: base side 1 at z = 0, apex (0, 0, 1).
function M.pyramid_triangles()
  local b = { { -0.5, -0.5, 0 }, { 0.5, -0.5, 0 }, { 0.5, 0.5, 0 }, { -0.5, 0.5, 0 } }
  local apex = { 0, 0, 1 }
  local tris = { { b[1], b[3], b[2] }, { b[1], b[4], b[3] } }
  for i = 1, 4 do
    tris[#tris + 1] = { b[i], b[i % 4 + 1], apex }
  end
  return tris
end

function M.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.binary_stl(tris)
  local parts = { string.rep("\0", 80), string.pack("<I4", #tris) }
  for _, t in ipairs(tris) do
    parts[#parts + 1] = string.pack("<fff", 0, 0, 0)
    for _, v in ipairs(t) do
      parts[#parts + 1] = string.pack("<fff", v[1], v[2], v[3])
    end
    parts[#parts + 1] = string.pack("<I2", 0)
  end
  return table.concat(parts)
end

local function num(x)
  if type(x) == "string" then return x end
  return string.format("%.9g", x)
end

function M.ascii_stl(tris, name)
  local out = { "solid " .. (name or "test") }
  for _, t in ipairs(tris) do
    out[#out + 1] = "  facet normal 0 0 0"
    out[#out + 1] = "    outer loop"
    for _, v in ipairs(t) do
      out[#out + 1] = "      vertex " .. num(v[1]) .. " " .. num(v[2]) .. " " .. num(v[3])
    end
    out[#out + 1] = "    endloop"
    out[#out + 1] = "  endfacet"
  end
  out[#out + 1] = "endsolid " .. (name or "test")
  return table.concat(out, "\n") .. "\n"
end

return M
