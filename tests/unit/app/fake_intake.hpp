#pragma once
// A stand-in for the recording pipeline behind /recording-callback: it keeps what it was handed
// and settles each wait as the test says (stored, still pending, dead).
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "recordings/intake.hpp"

namespace partyline::app::testing {

class FakeIntake : public recordings::Intake {
 public:
  // What wait() reports: the state the job has reached when the wait ends.
  db::JobState outcome = db::JobState::kStored;
  bool fail_accept = false;  // accept() throws as a failing database does

  Accepted accept(const recordings::RecordingCallback& callback) override {
    if (fail_accept) throw std::runtime_error("database is locked");
    std::lock_guard lock(mutex_);
    accepted_.push_back(callback.recording_sid);
    Accepted a;
    a.job.recording_sid = callback.recording_sid;
    a.job.conference_sid = callback.conference_sid;
    a.job.key = "partyline/" + callback.recording_sid + ".mp3";
    a.inserted = accepted_.size() == 1;
    return a;
  }
  void wait(const std::string& sid, std::chrono::milliseconds, WaitDone done) override {
    db::Job job;
    job.recording_sid = sid;
    job.state = outcome;
    if (outcome != db::JobState::kStored) job.last_error = "media not ready yet (HTTP 404)";
    done(job, outcome != db::JobState::kPending);
  }
  std::size_t pending() override { return 0; }
  std::optional<std::int64_t> oldest_pending_ms() override { return std::nullopt; }

  std::vector<std::string> accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> accepted_;
};

}  // namespace partyline::app::testing
