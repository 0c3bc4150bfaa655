#include "app/library.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <map>
#include <set>

#include "app/api.hpp"
#include "http/range.hpp"
#include "recordings/naming.hpp"
#include "rooms/rooms.hpp"
#include "transcribe/transcript.hpp"
#include "twilio/sid.hpp"

namespace partyline::app {
namespace {

using http::Request;
using http::Response;
namespace json = boost::json;
using api::error;
using api::iso;
using api::json_response;

constexpr std::size_t kPage = 50;

// "YYYY-MM-DD" (a real date) as the UTC midnight that starts it, in ms.
std::optional<std::int64_t> day_start_ms(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int y = 0, m = 0, d = 0;
  auto num = [](std::string_view t, int& out) {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc() && end == t.data() + t.size();
  };
  if (!num(s.substr(0, 4), y) || !num(s.substr(5, 2), m) || !num(s.substr(8, 2), d))
    return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                        std::chrono::day(d)};
  if (y < 1970 || !ymd.ok()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::sys_days(ymd).time_since_epoch())
      .count();
}

// The cursor names the last session of a page: "<started_ms>~<ConferenceSid>".
std::string cursor_of(const db::SessionRow& row) {
  return std::to_string(row.started_ms) + "~" + row.conference_sid;
}
std::optional<std::pair<std::int64_t, std::string>> parse_cursor(std::string_view s) {
  const auto tilde = s.find('~');
  if (tilde == std::string_view::npos || tilde == 0) return std::nullopt;
  std::int64_t ms = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + tilde, ms);
  if (ec != std::errc() || end != s.data() + tilde || ms < 0) return std::nullopt;
  const auto sid = s.substr(tilde + 1);
  if (sid.empty() || sid.size() > 64) return std::nullopt;
  for (char c : sid) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return std::nullopt;
  }
  return std::make_pair(ms, std::string(sid));
}

std::string file_name_of(const std::string& key) {
  return key.substr(key.rfind('/') + 1);
}

json::value seconds_or_null(const std::string& text) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < 0)
    return nullptr;
  return n;
}

std::string state_of(const db::Job& job) {
  if (job.deleted()) return "deleted";
  switch (job.state) {
    case db::JobState::kStored:
      return "stored";
    case db::JobState::kDead:
      return "dead";
    case db::JobState::kPending:
      break;
  }
  return job.last_error.empty() ? "copying" : "failed";
}

}  // namespace

Library::Library(LibraryDeps deps, LibraryOptions options, log::Logger& log, util::Clock clock)
    : deps_(std::move(deps)), options_(std::move(options)), log_(log), clock_(std::move(clock)) {}

Library::~Library() {
  stop();
  workers_.join();
}

void Library::start() {
  if (sweeper_.joinable()) return;
  sweeper_ = std::thread([this] {
    // The index is brought up to date now rather than by the first reader (a whole history, the
    // first time after an upgrade).
    try {
      const auto began = std::chrono::steady_clock::now();
      const std::size_t indexed = deps_.index.catch_up();
      log_.info("library.indexed", {{"sessions", indexed},
                                    {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now() - began)
                                               .count()}});
    } catch (const std::exception& e) {
      limited_.error("library.error", e.what(), {});
    }
    if (options_.retention_days) sweep_loop();
  });
}

void Library::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

std::int64_t Library::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch()).count();
}

void Library::on_worker(const http::Respond& respond, std::function<Response()> work) {
  workers_.run(respond, [this, work = std::move(work)] {
    try {
      return work();
    } catch (const std::exception& e) {
      limited_.error("library.error", e.what(), {});
      throw;
    }
  });
}

