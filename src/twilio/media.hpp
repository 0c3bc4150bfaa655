#pragma once
// Downloads one recording's media from Twilio into a spool file (reference twilio.md §5),
// hashing it on the way so the upload step never reads the file twice just to hash it.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/digest.hpp"

namespace partyline::twilio {

struct MediaRequest {
  std::string url;  // RecordingUrl + ".mp3" (or ".wav"), already validated by the caller
  std::string username, password;  // Basic auth: account SID and auth token
  std::filesystem::path spool;     // write here (truncate); the caller removes it
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds stall_timeout{60};  // abort if < 1 byte/s for this long
  std::chrono::seconds total_timeout{3600};
  bool allow_http = false;  // tests use http://127.0.0.1; production: https only, redirects too
  // What to hash, given the response's Content-Length (nullopt if it has none); unset: the whole
  // body's SHA-256 and MD5. Called once, when the first byte of a 2xx body arrives.
  std::function<util::DigestPlan(std::optional<std::uint64_t>)> digest_plan;
  // Called on the hashing thread, in order, as each complete part of the plan has been written to
  // the spool file and hashed (the last, shorter part is only in the result). Must not block: the
  // hashing waits for it.
  std::function<void(const util::PartDigest&)> on_part;
};

struct MediaResult {
  // kNotReady: HTTP 404, which Twilio answers for a while after "completed" (retry with backoff).
  // kFailed: anything else; the error says what.
  enum class Kind { kOk, kNotReady, kFailed } kind = Kind::kFailed;
  int http_status = 0;              // of the final response; 0 if none arrived
  std::uint64_t bytes = 0;          // body bytes of a 2xx response received (written, for kOk)
  std::string sha256_hex, md5_hex;  // of exactly what was written; set only for kOk (md5_hex
                                    // only if the digest plan asked for it)
  std::uint64_t part_size = 0;      // and per-part digests, if the plan asked for them
  std::vector<util::PartDigest> parts;
  std::string content_type;
  std::string error;  // for the log: status or curl's message; never the password
};

// Blocking; one HTTP transfer (net/http_client) and one helper thread (hashing the spool file as it
// grows) per call, so calls may run on any threads concurrently. Redirects are followed (at most 5,
// same protocols as allowed for the first URL) but the credentials only go to the first URL's host
// and port. Anything but kOk leaves the spool file empty, so no partial or error body can be
// mistaken for media.
MediaResult fetch_media(const MediaRequest& request);

}  // namespace partyline::twilio
