#pragma once
// Running a live conference from the console: mute or hold a participant, remove one, end the
// conference, pause or resume its recording (reference live-and-library.md §1.1). The actions only
// ask Twilio; what actually changed arrives later as a /conf-status event.
#include <chrono>
#include <string_view>

#include "twilio/rest.hpp"
#include "util/result.hpp"

namespace partyline::twilio {

// Every action returns once Twilio answered (success for any 2xx) or the timeout passed. Failures:
// - Twilio refused: reason "HTTP 404: <Twilio's message> (Twilio error 20404)", http_status =
//   Twilio's status, transient for a 5xx or a 429;
// - Twilio not reached or no answer in time: http_status 0, transient;
// - a conference SID that is not CF + 32 hex digits or a call SID that is not CA + 32 hex digits:
//   nothing is sent; http_status 0, not transient.
// Reasons never contain the auth token. Implementations are safe to call from several threads.
class ConferenceControl {
 public:
  virtual ~ConferenceControl() = default;

  // POST …/Conferences/{CF}/Participants/{CA}.json  Muted=true|false
  virtual util::Result<void> set_muted(std::string_view conference_sid, std::string_view call_sid,
                                       bool muted) = 0;
  // POST …/Conferences/{CF}/Participants/{CA}.json  Hold=true|false
  virtual util::Result<void> set_hold(std::string_view conference_sid, std::string_view call_sid,
                                      bool hold) = 0;
  // DELETE …/Conferences/{CF}/Participants/{CA}.json
  virtual util::Result<void> remove_participant(std::string_view conference_sid,
                                                std::string_view call_sid) = 0;
  // POST …/Conferences/{CF}.json  Status=completed
  virtual util::Result<void> end_conference(std::string_view conference_sid) = 0;
  // POST …/Conferences/{CF}/Recordings/Twilio.CURRENT.json  Status=paused|in-progress
  virtual util::Result<void> set_recording_paused(std::string_view conference_sid, bool paused) = 0;
  // POST …/Calls/{CA}/Recordings.json  RecordingTrack=inbound (mono), its callback: a caller's own
  // track started again when the one the TwiML asked for could not be. The call is not touched.
  virtual util::Result<void> start_track(std::string_view call_sid, const std::string& callback) {
    (void)call_sid, (void)callback;
    return util::Failure::later("this control cannot start a track");
  }
};

// Over Twilio's REST API: one blocking HTTP transfer per action, with RestClient's auth and
// error reading.
class RestConferenceControl final : public ConferenceControl {
 public:
  // A person waits at the console for each answer, so the timeout is shorter than the
  // reconciler's: it replaces `options.timeout`.
  explicit RestConferenceControl(RestOptions options,
                                 std::chrono::seconds timeout = std::chrono::seconds(10));

  util::Result<void> set_muted(std::string_view conference_sid, std::string_view call_sid,
                               bool muted) override;
  util::Result<void> set_hold(std::string_view conference_sid, std::string_view call_sid,
                              bool hold) override;
  util::Result<void> remove_participant(std::string_view conference_sid,
                                        std::string_view call_sid) override;
  util::Result<void> end_conference(std::string_view conference_sid) override;
  util::Result<void> set_recording_paused(std::string_view conference_sid, bool paused) override;
  util::Result<void> start_track(std::string_view call_sid, const std::string& callback) override;

 private:
  util::Result<void> participant(std::string_view conference_sid, std::string_view call_sid,
                                 std::string method, std::string form_body);
  util::Result<void> send(std::string method, const std::string& path, std::string form_body);

  RestClient rest_;
};

}  // namespace partyline::twilio
