// Harness: string.format, the pattern functions and string.pack/unpack
// with arbitrary formats, patterns, subjects and arguments.
//
// Input layout: byte 0 picks the function, byte 1 is a small signed number
// (init / position / count), byte 2 holds flags; the rest is split at 0xFF
// bytes into fields. Field 0 is the format or subject, field 1 the pattern
// or data; further fields are extra arguments whose first byte gives their
// type: 'i' integer (up to 8 little-endian bytes follow), 'f' float from
// 8 raw bytes (NaNs, infinities, subnormals), 'n' float parsed from text,
// 'b' boolean, 'N' nil, 't' table, 's' the string after it; anything else
// is a string (the whole field).
#include "harness.hpp"

#include <cstring>
#include <vector>

namespace {

using Field = std::string;

std::vector<Field> split(const uint8_t* p, size_t n) {
  std::vector<Field> out(1);
  for (size_t i = 0; i < n; i++) {
    if (p[i] == 0xFF) out.emplace_back();
    else out.back().push_back(static_cast<char>(p[i]));
  }
  return out;
}

uint64_t le_bytes(const Field& f, size_t from) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8 && from + i < f.size(); i++)
    x |= static_cast<uint64_t>(static_cast<uint8_t>(f[from + i])) << (8 * i);
  return x;
}

void push_arg(luna::State* L, const Field& f) {
  char t = f.empty() ? '\0' : f[0];
  switch (t) {
    case 'i': luna::push_integer(L, static_cast<luna::Integer>(le_bytes(f, 1))); break;
    case 'f': {
      uint64_t bits = le_bytes(f, 1);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      luna::push_number(L, d);
      break;
    }
    case 'n': luna::push_number(L, std::strtod(f.c_str() + 1, nullptr)); break;
    case 'b': luna::push_boolean(L, f.size() > 1 && f[1] != '0'); break;
    case 'N': luna::push_nil(L); break;
    case 't': luna::new_table(L); break;
    case 's': luna::push_lstring(L, f.data() + 1, f.size() - 1); break;
    default: luna::push_lstring(L, f.data(), f.size()); break;
  }
}

const Field& field(const std::vector<Field>& fs, size_t i) {
  static const Field empty;
  return i < fs.size() ? fs[i] : empty;
}

// gsub replacement function: returns its first capture when the flags ask
// for it, else false (keep the match).
int repl_fn(luna::State* L) {
  if (luna::to_boolean(L, luna::upvalue_index(1))) {
    luna::push_value(L, 1);
    return 1;
  }
  luna::push_boolean(L, false);
  return 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  static const char* const funcs[] = {"format", "find", "match", "gmatch", "gsub",
                                      "pack",   "unpack", "packsize", "rep"};
  constexpr int nfuncs = sizeof funcs / sizeof funcs[0];
  int which = data[0] % nfuncs;
  int num = static_cast<int8_t>(data[1]);
  uint8_t flags = data[2];
  std::vector<Field> fs = split(data + 3, size - 3);

  luna::State* L = luna_fuzz::open_sandbox();
  if (L == nullptr) return 0;
  // Pathological patterns backtrack exponentially; the budget stops them.
  luna::set_instruction_budget(L, luna_fuzz::INSTRUCTION_BUDGET);
  luna::get_global(L, "string");
  luna::get_field(L, -1, funcs[which]);
  luna::remove(L, -2);
  int nargs = 0;
  auto push_str = [&](const Field& f) { luna::push_lstring(L, f.data(), f.size()); nargs++; };
  switch (which) {
    case 0: case 5:  // format / pack: fmt, args...
      push_str(field(fs, 0));
      for (size_t i = 1; i < fs.size() && i < 40; i++, nargs++) push_arg(L, fs[i]);
      break;
    case 1: case 2: case 3:  // find / match / gmatch: s, pattern, init [, plain]
      push_str(field(fs, 0));
      push_str(field(fs, 1));
      luna::push_integer(L, num);
      nargs++;
      if (which == 1) { luna::push_boolean(L, flags & 1); nargs++; }
      break;
    case 4: {  // gsub: s, pattern, repl [, n]
      push_str(field(fs, 0));
      push_str(field(fs, 1));
      switch (flags % 3) {
        case 0: push_str(field(fs, 2)); break;
        case 1:  // a table keyed by some captures
          luna::new_table(L);
          for (size_t i = 2; i + 1 < fs.size(); i += 2) {
            luna::push_lstring(L, fs[i].data(), fs[i].size());
            push_arg(L, fs[i + 1]);
            luna::set_table(L, -3);
          }
          nargs++;
          break;
        default:
          luna::push_boolean(L, flags & 4);
          luna::push_native_closure(L, repl_fn, 1);
          nargs++;
          break;
      }
      if (flags & 8) { luna::push_integer(L, num); nargs++; }
      break;
    }
    case 6:  // unpack: fmt, data, pos
      push_str(field(fs, 0));
      push_str(field(fs, 1));
      luna::push_integer(L, num == 0 ? 1 : num);
      nargs++;
      break;
    case 7:  // packsize: fmt
      push_str(field(fs, 0));
      break;
    default:  // rep: s, n, sep (n scaled up to reach the size limits)
      push_str(field(fs, 0));
      luna::push_integer(L, static_cast<luna::Integer>(num) << (flags % 48));
      nargs++;
      push_str(field(fs, 1));
      break;
  }
  if (which == 3) {
    // gmatch returns an iterator: drive it for a bounded number of steps.
    if (luna::pcall(L, nargs, 1, 0) == luna::OK) {
      for (int step = 0; step < 1000; step++) {
        luna::push_value(L, -1);
        int status = luna::pcall(L, 0, 1, 0);
        if (status != luna::OK || luna::is_nil(L, -1)) {
          luna_fuzz::note(L, funcs[which], status);
          break;
        }
        luna::pop(L, 1);
      }
    }
  } else {
    luna_fuzz::note(L, funcs[which], luna::pcall(L, nargs, luna::MULTRET, 0));
  }
  luna::set_top(L, 0);
  luna::set_instruction_budget(L, 0);
  luna_fuzz::check_usable(L);
  luna_fuzz::close_limited(L);
  return 0;
}
