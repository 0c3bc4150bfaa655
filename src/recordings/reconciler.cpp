#include "recordings/reconciler.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <string_view>

#include "recordings/naming.hpp"
#include "twilio/sid.hpp"

namespace partyline::recordings {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The day filter on Twilio's side is coarse; this applies `since` exactly. A date_created we
// cannot read stays in: the server already bounded it by day, and queueing a known recording
// again is harmless while missing one is not.
bool created_since(const twilio::RecordingInfo& r, std::chrono::system_clock::time_point since) {
  const std::optional<TimePoint> created = parse_twilio_time(r.date_created);
  return !created || *created >= since;
}

bool is_candidate(const twilio::RecordingInfo& r, std::chrono::system_clock::time_point since) {
  return r.status == "completed" && twilio::is_sid(r.sid, "RE") &&
         twilio::is_sid(r.conference_sid, "CF") && created_since(r, since);
}

// Shaped like the callback Twilio would have sent, within the same limits check_recording_callback
// enforces, so the pipeline cannot tell (and need not care) where it came from.
RecordingCallback to_callback(const twilio::RecordingInfo& r, const std::string& api_base,
                              const std::string& account_sid) {
  RecordingCallback cb;
  cb.recording_sid = r.sid;
  cb.recording_url = expected_recording_url(api_base, account_sid, r.sid);
  cb.status = r.status;
  cb.conference_sid = r.conference_sid;
  if (twilio::is_sid(r.call_sid, "CA")) cb.call_sid = r.call_sid;
  if (all_digits(r.duration)) cb.duration = r.duration;
  if (r.start_time.size() <= 64) cb.start_time = r.start_time;
  if (r.error_code.size() <= 16) cb.error_code = r.error_code;
  return cb;
}

}  // namespace

ReconcileReport reconcile(const twilio::RestClient& client, const std::string& api_base,
                          const std::string& account_sid,
                          std::chrono::system_clock::time_point since,
                          const std::function<bool(const RecordingCallback&)>& accept) {
  ReconcileReport report;
  const auto list = client.list_recordings(since);
  if (!list) {
    report.error = "listing recordings: " + list.error().reason;
    return report;
  }
  report.listed = list->recordings.size();
  for (const twilio::RecordingInfo& recording : list->recordings) {
    if (!is_candidate(recording, since)) continue;
    ++report.candidates;
    try {
      if (accept(to_callback(recording, api_base, account_sid))) {
        ++report.queued;
      } else {
        ++report.known;
      }
    } catch (const std::exception& e) {
      report.error = "queueing " + recording.sid + ": " + e.what();
      return report;
    }
  }
  report.ok = true;
  return report;
}

}  // namespace partyline::recordings
