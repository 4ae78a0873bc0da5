// Differential test of the trace JIT: random loop programs from a seeded
// generator (or the Lua files given on the command line) run once with the
// JIT off and once in stress mode (every loop recorded at its first
// iteration); their printed output, including any error message, must be
// identical.
//
//   luna-jit-diff [--seed S] [--count N] [--seconds T] [--show] [--verbose] [file.lua ...]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "jit_seam.hpp"
#include "luna/vm.hpp"
#include "state.hpp"

namespace {

// Output capture: print appends to a buffer; values print with their
// subtype and floats in hex, so int/float and every bit of a float count.
const char* kPrelude = R"(
local out, fmt, mtype, tostring = {}, string.format, math.type, tostring
local function show(v)
  local mt = mtype(v)
  if mt == "float" then
    if v ~= v then return "nan" end
    return fmt("%a", v)
  elseif mt == "integer" then
    return "i" .. tostring(v)
  end
  return tostring(v)
end
function print(...)
  local n = select("#", ...)
  local t = {...}
  for i = 1, n do t[i] = show(t[i]) end
  out[#out + 1] = table.concat(t, " ")
end
function __output() return table.concat(out, "\n") end
)";

bool verbose = false;

std::string run(const std::string& source, const std::string& name, bool stress, luna::JitStats* stats) {
  luna::Vm vm;
  luna::State* L = vm.state();
  luna::JitOptions o = luna::JitOptions::stress();
  o.verbose = verbose;
  if (stress) luna::jit_set_options(L, o);
  else luna::jit_set_enabled(L, false);
  vm.eval(kPrelude, "=prelude");
  std::string err;
  try {
    vm.eval(source, name);
  } catch (const luna::LuaError& e) {
    err = std::string("\nerror: ") + e.what();
  }
  if (stats != nullptr) *stats = luna::jit_stats(L);
  return vm.eval("return __output()")[0].as_string() + err;
}

// ---- the generator ----
class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  std::string program() {
    out_.str("");
    out_ << "local a, b, c, d = " << int_lit() << ", " << num_lit() << ", " << int_lit() << ", " << num_lit() << "\n";
    out_ << "local t = {";
    for (int i = 0; i < 8; i++) out_ << (i ? ", " : "") << (pick(2) ? int_lit() : num_lit());
    out_ << "}\nlocal s = {x = " << int_lit() << ", y = " << num_lit() << "}\n";
    out_ << "G1, G2 = " << int_lit() << ", " << num_lit() << "\n";
    out_ << "local up = " << int_lit() << "\n";
    functions();
    objects();
    // Half the programs stay numeric, so loops the JIT compiles whole stay
    // as common as loops that reach what it does not record yet.
    use_objects_ = pick(2) == 0;
    out_ << "local function f()\n";
    int loops = 1 + pick(3);
    for (int i = 0; i < loops; i++) loop(1);
    out_ << "end\nf()\nprint(a, b, c, d, up, G1, G2, s.x, s.y, #t)\n";
    out_ << "print(str, obj.v, rawget(obj, 'w'), #list, list[#list], cnt(0), fmt_all())\n";
    out_ << "for i = 1, #t do print(t[i]) end\n";
    out_ << "for k = 0, 8 do print(bag['k' .. k], sink['s' .. k % 4]) end\n";
    out_ << "for k = 0, 22 do print(bag[k]) end\n";
    return out_.str();
  }

