#include "web/assets.hpp"

namespace partyline::web {

std::span<const Asset> all() {
  return detail::embedded();
}

const Asset* find(std::string_view url_path) {
  for (const Asset& asset : all()) {
    if (asset.path == url_path) return &asset;
  }
  return nullptr;
}

std::size_t total_bytes() {
  std::size_t total = 0;
  for (const Asset& asset : all())
    total += asset.body.size();
  return total;
}

}  // namespace partyline::web
