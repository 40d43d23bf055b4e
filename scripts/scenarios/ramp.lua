-- ramp: a row of lanes, each a static incline of `angle` degrees with one box on it; friction rises
-- from `min_friction` in the first lane to `max_friction` in the last. Boxes whose friction is below
-- tan(angle) slide (at g·(sin θ − μ cos θ)), the others stay put.
-- Contacts combine friction as the geometric mean (core/physics/contact.c), so each lane's incline
-- gets the same friction as its box: the pair's friction is then exactly the box's value.
local lanes = {}
local SIZE = 0.5 -- box edge, m

return {
  description = "Boxes of rising friction on inclines: the slippery ones slide",
  params = {
    count = { default = 9, type = "integer", min = 2, max = 50, doc = "lanes (boxes)" },
    min_friction = { default = 0.1, type = "number", min = 0, max = 2, doc = "friction of the first lane" },
    max_friction = { default = 0.9, type = "number", min = 0, max = 2, doc = "friction of the last lane" },
    angle = { default = 30, type = "number", min = 1, max = 60, doc = "incline, degrees (tan 30° ≈ 0.577)" },
    length = { default = 8, type = "number", min = 2, max = 50, doc = "length of each incline, m" },
  },
  duration = 3,

  setup = function(world, params)
    lanes = {}
    local th = math.rad(params.angle)
    local s, c = math.sin(th), math.cos(th)
    local half_len, half_thick = params.length / 2, 0.1
    -- pitch = −θ tilts a box's +X up towards +Z (R = Ry(pitch)): the incline rises towards +X.
    -- Its top face normal is n = (−sin θ, 0, cos θ); along the slope, uphill, u = (cos θ, 0, sin θ).
    local n, u = { -s, 0, c }, { c, 0, s }
    -- Centre the incline so its low end rests on the ground: the low bottom corner at z = 0.
    local cz = half_len * s + half_thick * c
    for i = 1, params.count do
      local f = (i - 1) / (params.count - 1)
      local mu = params.min_friction + (params.max_friction - params.min_friction) * f
      local y = (i - (params.count + 1) / 2) * 1.5
      world:spawn_box { half_extents = { half_len, 0.5, half_thick }, position = { 0, y, cz },
                        orientation = { -th, 0, 0 }, environment = true, friction = mu, restitution = 0 }
      -- The box sits on the top face, a quarter of the way down from the high end.
      local along = half_len / 2
      local p = {}
      for k = 1, 3 do p[k] = ({ 0, y, cz })[k] + (half_thick + SIZE / 2) * n[k] + along * u[k] end
      local id = world:spawn_box { half_extents = { SIZE / 2, SIZE / 2, SIZE / 2 }, position = p,
                                   orientation = { -th, 0, 0 }, mass = 5, friction = mu, restitution = 0 }
      lanes[i] = { id = id, mu = mu, start = p, slides = mu < math.tan(th) }
    end
  end,

  -- How far each box moved, and whether the friction law says it should slide.
  on_complete = function(world)
    local moved, expected = {}, {}
    for i, l in ipairs(lanes) do
      local p = world:body(l.id).position
      moved[i] = math.sqrt((p.x - l.start[1]) ^ 2 + (p.y - l.start[2]) ^ 2 + (p.z - l.start[3]) ^ 2)
      expected[i] = l.slides and "slide" or "stay"
    end
    local f = {}
    for i, l in ipairs(lanes) do f[i] = l.mu end
    return { friction = f, moved_m = moved, expected = expected }
  end,
}
