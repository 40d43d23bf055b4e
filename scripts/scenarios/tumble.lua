-- tumble: the Dzhanibekov effect (the "tennis racket theorem"). A 1 × 2 × 3 m box spun about its
-- intermediate axis (its 2 m Y axis, middle moment of inertia) with a tiny wobble: the spin is
-- unstable, and every so often the box flips end over end while its angular momentum stays fixed.
-- No gravity, so the box floats in place: a scenario sets the world's gravity with the `gravity`
-- field (worlds take it at creation). `ground = false`: no ground slab unless the client asks for one.
local id
local flips, sign, flip_times = 0, 1, {}

-- The world-frame direction of the box's own Y axis, R·(0,1,0), for q = (w,x,y,z).
local function y_axis(q)
  return { 2 * (q.x * q.y - q.w * q.z), 1 - 2 * (q.x * q.x + q.z * q.z), 2 * (q.y * q.z + q.w * q.x) }
end

return {
  description = "A box spun about its middle axis flips over and over (no gravity)",
  gravity = { 0, 0, 0 },
  ground = false,
  params = {
    spin = { default = 10, type = "number", min = 1, max = 100,
             doc = "spin about the intermediate axis, rad/s" },
    wobble = { default = 0.01, type = "number", min = 0.0001, max = 1,
               doc = "perturbation about the other axes, rad/s" },
  },
  duration = 4,

  setup = function(world, params)
    flips, sign, flip_times = 0, 1, {}
    -- box_1x2x3: 1 m along X, 2 m along Y, 3 m along Z; moments (m/12)·(13, 10, 5): Y is the middle one.
    id = world:spawn { asset = "box_1x2x3", position = { 0, 0, 3 }, orientation = { 0, 0, 0 }, mass = 6,
                       angular_velocity = { params.wobble, params.spin, params.wobble } }
  end,

  -- Count a flip each time the box's Y axis swings from one side to the other (past ±0.9 of the
  -- starting direction).
  on_step = function(world, t)
    local y = y_axis(world:body(id).orientation)[2]
    if sign > 0 and y < -0.9 or sign < 0 and y > 0.9 then
      sign = -sign
      flips = flips + 1
      flip_times[#flip_times + 1] = t
    end
  end,

  on_complete = function()
    return { flips = flips, flip_times_s = flip_times }
  end,
}
