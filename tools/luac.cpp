// The `luac` command: a drop-in for PUC-Rio's Lua compiler.
//   luac [options] [filenames]
// Options: -l (list, in luac5.4's layout; -l -l also constants, locals,
// upvalues), -o name,
// -p (parse only), -s (strip debug info), -v (version), -- , - (stdin).
// Several files are combined into one chunk that runs them in order.
// The output is PUC-Rio 5.4's binary format (dump_format.hpp).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "listing.hpp"
#include "luna/api.hpp"
#include "state.hpp"

namespace {

using namespace luna;

const char* progname = "luac";
const char* output = "luac.out";
int listing = 0;
bool dumping = true, stripping = false;

[[noreturn]] void fatal(const char* message) {
  std::fprintf(stderr, "%s: %s\n", progname, message);
  std::exit(EXIT_FAILURE);
}

// As luac5.4: "cannot open out.luac: No such file or directory".
[[noreturn]] void cannot(const char* what) {
  std::fprintf(stderr, "%s: cannot %s %s: %s\n", progname, what, output != nullptr ? output : "stdout",
               std::strerror(errno));
  std::exit(EXIT_FAILURE);
}

[[noreturn]] void usage(const char* message) {
  if (*message == '-')
    std::fprintf(stderr, "%s: unrecognized option '%s'\n", progname, message);
  else
    std::fprintf(stderr, "%s: %s\n", progname, message);
  std::fprintf(stderr,
               "usage: %s [options] [filenames]\n"
               "Available options are:\n"
               "  -l       list (use -l -l for full listing)\n"
               "  -o name  output to file 'name' (default is \"luac.out\")\n"
               "  -p       parse only\n"
               "  -s       strip debug information\n"
               "  -v       show version information\n"
               "  --       stop handling options\n"
               "  -        stop handling options and process stdin\n",
               progname);
  std::exit(EXIT_FAILURE);
}

// The index of the first file name in argv.
int do_args(int argc, char** argv) {
  bool version = false;
  int i = 1;
  for (; i < argc; i++) {
    const char* a = argv[i];
    if (a[0] != '-') break;
    if (std::strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (std::strcmp(a, "-") == 0) break;  // stdin
    if (std::strcmp(a, "-l") == 0) {
      listing++;
    } else if (std::strcmp(a, "-o") == 0) {
      output = ++i < argc ? argv[i] : nullptr;
      if (output == nullptr || *output == 0 || (*output == '-' && output[1] != 0))
        usage("'-o' needs argument");
      if (std::strcmp(output, "-") == 0) output = nullptr;  // stdout
    } else if (std::strcmp(a, "-p") == 0) {
      dumping = false;
    } else if (std::strcmp(a, "-s") == 0) {
      stripping = true;
    } else if (std::strcmp(a, "-v") == 0) {
      version = true;
    } else {
      usage(a);
    }
  }
  if (i == argc && (listing || !dumping)) {
    dumping = false;
    argv[--i] = const_cast<char*>(output != nullptr ? output : "luac.out");
  }
  if (version) {
    std::printf("%s  %s\n", RELEASE, COPYRIGHT);
    if (i == argc) std::exit(EXIT_SUCCESS);
  }
  return i;
}

const Proto* to_proto(State* L, int idx) {
  return static_cast<const LClosure*>(to_pointer(L, idx))->p;
}

// One chunk from the n chunks on the stack top: as PUC-Rio's luac does, a
// main function of n calls of empty functions is compiled, and its nested
// functions are replaced by the chunks' main functions, which then find
// _ENV as an upvalue of the new main function instead of in its registers.
// The chunk to write is then the stack top.
void combine(State* L, int n) {
  if (n == 1) return;
  std::string src;
  for (int i = 0; i < n; i++) src += "(function()end)();\n";
  if (load_bufferx(L, src.data(), src.size(), "=(luac)", "t") != OK) fatal(to_string(L, -1));
  Proto* f = static_cast<const LClosure*>(to_pointer(L, -1))->p;
  for (int i = 0; i < n; i++) {
    Proto* chunk = const_cast<Proto*>(to_proto(L, i - n - 1));
    f->p[i] = chunk;
    gc_barrier_obj(L, f, chunk);
    if (chunk->sizeupvalues > 0) chunk->upvalues[0].instack = false;
  }
}

int file_writer(State*, const void* p, size_t size, void* out) {
  return std::fwrite(p, size, 1, static_cast<FILE*>(out)) != 1 && size != 0;
}

int string_writer(State*, const void* p, size_t size, void* out) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(p), size);
  return 0;
}

// Lists the function on the stack top as its chunk carries it: dumped and
// loaded back, so with the MMBIN* instructions that PUC-Rio's format puts
// after arithmetic (luna's compiler emits none; dump() adds them) and with
// the line numbers and names the chunk keeps. If it cannot be dumped, the
// compiled function itself is listed.
void list(State* L) {
  std::string chunk;
  if (dump(L, string_writer, &chunk, false) == 0) {
    if (load_bufferx(L, chunk.data(), chunk.size(), "=?", "b") == OK) {
      list_function(L, to_proto(L, -1), listing > 1, stdout);
      pop(L, 1);
      return;
    }
    pop(L, 1);  // the loader's message
  }
  list_function(L, to_proto(L, -1), listing > 1, stdout);
}

struct Args {
  int argc;
  char** argv;
};

int pmain(State* L) {
  const Args* a = static_cast<const Args*>(to_userdata(L, 1));
  int argc = a->argc;
  char** argv = a->argv;
  if (!check_stack(L, argc)) fatal("too many input files");
  for (int i = 0; i < argc; i++) {
    const char* filename = std::strcmp(argv[i], "-") == 0 ? nullptr : argv[i];
    if (load_file(L, filename) != OK) fatal(to_string(L, -1));
  }
  combine(L, argc);
  if (listing) list(L);
  if (dumping) {
    FILE* out = output == nullptr ? stdout : std::fopen(output, "wb");
    if (out == nullptr) cannot("open");
    // The combined function is the one on the top; dump() dumps the top.
    int status = dump(L, file_writer, out, stripping);
    if (std::ferror(out)) cannot("write");
    // luna's code grows by the MMBIN* the format needs; a jump may then
    // no longer fit its instruction.
    if (status != 0) fatal("function too large for the binary format");
    if (out != stdout && std::fclose(out) != 0) cannot("close");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argv[0] != nullptr && argv[0][0] != 0) progname = argv[0];  // messages name the command as invoked
  int i = do_args(argc, argv);
  argc -= i;
  argv += i;
  if (argc <= 0) usage("no input files given");
  State* L = new_state();
  if (L == nullptr) fatal("cannot create state: not enough memory");
  Args args{argc, argv};
  push_native_function(L, pmain);
  push_light_userdata(L, &args);
  if (pcall(L, 1, 0, 0) != OK) fatal(to_string(L, -1));
  close_state(L);
  return EXIT_SUCCESS;
}
