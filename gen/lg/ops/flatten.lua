--- flatten: a C-H-W map read as one vector. C-H-W data is already flat in
-- memory, so it emits nothing; the plan only renames the shape.
local M = {}

M.types = { "flatten" }
M.role = "reshape"
M.int8 = true  -- changes no value, in any number format
M.fields = { type = true }

function M.infer(_, _, shape)
  if #shape == 1 then return { shape[1] } end
  return { shape[1] * shape[2] * shape[3] }
end

function M.attributes()
  return "elementwise"
end

return M
