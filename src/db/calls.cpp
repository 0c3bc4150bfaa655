#include "db/calls.hpp"

#include "db/sqlite.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <stdexcept>

namespace partyline::db {
namespace {

// WITHOUT ROWID: rows live in their primary key's b-tree, one insert per write instead of a
// table insert plus an index insert. (Files made before keep their layout; both work.)
// One transaction: one sync on a new file instead of one per statement.
constexpr const char* kSchema = R"sql(
BEGIN;
CREATE TABLE IF NOT EXISTS calls (
  call_sid      TEXT PRIMARY KEY,
  caller        TEXT NOT NULL DEFAULT '',
  role          TEXT NOT NULL DEFAULT '',
  consent       INTEGER NOT NULL DEFAULT 0,
  first_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conference_events (
  conference_sid TEXT NOT NULL,
  sequence       INTEGER NOT NULL,
  event          TEXT NOT NULL,
  call_sid       TEXT NOT NULL DEFAULT '',
  at_ms          INTEGER NOT NULL,
  muted          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conference_sid, sequence)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS console_actions (
  conference_sid TEXT NOT NULL,
  at_ms          INTEGER NOT NULL,
  user           TEXT NOT NULL,
  action         TEXT NOT NULL,
  call_sid       TEXT NOT NULL DEFAULT '',
  result         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS console_actions_by_conference ON console_actions (conference_sid);
CREATE INDEX IF NOT EXISTS conference_events_by_call ON conference_events (call_sid)
  WHERE call_sid != '';
COMMIT;
)sql";

using Stmt = sqlite::Statement;

// Columns added since the first schema, added to files made before them.
constexpr const char* kCallColumns[][2] = {
    {"room", "ALTER TABLE calls ADD COLUMN room TEXT NOT NULL DEFAULT ''"},
    {"consent_how", "ALTER TABLE calls ADD COLUMN consent_how TEXT NOT NULL DEFAULT ''"},
    {"consent_ms", "ALTER TABLE calls ADD COLUMN consent_ms INTEGER NOT NULL DEFAULT 0"},
};

bool has_call_column(sqlite3* db, const char* name) {
  Stmt info(db, "SELECT 1 FROM pragma_table_info('calls') WHERE name = ?");
  info.bind(1, std::string(name));
  return info.step();
}

constexpr const char* kCallSelect =
    "SELECT call_sid, caller, role, consent, first_seen_ms, room, consent_how, consent_ms FROM "
    "calls WHERE call_sid = ?";

CallRecord call_row(const Stmt& s) {
  return {s.text(0),    s.text(1), s.text(2), s.integer(3) != 0,
          s.integer(4), s.text(5), s.text(6), s.integer(7)};
}

}  // namespace

ConferenceSummary replay(const std::string& conference_sid, std::vector<ConferenceEvent> events,
                         const std::vector<CallRecord>& calls) {
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.sequence < b.sequence; });
  ConferenceSummary s;
  s.conference_sid = conference_sid;
  std::map<std::string, std::size_t> index;  // call_sid -> participants[i]
  std::map<std::string_view, const CallRecord*> by_sid;
  for (const auto& c : calls)
    by_sid.emplace(c.call_sid, &c);
  int present = 0;
  for (const auto& e : events) {
    if (e.event == "conference-start") {
      if (s.started_ms == 0) s.started_ms = e.at_ms;
      continue;
    }
    if (e.event == "conference-end") {
      s.ended_ms = e.at_ms;
      continue;
    }
    if (e.call_sid.empty()) continue;
    auto [it, added] = index.emplace(e.call_sid, s.participants.size());
    if (added) {
      Participant p;
      p.call_sid = e.call_sid;
      if (const auto found = by_sid.find(e.call_sid); found != by_sid.end()) {
        const CallRecord& c = *found->second;
        p.caller = c.caller;
        p.role = c.role;
        p.room = c.room;
        if (s.room.empty()) s.room = c.room;
        p.consent_how = c.consent_how;
        p.consent_ms = c.consent_ms;
      }
      s.participants.push_back(std::move(p));
    }
    Participant& p = s.participants[it->second];
    if (e.event == "participant-join") {
      if (p.joined_ms == 0 || p.left_ms != 0) {
        if (p.joined_ms == 0) p.joined_ms = e.at_ms;
        p.left_ms = 0;
        ++present;
      }
      p.muted = e.muted;
      p.hold = false;
    } else if (e.event == "participant-leave") {
      if (p.joined_ms != 0 && p.left_ms == 0) --present;
      p.left_ms = e.at_ms;
    } else if (e.event == "participant-mute") {
      p.muted = true;
    } else if (e.event == "participant-unmute") {
      p.muted = false;
    } else if (e.event == "participant-hold") {
      p.hold = true;
    } else if (e.event == "participant-unhold") {
      p.hold = false;
    }
    s.peak_participants = std::max(s.peak_participants, present);
  }
  s.participants_now = s.ended_ms != 0 ? 0 : present;
  return s;
}

