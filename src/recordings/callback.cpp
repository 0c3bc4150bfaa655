#include "recordings/callback.hpp"

#include <algorithm>

#include "twilio/sid.hpp"

namespace partyline::recordings {
namespace {

std::string get(const http::Params& params, std::string_view name) {
  const std::string* v = http::find_param(params, name);
  return v ? *v : std::string();
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string expected_recording_url(std::string_view api_base, std::string_view account_sid,
                                   std::string_view recording_sid) {
  return std::string(api_base) + "/2010-04-01/Accounts/" + std::string(account_sid) +
         "/Recordings/" + std::string(recording_sid);
}

namespace {
// "http://127.0.0.1:<1-5 digits>" at the start of url, or empty.
std::string loopback_origin(std::string_view url) {
  constexpr std::string_view kPrefix = "http://127.0.0.1:";
  if (!url.starts_with(kPrefix)) return {};
  std::size_t i = kPrefix.size();
  while (i < url.size() && i < kPrefix.size() + 5 && url[i] >= '0' && url[i] <= '9')
    ++i;
  if (i == kPrefix.size()) return {};
  return std::string(url.substr(0, i));
}
}  // namespace

CallbackCheck check_recording_callback(const http::Params& params, std::string_view account_sid,
                                       std::string_view api_base, bool loopback_media) {
  RecordingCallback cb;
  cb.recording_sid = get(params, "RecordingSid");
  cb.recording_url = get(params, "RecordingUrl");
  cb.status = get(params, "RecordingStatus");
  cb.conference_sid = get(params, "ConferenceSid");
  cb.call_sid = get(params, "CallSid");
  cb.duration = get(params, "RecordingDuration");
  cb.start_time = get(params, "RecordingStartTime");
  cb.error_code = get(params, "ErrorCode");

  if (cb.recording_sid.empty()) return {std::nullopt, "missing RecordingSid"};
  if (!twilio::is_sid(cb.recording_sid, "RE")) {
    return {std::nullopt, "RecordingSid is not 'RE' followed by 32 hex digits"};
  }
  if (cb.status.empty()) return {std::nullopt, "missing RecordingStatus"};
  static constexpr std::string_view kStatuses[] = {
      "completed", "in-progress", "absent", "failed", "paused", "stopped", "processing"};
  if (std::find(std::begin(kStatuses), std::end(kStatuses), cb.status) == std::end(kStatuses)) {
    return {std::nullopt, "unknown RecordingStatus"};
  }
  if (cb.recording_url.empty()) return {std::nullopt, "missing RecordingUrl"};
  const std::string origin =
      loopback_media ? loopback_origin(cb.recording_url) : std::string(api_base);
  if (origin.empty() ||
      cb.recording_url != expected_recording_url(origin, account_sid, cb.recording_sid)) {
    return {std::nullopt,
            "RecordingUrl is not this account's recording on TWILIO_API_BASE "
            "(<base>/2010-04-01/Accounts/<sid>/Recordings/<RecordingSid>)"};
  }
  if (!cb.conference_sid.empty() && !twilio::is_sid(cb.conference_sid, "CF")) {
    return {std::nullopt, "ConferenceSid is not 'CF' followed by 32 hex digits"};
  }
  if (!cb.call_sid.empty() && !twilio::is_sid(cb.call_sid, "CA")) {
    return {std::nullopt, "CallSid is not 'CA' followed by 32 hex digits"};
  }
  if (!cb.duration.empty() && !all_digits(cb.duration)) {
    return {std::nullopt, "RecordingDuration is not a whole number"};
  }
  if (cb.start_time.size() > 64) return {std::nullopt, "RecordingStartTime is too long"};
  if (cb.error_code.size() > 16) return {std::nullopt, "ErrorCode is too long"};
  return {std::move(cb), {}};
}

}  // namespace partyline::recordings
