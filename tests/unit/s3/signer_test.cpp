#include "s3/signer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/crypto.hpp"

namespace partyline::s3 {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

std::chrono::system_clock::time_point at(std::chrono::year_month_day day,
                                         std::chrono::seconds time_of_day) {
  return sys_days{day} + time_of_day;
}

std::string signed_headers_of(const std::string& authorization) {
  const auto from = authorization.find("SignedHeaders=") + 14;
  return authorization.substr(from, authorization.find(',', from) - from);
}

// --- AWS S3 documentation examples ---------------------------------------------------------
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
const Credentials kAwsDocCredentials{"AKIAIOSFODNN7EXAMPLE",
                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const auto kAwsDocTime = at(std::chrono::year{2013} / 5 / 24, 0s);
constexpr const char* kAwsDocHost = "examplebucket.s3.amazonaws.com";

struct DocCase {
  const char* name;
  Request request;
  const char* signed_headers;
  const char* signature;
};

TEST(Signer, AwsS3DocumentationExamples) {
  const std::vector<DocCase> cases = {
      {"GET object",
       {"GET", kAwsDocHost, "/test.txt", {}, {{"Range", "bytes=0-9"}}},
       "host;range;x-amz-content-sha256;x-amz-date",
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
      {"PUT object",
       {"PUT",
        kAwsDocHost,
        "/test$file.text",
        {},
        {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
        util::sha256_hex("Welcome to Amazon S3.")},
       "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
       "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
      {"GET bucket lifecycle",
       {"GET", kAwsDocHost, "/", {{"lifecycle", ""}}, {}},
       "host;x-amz-content-sha256;x-amz-date",
       "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
      {"List objects",
       {"GET", kAwsDocHost, "/", {{"max-keys", "2"}, {"prefix", "J"}}, {}},
       "host;x-amz-content-sha256;x-amz-date",
       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Signed s = sign(c.request, kAwsDocCredentials, "us-east-1", kAwsDocTime);
    EXPECT_EQ(s.signature, c.signature) << s.canonical_request;
    EXPECT_EQ(s.authorization,
              std::string("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                          "aws4_request, SignedHeaders=") +
                  c.signed_headers + ", Signature=" + c.signature);
  }
}

TEST(Signer, AwsS3GetObjectExampleIntermediates) {
  const Request request{"GET", kAwsDocHost, "/test.txt", {}, {{"Range", "bytes=0-9"}}};
  const Signed s = sign(request, kAwsDocCredentials, "us-east-1", kAwsDocTime);
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(util::sha256_hex(s.canonical_request),
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.amz_date, "20130524T000000Z");
}

TEST(Signer, AwsS3PresignedGetExample) {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
  const Request request{"GET", kAwsDocHost, "/test.txt", {}, {}};
  const Presigned p = presign(request, kAwsDocCredentials, "us-east-1", kAwsDocTime, 86400s);
  const std::string query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-"
      "1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
      "host";
  EXPECT_EQ(p.canonical_request,
            "GET\n/test.txt\n" + query +
                "\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
  EXPECT_EQ(p.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(
      p.url("https", kAwsDocHost),
      std::string("https://examplebucket.s3.amazonaws.com/test.txt?") + query +
          "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

// --- awslabs/aws-c-auth tests/aws-signing-test-suite/v4/ (Apache-2.0) ------------------------
// Service "service", no x-amz-content-sha256 header, empty body, 2015-08-30T12:36:00Z.
struct SuiteCase {
  const char* name;
  Request request;
  const char* session_token;
  const char* canonical_request;  // header-canonical-request.txt
  const char* signature;          // header-signature.txt
};

TEST(Signer, AwsCAuthSigningTestSuite) {
  constexpr const char* kSuiteHost = "example.amazonaws.com";
  const auto now = at(std::chrono::year{2015} / 8 / 30, 12h + 36min);
  const std::vector<SuiteCase> cases = {
      {"get-vanilla",
       {"GET", kSuiteHost, "/", {}, {}},
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-vanilla-query-order-key-case",
       {"GET", kSuiteHost, "/", {{"Param2", "value2"}, {"Param1", "value1"}}, {}},
       "",
       "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
       "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-empty-query-key",
       {"GET", kSuiteHost, "/", {{"Param1", "value1"}}, {}},
       "",
       "GET\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
       "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
      {"get-vanilla-query-order-encoded",
       {"GET",
        kSuiteHost,
        "/",
        {{"Param-3", "Value3"}, {"Param", "Value2"}, {"\xE1\x88\xB4", "Value1"}},
        {}},
       "",
       "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\n"
       "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
      {"get-vanilla-query-unreserved",
       {"GET",
        kSuiteHost,
        "/",
        {{"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
          "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}},
        {}},
       "",
       "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n"
       "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query",
       {"GET", kSuiteHost, "/", {{"\xE1\x88\xB4", "bar"}}, {}},
       "",
       "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
       "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"post-vanilla-query",
       {"POST", kSuiteHost, "/", {{"Param1", "value1"}}, {}},
       "",
       "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
       "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"get-header-value-trim",
       {"GET", kSuiteHost, "/", {}, {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}},
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"post-header-key-sort",
       {"POST", kSuiteHost, "/", {}, {{"My-Header1", "value1"}}},
       "",
       "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\n"
       "host;my-header1;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
      {"get-header-key-duplicate",
       {"GET",
        kSuiteHost,
        "/",
        {},
        {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}},
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"get-header-value-order",
       {"GET",
        kSuiteHost,
        "/",
        {},
        {{"My-Header1", "value4"},
         {"My-Header1", "value1"},
         {"My-Header1", "value3"},
         {"My-Header1", "value2"}}},
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
      {"get-space-unnormalized",
       {"GET", kSuiteHost, "/example space/", {}, {}},
       "",
       "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
       "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-utf8",
       {"GET", kSuiteHost, "/\xE1\x88\xB4", {}, {}},
       "",
       "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
       "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-unreserved",
       {"GET",
        kSuiteHost,
        "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        {},
        {}},
       "",
       "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\n"
       "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-vanilla-with-session-token",
       {"GET", kSuiteHost, "/", {}, {}},
       "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
       "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
       "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n"
       "host;x-amz-date;x-amz-security-token\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
  };
  const Options options{"service", /*content_sha256_header=*/false};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                  c.session_token};
    const Signed s = sign(c.request, credentials, "us-east-1", now, options);
    EXPECT_EQ(s.canonical_request, c.canonical_request);
    EXPECT_EQ(s.signature, c.signature);
    EXPECT_NE(s.string_to_sign.find("\n20150830/us-east-1/service/aws4_request\n"),
              std::string::npos);
  }
}

// --- Partyline's own requests -----------------------------------------------------------------
// Expected values cross-checked with botocore 1.43's S3SigV4Auth / S3SigV4QueryAuth (clock pinned),
// an implementation independent of this one.
constexpr const char* kHost = "s3.eu-west-1.amazonaws.com";
constexpr const char* kKey =
    "/partyline-recordings/partyline/2025-10-25T19-54-05Z-RE0123456789abcdef0123456789abcdef.mp3";
const Credentials kCredentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                               ""};
const auto kNow = at(std::chrono::year{2025} / 10 / 25, 19h + 54min + 5s);

struct ProjectCase {
  const char* name;
  Request request;
  const char* session_token;
  const char* canonical_request;
  const char* signature;
};

TEST(Signer, PartylineRequests) {
  const std::string unsigned_payload(kUnsignedPayload);
  const std::vector<ProjectCase> cases = {
      {"x-amz-meta headers sharing a prefix are sorted by name, not by line",
       {"PUT",
        kHost,
        kKey,
        {},
        {{"Content-Type", "audio/mpeg"},
         {"x-amz-meta-conf-sid", "CF0123"},
         {"x-amz-meta-conf", "standup"}},
        unsigned_payload},
       "",
       "PUT\n/partyline-recordings/partyline/"
       "2025-10-25T19-54-05Z-RE0123456789abcdef0123456789abcdef.mp3\n\n"
       "content-type:audio/mpeg\nhost:s3.eu-west-1.amazonaws.com\n"
       "x-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20251025T195405Z\n"
       "x-amz-meta-conf:standup\nx-amz-meta-conf-sid:CF0123\n\n"
       "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-conf;x-amz-meta-conf-sid\n"
       "UNSIGNED-PAYLOAD",
       "ec60e0d064b0b6dd5f194f3b23f557d92dd46c60c5c2ea20a9809a208114149e"},
      {"SSE-KMS key id header sorts after x-amz-server-side-encryption",
       {"PUT",
        kHost,
        kKey,
        {},
        {{"x-amz-server-side-encryption-aws-kms-key-id", "alias/partyline"},
         {"x-amz-server-side-encryption", "aws:kms"}},
        unsigned_payload},
       "",
       "PUT\n/partyline-recordings/partyline/"
       "2025-10-25T19-54-05Z-RE0123456789abcdef0123456789abcdef.mp3\n\n"
       "host:s3.eu-west-1.amazonaws.com\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"
       "x-amz-date:20251025T195405Z\nx-amz-server-side-encryption:aws:kms\n"
       "x-amz-server-side-encryption-aws-kms-key-id:alias/partyline\n\n"
       "host;x-amz-content-sha256;x-amz-date;x-amz-server-side-encryption;"
       "x-amz-server-side-encryption-aws-kms-key-id\nUNSIGNED-PAYLOAD",
       "7430bbf1ccedfaa7409fb5c1b350cbf83b8f2bd2707671f974985d84cbbe6bfc"},
      {"?uploads becomes uploads=",
       {"POST", kHost, kKey, {{"uploads", ""}}, {{"Content-Type", "audio/mpeg"}}},
       "",
       "POST\n/partyline-recordings/partyline/"
       "2025-10-25T19-54-05Z-RE0123456789abcdef0123456789abcdef.mp3\nuploads=\n"
       "content-type:audio/mpeg\nhost:s3.eu-west-1.amazonaws.com\n"
       "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
       "x-amz-date:20251025T195405Z\n\ncontent-type;host;x-amz-content-sha256;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "fb2acc94d6deef95f587ebcb67de3436402c7f6cb6090ce28dc64a5bf9db8bc9"},
      {"uploadId and partNumber are sorted",
       {"PUT",
        kHost,
        kKey,
        {{"uploadId", "VXBsb2FkIElE.Z-_~"}, {"partNumber", "1"}},
        {},
        unsigned_payload},
       "",
       "PUT\n/partyline-recordings/partyline/"
       "2025-10-25T19-54-05Z-RE0123456789abcdef0123456789abcdef.mp3\n"
       "partNumber=1&uploadId=VXBsb2FkIElE.Z-_~\nhost:s3.eu-west-1.amazonaws.com\n"
       "x-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20251025T195405Z\n\n"
       "host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD",
       "6583775551a8ad07193f136a278fa41bbed6d71f8a8313223407e336a7d174f4"},
      {"prefix=partyline/ is encoded as partyline%2F",
       {"GET", kHost, "/partyline-recordings", {{"list-type", "2"}, {"prefix", "partyline/"}}, {}},
       "",
       "GET\n/partyline-recordings\nlist-type=2&prefix=partyline%2F\n"
       "host:s3.eu-west-1.amazonaws.com\n"
       "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
       "x-amz-date:20251025T195405Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "7fda4f464377f5713b67a57416daf9281e5b097a8c2de24dcf1be876456b484c"},
      {"reserved characters in a key are encoded once with uppercase hex",
       {"PUT",
        kHost,
        "/partyline-recordings/a b=c+d@e,f:g$\xC3\xA9",
        {},
        {{"If-None-Match", "*"}},
        unsigned_payload},
       "",
       "PUT\n/partyline-recordings/a%20b%3Dc%2Bd%40e%2Cf%3Ag%24%C3%A9\n\n"
       "host:s3.eu-west-1.amazonaws.com\nif-none-match:*\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"
       "x-amz-date:20251025T195405Z\n\nhost;if-none-match;x-amz-content-sha256;x-amz-date\n"
       "UNSIGNED-PAYLOAD",
       "3a9de640d55c084de66cf2a6e61491095ae78eda0d95707bae69744638c5f2f2"},
      {"a session token becomes a signed x-amz-security-token header",
       {"HEAD", kHost, kKey, {}, {}},
       "FwoGZXIvYXdzEXAMPLE//token+/=",
       "HEAD\n/partyline-recordings/partyline/"
       "2025-10-25T19-54-05Z-RE0123456789abcdef0123456789abcdef.mp3\n\n"
       "host:s3.eu-west-1.amazonaws.com\n"
       "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
       "x-amz-date:20251025T195405Z\nx-amz-security-token:FwoGZXIvYXdzEXAMPLE//token+/=\n\n"
       "host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "2768eb4856eb97b17050338052c4db5dc9ba14aad37abfbf1b92a73afb417d9c"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Credentials credentials = kCredentials;
    credentials.session_token = c.session_token;
    const Signed s = sign(c.request, credentials, "eu-west-1", kNow);
    EXPECT_EQ(s.canonical_request, c.canonical_request);
    EXPECT_EQ(s.signature, c.signature);
  }
}

TEST(Signer, HeadersToSendIncludeEverythingSigned) {
  Credentials credentials = kCredentials;
  credentials.session_token = "token";
  const Request request{"PUT",
                        "127.0.0.1:18080",
                        kKey,
                        {},
                        {{"Content-Type", "audio/mpeg"}},
                        std::string(kUnsignedPayload)};
  const Signed s = sign(request, credentials, "us-east-1", kNow);
  const Pairs expected = {{"host", "127.0.0.1:18080"},
                          {"x-amz-date", "20251025T195405Z"},
                          {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
                          {"x-amz-security-token", "token"},
                          {"Content-Type", "audio/mpeg"},
                          {"authorization", s.authorization}};
  EXPECT_EQ(s.headers, expected);
  EXPECT_EQ(signed_headers_of(s.authorization),
            "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  // The port is part of the signed host (S3 servers compare against the Host header they got).
  EXPECT_NE(s.canonical_request.find("\nhost:127.0.0.1:18080\n"), std::string::npos);
}

TEST(Signer, EveryInputChangesTheSignature) {
  const Request base{"PUT", kHost, kKey, {{"uploads", ""}}, {{"x-amz-meta-duration", "42"}}};
  const std::string reference = sign(base, kCredentials, "eu-west-1", kNow).signature;

  struct Variant {
    const char* name;
    Request request;
    Credentials credentials;
    const char* region;
    std::chrono::system_clock::time_point now;
  };
  Request other_header = base;
  other_header.headers[0].second = "43";
  Request other_query = base;
  other_query.query[0].second = "x";
  Request other_payload = base;
  other_payload.payload_sha256_hex = std::string(kUnsignedPayload);
  Request other_path = base;
  other_path.path += "x";
  Credentials other_secret = kCredentials;
  other_secret.secret_access_key += "x";
  const std::vector<Variant> variants = {
      {"header value", other_header, kCredentials, "eu-west-1", kNow},
      {"query value", other_query, kCredentials, "eu-west-1", kNow},
      {"payload hash", other_payload, kCredentials, "eu-west-1", kNow},
      {"path", other_path, kCredentials, "eu-west-1", kNow},
      {"secret", base, other_secret, "eu-west-1", kNow},
      {"region", base, kCredentials, "us-east-1", kNow},
      {"time", base, kCredentials, "eu-west-1", kNow + 1s},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    EXPECT_NE(sign(v.request, v.credentials, v.region, v.now).signature, reference);
  }
}

TEST(Signer, RejectsHeadersTheSignerOwns) {
  for (const char* name :
       {"Host", "x-amz-date", "X-Amz-Content-Sha256", "x-amz-security-token", "Authorization"}) {
    SCOPED_TRACE(name);
    const Request request{"GET", kHost, kKey, {}, {{name, "x"}}};
    EXPECT_THROW(sign(request, kCredentials, "eu-west-1", kNow), std::invalid_argument);
    EXPECT_THROW(presign(request, kCredentials, "eu-west-1", kNow, 60s), std::invalid_argument);
  }
}

TEST(Signer, PresignedGetForARecording) {
  const Request request{"GET", kHost, kKey, {}, {}};
  struct Case {
    const char* name;
    const char* session_token;
    std::chrono::seconds expires;
    const char* signature;
  };
  const std::vector<Case> cases = {
      {"plain", "", 300s, "ddce5797ed505c6fbf1f249341d863e92ca1596367cc3990ec8604743eef6a9b"},
      {"session token is signed in the query", "FwoGZXIvYXdzEXAMPLE//token+/=", 3600s,
       "74ab0ab3dbd94ddc268a436081538e57411000a037a53e64e0f96d2b382df5dc"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Credentials credentials = kCredentials;
    credentials.session_token = c.session_token;
    const Presigned p = presign(request, credentials, "eu-west-1", kNow, c.expires);
    EXPECT_EQ(p.signature, c.signature) << p.canonical_request;
    EXPECT_EQ(p.encoded_path, kKey);
    EXPECT_TRUE(p.query.ends_with(std::string("&X-Amz-Signature=") + c.signature));
    const bool has_token =
        p.query.find("X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2F%2Ftoken%2B%2F%3D") !=
        std::string::npos;
    EXPECT_EQ(has_token, *c.session_token != '\0');
  }
}

TEST(Signer, PresignRejectsExpiryOutsideS3Limits) {
  const Request request{"GET", kHost, kKey, {}, {}};
  EXPECT_THROW(presign(request, kCredentials, "eu-west-1", kNow, 0s), std::invalid_argument);
  EXPECT_THROW(presign(request, kCredentials, "eu-west-1", kNow, 604801s), std::invalid_argument);
  EXPECT_NO_THROW(presign(request, kCredentials, "eu-west-1", kNow, 604800s));
}

TEST(Signer, UriEncode) {
  struct Case {
    const char* input;
    bool keep_slash;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"AZaz09-._~", false, "AZaz09-._~"},
      {"a/b", true, "a/b"},
      {"a/b", false, "a%2Fb"},
      {" ", false, "%20"},  // never '+'
      {"+=&?#%:@,$", false, "%2B%3D%26%3F%23%25%3A%40%2C%24"},
      {"\xC3\xA9", true, "%C3%A9"},              // uppercase hex, per byte
      {"/a/../b/./c//", true, "/a/../b/./c//"},  // S3 keeps dot segments and empty segments
      {"", false, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    EXPECT_EQ(uri_encode(c.input, c.keep_slash), c.expected);
  }
}

TEST(Signer, AmzDateIsUtcAndTruncatedToSeconds) {
  EXPECT_EQ(amz_date(kNow), "20251025T195405Z");
  EXPECT_EQ(amz_date(kNow + 999ms), "20251025T195405Z");
  EXPECT_EQ(amz_date(at(std::chrono::year{2024} / 2 / 29, 23h + 59min + 59s)), "20240229T235959Z");
  EXPECT_EQ(amz_date(at(std::chrono::year{1999} / 12 / 31, 0s)), "19991231T000000Z");
}

}  // namespace
}  // namespace partyline::s3
