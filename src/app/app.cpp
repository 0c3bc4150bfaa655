#include "app/app.hpp"

#include <boost/json.hpp>
#include <chrono>

#include "call_flow/call_flow.hpp"
#include "recordings/callback.hpp"
#include "recordings/naming.hpp"
#include "twilio/access_token.hpp"
#include "twilio/sid.hpp"
#include "twilio/signature.hpp"
#include "util/crypto.hpp"

namespace partyline::app {
namespace {

using http::Params;
using http::Request;
using http::Response;

// A view into the parsed form, which outlives every use in a handler.
std::string_view param(const Params& params, std::string_view name) {
  const std::string* v = http::find_param(params, name);
  return v ? std::string_view(*v) : std::string_view();
}

// Twilio's StatusCallbackEvent values mapped to the design's event names.
std::string conference_event_name(std::string_view event) {
  if (event == "conference-start") return "conf.start";
  if (event == "conference-end") return "conf.end";
  if (event.starts_with("participant-")) return "conf." + std::string(event.substr(12));
  return "conf." + std::string(event);
}

bool valid_event_name(std::string_view event) {
  return !event.empty() && event.size() <= 64 &&
         std::all_of(event.begin(), event.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
}

// Which PIN entry a /check-pin request answers: the action URL's ?attempt=N, 1 without it.
unsigned attempt_of(const Request& r) {
  const auto q = r.target.find('?');
  if (q == std::string::npos) return 1;
  auto form = http::parse_form(std::string_view(r.target).substr(q + 1));
  if (!form.params) return 1;
  const std::string* v = http::find_param(*form.params, "attempt");
  if (v == nullptr || v->size() != 1 || (*v)[0] < '1' || (*v)[0] > '9') return 1;
  return static_cast<unsigned>((*v)[0] - '0');
}

Response bad_request(std::string reason) {
  return Response::text(400, "Bad Request\n", std::move(reason));
}

}  // namespace

App::App(const config::Config& config, Runtime runtime, log::Logger& log, util::Clock clock,
         util::RandomBytes random, Services services, rooms::Rooms rooms)
    : config_(config),
      runtime_(std::move(runtime)),
      log_(log),
      clock_(std::move(clock)),
      random_(std::move(random)),
      services_(services),
      answers_(std::move(rooms), config_.pin_attempts, runtime_.public_base_url) {
  if (!runtime_.twilio.auth_token.empty()) signature_.emplace(runtime_.twilio.auth_token.reveal());
  router_.add("/health", {"GET"}, [](const Request&, const http::Respond& respond) {
    respond(Response::text(200, "OK"));
  });
  router_.add("/metrics", {"GET"},
              [this](const Request& r, const http::Respond& respond) { respond(metrics(r)); });
  router_.add("/token", {"GET"},
              [this](const Request& r, const http::Respond& respond) { respond(token(r)); });
  add_async_webhook(
      "/voice", [this](const Params& p, http::Respond respond) { voice(p, std::move(respond)); });
  add_async_webhook("/consent", [this](const Params& p, http::Respond respond) {
    consent(p, std::move(respond));
  });
  // The PIN entry's number rides in the action URL (?attempt=N), which the signature covers.
  router_.add("/check-pin", {"POST"}, [this](const Request& r, const http::Respond& respond) {
    auto checked = guard(r);
    if (auto* refused = std::get_if<Response>(&checked)) {
      return respond(std::move(*refused));
    }
    check_pin(r, std::get<Params>(checked), respond);
  });
  add_async_webhook("/conf-status", [this](const Params& p, http::Respond respond) {
    conf_status(p, std::move(respond));
  });
  add_webhook("/silence", [this](const Request&, const Params&) {
    return Response::xml(answers_.get()->silence());
  });
  add_async_webhook("/track-callback", [this](const Params& p, http::Respond respond) {
    track_callback(p, std::move(respond));
  });
  add_async_webhook("/recording-callback", [this](const Params& p, http::Respond respond) {
    recording_callback(p, std::move(respond));
  });
  if (services_.console != nullptr) {
    console_ = std::make_unique<Console>(
        runtime_.public_base_url, log_, clock_, *services_.console, services_.calls,
        services_.locks, [this]() -> const rooms::Rooms& { return answers_.get()->rooms(); });
    const http::Handler console = [this](const Request& r, const http::Respond& respond) {
      console_->handle(r, respond);
    };
    router_.add("/console", {"GET"}, console);
    router_.add_prefix("/console/", console);
    router_.add_prefix("/api/", console);
    if (services_.console->control != nullptr) {
      tracks_ = std::make_unique<TrackRestarter>(
          *services_.console->control, runtime_.public_base_url + "/track-callback",
          [this](const std::string& call) { return call_on(call); }, log_);
    }
  }
}

bool App::call_on(const std::string& call_sid) const {
  const std::string conference = services_.calls.conference_of_call(call_sid);
  if (conference.empty()) return false;
  const auto c = services_.calls.committed_conference(conference);
  if (!c || c->ended_ms != 0) return false;
  for (const auto& p : c->participants) {
    if (p.call_sid == call_sid) return p.joined_ms != 0 && p.left_ms == 0;
  }
  return false;
}

void App::add_webhook(const std::string& path, WebhookHandler handler) {
  router_.add(path, {"POST"},
              [this, handler = std::move(handler)](const Request& r, const http::Respond& respond) {
                auto checked = guard(r);
                if (auto* refused = std::get_if<Response>(&checked)) {
                  return respond(std::move(*refused));
                }
                respond(handler(r, std::get<Params>(checked)));
              });
}

void App::add_async_webhook(const std::string& path, AsyncWebhookHandler handler) {
  router_.add(path, {"POST"},
              [this, handler = std::move(handler)](const Request& r, const http::Respond& respond) {
                auto checked = guard(r);
                if (auto* refused = std::get_if<Response>(&checked)) {
                  return respond(std::move(*refused));
                }
                handler(std::get<Params>(checked), respond);
              });
}

void App::handle(const Request& request, http::Respond respond) const {
  const auto start = std::chrono::steady_clock::now();
  // The answer may come later (a recording callback waits): keep what the log line needs.
  router_.dispatch(request, [this, method = request.method, path = std::string(request.path()),
                             start, respond = std::move(respond)](Response r) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    services_.metrics.observe_request(path, r.status, std::chrono::microseconds(us));
    if (r.status >= 400 && r.status < 500) {
      limited_.warn("http.request", r.reason,
                    {{"method", method}, {"path", path}, {"status", r.status}, {"us", us}});
      return respond(std::move(r));
    }
    log_.write(r.status >= 500 ? log::LogLevel::kError : log::LogLevel::kInfo, "http.request",
               {{"method", method},
                {"path", path},
                {"status", r.status},
                {"us", us},
                log::Field::unless_empty("reason", r.reason)});
    respond(std::move(r));
  });
}

std::variant<Params, Response> App::guard(const Request& request) const {
  const std::string_view type = request.header("Content-Type");
  const std::string_view mime = type.substr(0, type.find(';'));
  if (!http::iequals(mime, "application/x-www-form-urlencoded")) {
    return Response::text(415, "Unsupported Media Type\n",
                          "webhook body must be application/x-www-form-urlencoded");
  }
  auto form = http::parse_form(request.body);
  if (!form.params) return bad_request(form.error);
  Params& params = *form.params;

  if (config_.validate_signature) {
    const std::string_view signature = request.header("X-Twilio-Signature");
    if (signature.empty()) {
      services_.metrics.signature_rejected();
      return Response::text(403, "Forbidden\n", "missing X-Twilio-Signature");
    }
    const std::string url = runtime_.public_base_url + request.target;
    if (!signature_ || !signature_->valid(signature, url, params)) {
      services_.metrics.signature_rejected();
      return Response::text(403, "Forbidden\n",
                            "X-Twilio-Signature does not match PUBLIC_BASE_URL + path and the "
                            "auth token (check PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN)");
    }
  }
  const std::string_view account = param(params, "AccountSid");
  if (!account.empty() && account != runtime_.twilio.account_sid) {
    return Response::text(403, "Forbidden\n", "AccountSid is not this service's account");
  }
  return std::move(params);
}

void App::voice(const Params& p, http::Respond respond) const {
  const std::string_view call_sid = param(p, "CallSid");
  if (!twilio::is_sid(call_sid, "CA")) return respond(bad_request("CallSid missing or malformed"));
  const std::string_view from = param(p, "From");
  log_.info("voice.hit", {{"CallSid", call_sid},
                          {"From", from},
                          {"To", param(p, "To")},
                          {"CallStatus", param(p, "CallStatus")}});
  const auto answers = answers_.get();
  const call_flow::Answer* answer = &answers->voice(param(p, "To"));
  if (answer->pin_gate && locked_out(from)) answer = &answers->locked_out();
  answer = &admitted(*answers, *answer);
  if (!answer->evt.empty()) {
    log_.warn(answer->evt, {{"CallSid", call_sid}, {"From", log::redact_phone(from)}});
  }
  const std::string caller = log::redact_phone(from);
  // With the spoken notice, staying on the line is the consent the design asks for.
  const bool notice = answer->consent == "notice";
  const std::string room = answer->room;
  answer_after_record("voice", Response::xml(answer->twiml), std::move(respond),
                      [&](db::CallStore& calls, db::WriteDone done) {
                        calls.record_call(call_sid, caller, now_ms(), notice, std::move(done),
                                          room);
                      });
}

void App::consent(const Params& p, http::Respond respond) const {
  const std::string_view call_sid = param(p, "CallSid");
  if (!twilio::is_sid(call_sid, "CA")) return respond(bad_request("CallSid missing or malformed"));
  const auto answers = answers_.get();
  const call_flow::Answer* answer =
      &answers->consent(http::find_param(p, "Digits"), param(p, "To"));
  log_.info(answer->evt, {{"CallSid", call_sid}});
  if (answer->evt != "consent.given") return respond(Response::xml(answer->twiml));
  const std::string_view from = param(p, "From");
  if (answer->pin_gate && locked_out(from)) {
    answer = &answers->locked_out();
    log_.warn(answer->evt, {{"CallSid", call_sid}, {"From", log::redact_phone(from)}});
  }
  const call_flow::Answer& admitted_answer = admitted(*answers, *answer);
  if (&admitted_answer != answer) log_.warn(admitted_answer.evt, {{"CallSid", call_sid}});
  const std::string room = admitted_answer.room;
  // The caller pressed 1: that consent is recorded whatever comes next.
  answer_after_record("consent", Response::xml(admitted_answer.twiml), std::move(respond),
                      [&](db::CallStore& calls, db::WriteDone done) {
                        calls.record_consent(call_sid, now_ms(), std::move(done), room);
                      });
}

void App::check_pin(const Request& r, const Params& p, http::Respond respond) const {
  const std::string_view call_sid = param(p, "CallSid");
  if (!twilio::is_sid(call_sid, "CA")) return respond(bad_request("CallSid missing or malformed"));
  const std::string_view from = param(p, "From");
  const auto answers = answers_.get();
  const call_flow::Answer* answer = nullptr;
  if (locked_out(from)) {
    answer = &answers->locked_out();
  } else {
    answer = &answers->check_pin(http::find_param(p, "Digits"), param(p, "To"), attempt_of(r));
    if (answer->role.empty() && answer->evt == "pin.invalid") {
      answer = &wrong_pin(*answers, from, call_sid, *answer);
    }
    answer = &admitted(*answers, *answer);
  }
  log_.write(answer->role.empty() ? log::LogLevel::kWarn : log::LogLevel::kInfo, answer->evt,
             {{"CallSid", call_sid},
              log::Field::unless_empty("role", answer->role),
              log::Field::unless_empty("room", answer->room)});
  if (answer->role.empty()) return respond(Response::xml(answer->twiml));
  const std::string role = answer->role;
  const std::string room = answer->room;
  answer_after_record("role", Response::xml(answer->twiml), std::move(respond),
                      [&](db::CallStore& calls, db::WriteDone done) {
                        calls.record_role(call_sid, role, now_ms(), std::move(done), room);
                      });
}

const call_flow::Answer& App::admitted(const call_flow::Answers& answers,
                                       const call_flow::Answer& answer) const {
  if (answer.room.empty()) return answer;
  const rooms::Room* room = answers.rooms().find(answer.room);
  if (room == nullptr) return answer;
  // A caller without a PIN counts as a speaker.
  rooms::Role role = rooms::Role::kSpeaker;
  if (answer.role == rooms::role_name(rooms::Role::kHost)) role = rooms::Role::kHost;
  if (answer.role == rooms::role_name(rooms::Role::kProducer)) role = rooms::Role::kProducer;
  call_flow::RoomState state;
  try {
    state.locked = services_.locks.locked(room->name);
    state.participants =
        static_cast<unsigned>(std::max(0, services_.calls.participants_in(room->name)));
  } catch (const std::exception& e) {
    // Twilio's maxParticipants still holds: a store that cannot answer keeps nobody out.
    limited_.error("rooms.state_error", e.what(), {{"room", room->name}});
    return answer;
  }
  const call_flow::Answer* refusal = answers.refusal(call_flow::admit(*room, role, state));
  return refusal == nullptr ? answer : *refusal;
}

std::string App::room_prefix(const std::string& room) const {
  const auto answers = answers_.get();
  const rooms::Room* r = answers->rooms().find(room);
  return r == nullptr ? std::string() : r->prefix;
}

std::string App::only_room() const {
  const auto& all = answers_.get()->rooms().all();
  return all.size() == 1 ? all.front().name : std::string();
}

bool App::locked_out(std::string_view from) const {
  return !from.empty() && pin_guard_.locked(from);
}

const call_flow::Answer& App::wrong_pin(const call_flow::Answers& answers, std::string_view from,
                                        std::string_view call_sid,
                                        const call_flow::Answer& answer) const {
  services_.metrics.wrong_pin();
  if (from.empty() || !pin_guard_.wrong_pin(from)) return answer;
  services_.metrics.pin_lockout();
  // The last 4 digits only, like every number in the log.
  log_.warn("pin.lockout", {{"CallSid", call_sid}, {"From", log::redact_phone(from)}});
  return answers.locked_out();
}

void App::conf_status(const Params& p, http::Respond respond) const {
  const std::string conference_sid(param(p, "ConferenceSid"));
  if (!twilio::is_sid(conference_sid, "CF"))
    return respond(bad_request("ConferenceSid missing or malformed"));
  const std::string event(param(p, "StatusCallbackEvent"));
  if (!valid_event_name(event))
    return respond(bad_request("StatusCallbackEvent missing or malformed"));
  const std::string call_sid(param(p, "CallSid"));
  if (!call_sid.empty() && !twilio::is_sid(call_sid, "CA"))
    return respond(bad_request("CallSid malformed"));

  boost::json::object fields{{"ConferenceSid", conference_sid}, {"event", event}};
  for (const char* name : {"FriendlyName", "CallSid", "SequenceNumber", "Timestamp", "Muted",
                           "Hold", "ReasonConferenceEnded", "ReasonParticipantLeft"}) {
    const std::string_view v = param(p, name);
    if (!v.empty()) fields[name] = v.substr(0, 128);
  }
  // Twilio sends duplicates and out-of-order events: SequenceNumber places each one; without it
  // (not expected from Twilio) arrival order stands in.
  db::ConferenceEvent e{conference_sid, 0, event, call_sid, now_ms(), param(p, "Muted") == "true"};
  const std::string_view seq = param(p, "SequenceNumber");
  const bool seq_ok =
      !seq.empty() && seq.size() <= 18 &&
      std::all_of(seq.begin(), seq.end(), [](char c) { return c >= '0' && c <= '9'; });
  e.sequence = seq_ok ? std::stoll(std::string(seq)) : (std::int64_t{1} << 40) + e.at_ms;
  if (auto t = recordings::parse_twilio_time(param(p, "Timestamp"))) {
    e.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
  }
  // The answer waits for the commit of the batch that holds the event (never blocking this
  // thread): a 204 means the event is kept, and a 503 makes Twilio send it again.
  auto answer = [this, name = conference_event_name(event), fields = std::move(fields),
                 room = std::string(param(p, "FriendlyName")), conference_sid,
                 respond](const db::WriteResult& result) mutable {
    if (!result.committed) {
      return respond(Response::text(503, "Service Unavailable\n",
                                    "conference event not stored: " + result.error));
    }
    log_.info(name, std::move(fields));
    // The conference's name is its room's: the consoles watching it hear of the change. Before
    // the answer: once Twilio (or a test) has it, this App may be gone.
    if (console_) console_->conference_changed(room);
    if (services_.console != nullptr && services_.console->library != nullptr)
      services_.console->library->conference_changed(conference_sid);
    respond(Response::empty(204));
  };
  try {
    services_.calls.record_event(e, answer);
  } catch (const std::exception& ex) {
    answer({false, ex.what()});
  }
}

void App::recording_callback(const Params& p, http::Respond respond) const {
  auto check = recordings::check_recording_callback(
      p, runtime_.twilio.account_sid, config_.twilio_api_base, config_.media_from_loopback);
  if (!check.callback) return respond(bad_request(check.error));
  const auto& cb = *check.callback;
  if (cb.status != "completed") {
    boost::json::object fields{{"RecordingSid", cb.recording_sid}, {"status", cb.status}};
    if (!cb.error_code.empty()) fields["ErrorCode"] = cb.error_code;
    log_.warn("recording.failed", std::move(fields));
    return respond(Response::empty(200));
  }
  accept_recording(cb, std::move(respond));
}

void App::track_callback(const Params& p, http::Respond respond) const {
  auto check = recordings::check_recording_callback(
      p, runtime_.twilio.account_sid, config_.twilio_api_base, config_.media_from_loopback);
  if (!check.callback) return respond(bad_request(check.error));
  auto cb = *check.callback;
  if (!twilio::is_sid(cb.call_sid, "CA"))
    return respond(bad_request("CallSid missing or malformed"));
  if (cb.status != "completed") {
    boost::json::object fields{
        {"RecordingSid", cb.recording_sid}, {"CallSid", cb.call_sid}, {"status", cb.status}};
    if (!cb.error_code.empty()) fields["ErrorCode"] = cb.error_code;
    log_.warn("track.failed", std::move(fields));
    // Still on the line: the track is asked for again (REST), never the call touched.
    if (tracks_ && (cb.status == "failed" || cb.status == "absent")) tracks_->restart(cb.call_sid);
    return respond(Response::empty(200));
  }
  // The track's place: the caller's conference, their turn in the order of joining, their role.
  std::string role = "speaker";
  std::size_t order = 0;
  try {
    cb.conference_sid = services_.calls.conference_of_call(cb.call_sid);
    if (!cb.conference_sid.empty()) {
      if (const auto c = services_.calls.committed_conference(cb.conference_sid)) {
        for (std::size_t i = 0; i < c->participants.size(); ++i) {
          if (c->participants[i].call_sid != cb.call_sid) continue;
          order = i + 1;
          if (!c->participants[i].role.empty()) role = c->participants[i].role;
        }
        if (c->started_ms != 0) {
          cb.session_start = util::iso8601_millis(
              std::chrono::system_clock::time_point(std::chrono::milliseconds(c->started_ms)));
        }
      }
    }
  } catch (const std::exception& e) {
    return respond(Response::text(503, "Service Unavailable\n",
                                  std::string("cannot read the call's conference: ") + e.what()));
  }
  if (order == 0) {
    // Its conference is not known (no participant event for the call): kept all the same.
    log_.warn("track.unplaced", {{"RecordingSid", cb.recording_sid}, {"CallSid", cb.call_sid}});
    cb.track = "track";
  } else {
    char name[32];
    std::snprintf(name, sizeof name, "track%02zu-", order);
    cb.track = name + role;
  }
  accept_recording(cb, std::move(respond));
}

void App::accept_recording(const recordings::RecordingCallback& cb, http::Respond respond) const {
  recordings::Intake::Accepted accepted;
  try {
    accepted = services_.recordings.accept(cb);
  } catch (const std::exception& e) {
    return respond(Response::text(503, "Service Unavailable\n",
                                  std::string("cannot record the job durably: ") + e.what()));
  }
  const auto& job = accepted.job;
  if (job.deleted()) {
    log_.info("recording.duplicate", {{"RecordingSid", job.recording_sid},
                                      {"key", job.key},
                                      {"reason", "callback for a recording deleted by " +
                                                     job.deleted_by + ": nothing copied"}});
    return respond(Response::empty(200));
  }
  if (job.state == db::JobState::kStored) {
    log_.info("recording.duplicate", {{"RecordingSid", job.recording_sid},
                                      {"key", job.key},
                                      {"reason", "callback for a recording already stored"}});
    return respond(Response::empty(200));
  }
  log_.info(accepted.inserted ? "recording.ready" : "recording.joined",
            {{"RecordingSid", job.recording_sid},
             {"ConferenceSid", job.conference_sid},
             {"duration", job.duration},
             {"key", job.key}});
  services_.recordings.wait(
      job.recording_sid, config_.recording_callback_wait,
      [respond](const db::Job& now, bool finished) {
        if (finished && now.state == db::JobState::kStored) {
          return respond(Response::empty(200));
        }
        // Twilio may not retry: our own queue goes on regardless (see README).
        Response r = Response::text(
            503, "Service Unavailable\n",
            now.state == db::JobState::kDead
                ? "recording dead-lettered: " + now.last_error
                : "recording not stored yet (the copy goes on in the background)" +
                      (now.last_error.empty() ? std::string() : ": " + now.last_error));
        r.headers.emplace_back("Retry-After", "60");
        respond(std::move(r));
      });
}

std::int64_t App::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch()).count();
}

