// open_libs: loads every standard library (luaL_openlibs).
#include "luna/api.hpp"

namespace luna {

void open_libs(State* L) {
  static const Reg libs[] = {
      {"_G", open_base},     {"package", open_package}, {"coroutine", open_coroutine},
      {"table", open_table}, {"io", open_io},           {"os", open_os},
      {"string", open_string}, {"math", open_math},     {"utf8", open_utf8},
      {"debug", open_debug}, {"jit", open_jit},         {nullptr, nullptr},
  };
  // Each library goes into package.loaded and into a global of its name.
  for (const Reg* lib = libs; lib->func; lib++) {
    requiref(L, lib->name, lib->func, true);
    pop(L, 1);
  }
}

}  // namespace luna
