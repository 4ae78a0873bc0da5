// Sandbox limits reachable from the public API (the embedding layer cannot
// see GlobalState): the instruction budget and the wall-clock limit.
//
// The VM counts one number down, g->instr_budget, on loop back-edges, calls
// and function entries; library functions charge it for work in proportion
// to their input or output. When it runs out, budget_checkpoint settles the
// accounts: the instruction budget is handed out in chunks (all of it when
// there is no time limit, else CLOCK_INTERVAL at a time so the clock is
// read every few thousand instructions), and the clock is read only there.
#include <chrono>

#include "jit_seam.hpp"
#include "luna/api.hpp"
#include "state.hpp"

namespace luna {

namespace {

// Ticks between two readings of the clock when a time limit is set: a
// reading costs some tens of nanoseconds, a tick about one.
constexpr uint64_t CLOCK_INTERVAL = 4096;

enum : uint8_t { SPENT_NONE = 0, SPENT_INSTRUCTIONS, SPENT_TIME };

// Loads the counter with the next chunk (0 turns counting off).
void refill(GlobalState* g) {
  uint64_t chunk = 0;
  if (g->instr_limited) chunk = g->budget_left;
  if (g->deadline_ns != 0 && (chunk == 0 || chunk > CLOCK_INTERVAL)) chunk = CLOCK_INTERVAL;
  if (g->instr_limited) g->budget_left -= chunk;
  g->instr_budget = g->budget_chunk = chunk;
  jit_budget_changed(g);
}

[[noreturn]] void raise_spent(State* L) {
  GlobalState* g = L->g;
  g->instr_budget = g->budget_chunk = 1;  // every further charge comes back here
  jit_budget_changed(g);
  run_error(L, g->budget_spent == SPENT_TIME ? "time limit exceeded" : "instruction budget exhausted");
}

}  // namespace

int64_t clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void set_instruction_budget(State* L, uint64_t instructions) {
  GlobalState* g = L->g;
  g->instr_limited = instructions != 0;
  g->budget_left = instructions;
  if (g->budget_spent == SPENT_INSTRUCTIONS) g->budget_spent = SPENT_NONE;
  if (g->budget_spent == SPENT_NONE) refill(g);
}

void set_time_budget(State* L, uint64_t milliseconds) {
  GlobalState* g = L->g;
  // What is left of the instruction budget goes back into the pool first.
  if (g->instr_limited && g->budget_spent == SPENT_NONE) g->budget_left += g->instr_budget;
  g->deadline_ns = milliseconds == 0 ? 0 : clock_ns() + static_cast<int64_t>(milliseconds) * 1000000;
  if (g->budget_spent == SPENT_TIME) g->budget_spent = SPENT_NONE;
  if (g->budget_spent == SPENT_NONE) refill(g);
}

void budget_checkpoint(State* L, uint64_t n) {
  GlobalState* g = L->g;
  if (g->budget_spent != SPENT_NONE) raise_spent(L);
  // This chunk is used up; the charge's excess comes out of the rest.
  uint64_t excess = n - g->instr_budget;
  if (g->instr_limited) {
    if (g->budget_left <= excess) {
      g->budget_spent = SPENT_INSTRUCTIONS;
      raise_spent(L);
    }
    g->budget_left -= excess;
  }
  if (g->deadline_ns != 0 && clock_ns() >= g->deadline_ns) {
    g->budget_spent = SPENT_TIME;
    raise_spent(L);
  }
  refill(g);
}

void charge_instruction_budget(State* L, uint64_t n) {
  uint64_t& b = L->g->instr_budget;
  if (b == 0) return;
  if (b <= n)
    budget_checkpoint(L, n);
  else
    b -= n;
}

}  // namespace luna
