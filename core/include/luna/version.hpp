// Which Lua language version a luna VM speaks. A host picks one when it makes
// the VM (luna::Vm(LuaVersion::Lua53), set_version on a bare State); 5.4 is
// the default. What differs between them is listed in core/src/dialect.hpp
// and docs/dialects.md.
#pragma once

namespace luna {

// The values are the version numbers (53 = Lua 5.3), so a value read back
// from a binary chunk header or a command line maps onto them directly.
enum class LuaVersion { Lua53 = 53, Lua54 = 54, Lua55 = 55 };

inline constexpr LuaVersion default_version = LuaVersion::Lua54;

inline constexpr const char* version_name(LuaVersion v) {
  switch (v) {
    case LuaVersion::Lua53: return "Lua 5.3";
    case LuaVersion::Lua54: return "Lua 5.4";
    case LuaVersion::Lua55: return "Lua 5.5";
  }
  return "unknown";
}

inline constexpr bool is_known_version(LuaVersion v) {
  return v == LuaVersion::Lua53 || v == LuaVersion::Lua54 || v == LuaVersion::Lua55;
}

}  // namespace luna
