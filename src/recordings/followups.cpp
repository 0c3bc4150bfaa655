#include "recordings/followups.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "recordings/report.hpp"
#include "util/crypto.hpp"
#include "util/curl_lazy.hpp"

namespace partyline::recordings {
namespace fs = std::filesystem;

long post_json(const std::string& url, const std::string& body, bool allow_http,
               std::string& error) {
  CURL* curl = curl_easy_init();
  if (!curl) {
    error = util::curl_init_error();
    return 0;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, allow_http ? "http,https" : "https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 15L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) { return size * n; });
  long status = 0;
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  } else {
    error = std::string(curl_easy_strerror(rc)) + (errbuf[0] ? std::string(": ") + errbuf : "");
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

Followups::Followups(FollowupOptions options, storage::ObjectStore& storage,
                     store::CallStore* calls, const twilio::RestClient* rest, log::Logger& log)
    : options_(std::move(options)), storage_(storage), calls_(calls), rest_(rest), log_(log) {}

void Followups::stored(const store::Job& job) {
  store_report(job);
  notify("recording.stored", job);
  if (options_.delete_after_copy) delete_twilio_copy(job);
}

void Followups::dead(const store::Job& job) {
  notify("recording.dead", job);
}

void Followups::store_report(const store::Job& job) {
  std::optional<store::ConferenceSummary> conference;
  try {
    if (calls_ && !job.conference_sid.empty()) conference = calls_->conference(job.conference_sid);
  } catch (const std::exception& e) {
    log_.warn("report.error", {{"RecordingSid", job.recording_sid}, {"reason", e.what()}});
  }
  const std::string text = build_report(job, conference);
  const fs::path file = options_.spool_dir / (job.recording_sid + ".json.part");
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const bool written =
      fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  if (!written) {
    log_.warn("report.error",
              {{"RecordingSid", job.recording_sid}, {"reason", "cannot write spool file"}});
    return;
  }
  storage::Object object;
  object.file = file;
  object.size = text.size();
  object.sha256_hex = util::sha256_hex(text);
  object.content_type = "application/json";
  object.metadata = {{"recording-sid", job.recording_sid}};
  const std::string key = report_key(job.key);
  const auto put = storage_.put_if_absent(key, object);
  std::error_code ec;
  fs::remove(file, ec);
  if (!put.ok) {
    log_.warn("report.error",
              {{"RecordingSid", job.recording_sid}, {"key", key}, {"reason", put.error}});
    return;
  }
  log_.info("report.stored", {{"RecordingSid", job.recording_sid},
                              {"key", key},
                              {"participants", conference ? conference->participants.size() : 0}});
}

void Followups::notify(const std::string& event, const store::Job& job) {
  if (options_.notify_url.empty()) return;
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
      {"error", job.state == store::JobState::kDead ? job.last_error : std::string()}});
  std::string error;
  const long status = post_json(options_.notify_url, body, options_.allow_http_notify, error);
  if (status >= 200 && status < 300) {
    log_.info("notify.ok",
              {{"RecordingSid", job.recording_sid}, {"event", event}, {"status", status}});
  } else {
    log_.warn("notify.error",
              {{"RecordingSid", job.recording_sid},
               {"event", event},
               {"status", status},
               {"reason", error.empty() ? "HTTP " + std::to_string(status) : error}});
  }
}

void Followups::delete_twilio_copy(const store::Job& job) {
  if (rest_ == nullptr) return;
  // Only a copy we can see, whole, in storage allows deleting Twilio's.
  const auto head = storage_.head(job.key);
  if (!head.ok || !head.exists || head.size != job.bytes || job.bytes == 0) {
    log_.warn("twilio.delete.skipped",
              {{"RecordingSid", job.recording_sid},
               {"reason", head.ok ? (head.exists ? "stored size differs from the copied size"
                                                 : "stored object not found")
                                  : "cannot verify the stored object: " + head.error}});
    return;
  }
  const auto result = rest_->delete_recording(job.recording_sid);
  if (result.ok) {
    log_.info("twilio.recording.deleted",
              {{"RecordingSid", job.recording_sid}, {"bytes", job.bytes}});
  } else {
    log_.warn("twilio.delete.error",
              {{"RecordingSid", job.recording_sid}, {"reason", result.error}});
  }
}

}  // namespace partyline::recordings
