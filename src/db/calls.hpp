#pragma once
// Who was on the call: calls and conference events in SQLite (the same file as the jobs).
// Conference events are kept as Twilio sends them, keyed by (ConferenceSid, SequenceNumber), so a
// duplicate is ignored and an out-of-order one lands in its place; the conference's story
// (start, end, participants, peak) is replayed from them in sequence order.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "db/sqlite.hpp"
#include "log/logger.hpp"
#include "log/rate_limit.hpp"
#include "util/backoff.hpp"
#include "util/clock.hpp"

namespace partyline::db {

struct CallRecord {
  std::string call_sid;
  std::string caller;  // redacted: "***1234"
  std::string role;    // "host", "producer", "speaker" or "" (no PIN gate)
  bool consent = false;
  std::int64_t first_seen_ms = 0;
  std::string room;             // the room the call was sent to ("" before rooms)
  std::string consent_how;      // "notice" (heard it, stayed on) or "press1"; "" when none
  std::int64_t consent_ms = 0;  // when the service decided so
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
  std::string room, consent_how;  // from the call record
  std::int64_t consent_ms = 0;
  bool hold = false;
};

// What a console user did to a running conference (the report's "muted by alice at …").
struct ConsoleAction {
  std::string conference_sid;
  std::int64_t at_ms = 0;
  std::string user, action;  // action: mute, unmute, hold, unhold, remove, end, ...
  std::string call_sid;      // the participant acted on, or ""
  std::string result;        // "ok", or Twilio's refusal
};

struct ConferenceSummary {
  std::string conference_sid;
  std::string room;  // the first participant's room with one ("" without rooms)
  std::int64_t started_ms = 0, ended_ms = 0;
  int peak_participants = 0;
  int participants_now = 0;
  std::vector<Participant> participants;  // in order of first join
  std::vector<ConsoleAction> actions;     // in order of time
};

// Pure: the conference as its events tell it, whatever order they arrived in.
ConferenceSummary replay(const std::string& conference_sid, std::vector<ConferenceEvent> events,
                         const std::vector<CallRecord>& calls);

struct CallStoreOptions {
  // Store errors (rate-limited) and prunes; none: silent (tests).
  log::Logger* log = nullptr;
  // Records of calls that never joined a conference are deleted once they are older than this
  // (0: never), at start and then every prune_every. Conference events are kept: they are the
  // report of a recording, which is kept forever.
  std::chrono::milliseconds prune_after{0};
  std::chrono::milliseconds prune_every{std::chrono::hours(1)};
  util::Clock clock = util::system_clock();
  // After a failed commit (a full disk, say) the writer waits this long before it tries again,
  // doubling up to retry_max, instead of spinning.
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{30'000};
};

// What a write waits for: committed, or the reason it was not (the store does not retry it).
struct WriteResult {
  bool committed = false;
  std::string error;
};
using WriteDone = std::function<void(const WriteResult&)>;

// Writes are queued and committed by one writer thread in batches, so webhooks never wait for
// the disk; reads first wait for the writes queued before them. The writer wakes for the first
// queued write and then lingers (kLinger, or until kBatch writes wait) before it commits, so a
// busy line costs one wake-up and one transaction per batch, not per webhook. A write given a
// WriteDone hears, on the writer thread, whether the batch that holds it was committed (group
// commit); while the writer backs off after a failed commit, such writes fail at once.
class CallStore {
 public:
  explicit CallStore(const std::filesystem::path& file, CallStoreOptions options = {});
  ~CallStore();
  CallStore(const CallStore&) = delete;
  CallStore& operator=(const CallStore&) = delete;

  // consent = true also records consent (the spoken notice: staying on the line is consent).
  // Without `done` best effort: a failed batch is logged and kept for the next try. With it, as
  // record_event.
  // room: the room the answer sends the call to, when it already knows ("" otherwise).
  void record_call(std::string_view call_sid, std::string_view caller, std::int64_t now_ms,
                   bool consent = false, WriteDone done = nullptr, std::string_view room = {});
  // The caller pressed 1.
  void record_consent(std::string_view call_sid, std::int64_t now_ms, WriteDone done = nullptr,
                      std::string_view room = {});
  void record_role(std::string_view call_sid, std::string_view role, std::int64_t now_ms,
                   WriteDone done = nullptr, std::string_view room = {});
  // A duplicate (same conference and sequence) is ignored. `done`, when given, is called once
  // the event is committed or has failed (from the writer thread, or from this one when the
  // store is backing off).
  void record_event(const ConferenceEvent& event, WriteDone done = nullptr);
  // Best effort without `done`, like record_call.
  void record_action(const ConsoleAction& action, WriteDone done = nullptr);
  // Waits until every write queued so far is committed or has failed.
  void flush();

