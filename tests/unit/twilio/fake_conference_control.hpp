#pragma once
// An in-memory ConferenceControl for tests of what drives it (the console's API): records each
// action and answers success, or the failure a test scripted for the next action.
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "twilio/conference.hpp"

namespace partyline::fake {

class FakeConferenceControl final : public twilio::ConferenceControl {
 public:
  struct Call {
    std::string action;  // "muted", "hold", "remove", "end", "recording_paused"
    std::string conference_sid, call_sid;
    bool value = false;  // the bool argument; false for remove and end

    bool operator==(const Call&) const = default;
  };

  // The next actions (one each, in order) fail with these instead of succeeding.
  void fail_next(util::Failure failure) {
    std::lock_guard lock(mutex_);
    failures_.push_back(std::move(failure));
  }
  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  util::Result<void> set_muted(std::string_view conference_sid, std::string_view call_sid,
                               bool muted) override {
    return record({"muted", std::string(conference_sid), std::string(call_sid), muted});
  }
  util::Result<void> set_hold(std::string_view conference_sid, std::string_view call_sid,
                              bool hold) override {
    return record({"hold", std::string(conference_sid), std::string(call_sid), hold});
  }
  util::Result<void> remove_participant(std::string_view conference_sid,
                                        std::string_view call_sid) override {
    return record({"remove", std::string(conference_sid), std::string(call_sid)});
  }
  util::Result<void> end_conference(std::string_view conference_sid) override {
    return record({"end", std::string(conference_sid), {}});
  }
  util::Result<void> set_recording_paused(std::string_view conference_sid, bool paused) override {
    return record({"recording_paused", std::string(conference_sid), {}, paused});
  }

 private:
  util::Result<void> record(Call call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
    if (failures_.empty()) return {};
    util::Failure failure = std::move(failures_.front());
    failures_.pop_front();
    return failure;
  }

  mutable std::mutex mutex_;
  std::vector<Call> calls_;
  std::deque<util::Failure> failures_;
};

}  // namespace partyline::fake
