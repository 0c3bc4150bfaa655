#include "app/track_restarter.hpp"

namespace partyline::app {

TrackRestarter::TrackRestarter(twilio::ConferenceControl& control, std::string callback_url,
                               StillOn still_on, log::Logger& log,
                               std::chrono::milliseconds first_pause, int attempts)
    : control_(control),
      callback_url_(std::move(callback_url)),
      still_on_(std::move(still_on)),
      log_(log),
      first_pause_(first_pause),
      attempts_(attempts),
      thread_([this] { loop(); }) {}

TrackRestarter::~TrackRestarter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool TrackRestarter::restart(const std::string& call_sid) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueued) return false;
    queue_.push_back(call_sid);
  }
  cv_.notify_all();
  return true;
}

bool TrackRestarter::pause(std::chrono::milliseconds how_long) {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, how_long, [this] { return stopping_; });
}

void TrackRestarter::loop() {
  for (;;) {
    std::string call;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      call = std::move(queue_.front());
      queue_.pop_front();
    }
    auto wait = first_pause_;
    for (int attempt = 1; attempt <= attempts_; ++attempt) {
      bool on = false;
      try {
        on = still_on_(call);
      } catch (const std::exception&) {
        on = false;
      }
      if (!on) {
        log_.info("track.restart_skipped", {{"CallSid", call}, {"reason", "the call has ended"}});
        break;
      }
      const auto started = control_.start_track(call, callback_url_);
      if (started) {
        log_.info("track.restarted", {{"CallSid", call}, {"attempt", attempt}});
        break;
      }
      log_.warn("track.restart_failed",
                {{"CallSid", call}, {"attempt", attempt}, {"reason", started.error().reason}});
      if (attempt == attempts_ || !pause(wait)) break;
      wait *= 2;
    }
  }
}

}  // namespace partyline::app
