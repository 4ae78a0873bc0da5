// Tour 1: run Lua, bind C++ functions, move values both ways.
#include <cstdio>
#include <luna/vm.hpp>
#include <string>
#include <tuple>
#include <vector>

int main() {
  luna::Vm vm;  // all standard libraries

  // Any callable: arguments and results are converted automatically.
  vm.set_function("add", [](int a, int b) { return a + b; });
  vm.set_function("greet", [](const std::string& name) { return "hello, " + name; });
  vm.set_function("minmax", [](const std::vector<double>& xs) {
    double lo = xs.at(0), hi = xs.at(0);
    for (double x : xs) lo = x < lo ? x : lo, hi = x > hi ? x : hi;
    return std::make_tuple(lo, hi);  // two results
  });

  std::vector<luna::Value> r = vm.eval(R"(
    local lo, hi = minmax({3, 1, 4, 1, 5})
    return add(2, 3), greet("luna"), lo, hi
  )");
  std::printf("%lld %s %g %g\n", static_cast<long long>(r[0].as_integer()), r[1].as_string().c_str(),
              r[2].as_number(), r[3].as_number());

  // Globals and tables.
  vm.set_global("config", std::vector<std::string>{"a", "b"});
  luna::Value t = vm.eval("return {name = 'x', size = #config}")[0];
  t.set("extra", true);
  std::printf("%s %lld\n", t.get("name").as_string().c_str(), static_cast<long long>(t.get("size").as_integer()));

  // Load once, call many times.
  luna::Value square = vm.load("local x = ... return x * x");
  std::printf("%lld\n", static_cast<long long>(vm.call(square, 12)[0].as_integer()));

  // Errors come back as luna::LuaError.
  try {
    vm.eval("error('oops')");
  } catch (const luna::LuaError& e) {
    std::printf("caught: %s\n", e.what());
  }
  return r[0].as_integer() == 5 ? 0 : 1;
}
