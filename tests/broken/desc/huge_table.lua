-- A huge table built in a loop must end with a clear error, not an out-of-memory.
local t = {}
for i = 1, 1e12 do
  t[i] = { i, i, i, i }
end
-- (never reached)
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
