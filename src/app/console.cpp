#include "app/console.hpp"

#include "app/api.hpp"

#include <boost/asio/post.hpp>
#include <boost/url/parse.hpp>

#include "rooms/status.hpp"
#include "twilio/sid.hpp"
#include "web/assets.hpp"

namespace partyline::app {
namespace {

using http::Request;
using http::Respond;
using http::Response;
namespace json = boost::json;
using api::error;
using api::iso;
using api::json_response;
using api::segments;

constexpr const char* kCookie = "partyline_session";

void page_headers(Response& r, const std::string& media_origin) {
  std::string csp =
      "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
  if (!media_origin.empty()) csp += "; media-src 'self' " + media_origin;
  r.headers.emplace_back("Content-Security-Policy", std::move(csp));
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "same-origin");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
}

// The JSON body of an action: an object, or nothing (malformed). An empty body is an empty object.
std::optional<json::object> body_object(const Request& r) {
  if (r.body.empty()) return json::object{};
  const std::string_view type = r.header("Content-Type");
  if (!http::iequals(type.substr(0, type.find(';')), "application/json")) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// The one boolean field `name` of the body, or nothing.
std::optional<bool> flag(const json::object& body, const char* name) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->as_bool();
}

// The sign-in page and what it loads need no session: the scripts, style sheet and icon are the
// same for everyone and hold no data (the data is behind /api/).
bool open_page(std::string_view path) {
  return path == "/console/sign-in" || path.starts_with("/console/assets/");
}

std::string origin_of(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return {};
  std::string o = std::string(u->scheme()) + "://" + std::string(u->encoded_host());
  if (u->has_port()) o += ":" + std::string(u->port());
  return o;
}

}  // namespace

Console::Console(std::string public_base_url, log::Logger& log, util::Clock clock, ConsoleDeps deps,
                 db::CallStore& calls, db::RoomLocks& locks, CurrentRooms rooms,
                 live::HubOptions hub)
    : public_base_url_(std::move(public_base_url)),
      origin_(origin_of(public_base_url_)),
      secure_cookie_(public_base_url_.starts_with("https://")),
      log_(log),
      clock_(std::move(clock)),
      deps_(deps),
      calls_(calls),
      locks_(locks),
      rooms_(std::move(rooms)),
      hub_([this](const std::string& room) { return room_state(room); },
           [this](const std::string& token) { return deps_.auth.session(token).has_value(); },
           hub) {}

Console::~Console() {
  workers_.join();
}

void Console::conference_changed(const std::string& room) {
  if (room.empty() || rooms_().find(room) == nullptr) return hub_.changed_all();
  hub_.changed(room);
}

std::int64_t Console::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch()).count();
}

std::optional<Console::Caller> Console::session_of(const Request& request) {
  const std::string_view cookies = request.header("Cookie");
  std::string_view token;
  for (std::size_t at = 0; at < cookies.size();) {
    auto end = cookies.find(';', at);
    if (end == std::string_view::npos) end = cookies.size();
    std::string_view pair = cookies.substr(at, end - at);
    while (!pair.empty() && pair.front() == ' ')
      pair.remove_prefix(1);
    const std::string_view name = kCookie;
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      token = pair.substr(name.size() + 1);
    }
    at = end + 1;
  }
  if (token.empty() || token.size() > 256) return std::nullopt;
  std::string t(token);
  auto principal = deps_.auth.session(t);
  if (!principal) return std::nullopt;
  return Caller{std::move(t), std::move(*principal)};
}

// The rule: a state-changing request must come from PUBLIC_BASE_URL's own pages.
bool Console::same_origin(const Request& request) const {
  if (http::iequals(request.header("Sec-Fetch-Site"), "cross-site")) return false;
  const std::string_view origin = request.header("Origin");
  return origin.empty() || origin == origin_;
}

std::string Console::cookie(const std::string& token, bool clear) const {
  std::string c =
      std::string(kCookie) + "=" + (clear ? "" : token) + "; HttpOnly; SameSite=Strict; Path=/";
  if (clear) c += "; Max-Age=0";
  if (secure_cookie_) c += "; Secure";
  return c;
}

void Console::handle(const Request& request, Respond respond) {
  if (deps_.auth.users().count() == 0) {
    return respond(Response::text(404, "Not Found\n", "no console user yet (partyline users add)"));
  }
  if (request.path().starts_with("/api/")) return api(request, respond);
  page(request, respond);
}

