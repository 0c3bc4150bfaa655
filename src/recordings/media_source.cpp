#include "recordings/media_source.hpp"

#include <utility>

#include "twilio/media.hpp"

namespace partyline::recordings {

namespace {

bool transient(int http_status) {
  return http_status == 0 || http_status == 429 || http_status >= 500;
}

util::Failure failure_of(const twilio::MediaResult& media) {
  if (media.kind == twilio::MediaResult::Kind::kNotReady) {
    return util::Failure::later("media not ready yet (HTTP 404)", media.http_status);
  }
  if (transient(media.http_status)) return util::Failure::soon(media.error, media.http_status);
  return util::Failure::later(media.error, media.http_status);
}

}  // namespace

TwilioMediaSource::TwilioMediaSource(twilio::Credentials credentials, std::string format,
                                     bool allow_http)
    : credentials_(std::move(credentials)), format_(std::move(format)), allow_http_(allow_http) {}

util::Result<Media> TwilioMediaSource::fetch(const MediaFetch& request) {
  std::optional<std::uint64_t> announced;
  auto media = twilio::fetch_media({.url = request.recording_url + "." + format_,
                                    .username = credentials_.account_sid,
                                    .password = credentials_.auth_token.reveal(),
                                    .spool = request.spool,
                                    .allow_http = allow_http_,
                                    .digest_plan =
                                        [&](std::optional<std::uint64_t> size) {
                                          announced = size;
                                          return request.digest_plan ? request.digest_plan(size)
                                                                     : util::DigestPlan{};
                                        },
                                    .on_part = request.on_part});
  if (media.kind != twilio::MediaResult::Kind::kOk) return failure_of(media);
  Media out;
  out.digests.size = media.bytes;
  out.digests.sha256_hex = std::move(media.sha256_hex);
  out.digests.md5_hex = std::move(media.md5_hex);
  out.digests.part_size = media.part_size;
  out.digests.parts = std::move(media.parts);
  out.announced_size = announced;
  return out;
}

}  // namespace partyline::recordings
