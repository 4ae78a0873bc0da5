-- Mandelbrot set membership count: tight float loop.
local n = tonumber(arg and arg[1]) or 1000
local count = 0
local iter = 50
for y = 0, n - 1 do
  local ci = 2.0 * y / n - 1.0
  for x = 0, n - 1 do
    local cr = 2.0 * x / n - 1.5
    local zr, zi, zr2, zi2 = 0.0, 0.0, 0.0, 0.0
    local inside = true
    for _ = 1, iter do
      zi = 2.0 * zr * zi + ci
      zr = zr2 - zi2 + cr
      zr2 = zr * zr
      zi2 = zi * zi
      if zr2 + zi2 > 4.0 then
        inside = false
        break
      end
    end
    if inside then count = count + 1 end
  end
end
print(string.format("mandelbrot %d: %d points inside", n, count))
