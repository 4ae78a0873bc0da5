#include "line_editor.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <unistd.h>

#ifdef LUNA_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>

#include "completion.hpp"
#endif

namespace luna {

bool line_input_is_terminal() { return isatty(STDIN_FILENO) != 0; }

namespace {

bool read_plain_line(const std::string& prompt, std::string& line) {
  if (line_input_is_terminal()) {
    std::fputs(prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  line.clear();
  char buf[4096];
  bool got = false;
  while (std::fgets(buf, sizeof buf, stdin)) {
    got = true;
    line += buf;
    if (line.back() == '\n') break;
  }
  if (!got) return false;
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return true;
}

#ifdef LUNA_HAVE_READLINE

State* completion_state = nullptr;
std::vector<std::string> completion_matches;

// readline asks for the matches one at a time, as malloc'd strings.
char* next_match(const char*, int state) {
  static size_t index;
  if (state == 0) index = 0;
  if (index >= completion_matches.size()) return nullptr;
  return strdup(completion_matches[index++].c_str());
}

char** complete(const char* text, int, int) {
  rl_attempted_completion_over = 1;  // no fallback to file names
  rl_completion_append_character = '\0';  // a name is usually followed by '(' or '.', not a space
  try {
    completion_matches = complete_lua_word(completion_state, text);
  } catch (...) {  // out of memory: no completion rather than unwinding through readline
    completion_matches.clear();
  }
  return completion_matches.empty() ? nullptr : rl_completion_matches(text, next_match);
}

void start_readline(State* L) {
  completion_state = L;
  static bool started = false;
  if (started) return;
  started = true;
  rl_readline_name = "luna";  // for `$if luna` in ~/.inputrc
  // Everything that cannot be part of a dotted name or a method call ends
  // the word to complete, so "print(string.fo" completes "string.fo".
  rl_completer_word_break_characters = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^#~";
  rl_attempted_completion_function = complete;
  using_history();
}

#endif

}  // namespace

bool read_input_line([[maybe_unused]] State* L, const std::string& prompt, std::string& line) {
#ifdef LUNA_HAVE_READLINE
  if (line_input_is_terminal()) {
    start_readline(L);
    std::fflush(stdout);  // earlier output must appear before the prompt
    char* got = readline(prompt.c_str());
    if (got == nullptr) return false;
    line = got;
    std::free(got);
    return true;
  }
#endif
  return read_plain_line(prompt, line);
}

void remember_input([[maybe_unused]] const std::string& entry) {
#ifdef LUNA_HAVE_READLINE
  if (line_input_is_terminal() && !entry.empty()) add_history(entry.c_str());
#endif
}

}  // namespace luna
