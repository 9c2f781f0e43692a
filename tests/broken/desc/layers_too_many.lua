-- More layers than the limit, built in a loop.
local layers = {}
for i = 1, 300 do
  layers[i] = { type = "relu" }
end
-- (the rest is fine)
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = layers,
}
