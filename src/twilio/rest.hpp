#pragma once
// A small client for the parts of Twilio's REST API the service needs (reference twilio.md §6):
// listing recordings (for the reconciler that catches missed callbacks), deleting a recording
// once it is safely stored, and fetching the account (a credentials check at start-up).
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "net/http_client.hpp"
#include "twilio/credentials.hpp"
#include "util/result.hpp"

namespace partyline::twilio {

struct RestOptions {
  std::string api_base;     // e.g. https://api.twilio.com (TWILIO_API_BASE)
  Credentials credentials;  // the account SID is also the Basic auth user
  bool allow_http = false;  // tests: http://127.0.0.1
  std::chrono::seconds timeout{30};
};

// One entry of Recordings.json, fields as Twilio sends them (strings; absent or null -> "").
struct RecordingInfo {
  std::string sid, account_sid, call_sid, conference_sid, status, source, start_time, date_created,
      duration, error_code;
  int channels = 1;
};

struct RecordingList {
  std::vector<RecordingInfo> recordings;
  int pages = 0;
  std::size_t skipped = 0;  // entries dropped as malformed (bad SID, another account)
};

enum class Deletion { kDeleted, kAlreadyGone };

struct AccountInfo {
  std::string friendly_name, status;
};

// Blocking; one HTTP transfer per request, so a client may be used from several threads at once.
// Failures read like "HTTP 401: <Twilio's message>" and never contain the auth token; they are
// transient (kSoon) for a 5xx, a 429 or a transfer that did not complete in time.
class RestClient {
 public:
  explicit RestClient(RestOptions options);

  // GET /2010-04-01/Accounts/{AC}/Recordings.json?PageSize=1000&DateCreated%3E=YYYY-MM-DD (the day
  // of `since`, UTC; filter exact times client-side), following next_page_uri (a path: prefix
  // api_base) until null; at most 1000 pages. Entries whose SIDs are malformed are skipped.
  util::Result<RecordingList> list_recordings(std::chrono::system_clock::time_point since) const;

  // DELETE /2010-04-01/Accounts/{AC}/Recordings/{RE}.json: 204 (or 200) deleted; 404 already gone
  // (an earlier attempt, or someone in the console), which meets the goal too.
  util::Result<Deletion> delete_recording(const std::string& recording_sid) const;

  // GET /2010-04-01/Accounts/{AC}.json
  util::Result<AccountInfo> fetch_account() const;

  const RestOptions& options() const { return options_; }

  // For this folder's other clients of the same API (twilio/conference.hpp): one `method` request
  // to `path` (under api_base, starting "/2010-04-01/") with these credentials, timeout and form
  // body (sent as application/x-www-form-urlencoded when not empty). Every HTTP status is a
  // response; a Failure is a transfer that did not complete (http_status 0 unless one arrived).
  util::Result<net::HttpResponse> request(std::string method, const std::string& path,
                                          std::string form_body = {}) const;
  // The Failure for a response the caller does not accept: "HTTP 404: <Twilio's message> (Twilio
  // error 20404)", http_status = the response's, transient for a 5xx or a 429; never the token.
  util::Failure failure(const net::HttpResponse& response) const;

 private:
  const std::string& password() const;

  RestOptions options_;
};

}  // namespace partyline::twilio
