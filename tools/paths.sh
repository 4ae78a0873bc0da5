# Sourced by tools/setup and tools/test: where the read-only material
# outside the repository is. The environment decides; the sibling shared/
# folder of this workplace is the fallback.
suite=${LUNA_LUA_TESTS:-}
if [[ -z "$suite" && -d ../shared/lua-tests/lua-5.4.8-tests ]]; then
  suite=$(cd ../shared/lua-tests/lua-5.4.8-tests && pwd)
fi
# The 5.3.6 and 5.5.0 suites, run with luna speaking those versions.
suite53=${LUNA_LUA53_TESTS:-}
if [[ -z "$suite53" && -d ../shared/lua-tests/lua-5.3.6-tests ]]; then
  suite53=$(cd ../shared/lua-tests/lua-5.3.6-tests && pwd)
fi
suite55=${LUNA_LUA55_TESTS:-}
if [[ -z "$suite55" && -d ../shared/lua-tests/lua-5.5.0-tests ]]; then
  suite55=$(cd ../shared/lua-tests/lua-5.5.0-tests && pwd)
fi
# PUC-Rio Lua 5.4.8's sources: built into the build tree as the oracle of
# the differential test, never linked into luna.
reference=${LUNA_LUA_REFERENCE:-}
if [[ -z "$reference" && -d ../shared/reference/lua-5.4.8 ]]; then
  reference=$(cd ../shared/reference/lua-5.4.8 && pwd)
fi
