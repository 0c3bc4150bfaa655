# Writes OUTPUT, a C++ source holding every file under WEB_DIR, so the binary serves the console
# with no files beside it. Run as `cmake -DWEB_DIR=… -DOUTPUT=… -P embed_assets.cmake` (CMake
# script, so a build host needs nothing but CMake and the compiler).
#
# URL paths: WEB_DIR/console.html is /console, any other top-level NAME.html is /console/NAME, and
# every other file is /console/<its path under WEB_DIR>.
cmake_minimum_required(VERSION 3.25)

if(NOT WEB_DIR OR NOT OUTPUT)
  message(FATAL_ERROR "embed_assets.cmake: set WEB_DIR and OUTPUT")
endif()

function(url_path rel out)
  if(rel STREQUAL "console.html")
    set(${out} "/console" PARENT_SCOPE)
  elseif(rel MATCHES "^([^/]+)\\.html$")
    set(${out} "/console/${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "/console/${rel}" PARENT_SCOPE)
  endif()
endfunction()

function(content_type rel out)
  if(rel MATCHES "\\.html$")
    set(${out} "text/html; charset=utf-8" PARENT_SCOPE)
  elseif(rel MATCHES "\\.css$")
    set(${out} "text/css" PARENT_SCOPE)
  elseif(rel MATCHES "\\.js$")
    set(${out} "text/javascript" PARENT_SCOPE)
  elseif(rel MATCHES "\\.svg$")
    set(${out} "image/svg+xml" PARENT_SCOPE)
  else()
    message(FATAL_ERROR "embed_assets.cmake: no content type for ${rel} (add one here)")
  endif()
endfunction()

file(GLOB_RECURSE files RELATIVE "${WEB_DIR}" "${WEB_DIR}/*")
list(SORT files)

set(bodies "")
set(table "")
set(index 0)
foreach(rel IN LISTS files)
  url_path("${rel}" path)
  content_type("${rel}" type)
  file(SHA256 "${WEB_DIR}/${rel}" digest)
  string(SUBSTRING "${digest}" 0 20 digest)
  file(READ "${WEB_DIR}/${rel}" hex HEX)
  file(SIZE "${WEB_DIR}/${rel}" size)
  # Every byte as \xNN, so no content can end the literal; 32 bytes to a line.
  string(REGEX REPLACE "(..)" "\\\\x\\1" escaped "${hex}")
  string(REPEAT "\\\\x.." 32 line_of_32)
  string(REGEX REPLACE "(${line_of_32})" "\\1\"\n    \"" escaped "${escaped}")
  string(APPEND bodies "// ${rel}\nconstexpr char kBody${index}[] =\n    \"${escaped}\";\n")
  string(APPEND table "    {\"${path}\", \"${type}\", {kBody${index}, ${size}}, \"\\\"${digest}\\\"\"},\n")
  math(EXPR index "${index} + 1")
endforeach()

file(WRITE "${OUTPUT}.tmp" "// Generated from web/ by cmake/embed_assets.cmake at build time: edit those files instead.
#include <span>

#include \"web/assets.hpp\"

namespace partyline::web::detail {
namespace {

${bodies}
constexpr Asset kAssets[] = {
${table}};

}  // namespace

std::span<const Asset> embedded() { return kAssets; }

}  // namespace partyline::web::detail
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
