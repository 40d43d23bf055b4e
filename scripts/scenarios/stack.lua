-- stack: a tower of `count` unit cubes resting face to face on the ground. It should just stand:
-- on_complete reports how far the top cube moved (physics.md row 11: < 1 cm drift and sag).
-- Each cube starts exactly touching the one below, so nothing falls and nothing is overlapped.
local top_id, top_start

return {
  description = "A tower of unit cubes that stands still",
  params = {
    count = { default = 10, type = "integer", min = 1, max = 50, doc = "cubes in the tower" },
    friction = { default = 0.6, type = "number", min = 0, max = 2, doc = "friction of every cube" },
    twist = { default = 0, type = "number", min = 0, max = 45,
              doc = "yaw added per cube, degrees (a spiral tower; large twists make it less stable)" },
  },
  duration = 5,

  setup = function(world, params)
    for i = 1, params.count do
      -- unit_cube: 1 m, centred on its origin, so cube i rests with its centre at z = i - 0.5.
      local id = world:spawn { asset = "unit_cube", position = { 0, 0, i - 0.5 },
                               orientation = { 0, 0, math.rad(params.twist) * (i - 1) },
                               mass = 10, restitution = 0, friction = params.friction }
      top_id = id
    end
    local p = world:body(top_id).position
    top_start = { p.x, p.y, p.z }
  end,

  on_complete = function(world)
    local p = world:body(top_id).position
    return { top_drift_m = math.sqrt((p.x - top_start[1]) ^ 2 + (p.y - top_start[2]) ^ 2),
             top_sag_m = top_start[3] - p.z }
  end,
}
