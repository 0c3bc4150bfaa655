#include "recordings/followups.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/json.hpp>

#include "net/http_client.hpp"
#include "recordings/naming.hpp"
#include "recordings/report.hpp"
#include "util/crypto.hpp"

namespace partyline::recordings {
namespace fs = std::filesystem;

util::Result<int> post_json(const std::string& url, const std::string& body, bool allow_http) {
  net::HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = {"Content-Type: application/json"};
  request.body = body;
  request.allow_http = allow_http;
  request.total_timeout = std::chrono::seconds(15);
  // What a receiver answers to a notice is not read, only its status.
  request.on_body = [](std::string_view) { return true; };
  const auto response = net::perform(request);
  if (!response) return response.error();
  return response->status;
}

Followups::Followups(FollowupOptions options, storage::ObjectStore& storage, db::CallStore* calls,
                     const twilio::RestClient* rest, log::Logger& log)
    : options_(std::move(options)), storage_(storage), calls_(calls), rest_(rest), log_(log) {}

unsigned Followups::steps_when_stored() const {
  unsigned steps = db::followup::kReport;
  if (options_.transcribe) steps |= db::followup::kTranscribe;
  if (!options_.notify_url.empty()) steps |= db::followup::kNotice;
  if (options_.delete_after_copy && rest_ != nullptr) steps |= db::followup::kDeleteTwilioCopy;
  return steps;
}

unsigned Followups::steps_when_dead() const {
  return options_.notify_url.empty() ? 0 : db::followup::kNotice;
}

FollowupResult Followups::run(unsigned step, const db::Job& job) {
  switch (step) {
    case db::followup::kReport:
      return store_report(job);
    case db::followup::kNotice:
      return notify(job);
    case db::followup::kDeleteTwilioCopy:
      return delete_twilio_copy(job);
    case db::followup::kRemoveObjects:
      return remove_objects(job);
  }
  return {true, {}};  // a step this version does not know: nothing it can do
}

FollowupResult Followups::remove_objects(const db::Job& job) {
  // The recording and everything stored beside it; a key already gone is no error.
  for (const std::string& key : {job.key, report_key(job.key), beside(job.key, ".transcript.json"),
                                 beside(job.key, ".vtt"), beside(job.key, ".summary.md")}) {
    const auto removed = storage_.remove(key);
    if (!removed) return FollowupResult{false, "remove " + key + ": " + removed.error().reason};
  }
  if (options_.forget) {
    try {
      options_.forget(job.recording_sid);
    } catch (const std::exception& e) {
      return FollowupResult{false, std::string("forget the transcript: ") + e.what()};
    }
  }
  log_.info("recording.removed",
            {{"RecordingSid", job.recording_sid}, {"key", job.key}, {"by", job.deleted_by}});
  return FollowupResult{true, {}};
}

FollowupResult Followups::store_report(const db::Job& job) {
  // A track is listed in its session's report (beside the mix): no report of its own.
  if (job.kind == "track") return {true, {}};
  const std::string key = report_key(job.key);
  const auto failed = [&](const std::string& reason) {
    log_.warn("report.error",
              {{"RecordingSid", job.recording_sid}, {"key", key}, {"reason", reason}});
    return FollowupResult{false, "report: " + reason};
  };
  // A report is written once: one found (an earlier run stored it, then stopped before it could
  // say so) is the report, whatever a new one would hold.
  const auto head = storage_.head(key);
  if (!head) return failed("cannot look for an earlier report: " + head.error().reason);
  if (head->exists) {
    log_.info("report.duplicate",
              {{"RecordingSid", job.recording_sid}, {"key", key}, {"reason", "already stored"}});
    return {true, {}};
  }
  std::optional<db::ConferenceSummary> conference;
  try {
    if (calls_ && !job.conference_sid.empty()) conference = calls_->conference(job.conference_sid);
  } catch (const std::exception& e) {
    return failed(std::string("cannot read the conference: ") + e.what());
  }
  std::vector<db::Job> tracks;
  try {
    if (options_.recordings_of && !job.conference_sid.empty()) {
      for (auto& j : options_.recordings_of(job.conference_sid)) {
        if (j.kind == "track") tracks.push_back(std::move(j));
      }
    }
  } catch (const std::exception& e) {
    return failed(std::string("cannot read the session's tracks: ") + e.what());
  }
  const std::string text = build_report(job, conference, options_.report_rooms, tracks);
  const fs::path file = options_.spool_dir / (job.recording_sid + ".json.part");
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const bool written =
      fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int write_errno = errno;
  if (fd >= 0) ::close(fd);
  std::error_code ec;
  if (!written) {
    fs::remove(file, ec);
    return failed(std::string("cannot write spool file: ") + std::strerror(write_errno));
  }
  storage::Object object;
  object.file = file;
  object.size = text.size();
  object.sha256_hex = util::sha256_hex(text);
  object.content_type = "application/json";
  object.metadata = {{"recording-sid", job.recording_sid}};
  const auto put = storage_.put_if_absent(key, object);
  fs::remove(file, ec);
  if (!put) return failed(put.error().reason);
  log_.info("report.stored", {{"RecordingSid", job.recording_sid},
                              {"key", key},
                              {"participants", conference ? conference->participants.size() : 0}});
  return {true, {}};
}

FollowupResult Followups::notify(const db::Job& job) {
  if (options_.notify_url.empty()) return {true, {}};
  const std::string event =
      job.state == db::JobState::kDead ? "recording.dead" : "recording.stored";
  const std::string body = boost::json::serialize(boost::json::object{
      {"event", event},
      {"recording_sid", job.recording_sid},
      {"conference_sid", job.conference_sid},
      {"key", job.key},
      {"location", job.location},
      {"bytes", job.bytes},
      {"sha256", job.sha256},
      {"duration", job.duration},
      {"start_time", job.start_time},
      {"error", job.state == db::JobState::kDead ? job.last_error : std::string()}});
  const auto answer = post_json(options_.notify_url, body, options_.allow_http_notify);
  const int status = answer ? *answer : answer.error().http_status;
  if (answer && status >= 200 && status < 300) {
    log_.info("notify.ok",
              {{"RecordingSid", job.recording_sid}, {"event", event}, {"status", status}});
    return {true, {}};
  }
  const std::string reason = answer ? "HTTP " + std::to_string(status) : answer.error().reason;
  log_.warn("notify.error", {{"RecordingSid", job.recording_sid},
                             {"event", event},
                             {"status", status},
                             {"reason", reason}});
  return {false, "notice: " + reason};
}

FollowupResult Followups::delete_twilio_copy(const db::Job& job) {
  if (rest_ == nullptr) return {true, {}};
  // Only a copy we can see, whole, in storage allows deleting Twilio's.
  const auto head = storage_.head(job.key);
  if (!head) {
    const std::string reason = "cannot verify the stored object: " + head.error().reason;
    log_.warn("twilio.delete.skipped", {{"RecordingSid", job.recording_sid}, {"reason", reason}});
    return {false, "delete: " + reason};
  }
  if (!head->exists || head->size != job.bytes || job.bytes == 0) {
    // Not a passing failure: Twilio's copy may be the only whole one. Never deleted, not retried.
    log_.warn("twilio.delete.skipped",
              {{"RecordingSid", job.recording_sid},
               {"reason", head->exists ? "stored size differs from the copied size"
                                       : "stored object not found"}});
    return {true, {}};
  }
  const auto result = rest_->delete_recording(job.recording_sid);
  if (result) {
    log_.info("twilio.recording.deleted",
              {{"RecordingSid", job.recording_sid}, {"bytes", job.bytes}});
    return {true, {}};
  }
  const std::string& reason = result.error().reason;
  log_.warn("twilio.delete.error", {{"RecordingSid", job.recording_sid}, {"reason", reason}});
  return {false, "delete: " + reason};
}

}  // namespace partyline::recordings
