#include "completion.hpp"

#include <algorithm>
#include <set>

namespace luna {

namespace {

constexpr const char* keywords[] = {"and",   "break", "do",       "else", "elseif", "end",
                                    "false", "for",   "function", "goto", "if",     "in",
                                    "local", "nil",   "not",      "or",   "repeat", "return",
                                    "then",  "true",  "until",    "while"};

// Bounds the walk up __index tables, which may form a cycle.
constexpr int max_index_chain = 32;

bool is_keyword(std::string_view s) {
  return std::any_of(std::begin(keywords), std::end(keywords),
                     [&](const char* k) { return s == k; });
}

bool is_identifier(std::string_view s) {
  if (s.empty() || is_keyword(s)) return false;
  auto alpha = [](unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](unsigned char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

// Replaces the value on top with the table its metatable's __index names,
// returning false (and popping it) when there is no such table.
bool step_to_index_table(State* L) {
  if (!get_metatable(L, -1)) {
    pop(L, 1);
    return false;
  }
  push_string(L, "__index");
  raw_get(L, -2);
  remove(L, -2);  // the metatable
  remove(L, -2);  // the value
  if (type(L, -1) == TTABLE) return true;
  pop(L, 1);
  return false;
}

// Replaces the value on top with its field `key` as Lua would read it when
// every __index is a table; false (value popped) when the field is absent.
bool raw_field(State* L, const std::string& key) {
  for (int depth = 0; depth < max_index_chain; depth++) {
    if (type(L, -1) == TTABLE) {
      push_lstring(L, key.data(), key.size());
      if (raw_get(L, -2) != TNIL) {
        remove(L, -2);
        return true;
      }
      pop(L, 1);
    }
    if (!step_to_index_table(L)) return false;
  }
  pop(L, 1);
  return false;
}

struct Request {
  std::string_view word;
  std::set<std::string>* out;
};

// Adds the string keys of the value on top (and of its __index tables) that
// start with `partial`, each prefixed with `head`; pops the value.
void collect_keys(State* L, const std::string& head, std::string_view partial, bool functions_only,
                  std::set<std::string>& out) {
  for (int depth = 0; depth < max_index_chain; depth++) {
    if (type(L, -1) == TTABLE) {
      push_nil(L);
      while (next(L, -2)) {
        if (type(L, -2) == TSTRING && (!functions_only || type(L, -1) == TFUNCTION)) {
          size_t len;
          const char* k = to_lstring(L, -2, &len);
          std::string_view key(k, len);
          if (key.substr(0, partial.size()) == partial && is_identifier(key)) out.insert(head + std::string(key));
        }
        pop(L, 1);
      }
    }
    if (!step_to_index_table(L)) return;
  }
  pop(L, 1);
}

int collect(State* L) {
  auto* req = static_cast<Request*>(to_userdata(L, 1));
  std::string_view word = req->word;
  size_t sep = word.find_last_of(".:");
  raw_get_i(L, REGISTRYINDEX, RIDX_GLOBALS);
  if (sep == std::string_view::npos) {
    for (const char* k : keywords)
      if (std::string_view(k).substr(0, word.size()) == word) req->out->insert(k);
    collect_keys(L, "", word, false, *req->out);
    return 0;
  }
  // Walk the path before the separator: names joined by '.' only.
  std::string_view path = word.substr(0, sep);
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    std::string name(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!is_identifier(name) || !raw_field(L, name)) return 0;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  collect_keys(L, std::string(word.substr(0, sep + 1)), word.substr(sep + 1), word[sep] == ':', *req->out);
  return 0;
}

}  // namespace

std::vector<std::string> complete_lua_word(State* L, std::string_view word) {
  std::set<std::string> found;
  Request req{word, &found};
  int top = get_top(L);
  // Protected: out of memory or stack while collecting is no completion,
  // never an error thrown into the line-editing library's C frames.
  if (check_stack(L, 8)) {
    push_native_function(L, collect);
    push_light_userdata(L, &req);
    if (pcall(L, 1, 0, 0) != OK) found.clear();
  }
  set_top(L, top);
  return {found.begin(), found.end()};
}

}  // namespace luna
