#include "config/env_file.hpp"

#include <fstream>
#include <sstream>

namespace partyline::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool valid_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void fail(int line, const std::string& why) {
  throw ConfigError("--env-file", "line " + std::to_string(line) + ": " + why);
}

std::string unquote(std::string_view v, int line) {
  if (v.empty()) return {};
  const char q = v.front();
  if (q != '"' && q != '\'') {
    // Unquoted: an inline comment starts at " #".
    if (auto hash = v.find(" #"); hash != std::string_view::npos) v = trim(v.substr(0, hash));
    return std::string(v);
  }
  if (v.size() < 2 || v.back() != q) fail(line, "unterminated quote");
  v = v.substr(1, v.size() - 2);
  if (q == '\'') return std::string(v);
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\' || i + 1 == v.size()) {
      out += v[i];
      continue;
    }
    switch (v[++i]) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      default:
        out += '\\';
        out += v[i];
    }
  }
  return out;
}

}  // namespace

Env parse_env_file(std::string_view text) {
  Env env;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') {
      if (end == text.size()) break;
      continue;
    }
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) fail(line_no, "expected NAME=VALUE");
    const std::string_view name = trim(line.substr(0, eq));
    if (!valid_name(name)) fail(line_no, "invalid variable name");
    env[std::string(name)] = unquote(trim(line.substr(eq + 1)), line_no);
    if (end == text.size()) break;
  }
  return env;
}

Env merge_env_file(const Env& env, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError("--env-file", "cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  Env merged = parse_env_file(text.str());
  for (const auto& [k, v] : env)
    merged[k] = v;
  return merged;
}

}  // namespace partyline::config
