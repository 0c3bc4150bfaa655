#include "http/router.hpp"

#include <algorithm>

namespace partyline::http {

void Router::add(std::string path, std::vector<std::string> methods, Handler handler) {
  if (std::find(methods.begin(), methods.end(), "GET") != methods.end()) methods.push_back("HEAD");
  routes_.push_back({std::move(path), std::move(methods), std::move(handler)});
}

void Router::add_prefix(std::string prefix, Handler handler) {
  prefixes_.emplace_back(std::move(prefix), std::move(handler));
}

void Router::dispatch(const Request& request, const Respond& respond) const {
  const std::string_view path = request.path();
  for (const auto& route : routes_) {
    if (route.path != path) continue;
    if (std::find(route.methods.begin(), route.methods.end(), request.method) ==
        route.methods.end()) {
      std::string allow;
      for (const auto& m : route.methods)
        allow += (allow.empty() ? "" : ", ") + m;
      Response r = Response::text(405, "Method Not Allowed\n",
                                  "method " + request.method + " not allowed; allowed: " + allow);
      r.headers.emplace_back("Allow", allow);
      respond(std::move(r));
      return;
    }
    route.handler(request, respond);
    return;
  }
  for (const auto& [prefix, handler] : prefixes_) {
    if (path.starts_with(prefix)) return handler(request, respond);
  }
  respond(Response::text(404, "Not Found\n", "no route for this path"));
}

}  // namespace partyline::http