void Library::handle(const Request& request, const auth::Principal& user,
                     const std::vector<std::string>& parts, const http::Respond& respond) {
  const bool get = request.method == "GET" || request.method == "HEAD";
  try {
    // The database and the store are asked on the library's workers, never on the threads that
    // answer webhooks.
    if (parts[1] == "sessions") {
      if (!get) return respond(error(405, "GET only"));
      if (parts.size() == 2) return on_worker(respond, [this, request] { return list(request); });
      if (parts.size() == 3) {
        return on_worker(respond, [this, sid = parts[2]] { return session(sid); });
      }
      return respond(error(404, "no such API route"));
    }
    // recordings/{RE}[/audio|/retry]
    if (parts.size() < 3 || parts.size() > 4) return respond(error(404, "no such API route"));
    const std::string& sid = parts[2];
    if (!twilio::is_sid(sid, "RE")) return respond(error(404, "no such recording"));
    if (parts.size() == 4 && parts[3] == "audio") {
      if (!get) return respond(error(405, "GET only"));
      return respond(audio(request, sid));
    }
    if (parts.size() == 4 && parts[3] == "captions") {
      if (!get) return respond(error(405, "GET only"));
      return on_worker(respond, [this, sid] { return captions(sid); });
    }
    if (parts.size() == 4 && parts[3] == "retry") {
      if (request.method != "POST") return respond(error(405, "POST only"));
      return on_worker(respond, [this, user, sid] { return retry(user, sid); });
    }
    if (parts.size() == 3 && request.method == "DELETE") {
      if (user.role != db::Role::kAdmin) return respond(error(403, "only an admin deletes"));
      return on_worker(respond, [this, user, sid] { return remove(user, sid); });
    }
    if (parts.size() == 3) return respond(error(405, "DELETE only"));
    respond(error(404, "no such API route"));
  } catch (const std::exception& e) {
    limited_.error("library.error", e.what(), {{"path", std::string(request.path())}});
    respond(error(500, "library: " + std::string(e.what())));
  }
}

Response Library::list(const Request& request) {
  const auto target = boost::urls::parse_origin_form(request.target);
  if (!target) return error(400, "malformed query string");
  db::SessionQuery q;
  q.limit = kPage + 1;
  std::string text;  // a transcript search
  std::set<std::string> seen;
  for (const auto& param : target->params()) {
    const std::string name(param.key), value(param.value);
    if (!seen.insert(name).second) return error(400, "'" + name + "' given twice");
    if (name == "room") {
      if (value.empty()) continue;
      if (!rooms::valid_name(value))
        return error(400, "room: letters, digits, '-' and '_', at most 64");
      q.room = value;
      q.room_includes_unnamed = options_.only_room() == value;
    } else if (name == "from" || name == "to") {
      if (value.empty()) continue;
      const auto ms = day_start_ms(value);
      if (!ms) return error(400, name + ": a date as YYYY-MM-DD (UTC)");
      if (name == "from") {
        q.from_ms = *ms;
      } else {
        q.to_ms = *ms + 24 * 3600 * 1000;  // the whole day
      }
    } else if (name == "q") {
      if (value.empty()) continue;
      if (value.size() <= 4 && value.find_first_not_of("0123456789") == std::string::npos) {
        q.caller_digits = value;
        continue;
      }
      if (deps_.transcripts == nullptr) {
        return error(400,
                     "q: 1 to 4 digits of a caller's number (its last 4); searching "
                     "transcripts needs TRANSCRIBE_URL");
      }
      if (value.size() > 200 || db::fts_query(value).empty())
        return error(400, "q: words of a transcript (at most 200 characters), or 1 to 4 digits");
      text = value;
    } else if (name == "cursor") {
      if (value.empty()) continue;
      q.after = parse_cursor(value);
      if (!q.after) return error(400, "cursor: not one this service gave");
    } else {
      return error(400, "unknown parameter '" + name + "'");
    }
  }
  if (q.from_ms >= q.to_ms) return error(400, "from is after to");
  // A transcript search: the sessions of the best lines, each with its best line and time.
  std::map<std::string, db::SearchHit> matches;
  if (!text.empty()) {
    std::vector<std::string> sids;
    for (auto& hit : deps_.transcripts->search(text, 500)) {
      const auto job = deps_.jobs.get(hit.recording_sid);
      if (!job || job->deleted() || job->conference_sid.empty()) continue;
      if (matches.emplace(job->conference_sid, std::move(hit)).second)
        sids.push_back(job->conference_sid);
    }
    q.only = std::move(sids);
  }
  auto rows = deps_.index.list(q);
  json::value next = nullptr;
  if (rows.size() > kPage) {
    rows.resize(kPage);
    next = json::value(cursor_of(rows.back()));
  }
  std::vector<std::string> sids;
  sids.reserve(rows.size());
  for (const auto& r : rows)
    sids.push_back(r.conference_sid);
  const auto jobs = deps_.jobs.of_conferences(sids);
  json::array sessions;
  for (const auto& row : rows) {
    std::vector<db::Job> mine;
    for (const auto& j : jobs) {
      if (j.conference_sid == row.conference_sid) mine.push_back(j);
    }
    auto o = session_object(row, mine);
    if (const auto m = matches.find(row.conference_sid); m != matches.end()) {
      o["match"] = json::object{{"recording_sid", m->second.recording_sid},
                                {"at", m->second.start},
                                {"speaker", m->second.speaker},
                                {"text", m->second.text}};
    }
    sessions.push_back(std::move(o));
  }
  return json_response(200, json::object{{"sessions", std::move(sessions)}, {"next_cursor", next}});
}

