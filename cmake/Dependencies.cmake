# Finds every third-party library bot-bottle uses. All come from Debian packages;
# scripts/install-deps installs them. A missing one stops configuration with the
# package to install, instead of a compiler error three minutes later.

find_package(PkgConfig REQUIRED)

set(_bottle_missing "")
macro(bottle_require found what package)
  if(NOT ${found})
    list(APPEND _bottle_missing "${what} (apt-get install ${package})")
  endif()
endmacro()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_hs_pkg libhyperscan-dev)
else()
  set(_hs_pkg libvectorscan-dev)
endif()

pkg_check_modules(UV QUIET IMPORTED_TARGET libuv)
bottle_require(UV_FOUND "libuv" libuv1-dev)
pkg_check_modules(RE2 QUIET IMPORTED_TARGET re2)
bottle_require(RE2_FOUND "RE2" libre2-dev)
pkg_check_modules(HS QUIET IMPORTED_TARGET libhs)
bottle_require(HS_FOUND "Hyperscan" ${_hs_pkg})
pkg_check_modules(NGHTTP2 QUIET IMPORTED_TARGET libnghttp2)
bottle_require(NGHTTP2_FOUND "nghttp2" libnghttp2-dev)
pkg_check_modules(BROTLI QUIET IMPORTED_TARGET libbrotlidec libbrotlienc)
bottle_require(BROTLI_FOUND "brotli" libbrotli-dev)
pkg_check_modules(DEFLATE QUIET IMPORTED_TARGET libdeflate)
bottle_require(DEFLATE_FOUND "libdeflate" libdeflate-dev)
find_package(ZLIB QUIET)
bottle_require(ZLIB_FOUND "zlib" zlib1g-dev)
find_package(yaml-cpp QUIET)
bottle_require(yaml-cpp_FOUND "yaml-cpp" libyaml-cpp-dev)
find_package(fmt QUIET)
bottle_require(fmt_FOUND "fmt" libfmt-dev)
find_package(spdlog QUIET)
bottle_require(spdlog_FOUND "spdlog" libspdlog-dev)
find_package(nlohmann_json QUIET)
bottle_require(nlohmann_json_FOUND "nlohmann-json" nlohmann-json3-dev)
find_package(CLI11 QUIET)
bottle_require(CLI11_FOUND "CLI11" libcli11-dev)
if(BOTTLE_TESTS)
  find_package(GTest QUIET)
  bottle_require(GTest_FOUND "GoogleTest/GoogleMock" "libgtest-dev libgmock-dev")
endif()
if(BOTTLE_BENCH)
  find_package(benchmark QUIET)
  bottle_require(benchmark_FOUND "Google Benchmark" libbenchmark-dev)
endif()

# llhttp: Debian's node-llhttp ships the generated C sources, not a library. They are
# C and must be compiled as C.
set(LLHTTP_SRC_DIR /usr/share/llhttp CACHE PATH "llhttp C sources")
set(LLHTTP_INCLUDE_DIR /usr/share/include/llhttp CACHE PATH "llhttp header")
if(EXISTS ${LLHTTP_SRC_DIR}/llhttp.c AND EXISTS ${LLHTTP_INCLUDE_DIR}/llhttp.h)
  add_library(llhttp STATIC ${LLHTTP_SRC_DIR}/llhttp.c ${LLHTTP_SRC_DIR}/api.c ${LLHTTP_SRC_DIR}/http.c)
  set_source_files_properties(${LLHTTP_SRC_DIR}/llhttp.c ${LLHTTP_SRC_DIR}/api.c ${LLHTTP_SRC_DIR}/http.c
                              PROPERTIES LANGUAGE C)
  target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
  set_target_properties(llhttp PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
  add_library(deps::llhttp ALIAS llhttp)
else()
  list(APPEND _bottle_missing "llhttp C sources in ${LLHTTP_SRC_DIR} (apt-get install node-llhttp)")
endif()

# BoringSSL from android-libboringssl-dev. Its libssl/libcrypto are named like OpenSSL's
# but live in their own directory; a binary must link only these, never OpenSSL.
execute_process(COMMAND dpkg-architecture -qDEB_HOST_MULTIARCH OUTPUT_VARIABLE _multiarch
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT _multiarch)
  set(_multiarch "${CMAKE_LIBRARY_ARCHITECTURE}")
endif()
set(BORINGSSL_INCLUDE_DIR /usr/include/android CACHE PATH "BoringSSL headers")
set(BORINGSSL_LIB_DIR /usr/lib/${_multiarch}/android CACHE PATH "BoringSSL libraries")
if(EXISTS ${BORINGSSL_INCLUDE_DIR}/openssl/base.h AND EXISTS ${BORINGSSL_LIB_DIR}/libssl.so)
  add_library(deps::boringssl INTERFACE IMPORTED)
  # SYSTEM so BoringSSL's own headers do not trip -Wextra -Werror; -isystem directories
  # are still searched before /usr/include, so OpenSSL headers cannot shadow them.
  target_include_directories(deps::boringssl SYSTEM INTERFACE ${BORINGSSL_INCLUDE_DIR})
  target_link_libraries(deps::boringssl INTERFACE ${BORINGSSL_LIB_DIR}/libssl.so
                                                  ${BORINGSSL_LIB_DIR}/libcrypto.so)
  target_link_options(deps::boringssl INTERFACE "LINKER:-rpath,${BORINGSSL_LIB_DIR}")
else()
  list(APPEND _bottle_missing "BoringSSL in ${BORINGSSL_INCLUDE_DIR} and ${BORINGSSL_LIB_DIR} (apt-get install android-libboringssl-dev)")
endif()

if(_bottle_missing)
  list(JOIN _bottle_missing "\n  - " _msg)
  message(FATAL_ERROR "bot-bottle: missing build dependencies:\n  - ${_msg}\n"
                      "Run scripts/install-deps to install all of them.")
endif()

add_library(deps::uv ALIAS PkgConfig::UV)
add_library(deps::re2 ALIAS PkgConfig::RE2)
add_library(deps::hs ALIAS PkgConfig::HS)
add_library(deps::nghttp2 ALIAS PkgConfig::NGHTTP2)
add_library(deps::brotli ALIAS PkgConfig::BROTLI)
add_library(deps::deflate ALIAS PkgConfig::DEFLATE)
