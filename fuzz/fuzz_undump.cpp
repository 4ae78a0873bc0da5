// Harness: load of binary chunks. The first input byte picks the mode:
//  - even: the rest is a binary chunk, loaded as is;
//  - odd: the rest is source text. It is compiled and dumped (stripped when
//    bit 1 is set); the genuine dump must load. Then copies of it with
//    (byte0 >> 2) % 8 + 1 bytes changed at positions drawn from a generator
//    seeded by the input are loaded.
// Whatever the loader accepts is run under the sandbox limits: the loader
// promises that an accepted chunk cannot make the VM misbehave.
#include "harness.hpp"

namespace {

void load_and_run(luna::State* L, const std::string& chunk) {
  if (luna_fuzz::load(L, chunk.data(), chunk.size(), "=fuzz", "b") == luna::OK)
    luna_fuzz::run_limited(L);
  luna::set_top(L, 0);
}

// Small deterministic generator (xorshift64*), so a saved input replays the
// same flips.
struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  luna::State* L = luna_fuzz::open_sandbox();
  if (L == nullptr) return 0;
  uint8_t mode = data[0];
  const char* rest = reinterpret_cast<const char*>(data + 1);
  if ((mode & 1) == 0) {
    load_and_run(L, std::string(rest, size - 1));
  } else if (luna_fuzz::load(L, rest, size - 1, "=src", "t") == luna::OK) {
    std::string dump;
    if (luna::dump(L, luna_fuzz::string_writer, &dump, (mode & 2) != 0) != 0)
      luna_fuzz::violated("dump failed", nullptr);
    luna::set_top(L, 0);
    if (luna::load_bufferx(L, dump.data(), dump.size(), "=dump", "b") != luna::OK)
      luna_fuzz::violated("own dump rejected", luna::to_string(L, -1));
    luna::set_top(L, 0);
    Rng rng{0x9E3779B97F4A7C15ULL ^ size};
    for (size_t i = 0; i < size; i++) rng.s = (rng.s ^ data[i]) * 0x100000001B3ULL;
    if (rng.s == 0) rng.s = 1;
    int flips = (mode >> 2) % 8 + 1;
    for (int round = 0; round < 4; round++) {
      std::string bad = dump;
      for (int k = 0; k < flips; k++) {
        uint64_t r = rng.next();
        size_t pos = r % bad.size();
        // Mostly single-bit flips, sometimes a whole random byte.
        uint8_t mask = (r >> 32) & 1 ? static_cast<uint8_t>(1u << ((r >> 40) & 7)) : static_cast<uint8_t>(r >> 48);
        bad[pos] = static_cast<char>(bad[pos] ^ (mask ? mask : 0xFF));
      }
      load_and_run(L, bad);
    }
  }
  luna::set_top(L, 0);
  luna_fuzz::check_usable(L);
  luna::close_state(L);
  return 0;
}
