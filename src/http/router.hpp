#pragma once
// Exact-path routing: unknown path -> 404, known path with another method -> 405 + Allow. A prefix
// route takes every path under it that no exact route takes (its handler routes further).
#include <string>
#include <vector>

#include "http/message.hpp"

namespace partyline::http {

class Router {
 public:
  // GET routes answer HEAD too (the server drops the body).
  void add(std::string path, std::vector<std::string> methods, Handler handler);
  // prefix ends with '/': "/api/" takes "/api/rooms/x" (not "/api").
  void add_prefix(std::string prefix, Handler handler);
  void dispatch(const Request& request, const Respond& respond) const;

 private:
  struct Route {
    std::string path;
    std::vector<std::string> methods;
    Handler handler;
  };
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, Handler>> prefixes_;
};

}  // namespace partyline::http
