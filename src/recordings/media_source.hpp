#pragma once
// Where the pipeline gets a recording's media from: Twilio in the service, a fake in the tests of
// the pipeline. One call fetches one recording into a spool file, hashing it on the way with the
// plan the object store asked for, so a large recording can go up in parts while it arrives.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "twilio/credentials.hpp"
#include "util/digest.hpp"
#include "util/result.hpp"

namespace partyline::recordings {

struct MediaFetch {
  std::string recording_url;    // RecordingUrl as Twilio sent it: without the extension
  std::filesystem::path spool;  // written from its start (truncated)
  // What to hash, given the response's Content-Length (nullopt if it has none). Called once, when
  // the body starts; unset: the whole body's SHA-256 and MD5.
  std::function<util::DigestPlan(std::optional<std::uint64_t>)> digest_plan;
  // Each complete part of the plan, in order, once it is in the spool file and hashed (the last,
  // shorter part is only in the result). Must not block.
  std::function<void(const util::PartDigest&)> on_part;
};

struct Media {
  util::StreamDigests digests;  // size and digests of exactly what the spool file holds
  // The size the response announced (its Content-Length), if it announced one.
  std::optional<std::uint64_t> announced_size;

  // The whole media is in the spool file: as long as announced, and its SHA-256 known. Only such
  // a file may be kept for the next attempt instead of fetching it again.
  bool verified() const {
    return announced_size && *announced_size == digests.size && !digests.sha256_hex.empty();
  }
};

class MediaSource {
 public:
  virtual ~MediaSource() = default;
  // Blocking; may be called from several threads at once. On failure the spool file may hold
  // part of the body: the caller removes it. Failure::soon for what may pass by itself (a dropped
  // connection, 5xx, 429), Failure::later for a refusal (404 while the media is not ready yet,
  // other 4xx); the pipeline retries both with backoff.
  virtual util::Result<Media> fetch(const MediaFetch& request) = 0;
};

// The media of a Twilio recording: RecordingUrl + "." + format, with the account's Basic auth.
class TwilioMediaSource : public MediaSource {
 public:
  // allow_http: tests and local mode fetch from http://127.0.0.1; production is https only.
  TwilioMediaSource(twilio::Credentials credentials, std::string format, bool allow_http);
  util::Result<Media> fetch(const MediaFetch& request) override;

 private:
  twilio::Credentials credentials_;
  std::string format_;
  bool allow_http_;
};

}  // namespace partyline::recordings
