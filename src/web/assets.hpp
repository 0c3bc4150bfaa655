#pragma once
// The console's pages, style sheet and scripts (web/), compiled into the binary at build time by
// cmake/embed_assets.cmake, so a host needs no files beside it and nothing is fetched at run time.
#include <cstddef>
#include <span>
#include <string_view>

namespace partyline::web {

struct Asset {
  std::string_view path;          // "/console", "/console/sign-in", "/console/assets/console.js"
  std::string_view content_type;  // "text/html; charset=utf-8", "text/css", "text/javascript"
  std::string_view body;
  std::string_view etag;  // the ETag header's value, quotes included: a hash of body
};

// The asset served at url_path (no query string), or nullptr.
const Asset* find(std::string_view url_path);
// The size of every body together (the issue allows 200 KiB).
std::size_t total_bytes();
// Every asset, ordered by its file's path under web/.
std::span<const Asset> all();

namespace detail {
std::span<const Asset> embedded();  // defined in the generated source
}

}  // namespace partyline::web
