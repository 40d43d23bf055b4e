-- dominoes: a curved line of `count` dominoes (the `domino` asset: 0.05 m thick, 0.25 m wide, 0.5 m
-- tall) standing on an arc of radius `radius`, the first one tipped towards the second. The wave runs
-- along the curve until the last one falls; on_complete says how many fell and when the last did.
local ids, dirs = {}, {}
local last_fell_at -- simulated time the last domino passed 45°

-- Tilt of a body's own +Z axis from world up, in degrees.
local function tilt_deg(q)
  -- The z component of R·(0,0,1) for q = (w,x,y,z) is 1 − 2(x² + y²).
  local c = 1 - 2 * (q.x * q.x + q.y * q.y)
  return math.deg(math.acos(math.max(-1, math.min(1, c))))
end

return {
  description = "A curved line of dominoes knocked over from one end",
  params = {
    count = { default = 20, type = "integer", min = 2, max = 500, doc = "dominoes in the line" },
    spacing = { default = 0.3, type = "number", min = 0.1, max = 0.45,
                -- under the 0.5 m height, so each domino reaches the next
                doc = "distance between neighbours along the arc, m" },
    radius = { default = 3.0, type = "number", min = 0.5, max = 1000,
               doc = "radius of the arc, m (large = nearly straight)" },
    push = { default = 2.0, type = "number", min = 0.5, max = 20,
             doc = "initial tipping rate of the first domino, rad/s" },
  },
  duration = 6,

  -- Optional check(params) for rules that involve several params: return nil when fine, else one line.
  -- It runs with the per-param checks, before setup, so the client (or `simhost run`, exit 2) gets
  -- that line like any bad param. Here: an arc longer than 0.9 of its circle would close on itself.
  check = function(params)
    local length, room = params.count * params.spacing, 1.8 * math.pi * params.radius
    if length > room then
      return ("params 'count' × 'spacing' (%.1f m) must fit on 0.9 of the circle of 'radius' (%.1f m)")
        :format(length, room)
    end
  end,

  setup = function(world, params)
    ids, dirs, last_fell_at = {}, {}, nil
    local h = 0.5 -- domino height; its origin is its centre, so it stands at z = h/2
    for i = 1, params.count do
      -- Arc of radius R centred at (0, R): point at angle a = s/R, walking counter-clockwise from the origin.
      local a = (i - 1) * params.spacing / params.radius
      local x, y = params.radius * math.sin(a), params.radius * (1 - math.cos(a))
      -- Tangent (cos a, sin a): the domino's thin X axis points along the path, so yaw = a.
      ids[i] = world:spawn { asset = "domino", position = { x, y, h / 2 }, orientation = { 0, 0, a },
                             mass = 0.1, restitution = 0.0, friction = 0.5 }
      dirs[i] = { math.cos(a), math.sin(a) }
    end
    -- Tip the first one: rotate it about its bottom front edge, so it falls forwards along the tangent.
    -- Angular velocity ω = push·(up × t) turns the top towards t; the centre, h/2 above the pivot,
    -- then moves at ω·h/2 along t. (This injects energy at setup: audits measure from after it.)
    local t = dirs[1]
    local w = { -t[2] * params.push, t[1] * params.push, 0 } -- up × t = (−t.y, t.x, 0)
    world:set_velocity(ids[1], { t[1] * params.push * h / 2, t[2] * params.push * h / 2, 0 }, w)
  end,

  on_step = function(world, t)
    if last_fell_at == nil and tilt_deg(world:body(ids[#ids]).orientation) > 45 then last_fell_at = t end
  end,

  on_complete = function(world)
    local fallen = 0
    for _, id in ipairs(ids) do
      if tilt_deg(world:body(id).orientation) > 45 then fallen = fallen + 1 end
    end
    return { fallen = fallen, count = #ids, last_fell_at_s = last_fell_at or -1 }
  end,
}
