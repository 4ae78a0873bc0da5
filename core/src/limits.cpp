// Sandbox limits reachable from the public API (the embedding layer cannot
// see GlobalState).
#include "luna/api.hpp"
#include "state.hpp"

namespace luna {

void set_instruction_budget(State* L, uint64_t instructions) { L->g->instr_budget = instructions; }

// Once the budget is spent every further charge fails too, so a script
// cannot outlive its budget by catching the error.
void budget_exhausted(State* L) {
  L->g->instr_budget = 1;
  run_error(L, "instruction budget exhausted");
}

void charge_instruction_budget(State* L, uint64_t n) {
  uint64_t& b = L->g->instr_budget;
  if (b == 0) return;
  if (b <= n) budget_exhausted(L);
  b -= n;
}

}  // namespace luna
