// Catch2's runner pulls in <regex>, whose libstdc++ 12 internals trip a
// false -Wmaybe-uninitialized in sanitizer builds; the warning is theirs.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
