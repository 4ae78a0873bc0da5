-- Binary trees: allocation-heavy, exercises the garbage collector.
local n = tonumber(arg and arg[1]) or 14
local function bottom_up(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return { bottom_up(depth), bottom_up(depth) }
end
local function check(tree)
  if tree[1] then return 1 + check(tree[1]) + check(tree[2]) end
  return 1
end
local mindepth = 4
local maxdepth = math.max(mindepth + 2, n)
local total = check(bottom_up(maxdepth + 1))
local long_lived = bottom_up(maxdepth)
for depth = mindepth, maxdepth, 2 do
  local iters = 2 ^ (maxdepth - depth + mindepth)
  local c = 0
  for _ = 1, iters do c = c + check(bottom_up(depth)) end
  total = total + c
end
total = total + check(long_lived)
print(string.format("binary trees %d: checksum %d", n, total))
