#include "http/range.hpp"

#include <charconv>
#include <optional>

namespace partyline::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// All digits, no sign, fits in 64 bits.
std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

ByteRange parse_range(std::string_view header, std::uint64_t size) {
  header = trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size()) return {};
  for (std::size_t i = 0; i < kUnit.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kUnit[i]) return {};
  }
  const std::string_view spec = trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return {};
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view a = trim(spec.substr(0, dash)), b = trim(spec.substr(dash + 1));
  ByteRange unsatisfiable{ByteRange::Kind::kUnsatisfiable, 0, 0};
  if (a.empty()) {  // a suffix: the last n bytes
    const auto n = number(b);
    if (!n) return {};
    if (*n == 0 || size == 0) return unsatisfiable;
    return {ByteRange::Kind::kPart, *n >= size ? 0 : size - *n, size - 1};
  }
  const auto first = number(a);
  if (!first) return {};
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    const auto given = number(b);
    if (!given || *given < *first) return {};
    if (*given < last) last = *given;
  }
  if (*first >= size) return unsatisfiable;
  return {ByteRange::Kind::kPart, *first, last};
}

}  // namespace partyline::http
