-- Sieve of Eratosthenes: array-part writes in strided loops, repeated.
local n = tonumber(arg and arg[1]) or 3000000

local function sieve(limit)
  local composite = {}
  for i = 1, limit do composite[i] = false end
  local count = 0
  for i = 2, limit do
    if not composite[i] then
      count = count + 1
      for j = i * i, limit, i do composite[j] = true end
    end
  end
  return count
end

local total = 0
for _ = 1, 3 do total = total + sieve(n) end
print(string.format("sieve %d: %d primes (x3 = %d)", n, sieve(n), total))