json::object Library::recording_object(const db::Job& job) const {
  const bool stored = job.state == db::JobState::kStored && !job.deleted();
  json::value expires = nullptr;
  if (stored && options_.retention_days) {
    if (const auto start = recordings::parse_twilio_time(job.start_time)) {
      expires = iso(std::chrono::duration_cast<std::chrono::milliseconds>(
                        (*start + std::chrono::days(*options_.retention_days)).time_since_epoch())
                        .count());
    }
  }
  const std::string state = state_of(job);
  return json::object{
      {"recording_sid", job.recording_sid},
      {"kind", job.kind},
      {"call_sid", job.kind == "track" ? json::value(job.call_sid) : json::value(nullptr)},
      {"state", state},
      {"key", job.key},
      {"bytes", stored ? json::value(job.bytes) : json::value(nullptr)},
      {"duration_seconds", seconds_or_null(job.duration)},
      {"content_type", recordings::media_type(job.key)},
      {"started_at", job.start_time},
      {"last_error",
       state == "failed" || state == "dead" ? json::value(job.last_error) : json::value(nullptr)},
      {"expires_at", expires},
      {"captions", nullptr},
  };
}

json::object Library::session_object(const db::SessionRow& row, const std::vector<db::Job>& jobs) {
  std::string room = row.room.empty() ? options_.only_room() : row.room;
  json::array recordings;
  for (const auto& j : jobs)
    recordings.push_back(recording_object(j));
  const bool ended = row.ended_ms != 0 && row.started_ms != 0 && row.ended_ms >= row.started_ms;
  return json::object{
      {"conference_sid", row.conference_sid},
      {"room", room},
      {"started_at", row.started_ms ? json::value(iso(row.started_ms)) : json::value(nullptr)},
      {"ended_at", row.ended_ms ? json::value(iso(row.ended_ms)) : json::value(nullptr)},
      {"duration_seconds",
       ended ? json::value((row.ended_ms - row.started_ms) / 1000) : json::value(nullptr)},
      {"peak_participants", row.peak_participants},
      {"recordings", std::move(recordings)},
  };
}

