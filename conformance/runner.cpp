// Conformance runner: runs files of an official Lua test suite (5.4.8 by
// default; 5.3.6 or 5.5.0 with --lua, on a VM speaking that version) in a
// mode, each in a child process with a time limit, and compares the
// outcome with the expectations file.
//
//   luna-conformance --suite DIR --expect FILE [--lua 5.3|5.4|5.5]
//                    [--mode interp|jit|jit-stress|send] [--jobs N]
//                    [--timeout SECONDS] [--logs DIR] [FILE.lua ...]
//
// Expectations: one line per file and mode: "<file> <mode> pass|fail|skip [reason]".
// A "fail" entry that passes is reported as an unexpected pass (XPASS); a
// "pass" entry that fails is a regression and makes the exit status 1.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "luna/api.hpp"
#include "luna/send_vm.hpp"
#include "luna/vm.hpp"

namespace {

struct Expectation {
  std::string file;
  std::string mode;
  std::string status;  // pass, fail, skip
  std::string reason;
};

struct Options {
  std::string suite;
  std::string expect;
  std::string mode = "interp";
  luna::LuaVersion version = luna::default_version;
  std::string logs = "conformance-logs";
  int jobs = 1;
  int timeout = 600;
  std::vector<std::string> files;
};

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "luna-conformance: " << msg << "\n";
  std::exit(2);
}

std::vector<Expectation> read_expectations(const std::string& path) {
  std::ifstream in(path);
  if (!in) die("cannot open expectations file " + path);
  std::vector<Expectation> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    lineno++;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    Expectation e;
    if (!(words >> e.file)) continue;
    if (!(words >> e.mode >> e.status)) die(path + ":" + std::to_string(lineno) + ": expected '<file> <mode> <status> [reason]'");
    if (e.status != "pass" && e.status != "fail" && e.status != "skip")
      die(path + ":" + std::to_string(lineno) + ": status must be pass, fail or skip");
    std::getline(words >> std::ws, e.reason);
    if (e.status != "pass" && e.reason.empty()) die(path + ":" + std::to_string(lineno) + ": a fail or skip entry needs a reason");
    out.push_back(e);
  }
  return out;
}

// The globals all.lua sets in user mode; all.lua itself only gets _U and
// derives the rest.
void set_suite_globals(luna::State* L, const std::string& file) {
  const char* names[] = {"_U", "_soft", "_port", "_nomsg"};
  for (const char* name : names) {
    if (file == "all.lua" && std::strcmp(name, "_U") != 0) continue;
    luna::push_boolean(L, true);
    luna::set_global(L, name);
  }
}

int traceback_handler(luna::State* L) {
  const char* msg = luna::to_string(L, 1);
  if (msg == nullptr) msg = luna::push_fstring(L, "(error object is a %s value)", luna::typename_at(L, 1));
  luna::traceback(L, L, msg, 1);
  return 1;
}

