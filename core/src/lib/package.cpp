// The package library (manual 6.3): require and its searchers. Lua modules
// are found through package.path, C modules through package.cpath and
// loaded with dlopen; they bind to the C API (lua.h) that the luna command
// exports (capi/), as with PUC-Rio's lua.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "luna/api.hpp"
#include "../dialect.hpp"

namespace luna {
namespace {

constexpr const char* PATH_DEFAULT =
    "/usr/local/share/lua/5.4/?.lua;/usr/local/share/lua/5.4/?/init.lua;"
    "/usr/local/lib/lua/5.4/?.lua;/usr/local/lib/lua/5.4/?/init.lua;"
    "./?.lua;./?/init.lua";
constexpr const char* CPATH_DEFAULT =
    "/usr/local/lib/lua/5.4/?.so;/usr/local/lib/lua/5.4/loadall.so;./?.so";
constexpr char PATH_SEP = ';';
constexpr char PATH_MARK = '?';
constexpr const char* DIR_SEP = "/";
// In a C module's name, what precedes this mark is left out of its open
// function's name ("a-b" opens with luaopen_b when luaopen_a is missing).
constexpr char IGNORE_MARK = '-';
constexpr const char* OPEN_PREFIX = "luaopen_";

// Registry key of the table of loaded C libraries: path -> handle, and the
// handles in loading order at 1..n, closed in reverse order by its __gc.
const char CLIBS_KEY = 0;

// Failures of look_for_func, named as loadlib's third result.
enum { LIB_OK = 0, LIB_OPEN = 1, LIB_INIT = 2 };

int gc_clibs(State* L) {
  for (Integer n = len_i(L, 1); n >= 1; n--) {
    raw_get_i(L, 1, n);
    dlclose(to_userdata(L, -1));
    pop(L, 1);
  }
  return 0;
}

// The handle of an already loaded library path, or nullptr.
void* loaded_lib(State* L, const char* path) {
  raw_get_p(L, REGISTRYINDEX, &CLIBS_KEY);
  get_field(L, -1, path);
  void* handle = to_userdata(L, -1);
  pop(L, 2);
  return handle;
}

void remember_lib(State* L, const char* path, void* handle) {
  raw_get_p(L, REGISTRYINDEX, &CLIBS_KEY);
  push_light_userdata(L, handle);
  push_value(L, -1);
  set_field(L, -3, path);
  raw_set_i(L, -2, len_i(L, -2) + 1);
  pop(L, 1);
}

// Loads the library at path (once) and pushes its function sym, or true
// when sym is "*" (the library is then linked globally, for the symbols
// of other libraries). On failure pushes the system's message.
int look_for_func(State* L, const char* path, const char* sym) {
  void* handle = loaded_lib(L, path);
  if (handle == nullptr) {
    handle = dlopen(path, RTLD_NOW | (*sym == '*' ? RTLD_GLOBAL : RTLD_LOCAL));
    if (handle == nullptr) {
      push_string(L, dlerror());
      return LIB_OPEN;
    }
    remember_lib(L, path, handle);
  }
  if (*sym == '*') {
    push_boolean(L, true);
    return LIB_OK;
  }
  auto f = reinterpret_cast<NativeFn>(dlsym(handle, sym));
  if (f == nullptr) {
    push_string(L, dlerror());
    return LIB_INIT;
  }
  push_native_function(L, f);
  return LIB_OK;
}

int ll_loadlib(State* L) {
  const char* path = check_string(L, 1);
  const char* init = check_string(L, 2);
  int stat = look_for_func(L, path, init);
  if (stat == LIB_OK) return 1;
  push_fail(L);
  insert(L, -2);
  push_string(L, stat == LIB_OPEN ? "open" : "init");
  return 3;  // fail, message, where it failed
}

bool readable(const char* filename) {
  FILE* f = fopen(filename, "r");
  if (f == nullptr) return false;
  fclose(f);
  return true;
}

// Replaces every occurrence of pat in s by rep.
std::string replace_all(const std::string& s, const std::string& pat, const std::string& rep) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(pat, pos)) != std::string::npos; pos = hit + pat.size()) {
    out.append(s, pos, hit - pos);
    out += rep;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// Tries each template of path with name substituted. Pushes and returns the
// first readable file name, or pushes the "no file" list and returns nullptr.
const char* search_path(State* L, const char* name, const char* path, const char* sep, const char* dirsep) {
  std::string mod = name;
  if (*sep != '\0' && strchr(name, *sep) != nullptr) mod = replace_all(mod, sep, dirsep);
  std::string filled = replace_all(path, std::string(1, PATH_MARK), mod);
  size_t pos = 0;
  while (pos <= filled.size()) {
    size_t end = filled.find(PATH_SEP, pos);
    if (end == std::string::npos) end = filled.size();
    if (end > pos) {  // empty templates are skipped
      std::string file = filled.substr(pos, end - pos);
      if (readable(file.c_str())) return push_lstring(L, file.data(), file.size());
    }
    pos = end + 1;
  }
  std::string msg = "no file '" + replace_all(filled, std::string(1, PATH_SEP), "'\n\tno file '") + "'";
  push_lstring(L, msg.data(), msg.size());
  return nullptr;
}

int ll_searchpath(State* L) {
  const char* f = search_path(L, check_string(L, 1), check_string(L, 2), opt_string(L, 3, "."),
                              opt_string(L, 4, DIR_SEP));
  if (f != nullptr) return 1;
  push_fail(L);
  insert(L, -2);
  return 2;  // fail, list of tried files
}

// package[pname] searched for name; the searcher's upvalue 1 is package.
const char* find_file(State* L, const char* name, const char* pname, const char* dirsep) {
  get_field(L, upvalue_index(1), pname);
  const char* path = to_string(L, -1);
  if (path == nullptr) error_f(L, "'package.%s' must be a string", pname);
  return search_path(L, name, path, ".", dirsep);
}

// Result of a searcher that found filename: the loader and its data, or
// an error when the file could not be loaded (message on the stack top).
int check_load(State* L, bool ok, const char* filename) {
  if (ok) {
    push_string(L, filename);
    return 2;
  }
  error_f(L, "error loading module '%s' from file '%s':\n\t%s", to_string(L, 1), filename, to_string(L, -1));
}

int searcher_preload(State* L) {
  const char* name = check_string(L, 1);
  get_field(L, REGISTRYINDEX, PRELOAD_TABLE);
  if (get_field(L, -1, name) == TNIL) {
    push_fstring(L, "no field package.preload['%s']", name);
    return 1;
  }
  push_string(L, ":preload:");
  return 2;
}

int searcher_lua(State* L) {
  const char* name = check_string(L, 1);
  const char* filename = find_file(L, name, "path", DIR_SEP);
  if (filename == nullptr) return 1;  // the "no file" list
  return check_load(L, load_file(L, filename) == OK, filename);
}

// Pushes the open function of module name from the library at filename:
// luaopen_ followed by the name with dots as underscores, or by what
// follows a '-' in it when the part before yields no function.
int load_func(State* L, const char* filename, const char* name) {
  std::string mod = replace_all(name, ".", "_");
  size_t mark = mod.find(IGNORE_MARK);
  if (mark != std::string::npos) {
    std::string sym = OPEN_PREFIX + mod.substr(0, mark);
    int stat = look_for_func(L, filename, sym.c_str());
    if (stat != LIB_INIT) return stat;
    pop(L, 1);
    mod.erase(0, mark + 1);
  }
  std::string sym = OPEN_PREFIX + mod;
  return look_for_func(L, filename, sym.c_str());
}

int searcher_c(State* L) {
  const char* name = check_string(L, 1);
  const char* filename = find_file(L, name, "cpath", DIR_SEP);
  if (filename == nullptr) return 1;
  return check_load(L, load_func(L, filename, name) == LIB_OK, filename);
}

// For "a.b.c", looks for the library of the root "a" (all-in-one modules).
int searcher_croot(State* L) {
  const char* name = check_string(L, 1);
  const char* dot = strchr(name, '.');
  if (dot == nullptr) return 0;
  push_lstring(L, name, static_cast<size_t>(dot - name));
  const char* filename = find_file(L, to_string(L, -1), "cpath", DIR_SEP);
  if (filename == nullptr) return 1;
  int stat = load_func(L, filename, name);
  if (stat == LIB_INIT) {  // the library has no such module
    push_fstring(L, "no module '%s' in file '%s'", name, filename);
    return 1;
  }
  return check_load(L, stat == LIB_OK, filename);
}

// Pushes the loader for name and its data, or raises the collected
// "not found" messages of every searcher. package is at upvalue 1.
void find_loader(State* L, const char* name) {
  if (get_field(L, upvalue_index(1), "searchers") != TTABLE)
    error_f(L, "'package.searchers' must be a table");
  int searchers = get_top(L);
  std::string msg;
  for (Integer i = 1;; i++) {
    if (raw_get_i(L, searchers, i) == TNIL) {
      pop(L, 1);
      error_f(L, "module '%s' not found:%s", name, msg.c_str());
    }
    push_string(L, name);
    call(L, 1, 2);
    if (is_function(L, -2)) {
      remove(L, searchers);
      return;
    }
    if (is_string(L, -2)) {
      size_t l;
      const char* s = to_lstring(L, -2, &l);
      msg += "\n\t";
      msg.append(s, l);
    }
    pop(L, 2);
  }
}

int ll_require(State* L) {
  const char* name = check_string(L, 1);
  set_top(L, 1);
  get_field(L, REGISTRYINDEX, LOADED_TABLE);  // index 2
  get_field(L, 2, name);
  if (to_boolean(L, -1)) return 1;  // already loaded
  pop(L, 1);
  find_loader(L, name);     // 3: loader, 4: data
  push_value(L, 3);
  push_value(L, 1);         // the module name and the loader data are its arguments
  push_value(L, 4);
  call(L, 2, 1);
  if (!is_nil(L, -1))
    set_field(L, 2, name);  // loaded[name] = result
  else
    pop(L, 1);
  if (get_field(L, 2, name) == TNIL) {  // the module set no value: use true
    pop(L, 1);
    push_boolean(L, true);
    push_value(L, -1);
    set_field(L, 2, name);
  }
  push_value(L, 4);
  return 2;  // module value, loader data
}

// Sets package[field] from the environment (versioned name first); ";;"
// in the variable stands for the default path.
void set_path(State* L, const char* field, const char* envname, const char* dft) {
  const char* v = dialect_of(get_version(L)).name;  // "Lua 5.4": LUA_PATH_5_4
  std::string versioned = std::string(envname) + "_" + v[4] + "_" + v[6];
  const char* path = getenv(versioned.c_str());
  if (path == nullptr) path = getenv(envname);
  get_field(L, REGISTRYINDEX, "LUA_NOENV");
  bool noenv = to_boolean(L, -1);
  pop(L, 1);
  if (path == nullptr || noenv) {
    push_string(L, dft);
  } else if (const char* mark = strstr(path, ";;"); mark == nullptr) {
    push_string(L, path);
  } else if (dialect_of(get_version(L)).lib_53) {
    // 5.3 puts ";default;" for every ";;", even at the ends.
    std::string res;
    for (const char* p = path; *p != '\0';) {
      if (p[0] == ';' && p[1] == ';') {
        res += PATH_SEP;
        res += dft;
        res += PATH_SEP;
        p += 2;
      } else {
        res += *p++;
      }
    }
    push_lstring(L, res.data(), res.size());
  } else {
    std::string res;
    if (mark > path) {
      res.append(path, static_cast<size_t>(mark - path));
      res += PATH_SEP;
    }
    res += dft;
    const char* rest = mark + 2;
    if (*rest != '\0') {
      res += PATH_SEP;
      res += rest;
    }
    push_lstring(L, res.data(), res.size());
  }
  set_field(L, -2, field);
}

const Reg pk_funcs[] = {
    {"loadlib", ll_loadlib}, {"searchpath", ll_searchpath},
    // placeholders, filled in by open_package
    {"preload", nullptr}, {"cpath", nullptr}, {"path", nullptr}, {"searchers", nullptr}, {"loaded", nullptr},
    {nullptr, nullptr},
};

const Reg ll_funcs[] = {{"require", ll_require}, {nullptr, nullptr}};

void create_searchers(State* L) {
  static const NativeFn searchers[] = {searcher_preload, searcher_lua, searcher_c, searcher_croot};
  create_table(L, 4, 0);
  for (int i = 0; i < 4; i++) {
    push_value(L, -2);  // package as upvalue of each searcher
    push_native_closure(L, searchers[i], 1);
    raw_set_i(L, -2, i + 1);
  }
  set_field(L, -2, "searchers");
}

void create_clibs(State* L) {
  if (raw_get_p(L, REGISTRYINDEX, &CLIBS_KEY) == TTABLE) {  // package opened before
    pop(L, 1);
    return;
  }
  pop(L, 1);
  new_table(L);
  new_table(L);
  push_native_function(L, gc_clibs);
  set_field(L, -2, "__gc");
  set_metatable(L, -2);
  raw_set_p(L, REGISTRYINDEX, &CLIBS_KEY);
}

}  // namespace

int open_package(State* L) {
  create_clibs(L);
  new_lib(L, pk_funcs);
  create_searchers(L);
  set_path(L, "path", "LUA_PATH", PATH_DEFAULT);
  set_path(L, "cpath", "LUA_CPATH", CPATH_DEFAULT);
  push_string(L, "/\n;\n?\n!\n-\n");
  set_field(L, -2, "config");
  get_subtable(L, REGISTRYINDEX, LOADED_TABLE);
  set_field(L, -2, "loaded");
  get_subtable(L, REGISTRYINDEX, PRELOAD_TABLE);
  set_field(L, -2, "preload");
  raw_get_i(L, REGISTRYINDEX, RIDX_GLOBALS);
  push_value(L, -2);  // package is require's upvalue
  set_funcs(L, ll_funcs, 1);
  pop(L, 1);
  return 1;
}

}  // namespace luna
