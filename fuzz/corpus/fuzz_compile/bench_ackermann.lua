-- Ackermann function: deep non-tail recursion.
local n = tonumber(arg and arg[1]) or 10
local function ack(m, k)
  if m == 0 then return k + 1 end
  if k == 0 then return ack(m - 1, 1) end
  return ack(m - 1, ack(m, k - 1))
end
local total = 0
for i = 1, 3 do total = total + ack(2, n * 40) + ack(3, n - 2 + i % 2) end
print(string.format("ackermann checksum %d", total))