void Console::page(const Request& request, const Respond& respond) {
  if (request.method != "GET" && request.method != "HEAD") {
    Response r = Response::text(405, "Method Not Allowed\n", "pages answer GET");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return respond(std::move(r));
  }
  std::string path(request.path());
  const web::Asset* asset = web::find(path);
  if (asset == nullptr) return respond(Response::text(404, "Not Found\n", "no such page"));
  // The sign-in page and what it loads are open; everything else needs a session.
  if (!open_page(path) && !session_of(request)) {
    Response r = Response::empty(302);
    r.headers.emplace_back("Location", "/console/sign-in?next=" + path);
    return respond(std::move(r));
  }
  Response r;
  r.status = 200;
  r.content_type = std::string(asset->content_type);
  r.body = std::string(asset->body);
  r.headers.emplace_back("ETag", std::string(asset->etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  page_headers(r, deps_.media_origin);
  if (request.header("If-None-Match") == asset->etag) {
    r.status = 304;
    r.body.clear();
  }
  respond(std::move(r));
}

void Console::api(const Request& request, const Respond& respond) {
  const bool changes = request.method != "GET" && request.method != "HEAD";
  if (changes && !same_origin(request)) {
    return respond(error(403, "cross-origin request refused"));
  }
  const auto parts = segments(request.path());  // "api", ...
  if (parts.size() == 2 && parts[1] == "session") {
    if (request.method == "POST") return sign_in(request, respond);
    if (request.method == "DELETE") {
      Response r = Response::empty(204);
      if (auto caller = session_of(request)) {
        deps_.auth.sign_out(caller->token);
        hub_.close_session(caller->token);
        log_.info("console.sign_out", {{"user", caller->principal.user}});
      }
      r.headers.emplace_back("Set-Cookie", cookie({}, true));
      r.headers.emplace_back("Cache-Control", "no-store");
      return respond(std::move(r));
    }
    if (request.method == "GET" || request.method == "HEAD") {
      const auto caller = session_of(request);
      if (!caller) return respond(error(401, "sign in first"));
      return respond(json_response(
          200, json::object{{"user", caller->principal.user},
                            {"role", std::string(db::role_name(caller->principal.role))}}));
    }
    return respond(error(405, "GET tells who is signed in, POST signs in, DELETE signs out"));
  }
  const auto caller = session_of(request);
  if (!caller) return respond(error(401, "sign in first"));
  if (parts.size() >= 2 && parts[1] == "rooms") return room_route(request, *caller, parts, respond);
  if (parts.size() >= 2 && (parts[1] == "sessions" || parts[1] == "recordings") &&
      deps_.library != nullptr) {
    return deps_.library->handle(request, caller->principal, parts, respond);
  }
  respond(error(404, "no such API route"));
}

void Console::sign_in(const Request& request, const Respond& respond) {
  const auto body = body_object(request);
  const auto* user = body ? body->if_contains("username") : nullptr;
  const auto* password = body ? body->if_contains("password") : nullptr;
  if (!user || !password || !user->is_string() || !password->is_string()) {
    return respond(error(400, "expected JSON {\"username\", \"password\"}"));
  }
  // Hashing a password takes about 0.1 s of CPU: on a worker, not on an I/O thread.
  on_worker(respond, [this, name = std::string(user->as_string()),
                      pass = std::string(password->as_string()), address = request.remote] {
    const auto result = deps_.auth.sign_in(name, pass, address);
    if (const auto* ok = std::get_if<auth::SignedIn>(&result)) {
      log_.info("console.sign_in", {{"user", ok->principal.user}});
      Response r = Response::empty(204);
      r.headers.emplace_back("Set-Cookie", cookie(ok->token, false));
      r.headers.emplace_back("Cache-Control", "no-store");
      return r;
    }
    if (const auto* throttled = std::get_if<auth::Throttled>(&result)) {
      limited_.warn("console.sign_in_throttled", "too many failed sign-ins", {});
      Response r = error(429, "too many failed sign-ins; try again later");
      r.headers.emplace_back("Retry-After", std::to_string(throttled->retry_after.count()));
      return r;
    }
    limited_.warn("console.sign_in_failed", "wrong username or password", {});
    return error(401, "wrong username or password");
  });
}

void Console::on_worker(const Respond& respond, std::function<Response()> work) {
  workers_.run(respond, std::move(work));
}

std::optional<db::ConferenceSummary> Console::conference_of(const rooms::Room& room) {
  // Call records from before rooms name no room: with a single room, they are its.
  const bool only = rooms_().all().size() == 1;
  std::optional<db::ConferenceSummary> best;
  for (auto& c : calls_.open_conferences()) {
    if (c.room != room.name && !(only && c.room.empty())) continue;
    if (!best || c.started_ms > best->started_ms) best = std::move(c);
  }
  return best;
}

boost::json::object Console::room_object(const rooms::Room& room, bool detail) {
  json::object o{{"name", room.name},
                 {"locked", locks_.locked(room.name)},
                 {"max_participants", room.max_participants}};
  const auto c = conference_of(room);
  json::array participants;
  if (c) {
    bool paused = false;
    {
      std::lock_guard lock(paused_mutex_);
      paused = paused_.count(c->conference_sid) != 0;
    }
    o["conference"] = json::object{
        {"sid", c->conference_sid},
        {"started_at", c->started_ms ? json::value(iso(c->started_ms)) : json::value(nullptr)},
        {"recording", !room.record ? "none"
                      : paused     ? "paused"
                                   : "recording"}};
    for (const auto& p : c->participants) {
      if (p.joined_ms == 0 || p.left_ms != 0) continue;
      participants.push_back(json::object{{"call_sid", p.call_sid},
                                          {"caller", p.caller},
                                          {"role", p.role.empty() ? "speaker" : p.role},
                                          {"muted", p.muted},
                                          {"hold", p.hold},
                                          {"joined_at", iso(p.joined_ms)}});
    }
  } else {
    o["conference"] = nullptr;
  }
  if (detail) {
    o["participants"] = std::move(participants);
  } else {
    o["participants"] = participants.size();
  }
  return o;
}

std::optional<std::string> Console::room_state(const std::string& name) {
  const rooms::Room* room = rooms_().find(name);
  if (room == nullptr) return std::nullopt;
  return json::serialize(room_object(*room, true));
}

void Console::room_route(const Request& request, const Caller& caller,
                         const std::vector<std::string>& parts, const Respond& respond) {
  // parts: api rooms [room [what [CallSid]]]
  if (parts.size() == 2) {
    if (request.method != "GET" && request.method != "HEAD") {
      return respond(error(405, "GET only"));
    }
    json::array all;
    for (const auto& room : rooms_().all())
      all.push_back(room_object(room, false));
    return respond(json_response(200, all));
  }
  const rooms::Room* room = rooms_().find(parts[2]);
  if (room == nullptr) return respond(error(404, "no room \"" + parts[2].substr(0, 64) + "\""));
  if (parts.size() == 3) {
    if (request.method != "GET" && request.method != "HEAD") return respond(error(405, "GET only"));
    return respond(json_response(200, room_object(*room, true)));
  }
  const std::string& what = parts[3];
  if (what == "events" && parts.size() == 4) {
    if (request.method != "GET") return respond(error(405, "GET only"));
    if (!hub_.has_room_for(caller.token)) {
      return respond(error(429, "too many live streams are open"));
    }
    Response r;
    r.status = 200;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("X-Accel-Buffering", "no");
    r.stream = [this, name = room->name,
                token = caller.token](std::shared_ptr<http::StreamSink> sink) {
      // A dropped stream comes back after 1 s (browsers wait about 3 s unless told).
      sink->send("retry: 1000\n\n");
      if (!hub_.subscribe(name, sink, token)) {
        limited_.warn("console.stream_refused", "too many console streams open", {});
        sink->close();
      }
    };
    return respond(std::move(r));
  }
  const bool participant = what == "participants" && parts.size() == 5;
  const bool room_action = parts.size() == 4 && (what == "mute-all" || what == "lock" ||
                                                 what == "recording" || what == "end");
  if (!participant && !room_action) return respond(error(404, "no such API route"));
  if (participant && request.method != "POST" && request.method != "DELETE") {
    return respond(error(405, "POST or DELETE"));
  }
  if (room_action && request.method != "POST") return respond(error(405, "POST only"));
  action(caller, *room, participant ? (request.method == "DELETE" ? "remove" : "update") : what,
         participant ? parts[4] : std::string(), request, respond);
}

void Console::action(const Caller& caller, const rooms::Room& room, const std::string& what,
                     const std::string& call_sid, const Request& request, const Respond& respond) {
  const auto body = body_object(request);
  if (!body) return respond(error(400, "the body must be a JSON object (application/json)"));
  const std::string user = caller.principal.user;

  if (what == "lock") {
    const auto locked = flag(*body, "locked");
    if (!locked) return respond(error(400, "expected {\"locked\": true|false}"));
    auto changed = rooms::set_locked(rooms_(), locks_, room.name, *locked, now_ms());
    if (!changed) return respond(error(500, changed.error().reason));
    log_.info("console.action", {{"user", user},
                                 {"room", room.name},
                                 {"action", *locked ? "lock" : "unlock"},
                                 {"result", "ok"}});
    if (const auto c = conference_of(room)) {
      calls_.record_action(
          {c->conference_sid, now_ms(), user, *locked ? "lock" : "unlock", "", "ok"});
    }
    hub_.changed(room.name);
    return respond(json_response(202, json::object{{"locked", *locked}}));
  }

  const auto conference = conference_of(room);
  if (!conference) return respond(error(409, "no conference is running in this room"));
  const db::Participant* target = nullptr;
  if (!call_sid.empty()) {
    for (const auto& p : conference->participants) {
      if (p.call_sid == call_sid && p.joined_ms != 0 && p.left_ms == 0) target = &p;
    }
    if (target == nullptr) return respond(error(404, "no such participant in this room"));
  }

  // What to ask Twilio, decided here; asked on a worker.
  std::function<util::Result<void>(twilio::ConferenceControl&)> ask;
  std::string name = what;
  const std::string cf = conference->conference_sid;
  if (what == "update") {
    const auto muted = flag(*body, "muted");
    const auto hold = flag(*body, "hold");
    if (muted.has_value() == hold.has_value() || body->size() != 1) {
      return respond(error(400, "expected {\"muted\": true|false} or {\"hold\": true|false}"));
    }
    name = muted ? (*muted ? "mute" : "unmute") : (*hold ? "hold" : "unhold");
    ask = [cf, call_sid, muted, hold](twilio::ConferenceControl& c) {
      return muted ? c.set_muted(cf, call_sid, *muted) : c.set_hold(cf, call_sid, *hold);
    };
  } else if (what == "remove") {
    ask = [cf, call_sid](twilio::ConferenceControl& c) {
      return c.remove_participant(cf, call_sid);
    };
  } else if (what == "mute-all") {
    const auto muted = flag(*body, "muted");
    if (!muted) return respond(error(400, "expected {\"muted\": true|false}"));
    name = *muted ? "mute-all" : "unmute-all";
    std::vector<std::string> speakers;
    for (const auto& p : conference->participants) {
      const bool speaker = p.role.empty() || p.role == "speaker";
      if (speaker && p.joined_ms != 0 && p.left_ms == 0) speakers.push_back(p.call_sid);
    }
    ask = [cf, speakers, m = *muted](twilio::ConferenceControl& c) -> util::Result<void> {
      // Twilio has no bulk mute: one request per speaker; the first refusal is the answer, the
      // rest are still asked.
      util::Result<void> first{};
      for (const auto& sid : speakers) {
        auto r = c.set_muted(cf, sid, m);
        if (!r && first) first = r;
      }
      return first;
    };
  } else if (what == "recording") {
    const auto paused = flag(*body, "paused");
    if (!paused) return respond(error(400, "expected {\"paused\": true|false}"));
    if (!room.record) return respond(error(409, "this room does not record"));
    name = *paused ? "pause-recording" : "resume-recording";
    ask = [this, cf, room_name = room.name, p = *paused](twilio::ConferenceControl& c) {
      auto r = c.set_recording_paused(cf, p);
      if (r) {
        // Twilio sends no event for a pause: its answer is the confirmation.
        std::lock_guard lock(paused_mutex_);
        if (p) {
          paused_.insert(cf);
        } else {
          paused_.erase(cf);
        }
      }
      return r;
    };
  } else if (what == "end") {
    ask = [cf](twilio::ConferenceControl& c) { return c.end_conference(cf); };
  }

  const std::string caller_digits = target ? target->caller : std::string();
  on_worker(respond, [this, ask, name, user, room_name = room.name, caller_digits, cf, call_sid] {
    util::Result<void> r =
        deps_.control ? ask(*deps_.control)
                      : util::Result<void>(util::Failure::later(
                            "no Twilio account is configured (local mode): nothing to ask"));
    log_.write(r ? log::LogLevel::kInfo : log::LogLevel::kWarn, "console.action",
               {{"user", user},
                {"room", room_name},
                {"action", name},
                log::Field::unless_empty("caller", caller_digits),
                {"ConferenceSid", cf},
                {"result", r ? std::string("ok") : r.error().reason}});
    // Kept with the conference: its report says who did what, and when.
    calls_.record_action({cf, now_ms(), user, name, call_sid, r ? "ok" : r.error().reason});
    if (!r) return error(502, r.error().reason);
    if (name.ends_with("recording")) hub_.changed(room_name);
    return json_response(202, json::object{{"accepted", true}});
  });
}

}  // namespace partyline::app
