// string.format with a format string the trace guards constant, every
// conversion of the kinds the library formats directly (format_item.hpp)
// and every argument of the type its conversion takes as it is: the format
// is parsed here, once, and the trace puts each conversion's text into the
// concatenation buffer by a helper given the parsed spec as a constant,
// then makes the one string, as a concatenation does. An NCALL of
// string.format (record_native.cpp) costs ~170 instructions of call
// machinery and parses the format again on every call.
//
// Everything the library could reject is decided here from the recorded
// values and guarded by their types, except what depends on a value the
// trace does not see: zeros in a string given to a %s with modifiers and
// the locale's decimal point. Such a helper spoils the buffer, the string is
// not made, and the trace leaves at the CALL, where the interpreter makes
// the call and raises the library's error.
#include <algorithm>
#include <cstring>
#include <vector>

#include "format_item.hpp"
#include "record.hpp"

namespace luna::jit {

namespace {

// A run of literal text in the format string.
struct Run {
  const char* p;
  size_t len;
};

enum class Put : uint8_t { Int, Num, Str, PlainStr, PlainInt, PlainNum };

struct Conversion {
  Put put;
  FormatSpec spec;
  int arg;                // its argument, 1 for the first after the format
  std::vector<Run> text;  // the literal text up to the next conversion
};

}  // namespace

bool Recorder::format(int a, int nargs, int c) {
  const TValue* args = base_ + a + 1;
  if (nargs < 1 || !args[0].is_string() || c > 2) return false;
  const String* fs = args[0].as_string();
  const char* p = fs->c_str();
  const char* end = p + fs->len;
  std::vector<Run> head;  // the literal text before the first conversion
  std::vector<Conversion> convs;
  bool has_s = false;
  size_t total = 0;
  char item[MAX_FORMAT_ITEM];
  while (p < end) {
    std::vector<Run>& text = convs.empty() ? head : convs.back().text;
    const char* lit = p;
    while (p < end && *p != '%') p++;
    if (p > lit) text.push_back({lit, static_cast<size_t>(p - lit)});
    total += static_cast<size_t>(p - lit);
    if (p == end) break;
    if (p[1] == '%') {  // the second '%' starts the next run
      p++;
      text.push_back({p++, 1});
      total++;
      continue;
    }
    Conversion cv{Put::Int, FormatSpec{}, static_cast<int>(convs.size()) + 1, {}};
    const char* next = format_parse_spec(p + 1, end, &cv.spec);
    if (next == nullptr || cv.arg >= nargs) return false;
    const TValue& v = args[cv.arg];
    if (cv.spec.conv == 's') {
      has_s = true;
      if (next - p > 2) {  // modifiers: only strings, padded or cut
        if (!v.is_string()) return false;
        const String* s = v.as_string();
        size_t shown = cv.spec.precision >= 0 ? std::min(s->len, static_cast<size_t>(cv.spec.precision)) : s->len;
        if (std::memchr(s->data, '\0', s->len) != nullptr) return false;
        cv.put = Put::Str;
        total += std::max<size_t>(shown, cv.spec.width);
      } else if (v.is_string()) {
        cv.put = Put::PlainStr;
        total += v.as_string()->len;
      } else if (v.is_number() && !(v.is_float() && dialect(L_).float_round_trip)) {
        cv.put = v.is_int() ? Put::PlainInt : Put::PlainNum;
        total += static_cast<size_t>(number_to_text(v, item));
      } else {
        return false;
      }
    } else if (cv.spec.is_float()) {
      if (!v.is_number() || !format_point_is_dot()) return false;
      cv.put = Put::Num;
      total += format_float_item(cv.spec, v.as_number(), item);
    } else {
      if (!v.is_int()) return false;
      total += format_integer_item(cv.spec, v.u.i, item);
    }
    convs.push_back(std::move(cv));
    p = next;
  }
  // The buffer's size (asm_x64.cpp's ConcatBuffer).
  if (total > 1024) return false;
  guard(IrOp::EQ, slot(a + 1), ir_.kgc(const_cast<String*>(fs), args[0].tag));
  if (has_s && !guard_tostring_plain()) return false;
  // Every argument is loaded (its type guarded) before the first text goes
  // into the buffer: an exit in between would leave that text there.
  std::vector<Ref> vals;
  for (const Conversion& cv : convs) {
    Ref r = slot(a + 1 + cv.arg);
    vals.push_back(cv.put == Put::Num ? to_num(r) : r);
  }
  auto put_runs = [&](const std::vector<Run>& runs) {
    for (const Run& r : runs) helper(Helper::BufPutLit, IrType::Void, ir_.kptr(r.p), ir_.kint(static_cast<Integer>(r.len)));
  };
  put_runs(head);
  for (size_t k = 0; k < convs.size(); k++) {
    const Conversion& cv = convs[k];
    Ref v = vals[k];
    // A literal of up to two bytes after a conversion goes with it.
    size_t tlen = 0;
    char suffix[2];
    for (const Run& r : cv.text) {
      for (size_t j = 0; j < r.len && tlen + j < 2; j++) suffix[tlen + j] = r.p[j];
      tlen += r.len;
    }
    bool with_text = tlen <= 2 && (cv.put == Put::Int || cv.put == Put::Num || cv.put == Put::Str);
    auto word = static_cast<Integer>(format_word(cv.spec, suffix, with_text ? tlen : 0));
    switch (cv.put) {
      case Put::Int: helper(Helper::BufFmtInt, IrType::Void, v, ir_.kint(word)); break;
      case Put::Num: helper(Helper::BufFmtNum, IrType::Void, v, ir_.knum(static_cast<Number>(word))); break;
      case Put::Str: helper(Helper::BufFmtStr, IrType::Void, v, ir_.kint(word)); break;
      case Put::PlainStr: helper(Helper::BufPutStr, IrType::Void, v); break;
      case Put::PlainInt: helper(Helper::BufPutInt, IrType::Void, v); break;
      case Put::PlainNum: helper(Helper::BufPutNum, IrType::Void, v); break;
    }
    if (!with_text) put_runs(cv.text);
  }
  Tag expect = total <= MAX_SHORT_LEN ? Tag::ShortStr : Tag::LongStr;
  Ref s = helper(Helper::BufStr, IrType::Gc, NO_REF);
  ir_.at(s).tag = expect;
  IrIns made = ir_ins(IrOp::NE, IrType::Void, s, ir_.kptr(nullptr));
  made.aux8 = kGuardTransient;
  made.snap = slots_.snapshot(ir_, pc_);
  ir_.emit(made);
  guard_str_tag(s, expect);
  if (ir_.failed()) return false;
  slots_.set_top(-1);
  slots_.set(a, s);
  slots_.forget_from(slots_.base() + a + 1);
  return true;
}

}  // namespace luna::jit
