#include "auth/password.hpp"

#include <gtest/gtest.h>

#include <string>

namespace partyline::auth {
namespace {

TEST(Password, AHashIsArgon2idWithItsOwnSaltAndVerifiesOnlyItsPassword) {
  const std::string hash = hash_password("correct horse");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("correct horse"), std::string::npos);
  EXPECT_TRUE(verify_password(hash, "correct horse"));
  EXPECT_FALSE(verify_password(hash, "correct horsf"));
  EXPECT_FALSE(verify_password(hash, ""));
  EXPECT_NE(hash_password("correct horse"), hash);  // a fresh salt each time
}

TEST(Password, BytesAfterANulCountAndAMalformedHashMatchesNothing) {
  const std::string with_nul("ab\0cd", 5);
  const std::string hash = hash_password(with_nul);
  EXPECT_TRUE(verify_password(hash, with_nul));
  EXPECT_FALSE(verify_password(hash, "ab"));
  EXPECT_FALSE(verify_password("", "ab"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$m=65536,t=2,p=1$garbage", "ab"));
}

// Same algorithm and cost parameters as a real hash: verifying against it is the same work.
TEST(Password, TheDummyHashIsMadeOnceWithTheCostOfARealOne) {
  const std::string& dummy = dummy_hash();
  EXPECT_EQ(&dummy_hash(), &dummy);
  const std::string real = hash_password("x");
  // "$argon2id$v=19$m=…,t=…,p=…": what comes before the salt.
  const auto params = [](const std::string& h) {
    std::size_t end = 0;
    for (int i = 0; i < 3 && end != std::string::npos; ++i)
      end = h.find('$', end + 1);
    return h.substr(0, end);
  };
  ASSERT_EQ(dummy.rfind("$argon2id$v=19$m=", 0), 0u) << dummy;
  EXPECT_EQ(params(dummy), params(real));
  EXPECT_FALSE(verify_password(dummy, ""));
  EXPECT_FALSE(verify_password(dummy, "x"));
}

}  // namespace
}  // namespace partyline::auth
