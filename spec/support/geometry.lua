-- Geometry the specs measure bodies with, independently of the engine's own contact list: a body's
-- hull corners in the world, and the penetration depth of two oriented boxes by the separating-axis
-- test (15 axes; the smallest overlap is the exact depth of two boxes).
local M = {}

-- Rotates v by the unit quaternion q = {w,x,y,z}.
function M.rotate(q, v)
  local qw, qx, qy, qz = q.w, q.x, q.y, q.z
  local tx = 2 * (qy * v.z - qz * v.y)
  local ty = 2 * (qz * v.x - qx * v.z)
  local tz = 2 * (qx * v.y - qy * v.x)
  return { x = v.x + qw * tx + (qy * tz - qz * ty),
           y = v.y + qw * ty + (qz * tx - qx * tz),
           z = v.z + qw * tz + (qx * ty - qy * tx) }
end

-- The hull's corners ({x,y,z} each) of asset `name` in its own frame, from the asset DB.
function M.asset_corners(db, name)
  local h = db:hull(name)
  local out = {}
  for i = 1, h.vertex_count do
    out[i] = { x = h.vertices[3 * i - 2], y = h.vertices[3 * i - 1], z = h.vertices[3 * i] }
  end
  return out
end

-- The 8 corners of a box with half extents {hx, hy, hz}, in its own frame.
function M.box_corners(he)
  local out = {}
  for _, sx in ipairs { -1, 1 } do
    for _, sy in ipairs { -1, 1 } do
      for _, sz in ipairs { -1, 1 } do out[#out + 1] = { x = sx * he[1], y = sy * he[2], z = sz * he[3] } end
    end
  end
  return out
end

-- corners (own frame) placed at body state b (position = the asset origin, orientation).
function M.placed(b, corners)
  local out = {}
  for i, c in ipairs(corners) do
    local r = M.rotate(b.orientation, c)
    out[i] = { x = b.position.x + r.x, y = b.position.y + r.y, z = b.position.z + r.z }
  end
  return out
end

-- The lowest z of corners placed at body state b.
function M.lowest_z(b, corners)
  local low = math.huge
  for _, p in ipairs(M.placed(b, corners)) do low = math.min(low, p.z) end
  return low
end

-- An oriented box from a body state and half extents: centre, three unit axes, half extents.
function M.obb(b, he)
  return { c = b.position, he = he,
           a = { M.rotate(b.orientation, { x = 1, y = 0, z = 0 }), M.rotate(b.orientation, { x = 0, y = 1, z = 0 }),
                 M.rotate(b.orientation, { x = 0, y = 0, z = 1 }) } }
end

local function dot(a, b) return a.x * b.x + a.y * b.y + a.z * b.z end
local function cross(a, b)
  return { x = a.y * b.z - a.z * b.y, y = a.z * b.x - a.x * b.z, z = a.x * b.y - a.y * b.x }
end

-- Penetration depth of two oriented boxes (0 when they are apart): the least overlap of their
-- projections over the 15 separating axes.
function M.obb_depth(p, q)
  local d = { x = q.c.x - p.c.x, y = q.c.y - p.c.y, z = q.c.z - p.c.z }
  local axes = { p.a[1], p.a[2], p.a[3], q.a[1], q.a[2], q.a[3] }
  for i = 1, 3 do
    for j = 1, 3 do
      local n = cross(p.a[i], q.a[j])
      local l = math.sqrt(dot(n, n))
      if l > 1e-6 then axes[#axes + 1] = { x = n.x / l, y = n.y / l, z = n.z / l } end
    end
  end
  local least = math.huge
  for _, n in ipairs(axes) do
    local rp = p.he[1] * math.abs(dot(p.a[1], n)) + p.he[2] * math.abs(dot(p.a[2], n)) + p.he[3] * math.abs(dot(p.a[3], n))
    local rq = q.he[1] * math.abs(dot(q.a[1], n)) + q.he[2] * math.abs(dot(q.a[2], n)) + q.he[3] * math.abs(dot(q.a[3], n))
    local overlap = rp + rq - math.abs(dot(d, n))
    if overlap <= 0 then return 0 end
    least = math.min(least, overlap)
  end
  return least
end

-- The deepest penetration among a list of oriented boxes (all pairs whose bounding spheres meet,
-- found through a uniform grid of cell size `cell`). Returns depth, i, j.
function M.deepest_obb(boxes, cell)
  local grid, deepest, at_i, at_j = {}, 0, nil, nil
  local radius = {}
  for i, o in ipairs(boxes) do
    radius[i] = math.sqrt(o.he[1] ^ 2 + o.he[2] ^ 2 + o.he[3] ^ 2)
    local k = math.floor(o.c.x / cell) .. ":" .. math.floor(o.c.y / cell) .. ":" .. math.floor(o.c.z / cell)
    grid[k] = grid[k] or {}
    table.insert(grid[k], i)
  end
  for i, o in ipairs(boxes) do
    local cx, cy, cz = math.floor(o.c.x / cell), math.floor(o.c.y / cell), math.floor(o.c.z / cell)
    for dx = -1, 1 do
      for dy = -1, 1 do
        for dz = -1, 1 do
          for _, j in ipairs(grid[(cx + dx) .. ":" .. (cy + dy) .. ":" .. (cz + dz)] or {}) do
            if j > i then
              local q = boxes[j]
              local dd = (q.c.x - o.c.x) ^ 2 + (q.c.y - o.c.y) ^ 2 + (q.c.z - o.c.z) ^ 2
              if dd < (radius[i] + radius[j]) ^ 2 then
                local depth = M.obb_depth(o, q)
                if depth > deepest then deepest, at_i, at_j = depth, i, j end
              end
            end
          end
        end
      end
    end
  end
  return deepest, at_i, at_j
end

return M
