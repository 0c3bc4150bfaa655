#include "http/form.hpp"

#include <algorithm>

namespace partyline::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

}  // namespace

FormResult parse_form(std::string_view body) {
  Params params;
  // One allocation for the list (a Twilio webhook has 10 to 30 fields), not one per doubling.
  params.reserve(static_cast<std::size_t>(std::count(body.begin(), body.end(), '&')) + 1);
  std::size_t pos = 0;
  std::size_t index = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    ++index;
    if (pair.empty()) {
      if (amp == body.size()) break;
      continue;
    }
    const std::size_t eq = pair.find('=');
    std::string name;
    std::string value;
    if (!decode(pair.substr(0, eq), name) ||
        (eq != std::string_view::npos && !decode(pair.substr(eq + 1), value))) {
      return {std::nullopt, "malformed percent-encoding in form field " + std::to_string(index)};
    }
    if (name.empty())
      return {std::nullopt, "empty field name in form field " + std::to_string(index)};
    params.emplace_back(std::move(name), std::move(value));
    if (amp == body.size()) break;
  }
  return {std::move(params), {}};
}

const std::string* find_param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string form_encode(const Params& params) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  auto enc = [&](std::string_view s) {
    for (unsigned char c : s) {
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_' || c == '*') {
        out += static_cast<char>(c);
      } else if (c == ' ') {
        out += '+';
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  };
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i) out += '&';
    enc(params[i].first);
    out += '=';
    enc(params[i].second);
  }
  return out;
}

}  // namespace partyline::http