Response Library::session(const std::string& conference_sid) {
  if (!twilio::is_sid(conference_sid, "CF")) return error(404, "no such session");
  const auto row = deps_.index.get(conference_sid);
  if (!row) return error(404, "no such session");
  auto o = session_object(*row, deps_.jobs.of_conferences({conference_sid}));
  json::array participants, actions;
  if (const auto c = deps_.calls.committed_conference(conference_sid)) {
    // Each caller's track says whose it is.
    for (auto& r : o["recordings"].as_array()) {
      auto& rec = r.as_object();
      if (!rec["call_sid"].is_string()) continue;
      for (const auto& p : c->participants) {
        if (p.call_sid != rec["call_sid"].as_string()) continue;
        rec["caller"] = p.caller;
        rec["role"] = p.role.empty() ? "speaker" : p.role;
      }
    }
    for (const auto& p : c->participants) {
      participants.push_back(json::object{
          {"call_sid", p.call_sid},
          {"caller", p.caller},
          {"role", p.role.empty() ? "speaker" : p.role},
          {"consent", p.consent_how.empty() ? json::value(nullptr) : json::value(p.consent_how)},
          {"joined_at", p.joined_ms ? json::value(iso(p.joined_ms)) : json::value(nullptr)},
          {"left_at", p.left_ms ? json::value(iso(p.left_ms)) : json::value(nullptr)},
      });
    }
    for (const auto& a : c->actions) {
      json::value caller = nullptr;
      for (const auto& p : c->participants) {
        if (!a.call_sid.empty() && p.call_sid == a.call_sid) caller = json::value(p.caller);
      }
      actions.push_back(json::object{
          {"at", iso(a.at_ms)},
          {"by", a.user},
          {"action", a.action},
          {"call_sid", a.call_sid.empty() ? json::value(nullptr) : json::value(a.call_sid)},
          {"caller", caller},
          {"result", a.result},
      });
    }
  }
  o["participants"] = std::move(participants);
  o["actions"] = std::move(actions);
  // The session's transcript (its mix's: with tracks, their merge), captions and summary.
  json::value transcript = nullptr, summary = nullptr;
  if (deps_.transcripts != nullptr) {
    for (auto& r : o["recordings"].as_array()) {
      auto& rec = r.as_object();
      if (rec["state"] != "stored") continue;
      const std::string sid(rec["recording_sid"].as_string());
      const auto t = deps_.transcripts->get(sid);
      if (!t) continue;
      rec["captions"] = "/api/recordings/" + sid + "/captions";
      if (rec["kind"] != "mix" || !transcript.is_null()) continue;
      json::array lines;
      for (const auto& l : t->lines) {
        lines.push_back(json::object{
            {"start", l.start}, {"end", l.end}, {"speaker", l.speaker}, {"text", l.text}});
      }
      transcript = json::object{
          {"recording_sid", sid}, {"language", t->language}, {"segments", std::move(lines)}};
      if (auto s = deps_.transcripts->summary(sid)) summary = json::value(*s);
    }
  }
  o["transcript"] = std::move(transcript);
  o["summary"] = std::move(summary);
  return json_response(200, o);
}

