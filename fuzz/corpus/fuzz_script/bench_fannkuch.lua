-- Fannkuch: every permutation of 1..n (Heap's algorithm), counting the
-- prefix reversals until 1 comes first. Array reads, writes and swaps.
local n = tonumber(arg and arg[1]) or 9

local function count_flips(perm, work, N)
  for i = 1, N do work[i] = perm[i] end
  local flips = 0
  local first = work[1]
  while first ~= 1 do
    local lo, hi = 1, first
    while lo < hi do
      work[lo], work[hi] = work[hi], work[lo]
      lo = lo + 1
      hi = hi - 1
    end
    flips = flips + 1
    first = work[1]
  end
  return flips
end

-- Heap's algorithm from the identity; returns checksum, max flips, count.
local function fannkuch(n)
  local perm, c, work = {}, {}, {}
  for i = 1, n do perm[i] = i; c[i] = 0 end
  local checksum, maxflips, index = 0, 0, 0
  local function visit()
    local f = count_flips(perm, work, n)
    if f > maxflips then maxflips = f end
    if index % 2 == 0 then checksum = checksum + f else checksum = checksum - f end
    index = index + 1
  end

  visit()
  local i = 2
  while i <= n do
    if c[i] < i - 1 then
      if i % 2 == 1 then
        perm[1], perm[i] = perm[i], perm[1]
      else
        local j = c[i] + 1
        perm[j], perm[i] = perm[i], perm[j]
      end
      visit()
      c[i] = c[i] + 1
      i = 2
    else
      c[i] = 0
      i = i + 1
    end
  end
  return checksum, maxflips, index
end

-- Three passes so the default size lands in the calibrated time range.
local checksum, maxflips, count = 0, 0, 0
for _ = 1, 3 do
  local c, m, k = fannkuch(n)
  checksum, maxflips, count = checksum + c, m, count + k
end
print(string.format("fannkuch(%d): checksum %d, max flips %d, permutations %d", n, checksum, maxflips, count))