 private:
  // Small functions the loops call (inlined into their traces): missing
  // arguments, branches and early returns inside the callee (exits in an
  // inlined frame), one or two results, calls of the functions before it.
  void functions() {
    nfun_ = 0;
    int n = pick(4);
    for (int k = 0; k < n; k++) {
      int np = 1 + pick(3);
      std::vector<std::string> params;
      for (int p = 0; p < np; p++) params.push_back("p" + std::to_string(p));
      out_ << "local function h" << k << "(";
      for (int p = 0; p < np; p++) out_ << (p ? ", " : "") << params[static_cast<size_t>(p)];
      out_ << ")\n";
      for (const std::string& p : params)
        if (pick(2)) out_ << "  " << p << " = " << p << " or " << int_lit() << "\n";
      std::vector<std::string> saved = std::move(depth_vars_);
      depth_vars_ = params;
      int stmts = pick(3);
      for (int s = 0; s < stmts; s++) {
        const std::string& p = params[static_cast<size_t>(pick(np))];
        if (pick(2)) out_ << "  if " << p << " ~= " << p << " or " << p << " " << (pick(2) ? "<" : ">") << " " << int_lit() << " then return " << expr(1) << " end\n";
        else out_ << "  " << p << " = " << expr(1) << "\n";
      }
      if (k > 0 && pick(3) == 0) out_ << "  return " << call_expr(1) << "\n";  // a tail call
      else out_ << "  return " << expr(1) << (pick(3) == 0 ? ", " + expr(2) : "") << "\n";
      out_ << "end\n";
      depth_vars_ = std::move(saved);
      nfun_ = k + 1;  // callable from the next function on, never itself
    }
  }
  // What the loops use beyond numbers: an object of a class with methods
  // found through a two-level __index chain, a proxy whose __index is a
  // function, a table with __call and arithmetic/comparison metamethods, a
  // closure factory and a counter in an upvalue, varargs, bounded
  // recursion, a string and a list grown and shrunk at its end, a bag of
  // string and integer keys added in loops and a table whose __newindex
  // stores with rawset.
  void objects() {
    out_ << "local Base = {}\nBase.__index = Base\n"
            "function Base:get() return self.v end\n"
            "function Base:set(v) self.v = v return self end\n"
            "local Cls = setmetatable({}, Base)\nCls.__index = Cls\n"
            "function Cls:add(d) self.v = self.v + d return self.v end\n"
            "local obj = setmetatable({v = " << int_lit() << "}, Cls)\n"
            "local prox = setmetatable({}, {__index = function(_, k) return k * " << int_lit() << " end})\n"
            "local Vec = {}\n"
            "Vec.__add = function(x, y) return (type(x) == 'table' and x.n or x) + (type(y) == 'table' and y.n or y) end\n"
            "Vec.__lt = function(x, y) return x.n < y.n end\n"
            "Vec.__eq = function(x, y) return x.n == y.n end\n"
            "Vec.__len = function(x) return x.n end\n"
            "Vec.__call = function(self, v) return self.n + (v or 0) end\n"
            "local vec = setmetatable({n = " << int_lit() << "}, Vec)\n"
            "local function mk(k) return function(v) return v + k end end\n"
            "local add_k = mk(" << num_lit() << ")\n"
            "local cnt do local n = 0 cnt = function(d) n = n + d return n end end\n"
            "local function nargs(...) return select('#', ...), ... end\n"
            "local function rec(n) if n <= 0 then return 0 end return n + rec(n - 1) end\n"
            "local str, list = " << (pick(2) ? "'ab'" : "''") << ", {}\n"
            "local function fmt_all() return string.format('%d %s', #str, tostring(list[1])) end\n"
            "local bag = {}\n"
            "local sink = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v .. '') end})\n";
  }
  // A call; its last argument is sometimes a call passing all its results.
  std::string call_expr(int depth) {
    std::string c = "h" + std::to_string(pick(nfun_)) + "(";
    int nargs = pick(4);
    for (int i = 0; i < nargs; i++) c += (i ? ", " : "") + expr(depth + 1);
    if (depth < 2 && pick(4) == 0) c += (nargs ? ", " : "") + call_expr(depth + 1);
    return c + ")";
  }

  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  std::string int_lit() {
    static const char* const special[] = {"0", "1", "-1", "math.maxinteger", "math.mininteger", "3", "-7", "1000000007"};
    if (pick(4) == 0) return special[pick(8)];
    return std::to_string(pick(200) - 100);
  }
  std::string num_lit() {
    static const char* const special[] = {"0.0", "-0.0", "0.5", "1e308", "-2.5", "(0/0)", "math.huge", "3.0"};
    if (pick(4) == 0) return special[pick(8)];
    return std::to_string(pick(2000) - 1000) + "." + std::to_string(pick(100)) ;
  }
  std::string var() {
    static const char* const vars[] = {"a", "b", "c", "d", "up", "G1", "G2", "s.x", "s.y"};
    return vars[pick(9)];
  }
  std::string int_var() {
    static const char* const vars[] = {"a", "c", "up", "G1", "s.x"};
    return pick(3) == 0 ? loopvar_int() : vars[pick(5)];
  }
  std::string index() { return "t[(" + loopvar_int() + ") % #t + 1]"; }
  std::string loopvar_int() { return depth_vars_.empty() ? "1" : depth_vars_[static_cast<size_t>(pick(static_cast<int>(depth_vars_.size())))]; }
  std::string expr(int depth) {
    if (nfun_ > 0 && depth < 3 && pick(6) == 0) return call_expr(depth);
    if (depth < 3 && pick(12) == 0) {
      static const char* const fns[] = {"math.abs(", "math.sqrt(", "math.floor(", "math.ceil("};
      return std::string(fns[pick(4)]) + expr(depth + 1) + ")";
    }
    if (use_objects_ && depth < 3 && pick(8) == 0) return object_expr(depth);
    if (depth > 2 || pick(3) == 0) {
      switch (pick(6)) {
        case 0: return int_lit();
        case 1: return num_lit();
        case 2: return index();
        case 3: return loopvar_int();
        default: return var();
      }
    }
    static const char* const ops[] = {"+", "-", "*", "/", "//", "%", "&", "|", "~", "<<", ">>", "^"};
    int op = pick(12);
    std::string l = expr(depth + 1), r = expr(depth + 1);
    if (op >= 6 && op <= 10) {
      // Bitwise operands: integers mostly (a float without an integer
      // value raises, in both modes alike, and ends the program early).
      if (pick(4) != 0) l = "(" + int_var() + ")";
      r = pick(2) ? int_lit() : "(" + loopvar_int() + " % 70)";
    }
    if (pick(8) == 0) return "-(" + l + ")";
    if (pick(10) == 0) return "#t + " + l;
    return "(" + l + " " + ops[op] + " " + r + ")";
  }
  // An expression through a call, a metamethod, a closure, a table or a
  // string function.
  std::string object_expr(int depth) {
    std::string v = loopvar_int();
    switch (pick(23)) {
      case 0: return "obj:get()";
      case 1: return "obj:add(" + int_lit() + ")";
      case 2: return "prox[" + v + "]";
      case 3: return "(vec + " + expr(depth + 1) + ")";
      case 4: return "#vec";
      case 5: return "vec(" + v + ")";
      case 6: return "add_k(" + expr(depth + 1) + ")";
      case 7: return "cnt(1)";
      case 8: return "nargs(" + v + ", nil, " + expr(depth + 1) + ")";
      case 9: return "select(-1, " + v + ", " + expr(depth + 1) + ")";
      case 10: return "rec(" + v + " % 8)";
      case 11: return "#str";
      case 12: return "(str:byte(" + v + " % (#str + 1)) or -1)";
      case 13: return "math." + std::string(pick(2) ? "max(" : "min(") + expr(depth + 1) + ", " + v + ", " + num_lit() + ")";
      case 14: return "math.fmod(" + expr(depth + 1) + ", " + std::to_string(pick(9) + 1) + (pick(2) ? ".5" : "") + ")";
      case 15: return "({" + v + ", " + expr(depth + 1) + "})[" + std::to_string(pick(2) + 1) + "]";
      case 16: return "(tonumber(tostring(" + expr(depth + 1) + ")) or 0)";
      // Native calls the traces stitch around.
      case 17: return "#string.format('%d:%s|%5.1f', " + v + ", str, " + v + " / 3)";
      case 18: return "((str .. " + v + "):find('" + std::to_string(pick(10)) + "', 1, true) or 0)";
      case 19: return "select(2, (str .. " + v + "):gsub('%d', 'n'))";
      // Called from the trace (record_native.cpp), the last one raising
      // now and then (a table in the list).
      case 20: return "(tonumber((str .. " + v + "):match('%d+$')) or 0)";
      case 21: return "#table.concat({" + v + ", str, " + v + " % 5 == 4 and {} or 'x'}, ',')";
      default: return "(vec < setmetatable({n = " + v + "}, Vec) and 1 or 0)";
    }
  }
  // A statement on the objects.
  void object_stmt(const std::string& ind) {
    std::string v = loopvar_int();
    switch (pick(19)) {
      case 0: out_ << ind << "obj:set(" << expr(1) << ")\n"; break;
      case 1: out_ << ind << "obj.w = " << v << "\n"; break;
      case 2: out_ << ind << "str = str .. " << (pick(2) ? v : expr(1)) << " .. ','\n" << ind << "if #str > 40 then str = str:sub(-20) end\n"; break;
      case 3: out_ << ind << "str = string.char(97 + " << v << " % 26) .. str:sub(1, 10) .. string.rep('x', " << v << " % 3)\n"; break;
      case 4: out_ << ind << "table.insert(list, " << expr(1) << ")\n" << ind << "if #list > 5 then table.remove(list) end\n"; break;
      case 5: out_ << ind << "for k, e in ipairs(t) do " << var() << " = " << var() << " + e * k end\n"; break;
      case 6: out_ << ind << "do local cl = function() return " << v << " + " << var() << " end " << var() << " = cl() end\n"; break;
      case 7: out_ << ind << "vec = setmetatable({n = " << expr(1) << "}, Vec)\n"; break;
      case 10: out_ << ind << "bag['k' .. " << v << " % 9] = " << expr(1) << "\n"; break;
      case 11: out_ << ind << "bag[" << v << " * 7 % 23] = " << expr(1) << "\n" << ind << "sink['s' .. " << v << " % 4] = " << v << "\n"; break;
      case 12: out_ << ind << "do local o = setmetatable({v = " << expr(1) << "}, Cls) o.w = " << v << " " << var() << " = o:get() + o:add(1) + o.w end\n"; break;
      case 13: out_ << ind << "do local acc = " << v << " local inc = function(d) acc = acc + d return acc end inc(1) " << var() << " = inc(2) + acc end\n"; break;
      case 8: out_ << ind << "do local ok, e = pcall(function(x) if x % 3 == 0 then error('e' .. x) end return x end, " << v << ") "
                  << "if ok then " << var() << " = e else str = e end end\n"; break;
      // The hash order of pairs differs between states (a seeded hash):
      // only integer sums, whatever the order.
      case 9: out_ << ind << "for k, e in pairs(s) do cnt(#k + (e == e and " << v << " % 5 or 7)) end\n"; break;
      case 14: out_ << ind << "for k, e in next, t do " << var() << " = " << var() << " - e * k end\n"; break;
      case 15: out_ << ind << "do local ok, e = pcall(string.rep, " << v << " % 2 == 0 and 'x' or nil, 2) str = ok and str .. e or e end\n"
                    << ind << "if #str > 40 then str = str:sub(-20) end\n"; break;
      // Coroutines, which traces call (record_native.cpp: coroutine_native):
      // a generator, a body that allocates and now and then raises, a
      // generator called twice.
      case 16:
        switch (pick(3)) {
          case 0: out_ << ind << "do local g = coroutine.wrap(function(n) for j = 1, n do coroutine.yield(#string.format('%d', j)) end end) "
                       << var() << " = " << var() << " + g(" << v << " % 4 + 1) end\n"; break;
          case 1: out_ << ind << "do local co = coroutine.create(function(a) local p = {a, string.rep('z', a % 40)} "
                       << "if a % 7 == 6 then error('c' .. a) end return #p[2] + p[1] end) local ok, e = coroutine.resume(co, " << v
                       << ") if ok then " << var() << " = " << var() << " + e else str = e end end\n"; break;
          default: out_ << ind << "do local g = coroutine.wrap(function(a) local b = coroutine.yield(a * 2) return a + b end) "
                        << var() << " = " << var() << " + g(" << v << ") + g(" << expr(1) << ") end\n"; break;
        }
        break;
      // A generic for over gmatch's iterator with a tiny body (a
      // continuation stitching at the call it continues).
      case 17: out_ << ind << "for w in (str .. " << v << "):gmatch('%d') do " << var() << " = " << var() << " + #w end\n"; break;
      default: out_ << ind << "do local p = {" << v << ", x = " << expr(1) << ", {" << v << "}} " << var() << " = p[1] + p.x + p[2][1] + #p end\n"; break;
    }
  }
  std::string cond() {
    static const char* const rel[] = {"<", "<=", ">", ">=", "==", "~="};
    std::string l = pick(2) ? var() : loopvar_int();
    std::string r = pick(2) ? int_lit() : num_lit();
    if (pick(3) == 0) r = var();
    return l + " " + rel[pick(6)] + " " + r;
  }
  void stmt(int depth) {
    std::string ind(static_cast<size_t>(depth * 2), ' ');
    switch (pick(9)) {
      case 7: case 8:
        if (use_objects_) object_stmt(ind);
        else out_ << ind << var() << " = " << expr(0) << "\n";
        break;
      case 0: case 1: out_ << ind << var() << " = " << expr(0) << "\n"; break;
      case 2: out_ << ind << index() << " = " << expr(0) << "\n"; break;
      case 3: out_ << ind << "if " << cond() << " then " << var() << " = " << expr(1) << " else " << var() << " = " << expr(1) << " end\n"; break;
      case 4: if (depth < 3) loop(depth + 1); else out_ << ind << "up = up + 1\n"; break;
      case 5:
        if (nfun_ > 0 && pick(2)) out_ << ind << var() << ", " << var() << " = " << call_expr(1) << "\n";
        else out_ << ind << "if a ~= a or b ~= b then a = 0 b = 0.0 end\n";
        break;
      default: out_ << ind << var() << " = " << var() << " + " << (pick(2) ? int_lit() : num_lit()) << "\n"; break;
    }
  }
  void body(int depth) {
    int n = 1 + pick(4);
    for (int i = 0; i < n; i++) stmt(depth);
  }
  void loop(int depth) {
    std::string ind(static_cast<size_t>(depth * 2), ' ');
    std::string v = "i" + std::to_string(nvar_++);
    switch (pick(5)) {
      case 0: case 1:
        out_ << ind << "for " << v << " = " << pick(5) - 2 << ", " << pick(30) << (pick(3) == 0 ? ", " + std::to_string(pick(3) + 1) : "") << " do\n";
        break;
      case 2:
        out_ << ind << "for " << v << " = " << pick(30) << ", " << pick(5) << ", -" << pick(3) + 1 << " do\n";
        break;
      case 3:
        out_ << ind << "local " << v << " = 0\n" << ind << "while " << v << " < " << pick(25) << " do\n" << ind << "  " << v << " = " << v << " + 1\n";
        break;
      default:
        out_ << ind << "local " << v << " = " << pick(20) << "\n" << ind << "repeat\n" << ind << "  " << v << " = " << v << " - 1\n";
        depth_vars_.push_back(v);
        body(depth + 1);
        depth_vars_.pop_back();
        out_ << ind << "until " << v << " <= 0\n";
        return;
    }
    depth_vars_.push_back(v);
    body(depth + 1);
    depth_vars_.pop_back();
    out_ << ind << "end\n";
  }

