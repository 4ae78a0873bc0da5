// The `luna` command: a drop-in for the standalone `lua` interpreter.
//   luna [options] [script [args]]
// Options: -e stat, -i, -l mod, -l g=mod, -v, -E, -W, -j cmd, --lua=5.3|5.4|5.5, --, - (stdin).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#include "line_editor.hpp"
#include "luna/api.hpp"
#include "luna/jit.hpp"

namespace {

using namespace luna;

const char* progname = "luna";
State* global_state = nullptr;
LuaVersion language = default_version;  // --lua=

// "5.3" -> Lua53; false for anything else.
bool parse_version(const char* s, LuaVersion& out) {
  for (LuaVersion v : {LuaVersion::Lua53, LuaVersion::Lua54, LuaVersion::Lua55}) {
    if (std::strcmp(version_name(v) + 4, s) == 0) {  // skip "Lua "
      out = v;
      return true;
    }
  }
  return false;
}

// Ctrl-C while a script runs: install a count hook that raises an error at
// the next instruction, so the script stops cleanly ("interrupted!").
void interrupt_hook(State* L, DebugInfo*) {
  set_hook(L, nullptr, 0, 0);
  error_f(L, "interrupted!");
}

void on_sigint(int sig) {
  std::signal(sig, SIG_DFL);
  set_hook(global_state, interrupt_hook, MASKCALL | MASKRET | MASKCOUNT, 1);
}

void print_usage(const char* badoption) {
  std::fprintf(stderr, "%s: ", progname);
  if ((badoption[1] == 'e' || badoption[1] == 'l' || badoption[1] == 'j') && badoption[2] == '\0')
    std::fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    std::fprintf(stderr, "unrecognized option '%s'\n", badoption);
  std::fprintf(stderr,
               "usage: %s [options] [script [args]]\n"
               "Available options are:\n"
               "  -e stat   execute string 'stat'\n"
               "  -i        enter interactive mode after executing 'script'\n"
               "  -l mod    require library 'mod' into global 'mod'\n"
               "  -l g=mod  require library 'mod' into global 'g'\n"
               "  -v        show version information\n"
               "  -E        ignore environment variables\n"
               "  -W        turn warnings on\n"
               "  -j cmd    JIT control: on, off, stress, v (trace events), dump (IR and code)\n"
               "  --lua=V   speak Lua version V: 5.3, 5.4 (the default) or 5.5\n"
               "  --        stop handling options\n"
               "  -         stop handling options and execute stdin\n",
               progname);
  std::fflush(stderr);
}

void print_message(const char* pname, const char* msg) {
  if (pname) std::fprintf(stderr, "%s: ", pname);
  std::fprintf(stderr, "%s\n", msg);
  std::fflush(stderr);
}

// Reports a failed status with the message on the stack top.
int report(State* L, int status) {
  if (status != OK) {
    const char* msg = to_string(L, -1);
    print_message(progname, msg ? msg : "(error object is not a string)");
    pop(L, 1);
  }
  return status;
}

// Message handler: adds a traceback to string-like errors.
int message_handler(State* L) {
  const char* msg = to_string(L, 1);
  if (msg == nullptr) {
    if (call_meta(L, 1, "__tostring") && type(L, -1) == TSTRING) return 1;
    msg = push_fstring(L, "(error object is a %s value)", typename_at(L, 1));
  }
  traceback(L, L, msg, 1);
  return 1;
}

// Calls the function below its nargs arguments with a traceback handler.
int docall(State* L, int narg, int nres) {
  int base = get_top(L) - narg;
  push_native_function(L, message_handler);
  insert(L, base);
  global_state = L;
  std::signal(SIGINT, on_sigint);
  int status = pcall(L, narg, nres, base);
  std::signal(SIGINT, SIG_DFL);
  remove(L, base);
  return status;
}

void print_version() {
  std::string banner = COPYRIGHT;  // names the default version: name the chosen one
  const std::string dflt = version_name(default_version);
  size_t at = banner.find(dflt);
  if (at != std::string::npos) banner.replace(at, dflt.size(), version_name(language));
  std::fputs(banner.c_str(), stdout);
  std::fputs("\n", stdout);
  std::fflush(stdout);
}

// Builds the global `arg`: script at index 0, its arguments at 1.., and
// the interpreter and options at negative indices.
void create_arg_table(State* L, char** argv, int argc, int script) {
  if (script == argc) script = 0;  // no script: interpreter name goes at 0
  int narg = argc - (script + 1);
  create_table(L, narg, script + 1);
  for (int i = 0; i < argc; i++) {
    push_string(L, argv[i]);
    raw_set_i(L, -2, i - script);
  }
  set_global(L, "arg");
}

int dochunk(State* L, int status) {
  if (status == OK) status = docall(L, 0, 0);
  return report(L, status);
}

int dofile(State* L, const char* name) { return dochunk(L, load_file(L, name)); }

int dostring(State* L, const char* s, const char* name) {
  return dochunk(L, load_bufferx(L, s, std::strlen(s), name, nullptr));
}

// -l mod / -l g=mod: require a module into a global. Without an explicit
// global name, the module name up to a '-' names the global ("a-v2" -> a).
int dolibrary(State* L, const char* spec) {
  const char* eq = std::strchr(spec, '=');
  std::string globalname = eq ? std::string(spec, eq) : std::string(spec);
  const char* modname = eq ? eq + 1 : spec;
  if (!eq) globalname = globalname.substr(0, globalname.find('-'));
  get_global(L, "require");
  push_string(L, modname);
  int status = docall(L, 1, 1);
  if (status == OK) set_global(L, globalname.c_str());
  return report(L, status);
}

int push_args(State* L) {
  if (get_global(L, "arg") != TTABLE) error_f(L, "'arg' is not a table");
  int n = static_cast<int>(len_i(L, -1));
  check_stack_or_error(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) get_i(L, -i, i);
  remove(L, -n - 1);
  return n;
}

int handle_script(State* L, char** argv) {
  const char* fname = argv[0];
  if (std::strcmp(fname, "-") == 0 && std::strcmp(argv[-1], "--") != 0) fname = nullptr;  // stdin
  int status = load_file(L, fname);
  if (status == OK) {
    int n = push_args(L);
    status = docall(L, n, MULTRET);
  }
  return report(L, status);
}

// One -j command in LuaJIT's spelling, applied to the options and the
// on/off switch; false if unknown.
bool apply_jit_command(const char* cmd, JitOptions& o, bool& on) {
  if (std::strcmp(cmd, "on") == 0) {
    on = true;
  } else if (std::strcmp(cmd, "off") == 0) {
    on = false;
  } else if (std::strcmp(cmd, "stress") == 0) {
    o.hotloop = JitOptions::stress().hotloop;
    o.hotexit = JitOptions::stress().hotexit;
  } else if (std::strcmp(cmd, "v") == 0) {
    o.verbose = true;
  } else if (std::strcmp(cmd, "dump") == 0) {
    o.dump = true;
  } else {
    return false;
  }
  return true;
}

// Installs the JIT with every -j (already validated) applied in order,
// before anything runs.
void setup_jit(State* L, char** argv, int n) {
  JitOptions o;
  bool on = true;
  for (int i = 1; i < n; i++) {
    if (argv[i][0] != '-') continue;
    char opt = argv[i][1];
    const char* arg = argv[i][2] != '\0' ? argv[i] + 2 : nullptr;
    if ((opt == 'e' || opt == 'l' || opt == 'j') && arg == nullptr) arg = argv[++i];
    if (opt == 'j') apply_jit_command(arg, o, on);
  }
  install_jit(L);
  set_jit_options(L, o);
  set_jit_enabled(L, on);
}

enum ArgFlags { HAS_ERROR = 1, HAS_I = 2, HAS_V = 4, HAS_E = 8, HAS_BIG_E = 16 };

// Scans options; returns flags and sets *first to the script index (or argc).
int collect_args(char** argv, int* first) {
  int flags = 0;
  int i;
  for (i = 1; argv[i] != nullptr; i++) {
    *first = i;
    if (argv[i][0] != '-') return flags;
    switch (argv[i][1]) {
      case '-':
        if (std::strncmp(argv[i], "--lua=", 6) == 0) {
          if (!parse_version(argv[i] + 6, language)) return HAS_ERROR;
          break;
        }
        if (argv[i][2] != '\0') return HAS_ERROR;
        *first = i + 1;
        return flags;
      case '\0':
        return flags;
      case 'E':
        if (argv[i][2] != '\0') return HAS_ERROR;
        flags |= HAS_BIG_E;
        break;
      case 'W':
        if (argv[i][2] != '\0') return HAS_ERROR;
        break;
      case 'i':
        flags |= HAS_I;
        [[fallthrough]];
      case 'v':
        if (argv[i][2] != '\0') return HAS_ERROR;
        flags |= HAS_V;
        break;
      case 'e':
        flags |= HAS_E;
        [[fallthrough]];
      case 'l':
        if (argv[i][2] == '\0') {
          i++;
          if (argv[i] == nullptr || argv[i][0] == '-') return HAS_ERROR;
        }
        break;
      case 'j': {
        const char* cmd = argv[i] + 2;
        if (*cmd == '\0') {
          cmd = argv[i + 1];
          if (cmd == nullptr || cmd[0] == '-') return HAS_ERROR;
        }
        JitOptions o;
        bool on;
        if (!apply_jit_command(cmd, o, on)) return HAS_ERROR;
        if (argv[i][2] == '\0') i++;
        break;
      }
      default:
        return HAS_ERROR;
    }
  }
  *first = i;
  return flags;
}

// Runs -e and -l (and -W) in order; stops at the first failure.
bool run_args(State* L, char** argv, int n) {
  for (int i = 1; i < n; i++) {
    char option = argv[i][1];
    switch (option) {
      case 'e':
      case 'l': {
        char* extra = argv[i] + 2;
        if (*extra == '\0') extra = argv[++i];
        int status = option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
        if (status != OK) return false;
        break;
      }
      case 'W':
        warning(L, "@on", 0);
        break;
      default:
        break;
    }
  }
  return true;
}

int handle_init(State* L) {
  char versioned[] = "=LUA_INIT_5_x";  // the version's own variable first
  versioned[sizeof versioned - 2] = version_name(language)[6];
  const char* name = versioned;
  const char* init = std::getenv(name + 1);
  if (init == nullptr) {
    name = "=LUA_INIT";
    init = std::getenv(name + 1);
  }
  if (init == nullptr) return OK;
  if (init[0] == '@') return dofile(L, init + 1);
  return dostring(L, init, name);
}

// ---- interactive mode ----

std::string get_prompt(State* L, bool first) {
  std::string prompt = first ? "> " : ">> ";
  if (get_global(L, first ? "_PROMPT" : "_PROMPT2") != TNIL) {
    prompt = to_lstring_meta(L, -1, nullptr);
    pop(L, 1);
  }
  pop(L, 1);
  return prompt;
}

// Reads one line of a statement; a first line "=expr" means "return expr"
// (the Lua 5.1 habit). `typed` gathers the lines as typed, for history.
bool read_line(State* L, std::string& line, bool first, std::string& typed) {
  std::string prompt;
  if (line_input_is_terminal()) prompt = get_prompt(L, first);
  if (!read_input_line(L, prompt, line)) return false;
  typed = first ? line : typed + "\n" + line;
  if (first && !line.empty() && line[0] == '=') line = "return " + line.substr(1);
  return true;
}

// Incomplete input: the syntax error is at end of stream.
bool is_incomplete(State* L, int status) {
  if (status != ERRSYNTAX) return false;
  size_t len;
  const char* msg = to_lstring(L, -1, &len);
  const char* eof_mark = "<eof>";
  size_t marklen = std::strlen(eof_mark);
  if (len >= marklen && std::strcmp(msg + len - marklen, eof_mark) == 0) {
    pop(L, 1);
    return true;
  }
  return false;
}

// Loads one statement, first trying it as "return <line>" so expressions print.
// The statement enters the history once complete, or once it fails to compile.
int load_line(State* L, std::string& buffer) {
  std::string line, typed;
  set_top(L, 0);
  if (!read_line(L, line, true, typed)) return -1;
  std::string retline = "return " + line;
  int status = load_bufferx(L, retline.data(), retline.size(), "=stdin", nullptr);
  if (status == OK) {
    buffer = line;
    remember_input(typed);
    return status;
  }
  pop(L, 1);
  buffer = line;
  for (;;) {
    status = load_bufferx(L, buffer.data(), buffer.size(), "=stdin", nullptr);
    if (!is_incomplete(L, status)) break;
    if (!read_line(L, line, false, typed)) return status == OK ? OK : status;
    buffer += "\n" + line;
  }
  remember_input(typed);
  return status;
}

void print_results(State* L) {
  int n = get_top(L);
  if (n > 0) {
    check_stack_or_error(L, MINSTACK, "too many results to print");
    get_global(L, "print");
    insert(L, 1);
    if (pcall(L, n, 0, 0) != OK)
      print_message(progname, push_fstring(L, "error calling 'print' (%s)", to_string(L, -1)));
  }
}

void do_repl(State* L) {
  const char* oldprogname = progname;
  progname = nullptr;
  std::string buffer;
  int status;
  while ((status = load_line(L, buffer)) != -1) {
    if (status == OK) status = docall(L, 0, MULTRET);
    if (status == OK)
      print_results(L);
    else
      report(L, status);
  }
  set_top(L, 0);
  std::fputs("\n", stdout);
  std::fflush(stdout);
  progname = oldprogname;
}

struct MainArgs {
  int argc;
  char** argv;
  bool ok;
};

int protected_main(State* L) {
  auto* args = static_cast<MainArgs*>(to_userdata(L, 1));
  int argc = args->argc;
  char** argv = args->argv;
  int script;
  int flags = collect_args(argv, &script);
  check_version(L);
  if (flags == HAS_ERROR) {
    print_usage(argv[script]);
    return 0;
  }
  if (flags & HAS_V) print_version();
  if (flags & HAS_BIG_E) {
    push_boolean(L, true);
    set_field(L, REGISTRYINDEX, "LUA_NOENV");
  }
  set_version(L, language);
  setup_jit(L, argv, script);
  open_libs(L);
  create_arg_table(L, argv, argc, script);
  gc(L, GCRESTART);
  gc(L, GCGEN, 0, 0);
  if (!(flags & HAS_BIG_E) && handle_init(L) != OK) return 0;
  if (!run_args(L, argv, script)) return 0;
  if (script < argc && handle_script(L, argv + script) != OK) return 0;
  if (flags & HAS_I) {
    do_repl(L);
  } else if (script == argc && !(flags & (HAS_E | HAS_V))) {
    if (isatty(STDIN_FILENO)) {
      print_version();
      do_repl(L);
    } else {
      dofile(L, nullptr);
    }
  }
  args->ok = true;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  // A link named for a version (luna5.3, lua5.5) speaks it unless --lua= says
  // otherwise, so scripts that run "their" interpreter again get the same one.
  if (size_t n = std::strlen(progname); n >= 3) parse_version(progname + n - 3, language);
  State* L = new_state();
  if (L == nullptr) {
    print_message(progname, "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  gc(L, GCSTOP);
  MainArgs args{argc, argv, false};
  push_native_function(L, protected_main);
  push_light_userdata(L, &args);
  int status = pcall(L, 1, 1, 0);
  report(L, status);
  close_state(L);
  return (args.ok && status == OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
