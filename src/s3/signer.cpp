#include "s3/signer.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "util/crypto.hpp"

namespace partyline::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::chrono::seconds kMaxPresignExpiry{7 * 24 * 3600};

// Headers the signer owns; a caller-supplied copy would be sent twice or signed inconsistently.
constexpr std::string_view kReservedHeaders[] = {"host", "x-amz-date", "x-amz-content-sha256",
                                                 "x-amz-security-token", "authorization"};

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

// Trim, and collapse inner runs of spaces/tabs to one space (SigV4's "Trimall").
std::string trim_all(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

bool is_reserved(std::string_view lower_name) {
  return std::find(std::begin(kReservedHeaders), std::end(kReservedHeaders), lower_name) !=
         std::end(kReservedHeaders);
}

struct CanonicalHeaders {
  std::string block;         // "name:value\n" per header, sorted by name
  std::string signed_names;  // "name1;name2;..."
};

// Sorted by name only: sorting whole "name:value" lines puts "x-amz-meta-a-b" before
// "x-amz-meta-a" because '-' < ':'. The stable sort keeps repeated names in sending order.
CanonicalHeaders canonical_headers(const Pairs& headers) {
  Pairs lowered;
  lowered.reserve(headers.size());
  for (const auto& [name, value] : headers)
    lowered.emplace_back(lowercase(name), trim_all(value));
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (std::size_t i = 0; i < lowered.size(); ++i) {
    const bool repeat = i > 0 && lowered[i].first == lowered[i - 1].first;
    if (repeat) {
      out.block.back() = ',';  // replace the previous line's '\n'
      out.block += lowered[i].second + '\n';
      continue;
    }
    out.block += lowered[i].first + ':' + lowered[i].second + '\n';
    if (!out.signed_names.empty()) out.signed_names += ';';
    out.signed_names += lowered[i].first;
  }
  return out;
}

// Each name and value encoded first, then sorted: sorting raw pairs misorders encoded bytes.
std::string canonical_query(const Pairs& query) {
  Pairs encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name + '=' + value;  // valueless parameters still get '=' ("uploads=")
  }
  return out;
}

std::string encoded_path(std::string_view path) {
  if (path.empty()) return "/";
  return uri_encode(path, true);
}

void check_headers(const Pairs& headers) {
  for (const auto& [name, value] : headers) {
    if (is_reserved(lowercase(name))) {
      throw std::invalid_argument("s3::sign: header is set by the signer: " + name);
    }
  }
}

struct Scope {
  std::string amz_date;
  std::string scope;  // yyyymmdd/region/service/aws4_request
  std::string signing_key;
};

Scope make_scope(const Credentials& credentials, std::string_view region, std::string_view service,
                 std::chrono::system_clock::time_point now) {
  Scope s;
  s.amz_date = amz_date(now);
  const std::string day = s.amz_date.substr(0, 8);
  s.scope = day + '/' + std::string(region) + '/' + std::string(service) + "/aws4_request";
  std::string key = util::hmac_sha256("AWS4" + credentials.secret_access_key, day);
  key = util::hmac_sha256(key, region);
  key = util::hmac_sha256(key, service);
  s.signing_key = util::hmac_sha256(key, "aws4_request");
  return s;
}

std::string string_to_sign(const Scope& scope, std::string_view canonical_request) {
  return std::string(kAlgorithm) + '\n' + scope.amz_date + '\n' + scope.scope + '\n' +
         util::sha256_hex(canonical_request);
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += ch;
      continue;
    }
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string Presigned::url(std::string_view scheme, std::string_view host) const {
  return std::string(scheme) + "://" + std::string(host) + encoded_path + '?' + query;
}

Signed sign(const Request& request, const Credentials& credentials, std::string_view region,
            std::chrono::system_clock::time_point now, const Options& options) {
  check_headers(request.headers);
  const Scope scope = make_scope(credentials, region, options.service, now);

  Pairs to_sign{{"host", request.host}, {"x-amz-date", scope.amz_date}};
  if (options.content_sha256_header) {
    to_sign.emplace_back("x-amz-content-sha256", request.payload_sha256_hex);
  }
  if (!credentials.session_token.empty()) {
    to_sign.emplace_back("x-amz-security-token", credentials.session_token);
  }
  to_sign.insert(to_sign.end(), request.headers.begin(), request.headers.end());
  const CanonicalHeaders headers = canonical_headers(to_sign);

  Signed out;
  out.amz_date = scope.amz_date;
  out.encoded_path = encoded_path(request.path);
  out.canonical_query = canonical_query(request.query);
  out.canonical_request = request.method + '\n' + out.encoded_path + '\n' + out.canonical_query +
                          '\n' + headers.block + '\n' + headers.signed_names + '\n' +
                          request.payload_sha256_hex;
  out.string_to_sign = string_to_sign(scope, out.canonical_request);
  out.signature = util::hex_lower(util::hmac_sha256(scope.signing_key, out.string_to_sign));
  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + '/' +
                      scope.scope + ", SignedHeaders=" + headers.signed_names +
                      ", Signature=" + out.signature;
  out.headers = std::move(to_sign);
  out.headers.emplace_back("authorization", out.authorization);
  return out;
}

Presigned presign(const Request& request, const Credentials& credentials, std::string_view region,
                  std::chrono::system_clock::time_point now, std::chrono::seconds expires,
                  const Options& options) {
  if (expires < std::chrono::seconds{1} || expires > kMaxPresignExpiry) {
    throw std::invalid_argument("s3::presign: expiry must be within 1 s .. 7 days");
  }
  check_headers(request.headers);
  const Scope scope = make_scope(credentials, region, options.service, now);

  Pairs to_sign{{"host", request.host}};
  to_sign.insert(to_sign.end(), request.headers.begin(), request.headers.end());
  const CanonicalHeaders headers = canonical_headers(to_sign);

  // S3 signs the session token as part of the query (some other services append it afterwards).
  Pairs query = request.query;
  query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  query.emplace_back("X-Amz-Credential", credentials.access_key_id + '/' + scope.scope);
  query.emplace_back("X-Amz-Date", scope.amz_date);
  query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
  if (!credentials.session_token.empty()) {
    query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  query.emplace_back("X-Amz-SignedHeaders", headers.signed_names);
  const std::string canonical = canonical_query(query);

  Presigned out;
  out.encoded_path = encoded_path(request.path);
  out.canonical_request = request.method + '\n' + out.encoded_path + '\n' + canonical + '\n' +
                          headers.block + '\n' + headers.signed_names + '\n' +
                          std::string(kUnsignedPayload);
  out.string_to_sign = string_to_sign(scope, out.canonical_request);
  out.signature = util::hex_lower(util::hmac_sha256(scope.signing_key, out.string_to_sign));
  out.query = canonical + "&X-Amz-Signature=" + out.signature;
  return out;
}

}  // namespace partyline::s3
