// Line input for the interactive prompt. When standard input is a terminal
// and luna was built with GNU readline, lines are edited in place, earlier
// entries come back with Up/Down and Tab completes Lua names; otherwise
// lines are read plainly, as from a pipe.
#pragma once

#include <string>

#include "luna/api.hpp"

namespace luna {

// True when standard input is a terminal: the prompt is then shown.
bool line_input_is_terminal();

// Reads one line without its newline, showing `prompt` on a terminal.
// Tab completion looks at the globals of L. False at end of input.
bool read_input_line(State* L, const std::string& prompt, std::string& line);

// Records a finished entry (possibly several lines) in the session history.
void remember_input(const std::string& entry);

}  // namespace luna
