// Instruction operands in the dispatcher: registers and constants named by
// every bit of the A, B and C fields. The handlers take operands as byte
// offsets of a shifted, masked field and dispatch on the instruction's low
// byte (opcode plus A's lowest bit), so these chunks use registers and
// constants above 127 in every position.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "test_support.hpp"

using luna::test::StateGuard;
using luna::test::run;

namespace {

constexpr int NLOCALS = 190;  // registers 0..189; temporaries above

// Local i holds an integer (even i) or a float (odd i).
double local_value(int i) { return i % 2 == 0 ? i : i + 0.5; }

std::string locals_chunk() {
  std::string code;
  for (int i = 0; i < NLOCALS; i++) {
    code += "local x" + std::to_string(i) + " = ";
    code += i % 2 == 0 ? std::to_string(i) : std::to_string(i) + ".5";
    code += "\n";
  }
  return code;
}

}  // namespace

TEST_CASE("arithmetic and comparisons on registers above 127", "[operands]") {
  StateGuard g;
  // Each term reads two high registers into a temporary above them; the
  // constants are distinct so their indices pass 127 too.
  std::string code = locals_chunk() + "local s = 0.0\n";
  double s = 0.0;
  for (int i = 128; i < NLOCALS; i++) {
    const int j = i - 61;
    const std::string xi = "x" + std::to_string(i), xj = "x" + std::to_string(j);
    const double c = i + 0.125;
    code += "s = s + " + xi + " * " + xj + " - " + xi + " / 4 + " + xj + " * " + std::to_string(c) + "\n";
    s = s + local_value(i) * local_value(j) - local_value(i) / 4 + local_value(j) * c;
    code += "if " + xi + " < " + xj + " then s = s + 1 elseif " + xi + " == " + xi + " then s = s + 2 end\n";
    s += local_value(i) < local_value(j) ? 1 : 2;
  }
  code += "return string.format('%.17g', s)\n";
  char expected[64];
  std::snprintf(expected, sizeof expected, "%.17g", s);
  CHECK(run(g.L, code.c_str()) == expected);
}

TEST_CASE("table access and loops with registers above 127", "[operands]") {
  StateGuard g;
  // The table, its keys and values and the loop's registers are all above
  // 127: integer keys in the array part, string keys in the hash part.
  std::string code = locals_chunk() +
                     "local t, n = {}, 0\n"
                     "for i = 1, 60 do t[i] = 0 end\n";
  long long sum = 0;
  for (int i = 130; i < NLOCALS; i += 2) {
    const std::string xi = "x" + std::to_string(i);
    // key (i - 128) / 2 + 1 in 2..31, value i
    code += "t[(" + xi + " - 128) // 2 + 1] = " + xi + "\n";
    code += "t.k" + std::to_string(i) + " = " + xi + "\n";
  }
  code +=
      "for j = 2, 31 do n = n + t[j] + t['k' .. (2 * j + 126)] end\n"
      "for j = 1.5, 3.5 do n = n + j end\n"
      "return string.format('%.17g', n)\n";
  for (int i = 130; i < NLOCALS; i += 2) sum += 2 * i;
  char expected[64];
  std::snprintf(expected, sizeof expected, "%.17g", static_cast<double>(sum) + 1.5 + 2.5 + 3.5);
  CHECK(run(g.L, code.c_str()) == expected);
}