Response Library::audio(const Request& request, const std::string& sid) {
  const auto job = deps_.jobs.get(sid);
  if (!job) return error(404, "no such recording");
  if (job->deleted()) return error(404, "the recording was deleted");
  if (job->state != db::JobState::kStored) return error(409, "the recording is not stored (yet)");
  const std::string type = recordings::media_type(job->key);
  const auto target = boost::urls::parse_origin_form(request.target);
  const bool download = target && target->params().contains("download") &&
                        (*target->params().find("download")).value == "1";
  // The file name is ours (RecordingSid and a time): nothing in it needs quoting.
  const std::string disposition =
      download ? "attachment; filename=\"" + file_name_of(job->key) + "\"" : std::string();
  if (auto link = deps_.storage.link(job->key, options_.link_lifetime, type, disposition)) {
    Response r = Response::empty(302);
    r.headers.emplace_back("Location", *link);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  const auto path = deps_.storage.local_file(job->key);
  if (!path) return error(404, "the store serves no files");
  const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error(404, "the recording's file is missing from the store");
  auto file = std::make_shared<http::FileBody>(fd, 0, 0);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return error(404, "not a file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  Response r;
  r.content_type = type;
  r.headers.emplace_back("Accept-Ranges", "bytes");
  r.headers.emplace_back("Cache-Control", "private, max-age=0");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (!disposition.empty()) r.headers.emplace_back("Content-Disposition", disposition);
  const auto range = http::parse_range(request.header("Range"), size);
  if (range.kind == http::ByteRange::Kind::kUnsatisfiable) {
    r.status = 416;
    r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
    r.reason = "range outside the file";
    return r;
  }
  if (range.kind == http::ByteRange::Kind::kPart) {
    r.status = 206;
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                std::to_string(range.last) + "/" +
                                                std::to_string(size));
    file->offset = range.first;
    file->length = range.length();
  } else {
    r.status = 200;
    file->length = size;
  }
  if (file->length > 0) r.file = std::move(file);
  return r;
}

Response Library::captions(const std::string& sid) {
  const auto job = deps_.jobs.get(sid);
  if (!job || job->deleted()) return error(404, "no such recording");
  if (deps_.transcripts == nullptr) return error(404, "transcripts are off (TRANSCRIBE_URL)");
  const auto t = deps_.transcripts->get(sid);
  if (!t) return error(404, "no transcript yet");
  transcribe::Transcript out;
  out.language = t->language;
  out.duration = t->duration;
  for (const auto& l : t->lines)
    out.segments.push_back({l.start, l.end, l.text, l.speaker});
  Response r;
  r.status = 200;
  r.content_type = "text/vtt; charset=utf-8";
  r.body = transcribe::to_webvtt(out);
  r.headers.emplace_back("Cache-Control", "private, no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

Response Library::retry(const auth::Principal& user, const std::string& sid) {
  switch (deps_.jobs.retry(sid, now_ms())) {
    case db::RetryOutcome::kQueued: {
      const auto job = deps_.jobs.get(sid);
      log_.info("recording.retry", {{"RecordingSid", sid}, {"user", user.user}});
      if (job) deps_.index.mark_dirty(job->conference_sid);
      if (deps_.wake_pipeline) deps_.wake_pipeline();
      return json_response(202, json::object{{"state", "copying"}});
    }
    case db::RetryOutcome::kUnknown:
      return error(404, "no such recording");
    case db::RetryOutcome::kStored:
      return error(409, "the recording is stored already");
    case db::RetryOutcome::kCopying:
      return error(409, "the recording is being copied and has not failed");
    case db::RetryOutcome::kDeleted:
      return error(409, "the recording was deleted");
  }
  return error(500, "unexpected retry outcome");
}

bool Library::remove_objects(const db::Job& deleted) {
  const auto job = deps_.jobs.get(deleted.recording_sid);
  if (!job) return false;
  deps_.index.mark_dirty(job->conference_sid);
  const auto removed = deps_.followups.remove_objects(*job);
  if (removed.done) {
    deps_.jobs.followups_done(job->recording_sid, db::followup::kRemoveObjects, now_ms());
    return true;
  }
  limited_.warn("recording.remove_failed", removed.error,
                {{"RecordingSid", job->recording_sid}, {"key", job->key}});
  // The follow-ups try again, with backoff, until it is gone.
  if (deps_.wake_pipeline) deps_.wake_pipeline();
  return false;
}

Response Library::remove(const auth::Principal& user, const std::string& sid) {
  const std::int64_t now = now_ms();
  // Its removal is ours first; the follow-ups take over a minute later if it failed.
  switch (deps_.jobs.mark_deleted(sid, user.user, now, now + 60'000)) {
    case db::DeleteOutcome::kDeleted:
      break;
    case db::DeleteOutcome::kUnknown:
      return error(404, "no such recording");
    case db::DeleteOutcome::kAlreadyDeleted:
      return error(404, "the recording was deleted already");
    case db::DeleteOutcome::kCopying:
      return error(409, "the recording is still being copied; delete it once it is stored");
    case db::DeleteOutcome::kReportOwed:
      return error(409, "the recording's report is still being written; try again in a moment");
  }
  const auto job = deps_.jobs.get(sid);
  log_.info("recording.deleted",
            {{"RecordingSid", sid}, {"key", job ? job->key : std::string()}, {"user", user.user}});
  if (job && remove_objects(*job)) return Response::empty(204);
  return json_response(202, json::object{{"deleted", true},
                                         {"removed", false},
                                         {"detail", "the store refused for now; retried"}});
}

std::size_t Library::sweep() {
  if (!options_.retention_days) return 0;
  const auto cutoff = clock_() - std::chrono::days(*options_.retention_days);
  const std::string before = recordings::iso8601(cutoff);
  std::size_t expired = 0;
  std::set<std::string> tried;
  for (;;) {
    const auto jobs = deps_.jobs.started_before(before, 100);
    std::size_t fresh = 0;
    for (const auto& job : jobs) {
      if (!tried.insert(job.recording_sid).second) continue;
      ++fresh;
      const std::int64_t now = now_ms();
      // A report still owed is written first; the next sweep takes the recording.
      if (deps_.jobs.mark_deleted(job.recording_sid, "retention", now, now + 60'000) !=
          db::DeleteOutcome::kDeleted)
        continue;
      log_.info("recording.expired", {{"RecordingSid", job.recording_sid},
                                      {"key", job.key},
                                      {"started", job.start_time},
                                      {"retention_days", *options_.retention_days}});
      remove_objects(job);
      ++expired;
    }
    if (fresh == 0) break;
  }
  return expired;
}

void Library::sweep_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      sweep();
    } catch (const std::exception& e) {
      limited_.error("retention.error", e.what(), {});
    }
    lock.lock();
    cv_.wait_for(lock, options_.sweep_every, [this] { return stopping_; });
  }
}

}  // namespace partyline::app
