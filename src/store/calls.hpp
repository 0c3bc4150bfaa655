#pragma once
// Who was on the call: calls and conference events in SQLite (the same file as the jobs).
// Conference events are kept as Twilio sends them, keyed by (ConferenceSid, SequenceNumber), so a
// duplicate is ignored and an out-of-order one lands in its place; the conference's story
// (start, end, participants, peak) is replayed from them in sequence order.
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite.hpp"

namespace partyline::store {

struct CallRecord {
  std::string call_sid;
  std::string caller;  // redacted: "***1234"
  std::string role;    // "producer", "speaker" or "" (no PIN gate)
  bool consent = false;
  std::int64_t first_seen_ms = 0;
};

struct ConferenceEvent {
  std::string conference_sid;
  std::int64_t sequence = 0;
  std::string event;     // Twilio's StatusCallbackEvent, e.g. participant-join
  std::string call_sid;  // participant events
  std::int64_t at_ms = 0;
  bool muted = false;
};

struct Participant {
  std::string call_sid, caller, role;
  std::int64_t joined_ms = 0, left_ms = 0;  // 0: not yet
  bool muted = false;
};

struct ConferenceSummary {
  std::string conference_sid;
  std::int64_t started_ms = 0, ended_ms = 0;
  int peak_participants = 0;
  int participants_now = 0;
  std::vector<Participant> participants;  // in order of first join
};

// Pure: the conference as its events tell it, whatever order they arrived in.
ConferenceSummary replay(const std::string& conference_sid, std::vector<ConferenceEvent> events,
                         const std::vector<CallRecord>& calls);

// Writes are queued and committed by one writer thread in batches, so webhooks never wait for
// the disk; reads first wait for the writes queued before them. The writer wakes for the first
// queued write and then lingers (kLinger, or until kBatch writes wait) before it commits, so a
// busy line costs one wake-up and one transaction per batch, not per webhook.
class CallStore {
 public:
  explicit CallStore(const std::filesystem::path& file);
  ~CallStore();
  CallStore(const CallStore&) = delete;
  CallStore& operator=(const CallStore&) = delete;

  // consent = true also records consent (the spoken notice: staying on the line is consent).
  void record_call(std::string_view call_sid, std::string_view caller, std::int64_t now_ms,
                   bool consent = false);
  void record_consent(std::string_view call_sid, std::int64_t now_ms);
  void record_role(std::string_view call_sid, std::string_view role, std::int64_t now_ms);
  // A duplicate (same conference and sequence) is ignored.
  void record_event(const ConferenceEvent& event);
  // Waits until every write queued so far is committed.
  void flush();

  std::optional<ConferenceSummary> conference(const std::string& conference_sid);
  // Participants in conferences that have not ended (for /metrics).
  int participants_now();

 private:
  std::vector<CallRecord> calls_of(const std::vector<ConferenceEvent>& events);
  void exec(const char* sql);
  struct Write {
    enum class Kind { kCall, kConsent, kRole, kEvent } kind;
    std::string a, b, c;  // call: sid, caller; role: sid, role; event: conference, event, call
    std::int64_t n1 = 0, n2 = 0;  // at_ms; event: sequence
    bool flag = false;            // call: with consent; event: muted
  };
  void enqueue(Write write);
  void apply(const Write& write);
  // The writer's statements stay prepared: preparing costs more than the insert (callgrind).
  sqlite::Statement& prepared(const char* sql);
  std::map<const char*, std::unique_ptr<sqlite::Statement>> prepared_;
  void writer_loop();
  sqlite3* db_ = nullptr;
  std::mutex mutex_;  // the connection

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_, drained_cv_;
  std::vector<Write> queue_;
  std::uint64_t enqueued_ = 0, committed_ = 0;
  bool stopping_ = false;
  bool writer_idle_ = false;  // waiting for the first write of a batch
  std::uint64_t flush_waiters_ = 0;
  std::thread writer_;
};

}  // namespace partyline::store
