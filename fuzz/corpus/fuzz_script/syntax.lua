local a <const>, b <close> = 10, nil
goto skip
do local x = 1 end
::skip::
local t = {1, 2, 3; x = 1, ["y"] = 2, [3 + 1] = 4, f = function(...) return select('#', ...) end}
local s = [==[long
string]==] .. "esc\x41\65\u{48}\z
   more\0" .. 'q\'' --[[ block
comment ]]
local n = 0x1p4 + 3e2 + 0xA8 + 7 // 2 + 7 % 3 ~ 5 | 1 & 3 << 2 >> 1 + ~0
for i = 10, 1, -2 do n = n + i end
for k, v in pairs(t) do n = n + (tonumber(v) or 0) end
while n > 0 do n = n - 100 if n < -50 then break end end
repeat local z = n; n = n + 1 until z >= 0
local function f(x, ...) return x and ... or not x, #t, -x ^ 2 end
local o = {m = function(self, y) return self, y end}
o:m(1)
return f(1, 2, 3), a == b, a ~= b, a <= 2, s:upper()
