-- The description forgets to return its table.
local model = {
  name = "broken",
}
