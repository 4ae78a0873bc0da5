// Which Lua language version a luna VM speaks. Only Lua 5.4 exists today; the
// enum leaves room for hosts to select (or check) a dialect later.
#pragma once

namespace luna {

enum class LuaVersion { Lua54 };

inline constexpr const char* version_name(LuaVersion v) {
  switch (v) {
    case LuaVersion::Lua54: return "Lua 5.4";
  }
  return "unknown";
}

}  // namespace luna