// Call records are written on the webhook path: WAL + NORMAL commits without an fsync (the
// database stays consistent; a power cut may lose the last few events). Recording jobs, which
// must never be lost, keep synchronous=FULL on their own connection.
CallStore::CallStore(const std::filesystem::path& file, CallStoreOptions options)
    : options_(std::move(options)),
      db_(sqlite::open(file, "NORMAL")),
      backoff_(options_.retry_min, options_.retry_max) {
  try {
    exec(kSchema);
    migrate();
    // Reads of what is committed (the console's rooms, reports, admissions) on a connection of
    // their own: WAL lets them run while the writer commits, instead of queueing behind it.
    rdb_ = sqlite::open(file, "NORMAL");
    // The conferences not ended, once: from here on the writer keeps the set (a scan of every
    // event per count cost a webhook 20 ms with 10,000 sessions on file).
    Stmt s(rdb_,
           "SELECT DISTINCT conference_sid FROM conference_events WHERE conference_sid NOT IN "
           "(SELECT conference_sid FROM conference_events WHERE event = 'conference-end')");
    while (s.step())
      open_.insert(s.text(0));
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
  if (options_.log) errors_.emplace(*options_.log);
  writer_ = std::thread([this] { writer_loop(); });
}

CallStore::~CallStore() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  writer_.join();
  prepared_.clear();
  calls_of_.reset();
  sqlite3_close(rdb_);
  sqlite3_close(db_);
}

namespace {
constexpr auto kLinger = std::chrono::milliseconds(20);
constexpr std::size_t kBatch = 1024;
// Rows deleted per transaction when pruning, so webhooks' batches never wait long for it.
constexpr std::int64_t kPruneChunk = 5000;
using SteadyClock = std::chrono::steady_clock;
}  // namespace

void CallStore::enqueue(Write write) {
  bool wake = false;
  std::string refused;
  {
    std::lock_guard lock(queue_mutex_);
    if (write.done && SteadyClock::now() < unavailable_until_) {
      refused = unavailable_reason_;
    } else {
      // A write someone waits for (a webhook's answer) ends the linger: the batch is committed
      // now, and what arrives while it commits forms the next one (group commit).
      if (write.done) ++waited_;
      wake = (writer_idle_ && queue_.size() == 0) || queue_.size() + 1 == kBatch || write.done;
      queue_.push_back(std::move(write));
      ++enqueued_;
    }
  }
  if (!refused.empty()) return write.done({false, refused + " (the call store is backing off)"});
  if (wake) queue_cv_.notify_one();
}

void CallStore::flush() {
  std::unique_lock lock(queue_mutex_);
  const auto target = enqueued_;
  if (processed_ >= target) return;
  ++flush_waiters_;
  queue_cv_.notify_one();  // no lingering while someone waits
  drained_cv_.wait(lock, [&] { return processed_ >= target; });
  --flush_waiters_;
}

std::string CallStore::commit(const std::vector<Write>& batch) {
  std::lock_guard db_lock(mutex_);
  try {
    exec("BEGIN");
    for (const auto& write : batch)
      apply(write);
    exec("COMMIT");
    return {};
  } catch (const std::exception& e) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return e.what();
  }
}