// Child process body for the interp, jit and jit-stress modes: run one
// file on the state of a luna::Vm (JIT off, on, or compiling everything at
// once), exit 0 on success.
[[noreturn]] void run_file_in_child(const Options& opt, const std::string& file) {
  if (chdir(opt.suite.c_str()) != 0) {
    std::perror("chdir");
    std::_Exit(3);
  }
  int status;
  {
    luna::Vm vm(opt.version, luna::LibSet::none);
    if (opt.mode == "interp") vm.set_jit(false);
    if (opt.mode == "jit-stress") vm.set_jit_options(luna::JitOptions::stress());
    luna::State* L = vm.state();
    luna::open_libs(L);
    set_suite_globals(L, file);
    luna::push_native_function(L, traceback_handler);
    status = luna::load_file(L, file.c_str());
    if (status == luna::OK) status = luna::pcall(L, 0, 0, 1);
    if (status != luna::OK) {
      const char* msg = luna::to_string(L, -1);
      std::fprintf(stderr, "luna-conformance: %s\n", msg ? msg : "(non-string error)");
    }
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(status == luna::OK ? 0 : 1);
}

// Child process body for the send mode: the file runs through a SendVm
// made on this thread and used only from another one.
[[noreturn]] void run_file_in_child_send(const Options& opt, const std::string& file) {
  if (chdir(opt.suite.c_str()) != 0) {
    std::perror("chdir");
    std::_Exit(3);
  }
  int code = 1;
  {
    luna::SendVm vm(opt.version);
    for (const char* name : {"_U", "_soft", "_port", "_nomsg"}) {
      if (file == "all.lua" && std::strcmp(name, "_U") != 0) continue;
      vm.set_global(name, true);
    }
    std::thread worker([&] {
      try {
        vm.do_file(file);
        code = 0;
      } catch (const luna::LuaError& e) {
        std::fprintf(stderr, "luna-conformance: %s\n", e.traceback().empty() ? e.what() : e.traceback().c_str());
      }
    });
    worker.join();
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

struct Running {
  pid_t pid;
  const Expectation* exp;
  std::chrono::steady_clock::time_point start;
  std::string log;
};

std::string describe_exit(int wstatus, bool timed_out) {
  if (timed_out) return "timed out";
  if (WIFEXITED(wstatus)) return "exit " + std::to_string(WEXITSTATUS(wstatus));
  if (WIFSIGNALED(wstatus)) return std::string("killed by signal ") + strsignal(WTERMSIG(wstatus));
  return "unknown status";
}

std::string log_tail(const std::string& path, size_t max_lines) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > max_lines) lines.erase(lines.begin());
  }
  std::string out;
  for (auto& l : lines) out += "    | " + l + "\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (const char* env = std::getenv("LUNA_LUA_TESTS")) opt.suite = env;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--suite") opt.suite = value();
    else if (a == "--expect") opt.expect = value();
    else if (a == "--mode") opt.mode = value();
    else if (a == "--lua") {
      std::string v = value();
      if (v == "5.3") opt.version = luna::LuaVersion::Lua53;
      else if (v == "5.4") opt.version = luna::LuaVersion::Lua54;
      else if (v == "5.5") opt.version = luna::LuaVersion::Lua55;
      else die("unknown Lua version '" + v + "' (versions: 5.3, 5.4, 5.5)");
    }
    else if (a == "--jobs") opt.jobs = std::max(1, std::atoi(value().c_str()));
    else if (a == "--timeout") opt.timeout = std::atoi(value().c_str());
    else if (a == "--logs") opt.logs = value();
    else if (!a.empty() && a[0] == '-') die("unknown option " + a);
    else opt.files.push_back(a);
  }
  if (opt.suite.empty()) die("no suite folder: pass --suite DIR or set LUNA_LUA_TESTS");
  if (opt.expect.empty()) die("no expectations file: pass --expect FILE");
  const char* modes[] = {"interp", "jit", "jit-stress", "send"};
  if (std::find(std::begin(modes), std::end(modes), opt.mode) == std::end(modes))
    die("unknown mode '" + opt.mode + "' (modes: interp, jit, jit-stress, send)");
  char resolved[4096];
  if (!realpath(opt.suite.c_str(), resolved)) die("suite folder not found: " + opt.suite);
  opt.suite = resolved;

  std::vector<Expectation> all = read_expectations(opt.expect);
  std::vector<const Expectation*> todo;
  for (const auto& e : all) {
    if (e.mode != opt.mode) continue;
    if (!opt.files.empty() && std::find(opt.files.begin(), opt.files.end(), e.file) == opt.files.end()) continue;
    todo.push_back(&e);
  }
  for (const auto& f : opt.files) {
    bool known = false;
    for (auto* e : todo) known = known || e->file == f;
    if (!known) die("no expectation for " + f + " in mode " + opt.mode);
  }
  mkdir(opt.logs.c_str(), 0777);

  int passed = 0, failed = 0, xfail = 0, xpass = 0, skipped = 0;
  std::vector<Running> running;
  size_t next = 0;
  auto finish = [&](const Running& r, int wstatus, bool timed_out) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
    bool ok = !timed_out && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    const Expectation& e = *r.exp;
    char timing[32];
    std::snprintf(timing, sizeof timing, "%.1fs", secs);
    if (ok && e.status == "pass") {
      passed++;
      std::cout << "PASS  " << e.file << " [" << e.mode << "] " << timing << "\n";
    } else if (ok) {
      xpass++;
      passed++;
      std::cout << "XPASS " << e.file << " [" << e.mode << "] " << timing
                << " (expected to fail: " << e.reason << "; update the expectations)\n";
    } else if (e.status == "fail") {
      xfail++;
      std::cout << "XFAIL " << e.file << " [" << e.mode << "] " << describe_exit(wstatus, timed_out)
                << " (known: " << e.reason << ")\n";
    } else {
      failed++;
      std::cout << "FAIL  " << e.file << " [" << e.mode << "] " << describe_exit(wstatus, timed_out) << " "
                << timing << "\n"
                << log_tail(r.log, 12);
    }
    std::cout.flush();
  };

  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && static_cast<int>(running.size()) < opt.jobs) {
      const Expectation* e = todo[next++];
      if (e->status == "skip") {
        skipped++;
        std::cout << "SKIP  " << e->file << " [" << e->mode << "] (" << e->reason << ")\n";
        continue;
      }
      std::string log = opt.logs + "/" + e->mode + "-" + e->file + ".log";
      std::cout.flush();
      pid_t pid = fork();
      if (pid < 0) die("fork failed");
      if (pid == 0) {
        FILE* f = std::freopen(log.c_str(), "w", stdout);
        if (f) dup2(fileno(stdout), STDERR_FILENO);
        if (opt.mode == "send") run_file_in_child_send(opt, e->file);
        run_file_in_child(opt, e->file);
      }
      running.push_back({pid, e, std::chrono::steady_clock::now(), log});
    }
    bool reaped = false;
    for (size_t i = 0; i < running.size(); i++) {
      int wstatus = 0;
      pid_t r = waitpid(running[i].pid, &wstatus, WNOHANG);
      bool timed_out = false;
      if (r == 0) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - running[i].start).count();
        if (secs < opt.timeout) continue;
        kill(running[i].pid, SIGKILL);
        waitpid(running[i].pid, &wstatus, 0);
        timed_out = true;
      }
      finish(running[i], wstatus, timed_out);
      running.erase(running.begin() + static_cast<long>(i));
      reaped = true;
      break;
    }
    if (!reaped && !running.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::cout << "\nconformance " << luna::version_name(opt.version) << " [" << opt.mode << "]: " << passed << " pass (" << xpass << " unexpected), " << xfail
            << " known failures, " << skipped << " skipped, " << failed << " regressions\n";
  std::cout << "conformance: " << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