Response App::metrics(const Request& request) const {
  // In production the public port shows metrics only to the bearer of METRICS_TOKEN; without
  // one they are on the metrics listener alone.
  if (config_.metrics_token.empty() && !config_.local_mode) {
    return Response::text(404, "Not Found\n",
                          "GET /metrics is served on METRICS_LISTEN (or set METRICS_TOKEN)");
  }
  if (!config_.metrics_token.empty() &&
      !util::constant_time_equal(request.header("Authorization"),
                                 "Bearer " + config_.metrics_token.reveal())) {
    Response r = Response::text(401, "Unauthorized\n", "missing or wrong METRICS_TOKEN bearer");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  return render_metrics();
}

void App::handle_metrics_listener(const Request& request, http::Respond respond) const {
  if (request.path() != "/metrics") {
    return respond(Response::text(404, "Not Found\n", "only GET /metrics is served here"));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    Response r = Response::text(405, "Method Not Allowed\n", "GET /metrics only");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return respond(std::move(r));
  }
  respond(render_metrics());
}

Response App::render_metrics() const {
  metrics::Metrics::Gauges g;
  g.connections_refused = services_.server.refused.load(std::memory_order_relaxed);
  g.connections_evicted = services_.server.evicted.load(std::memory_order_relaxed);
  try {
    g.queue_depth = services_.recordings.pending();
    if (auto oldest = services_.recordings.oldest_pending_ms()) {
      g.oldest_pending_age_seconds = static_cast<double>(now_ms() - *oldest) / 1000.0;
    }
    g.participants_now = services_.calls.participants_now();
    const auto by_room = services_.calls.participants_by_room();
    for (const auto& room : answers_.get()->rooms().all()) {
      const auto it = by_room.find(room.name);
      g.room_participants.emplace_back(room.name, it == by_room.end() ? 0 : it->second);
    }
  } catch (const std::exception& e) {
    log_.error("metrics.store_error", {{"reason", e.what()}});
  }
  Response r = Response::text(200, services_.metrics.render(g));
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

Response App::token(const Request& request) const {
  if (!config_.token_enabled()) {
    return Response::json(404, R"({"error":"token endpoint not configured"})",
                          "GET /token needs TWILIO_API_KEY and TWILIO_API_SECRET");
  }
  if (!config_.app_bearer_token.empty()) {
    const std::string_view auth = request.header("Authorization");
    const std::string expected = "Bearer " + config_.app_bearer_token.reveal();
    if (!util::constant_time_equal(auth, expected)) {
      Response r = Response::json(401, R"({"error":"unauthorized"})",
                                  auth.empty() ? "missing bearer token" : "wrong bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
  }
  const std::string identity = "web-" + util::hex_lower(random_(4));
  const std::string jwt =
      twilio::make_access_token({.account_sid = runtime_.twilio.account_sid,
                                 .api_key = config_.twilio_api_key,
                                 .api_secret = config_.twilio_api_secret.reveal(),
                                 .identity = identity,
                                 .twiml_app_sid = config_.twilio_twiml_app_sid,
                                 .now = clock_()});
  log_.info("token.issued", {{"identity", identity}});
  Response r = Response::json(
      200, boost::json::serialize(boost::json::object{{"identity", identity}, {"token", jwt}}));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace partyline::app
