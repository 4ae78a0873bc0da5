// Tab completion for the interactive prompt: what a Lua name being typed
// can complete to, found without running any Lua code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "luna/api.hpp"

namespace luna {

// The full words `word` can complete to, sorted and without repeats:
//   "re"         -> global names and keywords ("require", "repeat", "return")
//   "string.fo"  -> fields of the value `string` names ("string.format")
//   "s:up"       -> functions reachable from the value of `s` ("s:upper")
// The dotted path is walked with raw gets; a metatable's __index is followed
// only when it is a table, so no function or metamethod runs. Never raises.
std::vector<std::string> complete_lua_word(State* L, std::string_view word);

}  // namespace luna