  std::optional<ConferenceSummary> conference(const std::string& conference_sid);
  std::optional<CallRecord> call(const std::string& call_sid);
  // The room of the conference: that of its first participant whose call record names one
  // (committed writes only), or "".
  std::string room_of_conference(const std::string& conference_sid);
  // Participants in conferences that have not ended (for /metrics).
  int participants_now();
  // The same per room (the room of each participant's call record; "" for calls without one).
  // Reads what is committed without waiting for queued writes: a webhook asks this on its way,
  // and the conference events it counts are committed before Twilio hears they were received.
  // Counted again only after a batch with a conference event commits (a call's room is written
  // before Twilio hears the answer that joins it): webhooks in between read the last count.
  std::map<std::string, int> participants_by_room();
  // One room's entry of the above, without copying the map (each caller's admission asks it).
  int participants_in(const std::string& room);
  // The conferences that have started and not ended, as committed (for the live console).
  std::vector<ConferenceSummary> open_conferences();
  // conference() without waiting for queued writes (what is committed).
  std::optional<ConferenceSummary> committed_conference(const std::string& conference_sid);
  // Every conference with a committed event.
  std::vector<std::string> conference_sids();
  // The conference a call took part in (its first committed event names it), or "".
  std::string conference_of_call(const std::string& call_sid);
  // Deletes the records of calls first seen before now_ms - prune_after that never appear in a
  // conference event; returns how many. The writer does this on its own schedule too.
  std::size_t prune(std::int64_t now_ms);

 private:
  std::vector<CallRecord> calls_of(const std::vector<ConferenceEvent>& events);
  std::unique_ptr<sqlite::Statement> calls_of_;  // under read_mutex_
  void exec(const char* sql);
  void migrate();
  struct Write {
    enum class Kind { kCall, kConsent, kRole, kEvent, kAction } kind;
    // call: sid, caller, room; consent: sid, -, room; role: sid, role, room; event: conference,
    // event, call
    std::string a, b, c;
    std::int64_t n1 = 0, n2 = 0;  // at_ms; event: sequence
    bool flag = false;            // call: with consent; event: muted
    WriteDone done = nullptr;
    std::string d{}, e{};  // action: call, result
  };
  void enqueue(Write write);
  void apply(const Write& write);
  // One transaction for the batch: "" or why it failed (rolled back).
  std::string commit(const std::vector<Write>& batch);
  void prune_on_schedule();
  // The writer's statements stay prepared: preparing costs more than the insert (callgrind).
  sqlite::Statement& prepared(const char* sql);
  std::map<const char*, std::unique_ptr<sqlite::Statement>> prepared_;
  void writer_loop();
  CallStoreOptions options_;
  std::optional<log::RateLimitedLog> errors_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;        // the connection
  sqlite3* rdb_ = nullptr;  // committed reads
  std::mutex read_mutex_;   // rdb_
  std::map<std::string, int> count_participants();
  std::vector<std::string> open_conference_sids();
  void track_open(const std::vector<Write>& batch);
  std::mutex open_mutex_;
  std::set<std::string> open_;  // conferences with an event and no conference-end, as committed
  // Calls read(the counts per room), counting afresh first when an event has committed since.
  template <class Read>
  auto with_participants(Read read);
  // Bumped after each committed batch that holds a conference event; the count kept with the
  // value it was made at.
  std::atomic<std::uint64_t> events_committed_{1};
  std::mutex participants_mutex_;
  std::uint64_t participants_at_ = 0;
  std::map<std::string, int> participants_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_, drained_cv_;
  std::vector<Write> queue_;
  std::uint64_t enqueued_ = 0, processed_ = 0;
  bool stopping_ = false;
  bool writer_idle_ = false;
  std::size_t waited_ = 0;  // queued writes with a WriteDone (someone waits for them)  // waiting
                            // for the first write of a batch
  std::uint64_t flush_waiters_ = 0;
  util::Backoff backoff_;
  std::chrono::steady_clock::time_point unavailable_until_{};  // backing off until then
  std::string unavailable_reason_;
  std::thread writer_;
};

}  // namespace partyline::db
