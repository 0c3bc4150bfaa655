#pragma once
// Catches recordings whose status callback Twilio never delivered: lists the account's recent
// recordings through the REST API and hands every completed conference recording to the
// pipeline, which ignores the ones it already knows (jobs are idempotent by RecordingSid).
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "recordings/callback.hpp"
#include "twilio/rest.hpp"

namespace partyline::recordings {

struct ReconcileReport {
  bool ok = false;
  std::size_t listed = 0, candidates = 0, queued = 0, known = 0;
  std::string error;
};

// Lists the account's recordings created since `since`; every completed conference recording
// (status "completed", conference_sid set, sid valid) is handed to `accept` as a RecordingCallback
// with RecordingUrl = api_base + /2010-04-01/Accounts/{AC}/Recordings/{RE}, duration, conference
// sid and start_time (the REST start_time string, RFC 2822). `accept` returns true when it queued
// a new job, false when the job was already known. Pure logic over the client and the callback.
// If `accept` throws, the run stops there: ok = false, the counts say how far it got.
ReconcileReport reconcile(const twilio::RestClient& client, const std::string& api_base,
                          const std::string& account_sid,
                          std::chrono::system_clock::time_point since,
                          const std::function<bool(const RecordingCallback&)>& accept);

}  // namespace partyline::recordings
