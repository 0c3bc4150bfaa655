#include <gtest/gtest.h>

#include "http/form.hpp"

namespace partyline::http {
namespace {

TEST(Form, DecodesGoodInputs) {
  struct Case {
    std::string body;
    Params expected;
  } cases[] = {
      {"", {}},
      {"a=1", {{"a", "1"}}},
      {"a=1&b=2", {{"a", "1"}, {"b", "2"}}},
      {"From=%2B15551234567", {{"From", "+15551234567"}}},
      {"Say=hello+world", {{"Say", "hello world"}}},
      {"x=a%20b%2Bc", {{"x", "a b+c"}}},
      {"empty=&novalue", {{"empty", ""}, {"novalue", ""}}},
      {"a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
      {"a=1&a=2", {{"a", "1"}, {"a", "2"}}},
      {"u=Zo%C3%AB", {{"u", "Zo\xC3\xAB"}}},
      {"eq=a=b", {{"eq", "a=b"}}},
      {"lower=%c3%a9", {{"lower", "\xC3\xA9"}}},
      {"nul=%00", {{"nul", std::string(1, '\0')}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = parse_form(c.body);
    ASSERT_TRUE(r.params.has_value()) << r.error;
    EXPECT_EQ(*r.params, c.expected);
  }
}

TEST(Form, RejectsMalformedEncoding) {
  for (std::string body :
       {"a=%", "a=%4", "a=%ZZ", "a=%G1", "%=1", "a=1&b=%2", "=value", "a=%%41"}) {
    SCOPED_TRACE(body);
    auto r = parse_form(body);
    EXPECT_FALSE(r.params.has_value());
    EXPECT_FALSE(r.error.empty());
    EXPECT_EQ(r.error.find(body), std::string::npos) << "the reason must not echo the input";
  }
}

TEST(Form, EncodeRoundTrips) {
  const Params p{{"From", "+1 555"}, {"Text", "a&b=c%d"}, {"U", "Zo\xC3\xAB"}};
  auto r = parse_form(form_encode(p));
  ASSERT_TRUE(r.params);
  EXPECT_EQ(*r.params, p);
  EXPECT_EQ(form_encode({{"a b", "+"}}), "a+b=%2B");
}

TEST(Form, FindReturnsFirstValue) {
  const Params p{{"a", "1"}, {"a", "2"}};
  ASSERT_NE(find_param(p, "a"), nullptr);
  EXPECT_EQ(*find_param(p, "a"), "1");
  EXPECT_EQ(find_param(p, "b"), nullptr);
}

}  // namespace
}  // namespace partyline::http
