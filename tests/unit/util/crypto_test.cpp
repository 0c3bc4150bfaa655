#include "util/crypto.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace partyline::util {
namespace {

// RFC 2202 (HMAC-SHA1) and RFC 4231 (HMAC-SHA256), test cases 1 and 2.
const std::string kKey1(20, '\x0b');
constexpr const char* kData1 = "Hi There";
constexpr const char* kKey2 = "Jefe";
constexpr const char* kData2 = "what do ya want for nothing?";

TEST(Hmac, MatchesTheRfcVectorsAndTheOneShotFunctions) {
  const Hmac sha1_1(Hmac::Digest::kSha1, kKey1), sha1_2(Hmac::Digest::kSha1, kKey2);
  const Hmac sha256_2(Hmac::Digest::kSha256, kKey2);
  // Repeated and interleaved: each thread's cached context must follow the instance.
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(hex_lower(sha1_1.sign(kData1)), "b617318655057264e28bc0b6fb378c8ef146be00");
    EXPECT_EQ(hex_lower(sha1_2.sign(kData2)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    EXPECT_EQ(hex_lower(sha1_2.sign(kData2)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    EXPECT_EQ(hex_lower(sha256_2.sign(kData2)),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  EXPECT_EQ(hex_lower(hmac_sha256(kKey1, kData1)),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(sha1_2.sign(""), hmac_sha1(kKey2, ""));
  const std::string long_text(100000, 'x');
  EXPECT_EQ(sha1_1.sign(long_text), hmac_sha1(kKey1, long_text));
}

TEST(Hmac, SignIntoABufferGivesTheSameBytes) {
  const Hmac sha1(Hmac::Digest::kSha1, kKey2), sha256(Hmac::Digest::kSha256, kKey2);
  unsigned char out[64];
  ASSERT_EQ(sha1.sign(kData2, out), 20u);
  EXPECT_EQ(hex_lower(std::string_view(reinterpret_cast<const char*>(out), 20)),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  ASSERT_EQ(sha256.sign(kData2, out), 32u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out), 32), hmac_sha256(kKey2, kData2));
}

TEST(Crypto, AppendBase64AddsToWhatIsThere) {
  std::string out = "sig=";
  append_base64(out, std::string_view("\xff\x00\x10", 3));
  EXPECT_EQ(out, "sig=/wAQ");
  append_base64(out, "ab");
  EXPECT_EQ(out, "sig=/wAQYWI=");
  EXPECT_EQ(base64("a"), "YQ==");
  EXPECT_EQ(base64url("\xff\xfe"), "__4");
}

TEST(Hmac, ADestroyedKeyIsNeverUsedForANewOneAtTheSameAddress) {
  std::string first, second;
  {
    const Hmac a(Hmac::Digest::kSha1, "one");
    first = a.sign("data");
  }
  {
    const Hmac b(Hmac::Digest::kSha1, "two");  // may well reuse a's storage
    second = b.sign("data");
  }
  EXPECT_EQ(first, hmac_sha1("one", "data"));
  EXPECT_EQ(second, hmac_sha1("two", "data"));
}

TEST(Hmac, ThreadsShareOneKey) {
  const Hmac key(Hmac::Digest::kSha1, kKey2);
  const std::string expected = hmac_sha1(kKey2, kData2);
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i)
        wrong[t] += key.sign(kData2) != expected;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

TEST(Crypto, ScrubSecretAndConstantTimeEqual) {
  EXPECT_EQ(scrub_secret("user:s3cret@host s3cret", "s3cret"), "user:***@host ***");
  EXPECT_EQ(scrub_secret("nothing here", ""), "nothing here");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace partyline::util
