--- argparse (Debian lua-argparse) for the command lines of the tools, test scripts and
-- benchmark scripts, with one way to refuse a usage mistake, as gen/lenetgen does:
-- "PROG: error: MESSAGE" and "Run 'PROG --help' for usage." on stderr, exit status 2.
local argparse = require("argparse")

local M = {}

local names = setmetatable({}, { __mode = "k" })

--- A parser for the program at path `prog` (its last component is shown).
function M.parser(prog, description, epilog)
  local name = prog:match("[^/]*$")
  local parser = argparse(name, description, epilog)
  names[parser] = name
  return parser
end

--- Parse `argv`; on a usage mistake report it and exit 2. `problem(args)` may return a
-- message for a mistake the parser cannot see.
function M.parse(parser, argv, problem)
  local ok, args = parser:pparse(argv)
  if ok and problem then
    local message = problem(args)
    if message then ok, args = false, message end
  end
  if not ok then
    local name = names[parser]
    io.stderr:write(name .. ": error: " .. args .. "\nRun '" .. name .. " --help' for usage.\n")
    os.exit(2)
  end
  return args
end

--- `argv` with "OPTION VALUE" joined into "OPTION=VALUE" for each option named in `options`,
-- so that such an option's value may start with "-" (argparse reads a "-..." word as an option).
function M.join_values(argv, options)
  local joined, i = {}, 1
  while i <= #argv do
    if options[argv[i]] and argv[i + 1] ~= nil then
      joined[#joined + 1] = argv[i] .. "=" .. argv[i + 1]
      i = i + 2
    else
      joined[#joined + 1] = argv[i]
      i = i + 1
    end
  end
  return joined
end

--- An argparse converter: the text as an integer, or a refusal.
function M.integer(text)
  local n = math.tointeger(tonumber(text))
  if n then return n end
  return nil, "expected an integer, got '" .. text .. "'"
end

--- An argparse converter: the text as a number, or a refusal.
function M.number(text)
  local n = tonumber(text)
  if n then return n end
  return nil, "expected a number, got '" .. text .. "'"
end

return M