  std::mt19937 rng_;
  std::ostringstream out_;
  std::vector<std::string> depth_vars_;
  int nvar_ = 0;
  int nfun_ = 0;  // functions h0 .. h(nfun_-1) defined so far
  bool use_objects_ = false;  // whether loops use objects(), strings and closures
};

}  // namespace

int main(int argc, char** argv) {
  uint32_t seed = 1;
  int count = 300;
  double seconds = 40;
  bool show = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) seed = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    else if (a == "--count" && i + 1 < argc) count = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--show") show = true;
    else if (a == "--verbose") verbose = true;
    else files.push_back(a);
  }
  int failures = 0;
  luna::JitStats total{};
  auto check = [&](const std::string& src, const std::string& name) {
    std::string off = run(src, name, false, nullptr);
    luna::JitStats st{};
    std::string on = run(src, name, true, &st);
    total.traces_compiled += st.traces_compiled;
    total.traces_aborted += st.traces_aborted;
    total.exits_taken += st.exits_taken;
    if (show) std::printf("%s\n", on.c_str());
    if (off != on) {
      failures++;
      std::fprintf(stderr, "MISMATCH in %s\n--- program ---\n%s\n--- jit off ---\n%s\n--- jit stress ---\n%s\n", name.c_str(),
                   src.c_str(), off.c_str(), on.c_str());
    }
  };
  if (!files.empty()) {
    for (const std::string& f : files) {
      std::ifstream in(f);
      std::stringstream ss;
      ss << in.rdbuf();
      check(ss.str(), "@" + f);
    }
  } else {
    Gen gen(seed);
    auto start = std::chrono::steady_clock::now();
    int n = 0;
    for (; n < count && failures < 3; n++) {
      check(gen.program(), "=gen" + std::to_string(n));
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) break;
    }
    std::printf("%d programs (seed %u)\n", n, seed);
  }
  std::printf("traces compiled %llu, aborted %llu, exits %llu; %d mismatches\n",
              static_cast<unsigned long long>(total.traces_compiled), static_cast<unsigned long long>(total.traces_aborted),
              static_cast<unsigned long long>(total.exits_taken), failures);
  return failures == 0 ? 0 : 1;
}
