#include "http/message.hpp"

#include <unistd.h>

namespace partyline::http {

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

Response Response::text(int status, std::string body, std::string reason) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  r.reason = std::move(reason);
  return r;
}

Response Response::xml(std::string body) {
  Response r;
  r.content_type = "text/xml";
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body, std::string reason) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.reason = std::move(reason);
  return r;
}

FileBody::~FileBody() {
  if (fd >= 0) ::close(fd);
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace partyline::http
