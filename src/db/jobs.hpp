#pragma once
// The recording jobs, in SQLite: the row is the truth about a recording. Every state change is
// one transaction (WAL, synchronous=FULL), keyed by RecordingSid; the S3 key is chosen once on
// insert and never changes.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace partyline::db {

enum class JobState { kPending, kStored, kDead };
const char* state_name(JobState state);

// What a finished (stored or dead) job still owes, one bit per step, kept in its row: written
// with the state that creates them and cleared step by step, so a crash in between leaves them
// owed and the next run does them.
namespace followup {
constexpr unsigned kReport = 1u << 0;            // the JSON report next to the recording
constexpr unsigned kNotice = 1u << 1;            // POST to RECORDING_NOTIFY_URL
constexpr unsigned kDeleteTwilioCopy = 1u << 2;  // TWILIO_DELETE_AFTER_COPY
constexpr unsigned kRemoveObjects = 1u << 3;     // a deleted recording: its object and report
constexpr unsigned kTranscribe = 1u << 4;  // TRANSCRIBE_URL: transcript, captions (and summary)
constexpr unsigned kAll = kReport | kNotice | kDeleteTwilioCopy | kRemoveObjects | kTranscribe;
// Run by a thread of their own (they take minutes), never by the copy's workers.
constexpr unsigned kSlow = kTranscribe;
}  // namespace followup

// A pending job's media, fully fetched and verified, whose upload failed: the spool file is kept
// and the next attempt uploads it (after checking it again) instead of fetching it again.
struct KeptSpool {
  std::uint64_t bytes = 0;
  std::string sha256;  // "" when no spool file is kept
  std::string md5;     // "" unless the store's digest plan asked for it

  bool kept() const { return !sha256.empty(); }
};

struct Job {
  std::string recording_sid;
  std::string conference_sid;
  std::string call_sid;
  std::string recording_url;  // without extension
  std::string duration;
  std::string start_time;  // ISO 8601 UTC, decided on first sight
  std::string key;         // storage key, decided on first sight
  JobState state = JobState::kPending;
  int attempts = 0;
  std::int64_t first_seen_ms = 0;
  std::int64_t next_attempt_ms = 0;
  std::int64_t updated_ms = 0;
  std::int64_t stored_ms = 0;
  std::string last_error;
  std::string location;  // where it was stored
  std::uint64_t bytes = 0;
  std::string sha256;
  unsigned followups = 0;  // followup:: steps still owed
  int followup_attempts = 0;
  std::int64_t followup_next_ms = 0;
  std::string followup_error;
  KeptSpool spool;  // cleared when the job is stored or dead-lettered
  // Deleted (by a user or the retention sweep): the row stays as a tombstone, in the state it had.
  std::int64_t deleted_ms = 0;
  std::string deleted_by;       // a console user, or "retention"
  std::string kind = "mix";     // "mix" (the conference's) or "track" (one caller's; call_sid)
  int transcribe_attempts = 0;  // kTranscribe's own schedule
  std::int64_t transcribe_next_ms = 0;
  std::string transcribe_error;

  bool deleted() const { return deleted_ms != 0; }
};

enum class RetryOutcome { kQueued, kUnknown, kStored, kCopying, kDeleted };
enum class DeleteOutcome { kDeleted, kUnknown, kAlreadyDeleted, kCopying, kReportOwed };

class JobStore {
 public:
  // Opens (creating) the database file and applies the schema. Throws std::runtime_error.
  explicit JobStore(const std::filesystem::path& file);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Inserts the job unless its RecordingSid is known; returns the stored row and whether it
  // was new. Durable when it returns.
  std::pair<Job, bool> insert_or_get(const Job& job);
  std::optional<Job> get(const std::string& recording_sid);

  // Pending jobs due at `now_ms`, oldest first.
  std::vector<Job> due(std::int64_t now_ms, std::size_t limit);
  // When the next pending job is due (none: nullopt).
  std::optional<std::int64_t> next_due_ms();
  std::vector<Job> list(std::size_t limit);
  std::size_t count_pending();
  // RecordingSids of the pending jobs whose spool file is kept.
  std::vector<std::string> kept_spools();
  // first_seen_ms of the oldest pending job.
  std::optional<std::int64_t> oldest_pending_ms();

  // Both owe `followups` from now on, in the same transaction as the state.
  void mark_stored(const std::string& sid, const std::string& location, std::uint64_t bytes,
                   const std::string& sha256, std::int64_t now_ms, unsigned followups = 0);
  // `spool` replaces what the row says about a kept spool file (by default: none kept).
  void mark_retry(const std::string& sid, int attempts, std::int64_t next_attempt_ms,
                  const std::string& error, std::int64_t now_ms, const KeptSpool& spool = {});
  void mark_dead(const std::string& sid, const std::string& error, std::int64_t now_ms,
                 unsigned followups = 0);

  // Finished jobs that owe any of `steps` due at `now_ms`, oldest first.
  std::vector<Job> followups_due(std::int64_t now_ms, std::size_t limit,
                                 unsigned steps = followup::kAll);
  std::optional<std::int64_t> next_followup_ms(unsigned steps = followup::kAll);
  // Stored, undeleted jobs owing kTranscribe due at `now_ms` (its own schedule), oldest first.
  std::vector<Job> transcriptions_due(std::int64_t now_ms, std::size_t limit);
  std::optional<std::int64_t> next_transcription_ms();
  void transcribe_retry(const std::string& sid, int attempts, std::int64_t next_ms,
                        const std::string& error);
  // `partyline transcribe`: a stored recording owes its transcription again, due now.
  bool transcribe_again(const std::string& sid, std::int64_t now_ms);
  // `steps` are done: no longer owed.
  void followups_done(const std::string& sid, unsigned steps, std::int64_t now_ms);
  void followups_retry(const std::string& sid, int attempts, std::int64_t next_ms,
                       const std::string& error, std::int64_t now_ms);
  // A pending job waiting out its backoff becomes due now (a new callback for it arrived).
  void make_due(const std::string& sid, std::int64_t now_ms);
  // Makes a stored or dead job pending again, due now (for `recordings retry`); never a deleted
  // one.
  bool requeue(const std::string& sid, std::int64_t now_ms);
  // The console's retry: a dead job is queued again as new, a pending one that has failed is due
  // now; anything else says why not.
  RetryOutcome retry(const std::string& sid, std::int64_t now_ms);
  // Makes a stored or dead job a tombstone owing kRemoveObjects (due at remove_at_ms; what it
  // owed but deleting Twilio's copy is dropped). Refused while it is still copying, or while its
  // report is still to be written (it would land beside a deleted recording).
  DeleteOutcome mark_deleted(const std::string& sid, const std::string& by, std::int64_t now_ms,
                             std::int64_t remove_at_ms);
  // The jobs of these conferences, each conference's in order of start.
  std::vector<Job> of_conferences(const std::vector<std::string>& conference_sids);
  // Stored, not deleted, started before iso_time ("YYYY-MM-DDTHH:MM:SSZ"), oldest first.
  std::vector<Job> started_before(const std::string& iso_time, std::size_t limit);
  // (rowid, ConferenceSid) of the rows inserted after `rowid`, in order (the library's index).
  std::vector<std::pair<std::int64_t, std::string>> conferences_after(std::int64_t rowid,
                                                                      std::size_t limit);

 private:
  void exec(const char* sql);
  void migrate();
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace partyline::db
