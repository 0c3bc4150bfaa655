// Hand-written SigV4: Debian 12's libcurl 7.88 mis-signs S3 requests (see reference s3.md §6) and
// no AWS C++ SDK is packaged.
#pragma once
// AWS Signature Version 4 for S3, as pure functions: the caller passes the clock and sends the
// returned headers/URL with any transport (never with CURLOPT_AWS_SIGV4).
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partyline::s3 {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// hex(sha256("")): the payload hash of GET, HEAD, DELETE and empty-body requests.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// For bodies whose hash is not known up front (stream over HTTPS) and for presigned URLs.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary (STS) credentials
};

struct Request {
  std::string method;  // "GET", "PUT", ...
  std::string host;    // including ":port" when not the scheme's default
  std::string path;    // raw, unencoded, e.g. "/bucket/partyline/2025-...-RE....mp3"
  Pairs query;         // raw name/value pairs; "?uploads" is {"uploads", ""}
  // Extra headers to send and sign (content-type, x-amz-meta-*, if-none-match, ...). Must not
  // contain host, x-amz-date, x-amz-content-sha256, x-amz-security-token or authorization: the
  // signer adds those.
  Pairs headers;
  std::string payload_sha256_hex = std::string(kEmptyPayloadSha256);  // or kUnsignedPayload
};

struct Options {
  std::string service = "s3";
  // S3 requires x-amz-content-sha256 on every header-signed request; other SigV4 services (and
  // the generic aws-c-auth test suite) neither send nor sign it.
  bool content_sha256_header = true;
};

struct Signed {
  std::string canonical_request;  // for debugging SignatureDoesNotMatch and for tests
  std::string string_to_sign;
  std::string signature;  // lowercase hex
  std::string authorization;
  std::string amz_date;  // YYYYMMDD'T'HHMMSS'Z'
  // Every header to send: host, x-amz-date, x-amz-content-sha256, x-amz-security-token (if any),
  // the request's own headers as given, then authorization.
  Pairs headers;
  std::string encoded_path;     // the URL's path
  std::string canonical_query;  // encoded and sorted: the URL's query (without '?')
};

struct Presigned {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string encoded_path;
  std::string query;  // canonical query plus "&X-Amz-Signature=...": the URL's query
  // "<scheme>://<host><encoded_path>?<query>"
  std::string url(std::string_view scheme, std::string_view host) const;
};

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ kept, every other byte as
// %XX with uppercase hex; '/' kept only when keep_slash (object paths).
std::string uri_encode(std::string_view s, bool keep_slash);

// "YYYYMMDD'T'HHMMSS'Z'" in UTC, truncated to whole seconds.
std::string amz_date(std::chrono::system_clock::time_point t);

// Signs a request with an Authorization header. S3 rules: the path is encoded once (no second
// encoding, no dot-segment removal); query names and values are encoded, then sorted; headers
// are lowercased, trimmed, inner space runs collapsed, repeated names joined with ',', sorted by
// name.
Signed sign(const Request& request, const Credentials& credentials, std::string_view region,
            std::chrono::system_clock::time_point now, const Options& options = {});

// Presigned URL (query-string authentication), e.g. a GET link to a recording. Only host and the
// request's own headers are signed; the payload is UNSIGNED-PAYLOAD. expires must be within
// 1 s .. 7 days (S3's limit); otherwise std::invalid_argument (a caller bug, not a runtime
// condition). With a session token the URL dies with the token.
Presigned presign(const Request& request, const Credentials& credentials, std::string_view region,
                  std::chrono::system_clock::time_point now, std::chrono::seconds expires,
                  const Options& options = {});

}  // namespace partyline::s3
