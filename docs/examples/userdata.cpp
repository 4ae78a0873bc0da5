// Tour 2: a C++ class in Lua with LuaUserdata.
#include <cstdio>
#include <luna/vm.hpp>
#include <string>

struct Account {
  std::string owner;
  double balance = 0;
  Account(std::string o, double b) : owner(std::move(o)), balance(b) {}
  ~Account() { std::printf("closing account of %s\n", owner.c_str()); }
  void deposit(double amount) {
    if (amount <= 0) throw std::invalid_argument("deposit must be positive");
    balance += amount;
  }
};

int main() {
  luna::Vm vm;
  luna::LuaUserdata<Account>(vm, "Account")
      .constructor<std::string, double>()          // Account.new(owner, balance)
      .property("balance", [](const Account& a) { return a.balance; })  // read-only
      .property("owner", &Account::owner)          // read-write
      .method("deposit", &Account::deposit)
      .meta("__tostring", [](const Account& a) { return a.owner + ": " + std::to_string(a.balance); });

  // Only real Accounts get in: anything else is a Lua type error.
  vm.set_function("audit", [](const Account& a) { return a.balance >= 0; });

  auto r = vm.eval(R"(
    local acc = Account.new("ada", 10)
    acc:deposit(5)
    local ok, err = pcall(acc.deposit, acc, -1)   -- the C++ exception, as a Lua error
    local ok2, err2 = pcall(audit, {})
    return tostring(acc), err, err2
  )");
  for (auto& v : r) std::printf("%s\n", v.as_string().c_str());
  return 0;  // the VM closes here: the destructor runs, once
}
