// luna::LuaError: every failure the embedding API reports. what() is the Lua
// message (e.g. "eval:1: boom"); traceback() the stack at the error point,
// when known; value() the raw error value (any Lua value, e.g. a table
// passed to error()).
#pragma once

#include <stdexcept>
#include <string>

#include "luna/value.hpp"

namespace luna {

class LuaError : public std::runtime_error {
 public:
  // status is one of the api.hpp codes (ERRRUN, ERRSYNTAX, ERRMEM, ...).
  explicit LuaError(const std::string& message, int status = 2, std::string traceback = {}, Value value = {})
      : std::runtime_error(message), status_(status), traceback_(std::move(traceback)), value_(std::move(value)) {}

  int status() const noexcept { return status_; }
  bool is_memory_error() const noexcept { return status_ == 4; }
  bool is_syntax_error() const noexcept { return status_ == 3; }
  const std::string& traceback() const noexcept { return traceback_; }
  const Value& value() const noexcept { return value_; }

 private:
  int status_;
  std::string traceback_;
  Value value_;
};

}  // namespace luna
