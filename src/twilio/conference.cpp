#include "twilio/conference.hpp"

#include <string>
#include <utility>

#include "http/form.hpp"
#include "twilio/sid.hpp"

namespace partyline::twilio {
namespace {

RestOptions with_timeout(RestOptions options, std::chrono::seconds timeout) {
  options.timeout = timeout;
  return options;
}

std::string form(const char* name, std::string value) {
  return http::form_encode({{name, std::move(value)}});
}

std::string boolean(bool value) {
  return value ? "true" : "false";
}

}  // namespace

RestConferenceControl::RestConferenceControl(RestOptions options, std::chrono::seconds timeout)
    : rest_(with_timeout(std::move(options), timeout)) {}

util::Result<void> RestConferenceControl::set_muted(std::string_view conference_sid,
                                                    std::string_view call_sid, bool muted) {
  return participant(conference_sid, call_sid, "POST", form("Muted", boolean(muted)));
}

util::Result<void> RestConferenceControl::set_hold(std::string_view conference_sid,
                                                   std::string_view call_sid, bool hold) {
  return participant(conference_sid, call_sid, "POST", form("Hold", boolean(hold)));
}

util::Result<void> RestConferenceControl::remove_participant(std::string_view conference_sid,
                                                             std::string_view call_sid) {
  return participant(conference_sid, call_sid, "DELETE", {});
}

util::Result<void> RestConferenceControl::end_conference(std::string_view conference_sid) {
  if (!is_sid(conference_sid, "CF")) return util::Failure::later("malformed conference SID");
  return send("POST", "/Conferences/" + std::string(conference_sid) + ".json",
              form("Status", "completed"));
}

util::Result<void> RestConferenceControl::set_recording_paused(std::string_view conference_sid,
                                                               bool paused) {
  if (!is_sid(conference_sid, "CF")) return util::Failure::later("malformed conference SID");
  // Twilio.CURRENT names the recording in progress, whose RE… the service only learns at its end.
  return send("POST",
              "/Conferences/" + std::string(conference_sid) + "/Recordings/Twilio.CURRENT.json",
              form("Status", paused ? "paused" : "in-progress"));
}

util::Result<void> RestConferenceControl::start_track(std::string_view call_sid,
                                                      const std::string& callback) {
  if (!is_sid(call_sid, "CA")) return util::Failure::later("malformed call SID");
  return send("POST", "/Calls/" + std::string(call_sid) + "/Recordings.json",
              http::form_encode({{"RecordingTrack", "inbound"},
                                 {"RecordingChannels", "mono"},
                                 {"RecordingStatusCallback", callback},
                                 {"RecordingStatusCallbackEvent", "completed"}}));
}

util::Result<void> RestConferenceControl::participant(std::string_view conference_sid,
                                                      std::string_view call_sid, std::string method,
                                                      std::string form_body) {
  if (!is_sid(conference_sid, "CF") || !is_sid(call_sid, "CA")) {
    return util::Failure::later("malformed conference or call SID");
  }
  return send(std::move(method),
              "/Conferences/" + std::string(conference_sid) + "/Participants/" +
                  std::string(call_sid) + ".json",
              std::move(form_body));
}

// `path` is under the account; every SID in it has been checked, so it cannot leave it.
util::Result<void> RestConferenceControl::send(std::string method, const std::string& path,
                                               std::string form_body) {
  const std::string& account_sid = rest_.options().credentials.account_sid;
  if (!is_sid(account_sid, "AC")) return util::Failure::later("malformed account SID");
  const auto response = rest_.request(
      std::move(method), "/2010-04-01/Accounts/" + account_sid + path, std::move(form_body));
  if (!response) return response.error();
  if (response->status < 200 || response->status > 299) return rest_.failure(*response);
  return {};
}

}  // namespace partyline::twilio
