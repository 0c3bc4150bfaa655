#pragma once
// The recording status callback's fields, checked before anything is fetched: a RecordingUrl is
// only ever accepted on TWILIO_API_BASE, under this account, ending in this RecordingSid, so no
// request (and no credential) can be sent anywhere else.
#include <optional>
#include <string>
#include <string_view>

#include "http/form.hpp"

namespace partyline::recordings {

struct RecordingCallback {
  std::string recording_sid;
  std::string recording_url;   // without extension, as Twilio sends it
  std::string status;          // completed | in-progress | absent | failed
  std::string conference_sid;  // may be empty
  std::string call_sid;        // may be empty
  std::string duration;        // seconds, may be empty
  std::string start_time;      // RecordingStartTime as sent, may be empty
  std::string error_code;      // may be empty
  // A caller's own track (/track-callback): "track02-speaker" (the caller's place in the order of
  // joining, and role), and the session's start, which with the ConferenceSid name its key.
  std::string track = {};
  std::string session_start = {};  // ISO 8601
};

struct CallbackCheck {
  std::optional<RecordingCallback> callback;
  std::string error;  // why it was refused (names the field, never echoes values)
};

// loopback_media: local mode's simulator serves media from http://127.0.0.1:<any port>; only
// then is that origin accepted instead of api_base.
CallbackCheck check_recording_callback(const http::Params& params, std::string_view account_sid,
                                       std::string_view api_base, bool loopback_media = false);

// The only URL a recording may be fetched from (without extension).
std::string expected_recording_url(std::string_view api_base, std::string_view account_sid,
                                   std::string_view recording_sid);

}  // namespace partyline::recordings
