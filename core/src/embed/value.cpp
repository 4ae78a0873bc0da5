// luna::Value: accessors and the table operations that go through the VM.
#include <cmath>
#include <cstdio>

#include "embed/core.hpp"
#include "luna/value.hpp"

namespace luna {

namespace {

[[noreturn]] void mismatch(const char* wanted, const Value& v) {
  throw LuaError(std::string(wanted) + " expected, got " + v.type_name());
}

}  // namespace

const char* Value::type_name() const noexcept {
  switch (type_) {
    case Type::nil: return "nil";
    case Type::boolean: return "boolean";
    case Type::light_userdata: return "userdata";
    case Type::number: return "number";
    case Type::string: return "string";
    case Type::table: return "table";
    case Type::function: return "function";
    case Type::userdata: return "userdata";
    case Type::thread: return "thread";
  }
  return "?";
}

bool Value::as_boolean() const {
  if (!is_boolean()) mismatch("boolean", *this);
  return u_.b;
}

int64_t Value::as_integer() const {
  if (is_integer()) return u_.i;
  if (is_float()) {
    double f = std::floor(u_.n);
    // The float must be integral and inside [-2^63, 2^63).
    if (f == u_.n && f >= -9223372036854775808.0 && f < 9223372036854775808.0) return static_cast<int64_t>(f);
    throw LuaError("number has no integer representation");
  }
  mismatch("integer", *this);
}

double Value::as_number() const {
  if (is_integer()) return static_cast<double>(u_.i);
  if (is_float()) return u_.n;
  mismatch("number", *this);
}

const std::string& Value::as_string() const {
  if (!is_string()) mismatch("string", *this);
  return str_;
}

std::string Value::to_string() const {
  char buf[64];
  switch (type_) {
    case Type::nil: return "nil";
    case Type::boolean: return u_.b ? "true" : "false";
    case Type::number:
      if (int_) return std::to_string(u_.i);
      // Lua's "%.14g", plus ".0" when the result looks like an integer.
      std::snprintf(buf, sizeof buf, "%.14g", u_.n);
      if (std::string_view(buf).find_first_of(".eEni") == std::string_view::npos) return std::string(buf) + ".0";
      return buf;
    case Type::string: return str_;
    default:
      std::snprintf(buf, sizeof buf, "%s: %p", type_name(), ptr_);
      return buf;
  }
}

bool operator==(const Value& a, const Value& b) noexcept {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Value::Type::nil: return true;
    case Value::Type::boolean: return a.u_.b == b.u_.b;
    case Value::Type::number:
      if (a.int_ && b.int_) return a.u_.i == b.u_.i;
      return a.as_number() == b.as_number();
    case Value::Type::string: return a.str_ == b.str_;
    default: return a.ptr_ == b.ptr_;
  }
}

Value Value::raw_get(const Value& key) const {
  Value out;
  detail::protect(*detail::core_of(*this), [&](State* L) {
    detail::push(L, *this);
    check_type(L, -1, TTABLE);
    detail::push(L, key);
    luna::raw_get(L, -2);
    out = detail::to_value(L, -1);
  });
  return out;
}

void Value::raw_set(const Value& key, const Value& value) const {
  detail::protect(*detail::core_of(*this), [&](State* L) {
    detail::push(L, *this);
    check_type(L, -1, TTABLE);
    detail::push(L, key);
    detail::push(L, value);
    luna::raw_set(L, -3);
  });
}

int64_t Value::length() const {
  int64_t n = 0;
  detail::protect(*detail::core_of(*this), [&](State* L) {
    detail::push(L, *this);
    n = len_i(L, -1);
  });
  return n;
}

std::vector<std::pair<Value, Value>> Value::pairs() const {
  std::vector<std::pair<Value, Value>> out;
  detail::protect(*detail::core_of(*this), [&](State* L) {
    detail::push(L, *this);
    check_type(L, -1, TTABLE);
    int t = get_top(L);
    push_nil(L);
    while (next(L, t)) {
      out.emplace_back(detail::to_value(L, -2), detail::to_value(L, -1));
      pop(L, 1);
    }
  });
  return out;
}

}  // namespace luna