void CallStore::writer_loop() {
  const bool pruning = options_.prune_after.count() > 0;
  auto next_prune = SteadyClock::now();  // once at start, then every prune_every
  std::unique_lock lock(queue_mutex_);
  std::vector<Write> batch;
  while (true) {
    if (pruning && SteadyClock::now() >= next_prune) {
      lock.unlock();
      prune_on_schedule();
      lock.lock();
      next_prune = SteadyClock::now() + options_.prune_every;
    }
    writer_idle_ = true;
    const auto has_work = [this] { return stopping_ || !queue_.empty(); };
    if (pruning) {
      queue_cv_.wait_until(lock, next_prune, has_work);
    } else {
      queue_cv_.wait(lock, has_work);
    }
    writer_idle_ = false;
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    queue_cv_.wait_for(lock, kLinger, [this] {
      return stopping_ || flush_waiters_ > 0 || queue_.size() >= kBatch || waited_ > 0;
    });
    batch.clear();
    batch.swap(queue_);
    waited_ = 0;
    lock.unlock();
    const std::string error = commit(batch);
    // Before anyone hears of the commit: a count made after it sees these events.
    if (error.empty()) track_open(batch);
    std::vector<Write> refused;
    std::chrono::milliseconds delay{0};
    lock.lock();
    processed_ += batch.size();
    // The state first, the answers after: whoever hears "not stored" and tries again at once
    // finds the store backing off.
    if (error.empty()) {
      backoff_.succeeded();
      unavailable_until_ = {};
      if (std::any_of(batch.begin(), batch.end(),
                      [](const Write& w) { return w.kind == Write::Kind::kEvent; })) {
        events_committed_.fetch_add(1, std::memory_order_release);
      }
    } else {
      // Best-effort writes queued meanwhile wait for the next try; writes that someone waits
      // for hear now, rather than after the backoff, that they were not kept.
      delay = backoff_.failed();
      unavailable_until_ = SteadyClock::now() + delay;
      unavailable_reason_ = error;
      const auto waited = std::stable_partition(queue_.begin(), queue_.end(),
                                                [](const Write& w) { return !w.done; });
      refused.assign(std::make_move_iterator(waited), std::make_move_iterator(queue_.end()));
      queue_.erase(waited, queue_.end());
      waited_ = 0;
      processed_ += refused.size();
    }
    drained_cv_.notify_all();
    lock.unlock();
    const WriteResult result{error.empty(), error};
    for (const auto& write : batch) {
      if (write.done) write.done(result);
    }
    const std::size_t writes = batch.size();
    // What waits for an answer (an HTTP request) is answered: let it go now, not at the next
    // batch.
    batch.clear();
    if (!error.empty()) {
      if (errors_) {
        errors_->error("calls.store_error", error,
                       {{"writes", writes}, {"retry_in_ms", delay.count()}});
      }
      for (const auto& write : refused)
        write.done(result);
      refused.clear();
    }
    lock.lock();
    if (error.empty()) continue;
    queue_cv_.wait_until(lock, unavailable_until_, [this] { return stopping_; });
  }
}

void CallStore::prune_on_schedule() {
  try {
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.clock().time_since_epoch())
            .count();
    const std::size_t deleted = prune(now);
    if (deleted > 0 && options_.log) {
      options_.log->info(
          "calls.pruned",
          {{"deleted", deleted},
           {"older_than_hours",
            std::chrono::duration_cast<std::chrono::hours>(options_.prune_after).count()}});
    }
  } catch (const std::exception& e) {
    if (errors_) errors_->error("calls.prune_error", e.what());
  }
}

std::size_t CallStore::prune(std::int64_t now_ms) {
  if (options_.prune_after.count() <= 0) return 0;
  const std::int64_t before = now_ms - options_.prune_after.count();
  std::size_t deleted = 0;
  while (true) {
    std::lock_guard lock(mutex_);
    auto& s = prepared(
        "DELETE FROM calls WHERE call_sid IN (SELECT call_sid FROM calls WHERE first_seen_ms < ? "
        "AND call_sid NOT IN (SELECT call_sid FROM conference_events) LIMIT ?)");
    s.bind(1, before).bind(2, kPruneChunk);
    s.step();
    const auto n = sqlite3_changes(db_);
    deleted += static_cast<std::size_t>(n);
    if (n < kPruneChunk) return deleted;
  }
}

