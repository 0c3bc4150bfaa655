#pragma once
// The console: its pages and the JSON API behind them (sign-in, the rooms live, actions on a
// running conference). Every route but the sign-in page (and what it loads) and POST /api/session
// needs a session; a state-changing request from another origin is refused. Twilio is asked on a
// worker thread, never on an I/O thread, and the state shown changes when Twilio's event arrives.
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "app/api.hpp"
#include "app/library.hpp"
#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "db/calls.hpp"
#include "db/room_locks.hpp"
#include "http/message.hpp"
#include "live/hub.hpp"
#include "log/logger.hpp"
#include "log/rate_limit.hpp"
#include "rooms/rooms.hpp"
#include "twilio/conference.hpp"
#include "util/clock.hpp"

namespace partyline::app {

struct ConsoleDeps {
  auth::Authenticator& auth;
  // Null: no Twilio account (local mode): actions on a conference answer 502 saying so.
  twilio::ConferenceControl* control = nullptr;
  // Past sessions (/api/sessions, /api/recordings); null: those routes answer 404.
  Library* library = nullptr;
  // Where the recordings' audio comes from when not from this origin (S3's, for presigned links):
  // allowed as a media source by the pages' Content-Security-Policy.
  std::string media_origin = {};
};

class Console {
 public:
  // The room set in force (it stays valid for the service's life: see CurrentAnswers).
  using CurrentRooms = std::function<const rooms::Rooms&()>;

  Console(std::string public_base_url, log::Logger& log, util::Clock clock, ConsoleDeps deps,
          db::CallStore& calls, db::RoomLocks& locks, CurrentRooms rooms,
          live::HubOptions hub = {});
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Every path under /console and /api/, and /console itself.
  void handle(const http::Request& request, http::Respond respond);
  // A conference event of this room ("" when unknown) was committed.
  void conference_changed(const std::string& room);

  // The JSON of GET /api/rooms/{room} (nothing when there is no such room).
  std::optional<std::string> room_state(const std::string& room);

 private:
  struct Caller {
    std::string token;
    auth::Principal principal;
  };
  void page(const http::Request& request, const http::Respond& respond);
  void api(const http::Request& request, const http::Respond& respond);
  void sign_in(const http::Request& request, const http::Respond& respond);
  void room_route(const http::Request& request, const Caller& caller,
                  const std::vector<std::string>& parts, const http::Respond& respond);
  void action(const Caller& caller, const rooms::Room& room, const std::string& what,
              const std::string& call_sid, const http::Request& request,
              const http::Respond& respond);
  // Runs `work` on a worker; 503 when too many wait already.
  void on_worker(const http::Respond& respond, std::function<http::Response()> work);
  std::optional<Caller> session_of(const http::Request& request);
  bool same_origin(const http::Request& request) const;
  boost::json::object room_object(const rooms::Room& room, bool detail);
  std::optional<db::ConferenceSummary> conference_of(const rooms::Room& room);
  std::string cookie(const std::string& token, bool clear) const;
  std::int64_t now_ms() const;

  std::string public_base_url_;
  std::string origin_;  // scheme://host[:port] of PUBLIC_BASE_URL
  bool secure_cookie_;
  log::Logger& log_;
  mutable log::RateLimitedLog limited_{log_};
  util::Clock clock_;
  ConsoleDeps deps_;
  db::CallStore& calls_;
  db::RoomLocks& locks_;
  CurrentRooms rooms_;
  std::mutex paused_mutex_;
  std::set<std::string> paused_;  // conferences whose recording Twilio has paused at our request
  // Actions and sign-ins: at most 32 wait.
  api::Workers workers_{2, 32, "busy: too many requests wait for Twilio"};
  live::Hub hub_;  // last: its thread reads the members above
};

}  // namespace partyline::app
