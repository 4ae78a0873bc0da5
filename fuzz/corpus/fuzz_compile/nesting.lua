local x = ((((((((((1))))))))))
local t = {{{{{{{{{{}}}}}}}}}}
if x then if x then if x then while false do repeat until true end end end end
return function() return function() return function() return x end end end