// Checked again inside a write transaction: another process (a command) may open the file at the
// same time, and only one of them may add the columns.
void CallStore::migrate() {
  const auto missing = [this] {
    for (const auto& c : kCallColumns) {
      if (!has_call_column(db_, c[0])) return true;
    }
    return false;
  };
  if (!missing()) return;
  exec("BEGIN IMMEDIATE");
  try {
    for (const auto& c : kCallColumns) {
      if (!has_call_column(db_, c[0])) exec(c[1]);
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void CallStore::exec(const char* sql) {
  sqlite::exec(db_, sql);
}

sqlite::Statement& CallStore::prepared(const char* sql) {
  auto& slot = prepared_[sql];
  if (!slot) slot = std::make_unique<sqlite::Statement>(db_, sql);
  slot->reset();
  return *slot;
}

void CallStore::apply(const Write& w) {
  switch (w.kind) {
    // A webhook Twilio sends again finds its call already written: each upsert changes the row
    // only when it adds something (the first consent and its time stay), so a repeat commits no
    // page. A room already known (a reload since?) is kept: the call was sent there.
    case Write::Kind::kCall: {
      auto& s = prepared(
          w.flag ? "INSERT INTO calls (call_sid, caller, consent, first_seen_ms, room, "
                   "consent_how, consent_ms) VALUES (?, ?, 1, ?, ?, 'notice', ?) "
                   "ON CONFLICT(call_sid) DO UPDATE SET consent = 1, "
                   "consent_how = CASE WHEN consent = 0 THEN 'notice' ELSE consent_how END, "
                   "consent_ms = CASE WHEN consent = 0 THEN excluded.consent_ms ELSE consent_ms "
                   "END, room = CASE WHEN room = '' THEN excluded.room ELSE room END "
                   "WHERE consent = 0 OR (room = '' AND excluded.room != '')"
                 : "INSERT INTO calls (call_sid, caller, first_seen_ms, room) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT(call_sid) DO UPDATE SET room = excluded.room "
                   "WHERE room = '' AND excluded.room != ''");
      s.bind(1, w.a).bind(2, w.b).bind(3, w.n1).bind(4, w.c);
      if (w.flag) s.bind(5, w.n1);
      s.step();
      return;
    }
    case Write::Kind::kConsent: {
      auto& s = prepared(
          "INSERT INTO calls (call_sid, consent, first_seen_ms, room, consent_how, consent_ms) "
          "VALUES (?, 1, ?, ?, 'press1', ?) ON CONFLICT(call_sid) DO UPDATE SET consent = 1, "
          "consent_ms = CASE WHEN consent_how = 'press1' THEN consent_ms ELSE "
          "excluded.consent_ms END, consent_how = 'press1', room = CASE WHEN excluded.room = '' "
          "THEN room ELSE excluded.room END "
          "WHERE consent_how != 'press1' OR (excluded.room != '' AND room != excluded.room)");
      s.bind(1, w.a).bind(2, w.n1).bind(3, w.c).bind(4, w.n1);
      s.step();
      return;
    }
    case Write::Kind::kRole: {
      auto& s = prepared(
          "INSERT INTO calls (call_sid, role, first_seen_ms, room) VALUES (?, ?, ?, ?) "
          "ON CONFLICT(call_sid) DO UPDATE SET role = excluded.role, room = CASE WHEN "
          "excluded.room = '' THEN room ELSE excluded.room END "
          "WHERE role != excluded.role OR (excluded.room != '' AND room != excluded.room)");
      s.bind(1, w.a).bind(2, w.b).bind(3, w.n1).bind(4, w.c);
      s.step();
      return;
    }
    case Write::Kind::kAction: {
      auto& s = prepared(
          "INSERT INTO console_actions (conference_sid, at_ms, user, action, call_sid, result) "
          "VALUES (?, ?, ?, ?, ?, ?)");
      s.bind(1, w.a).bind(2, w.n1).bind(3, w.b).bind(4, w.c).bind(5, w.d).bind(6, w.e);
      s.step();
      return;
    }
    case Write::Kind::kEvent: {
      auto& s = prepared(
          "INSERT INTO conference_events (conference_sid, sequence, event, call_sid, at_ms, "
          "muted) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(conference_sid, sequence) DO NOTHING");
      s.bind(1, w.a).bind(2, w.n2).bind(3, w.b).bind(4, w.c);
      s.bind(5, w.n1).bind(6, static_cast<std::int64_t>(w.flag));
      s.step();
      return;
    }
  }
}

void CallStore::record_call(std::string_view call_sid, std::string_view caller, std::int64_t now_ms,
                            bool consent, WriteDone done, std::string_view room) {
  enqueue({Write::Kind::kCall, std::string(call_sid), std::string(caller), std::string(room),
           now_ms, 0, consent, std::move(done)});
}

void CallStore::record_consent(std::string_view call_sid, std::int64_t now_ms, WriteDone done,
                               std::string_view room) {
  enqueue({Write::Kind::kConsent,
           std::string(call_sid),
           {},
           std::string(room),
           now_ms,
           0,
           false,
           std::move(done)});
}

void CallStore::record_role(std::string_view call_sid, std::string_view role, std::int64_t now_ms,
                            WriteDone done, std::string_view room) {
  enqueue({Write::Kind::kRole, std::string(call_sid), std::string(role), std::string(room), now_ms,
           0, false, std::move(done)});
}

void CallStore::record_action(const ConsoleAction& a, WriteDone done) {
  Write w{Write::Kind::kAction, a.conference_sid, a.user, a.action, a.at_ms, 0, false,
          std::move(done)};
  w.d = a.call_sid;
  w.e = a.result;
  enqueue(std::move(w));
}

void CallStore::record_event(const ConferenceEvent& e, WriteDone done) {
  enqueue({Write::Kind::kEvent, e.conference_sid, e.event, e.call_sid, e.at_ms, e.sequence, e.muted,
           std::move(done)});
}

// One statement for the conference's calls, kept prepared: a room of 250 is read on every change
// the console shows.
std::vector<CallRecord> CallStore::calls_of(const std::vector<ConferenceEvent>& events) {
  std::vector<CallRecord> out;
  if (events.empty()) return out;
  if (!calls_of_) {
    calls_of_ = std::make_unique<Stmt>(
        rdb_,
        "SELECT call_sid, caller, role, consent, first_seen_ms, room, consent_how, consent_ms "
        "FROM calls WHERE call_sid IN (SELECT call_sid FROM conference_events WHERE "
        "conference_sid = ? AND call_sid != '')");
  }
  calls_of_->reset();
  calls_of_->bind(1, events.front().conference_sid);
  while (calls_of_->step())
    out.push_back(call_row(*calls_of_));
  calls_of_->reset();
  return out;
}

std::optional<ConferenceSummary> CallStore::conference(const std::string& conference_sid) {
  flush();
  return committed_conference(conference_sid);
}

std::optional<ConferenceSummary> CallStore::committed_conference(
    const std::string& conference_sid) {
  std::lock_guard lock(read_mutex_);
  Stmt s(rdb_,
         "SELECT sequence, event, call_sid, at_ms, muted FROM conference_events "
         "WHERE conference_sid = ? ORDER BY sequence");
  s.bind(1, conference_sid);
  std::vector<ConferenceEvent> events;
  while (s.step()) {
    events.push_back(
        {conference_sid, s.integer(0), s.text(1), s.text(2), s.integer(3), s.integer(4) != 0});
  }
  if (events.empty()) return std::nullopt;
  auto summary = replay(conference_sid, events, calls_of(events));
  Stmt a(rdb_,
         "SELECT at_ms, user, action, call_sid, result FROM console_actions "
         "WHERE conference_sid = ? ORDER BY at_ms, rowid");
  a.bind(1, conference_sid);
  while (a.step()) {
    summary.actions.push_back(
        {conference_sid, a.integer(0), a.text(1), a.text(2), a.text(3), a.text(4)});
  }
  return summary;
}

std::optional<CallRecord> CallStore::call(const std::string& call_sid) {
  flush();
  std::lock_guard lock(read_mutex_);
  Stmt s(rdb_, kCallSelect);
  s.bind(1, call_sid);
  if (!s.step()) return std::nullopt;
  return call_row(s);
}

std::string CallStore::room_of_conference(const std::string& conference_sid) {
  std::lock_guard lock(read_mutex_);
  Stmt s(rdb_,
         "SELECT c.room FROM conference_events e JOIN calls c ON c.call_sid = e.call_sid "
         "WHERE e.conference_sid = ? AND c.room != '' ORDER BY e.sequence LIMIT 1");
  s.bind(1, conference_sid);
  return s.step() ? s.text(0) : std::string();
}

int CallStore::participants_now() {
  flush();
  int n = 0;
  for (const auto& [room, count] : participants_by_room())
    n += count;
  return n;
}

template <class Read>
auto CallStore::with_participants(Read read) {
  const std::uint64_t at = events_committed_.load(std::memory_order_acquire);
  {
    std::lock_guard lock(participants_mutex_);
    if (participants_at_ == at) return read(participants_);
  }
  // An event committed meanwhile bumps the counter again: the next caller counts afresh.
  auto counted = count_participants();
  std::lock_guard lock(participants_mutex_);
  participants_ = std::move(counted);
  participants_at_ = at;
  return read(participants_);
}

std::map<std::string, int> CallStore::participants_by_room() {
  return with_participants([](const std::map<std::string, int>& m) { return m; });
}

int CallStore::participants_in(const std::string& room) {
  return with_participants([&room](const std::map<std::string, int>& m) {
    const auto it = m.find(room);
    return it == m.end() ? 0 : it->second;
  });
}

std::vector<std::string> CallStore::open_conference_sids() {
  std::lock_guard lock(open_mutex_);
  return {open_.begin(), open_.end()};
}

// On the writer thread, after a batch with events committed. A conference's first event after
// its end (a late duplicate) is looked up rather than taken for a new start.
void CallStore::track_open(const std::vector<Write>& batch) {
  for (const auto& w : batch) {
    if (w.kind != Write::Kind::kEvent) continue;
    if (w.b == "conference-end") {
      std::lock_guard lock(open_mutex_);
      open_.erase(w.a);
      continue;
    }
    {
      std::lock_guard lock(open_mutex_);
      if (open_.contains(w.a)) continue;
    }
    bool ended = false;
    try {
      auto& s = prepared(
          "SELECT 1 FROM conference_events WHERE conference_sid = ? AND event = 'conference-end' "
          "LIMIT 1");
      s.bind(1, w.a);
      ended = s.step();
      s.reset();
    } catch (const std::exception&) {
      ended = false;  // counted open: the next event (or the end) corrects it
    }
    if (ended) continue;
    std::lock_guard lock(open_mutex_);
    open_.insert(w.a);
  }
}

std::string CallStore::conference_of_call(const std::string& call_sid) {
  std::lock_guard lock(read_mutex_);
  Stmt s(rdb_,
         "SELECT conference_sid FROM conference_events WHERE call_sid = ? AND call_sid != '' "
         "LIMIT 1");
  s.bind(1, call_sid);
  return s.step() ? s.text(0) : std::string();
}

std::vector<std::string> CallStore::conference_sids() {
  std::vector<std::string> out;
  std::lock_guard lock(read_mutex_);
  Stmt s(rdb_, "SELECT DISTINCT conference_sid FROM conference_events");
  while (s.step())
    out.push_back(s.text(0));
  return out;
}

std::vector<ConferenceSummary> CallStore::open_conferences() {
  std::vector<ConferenceSummary> out;
  for (const auto& sid : open_conference_sids()) {
    if (auto c = committed_conference(sid)) out.push_back(std::move(*c));
  }
  return out;
}

std::map<std::string, int> CallStore::count_participants() {
  std::map<std::string, int> out;
  for (const auto& c : open_conferences()) {
    if (c.participants_now == 0) continue;
    for (const auto& p : c.participants) {
      if (p.joined_ms != 0 && p.left_ms == 0) ++out[p.room];
    }
  }
  return out;
}

}  // namespace partyline::db
