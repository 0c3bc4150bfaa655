#pragma once
// The application: every route, the webhook guard (content type, form, signature) and one log
// line per request. No sockets here: the server hands it a Request and sends what it answers.
#include <optional>
#include <string>
#include <variant>

#include "app/console.hpp"
#include "app/runtime.hpp"
#include "app/track_restarter.hpp"
#include "call_flow/call_flow.hpp"
#include "call_flow/current.hpp"
#include "config/config.hpp"
#include "db/calls.hpp"
#include "db/room_locks.hpp"
#include "http/form.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log/logger.hpp"
#include "log/rate_limit.hpp"
#include "metrics/metrics.hpp"
#include "recordings/intake.hpp"
#include "rooms/pin_guard.hpp"
#include "twilio/signature.hpp"
#include "util/clock.hpp"

namespace partyline::app {

// What the routes write to and report on.
struct Services {
  recordings::Intake& recordings;  // the pipeline
  db::CallStore& calls;
  db::RoomLocks& locks;
  metrics::Metrics& metrics;
  const http::ServerCounters& server;  // connections refused and evicted, for /metrics
  ConsoleDeps* console = nullptr;      // null: no console (its routes answer 404)
};

class App {
 public:
  // rooms: loaded once before the service listens (rooms::load), so a bad file ends the start.
  App(const config::Config& config, Runtime runtime, log::Logger& log, util::Clock clock,
      util::RandomBytes random, Services services, rooms::Rooms rooms);

  // A new room set for the calls that come next (SIGHUP); calls in progress keep theirs.
  void replace_rooms(rooms::Rooms rooms) { answers_.replace(std::move(rooms)); }
  // The key prefix of this room of the set in force, "" when there is no such room.
  std::string room_prefix(const std::string& room) const;
  // The name of the only room, "" when there are several (sessions from before rooms are its).
  std::string only_room() const;

  void handle(const http::Request& request, http::Respond respond) const;
  // The metrics listener (METRICS_LISTEN): GET /metrics without a token, nothing else.
  void handle_metrics_listener(const http::Request& request, http::Respond respond) const;

  // Webhook bodies larger than this are refused with 413.
  static constexpr std::size_t kMaxWebhookBody = 64 * 1024;

 private:
  using WebhookHandler = std::function<http::Response(const http::Request&, const http::Params&)>;
  using AsyncWebhookHandler = std::function<void(const http::Params&, http::Respond)>;
  void add_webhook(const std::string& path, WebhookHandler handler);
  void add_async_webhook(const std::string& path, AsyncWebhookHandler handler);
  // The form's parameters, or the 4xx answer when the request is not a genuine Twilio webhook.
  std::variant<http::Params, http::Response> guard(const http::Request& request) const;

  // Answered once what they record is committed (see answer_after_record).
  void voice(const http::Params& params, http::Respond respond) const;
  void consent(const http::Params& params, http::Respond respond) const;
  void check_pin(const http::Request& request, const http::Params& params,
                 http::Respond respond) const;
  bool locked_out(std::string_view from) const;
  // `answer`, or the refusal when the room it joins is full, or locked to this role.
  const call_flow::Answer& admitted(const call_flow::Answers& answers,
                                    const call_flow::Answer& answer) const;
  // A wrong PIN counted: `answer` (the re-prompt or the goodbye), or the lockout when this one
  // locks the number out.
  const call_flow::Answer& wrong_pin(const call_flow::Answers& answers, std::string_view from,
                                     std::string_view call_sid,
                                     const call_flow::Answer& answer) const;
  // Answered 204 once the event is committed (503 when it cannot be), from the store's writer.
  void conf_status(const http::Params& params, http::Respond respond) const;
  void recording_callback(const http::Params& params, http::Respond respond) const;
  // A caller's own track (rooms with tracks = true): placed by its call's conference.
  void track_callback(const http::Params& params, http::Respond respond) const;
  // Whether the call is in a conference that has not ended, and has not left it.
  bool call_on(const std::string& call_sid) const;
  // Both: the job written durably, then the answer once it is stored (or the wait ran out).
  void accept_recording(const recordings::RecordingCallback& cb, http::Respond respond) const;
  http::Response token(const http::Request& request) const;
  http::Response metrics(const http::Request& request) const;
  http::Response render_metrics() const;
  // The answer goes once the call record is committed (group commit), so a crash after the answer
  // cannot lose it. A store that fails is logged (rate-limited), and the caller still gets the
  // answer: a full disk must not keep anyone off the line.
  template <typename Write>
  void answer_after_record(const char* what, http::Response answer, http::Respond respond,
                           const Write& write) const {
    db::WriteDone done = [this, what, answer, respond](const db::WriteResult& r) {
      if (!r.committed) limited_.error("calls.store_error", r.error, {{"what", what}});
      respond(answer);
    };
    try {
      write(services_.calls, std::move(done));
    } catch (const std::exception& e) {
      limited_.error("calls.store_error", e.what(), {{"what", what}});
      respond(std::move(answer));
    }
  }
  std::int64_t now_ms() const;

  const config::Config& config_;
  Runtime runtime_;
  log::Logger& log_;
  // 4xx lines: anyone can send bad requests at will, so one line per reason per interval.
  mutable log::RateLimitedLog limited_{log_};
  util::Clock clock_;
  util::RandomBytes random_;
  Services services_;
  mutable rooms::PinGuard pin_guard_{clock_};            // wrong PINs per caller number
  call_flow::CurrentAnswers answers_;                    // TwiML, built once per room set
  std::optional<twilio::SignatureValidator> signature_;  // keyed once with the auth token
  std::unique_ptr<Console> console_;                     // the pages and /api/ (with a ConsoleDeps)
  std::unique_ptr<TrackRestarter> tracks_;  // with a Twilio account: failed tracks started again
  http::Router router_;
};

}  // namespace partyline::app
