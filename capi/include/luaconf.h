/* luna's C API configuration (the Lua 5.4 "luaconf.h" names).
 * Written for luna; the values match PUC-Rio's default 64-bit build so that
 * modules compiled against PUC-Rio's headers run on luna unchanged. */
#ifndef luaconf_h
#define luaconf_h

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* Numbers: 64-bit integers and doubles (luna's only configuration). */
#define LUA_INT_LONGLONG 3
#define LUA_FLOAT_DOUBLE 2
#define LUA_INT_TYPE LUA_INT_LONGLONG
#define LUA_FLOAT_TYPE LUA_FLOAT_DOUBLE

#define LUA_NUMBER double
#define LUAI_UACNUMBER double
#define LUA_NUMBER_FRMLEN ""
#define LUA_NUMBER_FMT "%.14g"
#define l_mathop(op) op
#define lua_str2number(s, p) strtod((s), (p))
#define l_floatatt(n) (DBL_##n)
#define lua_number2str(s, sz, n) \
  l_sprintf((s), sz, LUA_NUMBER_FMT, (LUAI_UACNUMBER)(n))

#define LUA_INTEGER long long
#define LUAI_UACINT LUA_INTEGER
#define LUA_INTEGER_FRMLEN "ll"
#define LUA_INTEGER_FMT "%" LUA_INTEGER_FRMLEN "d"
#define LUA_UNSIGNED unsigned LUA_INTEGER
#define LUA_MAXINTEGER LLONG_MAX
#define LUA_MININTEGER LLONG_MIN
#define LUA_MAXUNSIGNED ULLONG_MAX
#define lua_integer2str(s, sz, n) \
  l_sprintf((s), sz, LUA_INTEGER_FMT, (LUAI_UACINT)(n))

/* Float -> integer when the value is in range (the comparison is exact
 * because -LUA_MININTEGER is a power of two). */
#define lua_numbertointeger(n, p) \
  ((n) >= (LUA_NUMBER)(LUA_MININTEGER) && \
   (n) < -(LUA_NUMBER)(LUA_MININTEGER) && \
   (*(p) = (LUA_INTEGER)(n), 1))

#define l_sprintf(s, sz, f, i) snprintf(s, sz, f, i)
#define lua_pointer2str(buff, sz, p) l_sprintf(buff, sz, "%p", p)
#define lua_getlocaledecpoint() (localeconv()->decimal_point[0])

#define LUA_KCONTEXT intptr_t

/* Declaration markers. */
#define LUA_API extern
#define LUALIB_API LUA_API
#define LUAMOD_API LUA_API
#define LUAI_FUNC extern
#define LUAI_DDEC(dec) LUAI_FUNC dec
#define LUAI_DDEF

/* Limits that are part of the ABI. */
#define LUAI_MAXSTACK 1000000
#define LUA_EXTRASPACE (sizeof(void *))
#define LUA_IDSIZE 60
#define LUAI_MAXALIGN lua_Number n; double u; void *s; lua_Integer i; long l
#define LUAL_BUFFERSIZE ((int)(16 * sizeof(void *) * sizeof(lua_Number)))

/* Module search paths (the defaults of a PUC-Rio build for /usr/local). */
#define LUA_PATH_SEP ";"
#define LUA_PATH_MARK "?"
#define LUA_EXEC_DIR "!"
#define LUA_DIRSEP "/"
#define LUA_VDIR "5.4"
#define LUA_ROOT "/usr/local/"
#define LUA_LDIR LUA_ROOT "share/lua/" LUA_VDIR "/"
#define LUA_CDIR LUA_ROOT "lib/lua/" LUA_VDIR "/"
#define LUA_PATH_DEFAULT \
  LUA_LDIR "?.lua;" LUA_LDIR "?/init.lua;" \
  LUA_CDIR "?.lua;" LUA_CDIR "?/init.lua;" \
  "./?.lua;" "./?/init.lua"
#define LUA_CPATH_DEFAULT \
  LUA_CDIR "?.so;" LUA_CDIR "loadall.so;" "./?.so"

#if defined(__GNUC__)
#define luai_likely(x) (__builtin_expect(((x) != 0), 1))
#define luai_unlikely(x) (__builtin_expect(((x) != 0), 0))
#else
#define luai_likely(x) (x)
#define luai_unlikely(x) (x)
#endif

#endif
