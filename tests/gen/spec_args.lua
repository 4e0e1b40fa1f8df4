-- spec_args.lua: the command line of the Lua checks in tests/gen: SPEC [key=value ...], each
-- key=value a deploy field to set (a number where the value reads as one).
return function(argv, usage)
  local path = assert(argv[1], usage)
  local set = {}
  for i = 2, #argv do
    local k, v = argv[i]:match("^([%w_]+)=(.*)$")
    if not k then error("not a deploy field's key=value: " .. argv[i] .. "\n" .. usage, 0) end
    set[k] = tonumber(v) or v
  end
  return path, set
end
