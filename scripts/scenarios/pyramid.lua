-- pyramid: the classic 2-D pyramid of unit cubes in the x–z plane (physics.md's bench layout): row i
-- (from 0 at the bottom) holds base − i cubes, each row shifted half a cube inwards. It should stand;
-- on_complete reports the top cube's drift and sag (physics.md row 12: < 1 cm and < 3 cm at base 20).
local top_id, top_start

return {
  description = "A pyramid of unit cubes that stands still",
  params = {
    base = { default = 10, type = "integer", min = 1, max = 40, doc = "cubes in the bottom row" },
    friction = { default = 0.6, type = "number", min = 0, max = 2, doc = "friction of every cube" },
    gap = { default = 0, type = "number", min = 0, max = 0.5,
            doc = "extra space between neighbours in a row, m" },
  },
  duration = 5,

  setup = function(world, params)
    local base, pitch = params.base, 1 + params.gap
    for i = 0, base - 1 do
      local n = base - i
      for j = 0, n - 1 do
        -- Row i is centred on x = 0: its cubes at (j − (n − 1)/2)·pitch; centres at z = i + 0.5.
        top_id = world:spawn { asset = "unit_cube", position = { (j - (n - 1) / 2) * pitch, 0, i + 0.5 },
                               orientation = { 0, 0, 0 }, mass = 100, restitution = 0,
                               friction = params.friction }
      end
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
