// Harness: the compiler on arbitrary source text. Whatever compiles must
// also dump and load back (stripped or not), since a chunk written by
// string.dump is valid by construction; nothing is executed.
#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  luna::State* L = luna_fuzz::open_sandbox();
  if (L == nullptr) return 0;
  const char* text = reinterpret_cast<const char*>(data);
  if (luna_fuzz::load(L, text, size, "=fuzz", "t") == luna::OK) {
    for (bool strip : {false, true}) {
      std::string chunk;
      if (luna::dump(L, luna_fuzz::string_writer, &chunk, strip) != 0)
        luna_fuzz::violated("dump failed", nullptr);
      if (luna::load_bufferx(L, chunk.data(), chunk.size(), "=dump", "b") != luna::OK)
        luna_fuzz::violated("own dump rejected", luna::to_string(L, -1));
      luna::pop(L, 1);
    }
  }
  luna::set_top(L, 0);
  luna_fuzz::check_usable(L);
  luna_fuzz::close_limited(L);
  return 0;
}
