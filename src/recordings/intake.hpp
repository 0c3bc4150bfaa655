#pragma once
// What the recording-callback route asks of the pipeline: keep the job durably, then say when it
// is stored (or when the wait runs out). The route's unit tests give it a fake.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "db/jobs.hpp"
#include "recordings/callback.hpp"

namespace partyline::recordings {

class Intake {
 public:
  virtual ~Intake() = default;

  struct Accepted {
    db::Job job;
    bool inserted = false;  // first time this RecordingSid was seen
  };
  // Durably records the job (or finds it). Throws std::runtime_error if the database fails.
  virtual Accepted accept(const RecordingCallback& callback) = 0;

  // Calls `done(job, finished)` once: when the job leaves the pending state (finished = true),
  // or with the current row when `timeout` passes first (finished = false). Any thread.
  using WaitDone = std::function<void(const db::Job&, bool finished)>;
  virtual void wait(const std::string& recording_sid, std::chrono::milliseconds timeout,
                    WaitDone done) = 0;

  // For /metrics: jobs not stored yet, and when the oldest of them was first seen.
  virtual std::size_t pending() = 0;
  virtual std::optional<std::int64_t> oldest_pending_ms() = 0;
};

}  // namespace partyline::recordings
