#pragma once
// A caller's track that Twilio could not record (its callback says failed or absent) is started
// again over the REST API while the call is still on: up to `attempts` times, the pause doubling,
// on a thread of its own (never a webhook's). Only a recording is asked for: the call, its
// conference and the mix are never touched; a call that has ended is left alone.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "log/logger.hpp"
#include "twilio/conference.hpp"

namespace partyline::app {

class TrackRestarter {
 public:
  using StillOn = std::function<bool(const std::string& call_sid)>;
  static constexpr std::size_t kMaxQueued = 64;

  TrackRestarter(twilio::ConferenceControl& control, std::string callback_url, StillOn still_on,
                 log::Logger& log,
                 std::chrono::milliseconds first_pause = std::chrono::milliseconds(1000),
                 int attempts = 3);
  ~TrackRestarter();
  TrackRestarter(const TrackRestarter&) = delete;
  TrackRestarter& operator=(const TrackRestarter&) = delete;

  // Queued; returns at once (false when too many wait already).
  bool restart(const std::string& call_sid);

 private:
  void loop();
  bool pause(std::chrono::milliseconds how_long);  // false: stopping

  twilio::ConferenceControl& control_;
  std::string callback_url_;
  StillOn still_on_;
  log::Logger& log_;
  std::chrono::milliseconds first_pause_;
  int attempts_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace partyline::app
