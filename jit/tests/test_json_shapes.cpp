// Programs shaped like benchmarks/programs/json.lua: recursive decoders
// over nested arrays, whose function traces, their side traces and the
// loops around them meet. Each program runs with the JIT off, with low
// thresholds and in stress mode, and must give the same output.
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using namespace luna;

namespace {

using jit_test::Mode;
using jit_test::Run;

Run same_all_ways(const std::string& src) {
  Run off = jit_test::run(src, Mode::off, "=json");
  Run low = jit_test::run(src, Mode::low, "=json");
  Run stress = jit_test::run(src, Mode::stress, "=json");
  INFO(off.out);
  CHECK(low.out == off.out);
  CHECK(stress.out == off.out);
  return stress;
}

}  // namespace

TEST_CASE("a side recording dropped as stale does not make the next root trace its side trace", "[jit][recursion]") {
  // In stress mode the exit ending the summing loop starts a side
  // recording that follows the outer loop into the decoder, where the seam
  // drops it and records the decoder's loop as a root trace; that trace was
  // installed as the summing loop's side trace (main at d8c34f6: a
  // segfault, or "attempt to index a nil value" at line -1).
  same_all_ways(R"lua(
    local byte = string.byte
    local dv
    function dv(s, i)
      local c = byte(s, i)
      if c == 91 then
        local arr, k = {}, 0
        i = i + 1
        if byte(s, i) == 93 then return arr, i + 1 end
        while true do
          k = k + 1
          arr[k], i = dv(s, i)
          if byte(s, i) == 93 then return arr, i + 1 end
          i = i + 1
        end
      end
      local v = c - 48
      if byte(s, i + 1) == 46 then return v + 0.5, i + 2 end
      return v, i + 1
    end
    local parts = {}
    for i = 1, 20 do parts[#parts + 1] = "[" .. (i % 10) .. "," .. (i % 7) .. ".,[" .. (i % 3) .. "]]" end
    local text = "[" .. table.concat(parts, ",") .. "]"
    local sum = 0
    for r = 1, 5 do
      local v = dv(text, 1)
      for i = 1, #v do sum = sum + v[i][1] + v[i][2] + v[i][3][1] end
    end
    return tostring(sum))lua");
}
