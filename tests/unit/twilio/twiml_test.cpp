#include <gtest/gtest.h>

#include <fstream>
#include <pugixml.hpp>
#include <sstream>

#include "call_flow/call_flow.hpp"
#include "twilio/twiml.hpp"

namespace partyline {
namespace {

// Element names, attribute sets (order-free) and trimmed texts, recursively.
std::string canonical(const pugi::xml_node& node) {
  std::string out = std::string("<") + node.name();
  std::vector<std::pair<std::string, std::string>> attrs;
  for (auto a : node.attributes())
    attrs.emplace_back(a.name(), a.value());
  std::sort(attrs.begin(), attrs.end());
  for (auto& [k, v] : attrs)
    out += " " + k + "=\"" + v + "\"";
  out += ">";
  for (auto child : node.children()) {
    if (child.type() == pugi::node_element) {
      out += canonical(child);
    } else if (child.type() == pugi::node_pcdata) {
      std::string t = child.value();
      t.erase(0, t.find_first_not_of(" \n\t"));
      t.erase(t.find_last_not_of(" \n\t") + 1);
      out += t;
    }
  }
  return out + "</" + node.name() + ">";
}

std::string canonical_text(const std::string& xml) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_string(xml.c_str())) << xml;
  return canonical(doc.document_element());
}

std::string golden(const std::string& name) {
  std::ifstream in(std::string(PARTYLINE_TEST_DATA) + "/twiml/" + name + ".xml");
  EXPECT_TRUE(in) << name;
  std::stringstream s;
  s << in.rdbuf();
  return canonical_text(s.str());
}

config::Config with_pins(std::string speaker, std::string producer) {
  config::Config c;
  if (!speaker.empty()) c.pin_speaker = config::Secret(speaker);
  if (!producer.empty()) c.pin_producer = config::Secret(producer);
  return c;
}

// With an empty base the callbacks are the design's relative URLs, so the golden blocks apply.
TEST(Twiml, MatchesGoldenExamples) {
  const std::string speaker = "1234", producer = "9876", one = "1";
  const auto pins = with_pins(speaker, producer);
  config::Config press1 = pins;
  press1.consent_mode = config::ConsentMode::kPress1;
  struct Case {
    const char* golden;
    std::string twiml;
  } cases[] = {
      {"voice_no_pin", call_flow::voice(config::Config{}, "").twiml},
      {"voice_pin_gate", call_flow::voice(pins, "").twiml},
      {"voice_pin_gate", call_flow::voice(with_pins("", producer), "").twiml},
      {"check_pin_producer", call_flow::check_pin(pins, "", &producer).twiml},
      {"check_pin_producer_seed_reference", call_flow::check_pin(pins, "", &producer).twiml},
      {"check_pin_speaker", call_flow::check_pin(pins, "", &speaker).twiml},
      {"check_pin_invalid", call_flow::check_pin(pins, "", nullptr).twiml},
      {"voice_press1", call_flow::voice(press1, "").twiml},
      {"consent_yes_pin_gate", call_flow::consent(press1, "", &one).twiml},
      {"consent_no", call_flow::consent(press1, "", nullptr).twiml},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.golden);
    EXPECT_EQ(canonical_text(c.twiml), golden(c.golden));
  }
}

TEST(Twiml, PrebuiltAnswersAreTheAnswersOfTheCallFlow) {
  const std::string base = "https://calls.example.com/pl";
  for (const auto consent : {config::ConsentMode::kNotice, config::ConsentMode::kPress1}) {
    config::Config c;
    c.consent_mode = consent;
    c.pin_producer = config::Secret("9876");
    c.pin_speaker = config::Secret("1234");
    const call_flow::Answers answers(c, base);
    EXPECT_EQ(answers.voice().twiml, call_flow::voice(c, base).twiml);
    EXPECT_EQ(answers.silence(), call_flow::silence());
    for (const char* d : {"9876", "1234", "0000", "", "98761", "1"}) {
      const std::string digits = d;
      SCOPED_TRACE(digits);
      const auto expected = call_flow::check_pin(c, base, &digits);
      const auto& got = answers.check_pin(&digits);
      EXPECT_EQ(got.twiml, expected.twiml);
      EXPECT_EQ(got.evt, expected.evt);
      EXPECT_EQ(got.role, expected.role);
      EXPECT_EQ(answers.consent(&digits).twiml, call_flow::consent(c, base, &digits).twiml);
      EXPECT_EQ(answers.consent(&digits).evt, call_flow::consent(c, base, &digits).evt);
    }
    EXPECT_EQ(answers.check_pin(nullptr).evt, "pin.invalid");
    EXPECT_EQ(answers.consent(nullptr).evt, "consent.refused");
  }
  const std::string producer = "9876";
  EXPECT_EQ(call_flow::Answers(config::Config{}, base).check_pin(&producer).evt, "pin.invalid");
}

TEST(Twiml, CallbacksAreBuiltFromTheBaseUrlButWaitUrlStaysRelative) {
  const auto twiml = call_flow::voice(config::Config{}, "https://calls.example.com/pl").twiml;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(twiml.c_str()));
  auto conf = doc.select_node("/Response/Dial/Conference").node();
  EXPECT_STREQ(conf.attribute("statusCallback").value(),
               "https://calls.example.com/pl/conf-status");
  EXPECT_STREQ(conf.attribute("recordingStatusCallback").value(),
               "https://calls.example.com/pl/recording-callback");
  EXPECT_STREQ(conf.attribute("waitUrl").value(), "silence");
}

TEST(Twiml, WrongPinsNeverDial) {
  const auto pins = with_pins("1234", "9876");
  for (const std::string digits : {"", "0000", "123", "12345", "1234#", "98761", " 1234"}) {
    SCOPED_TRACE(digits);
    const auto answer = call_flow::check_pin(pins, "", &digits);
    EXPECT_EQ(answer.evt, "pin.invalid");
    EXPECT_EQ(answer.twiml.find("<Dial"), std::string::npos);
    EXPECT_NE(answer.twiml.find("<Hangup"), std::string::npos);
  }
  // No PINs configured: nothing matches, not even empty digits.
  const std::string empty;
  EXPECT_EQ(call_flow::check_pin(config::Config{}, "", &empty).evt, "pin.invalid");
}

TEST(Twiml, ConsentWithoutPinGateJoinsTheConference) {
  config::Config c;
  c.consent_mode = config::ConsentMode::kPress1;
  const std::string one = "1", two = "2";
  EXPECT_NE(call_flow::consent(c, "", &one).twiml.find("<Conference"), std::string::npos);
  EXPECT_EQ(call_flow::consent(c, "", &two).twiml.find("<Conference"), std::string::npos);
  EXPECT_EQ(call_flow::consent(c, "", &two).evt, "consent.refused");
}

TEST(Twiml, SilenceHoldsWithOnlyAPause) {
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(call_flow::silence().c_str()));
  auto response = doc.document_element();
  EXPECT_STREQ(response.name(), "Response");
  int children = 0;
  for (auto child : response.children()) {
    ++children;
    EXPECT_STREQ(child.name(), "Pause");
    EXPECT_GE(child.attribute("length").as_int(), 60);
  }
  EXPECT_EQ(children, 1);
}

TEST(Twiml, EscapesEverything) {
  twilio::Twiml t;
  t.say("a < b & \"c\"").dial_conference({{"statusCallback", "https://x/cb#rc=3&rp=5xx"}}, "r<&>");
  const std::string xml = t.str();
  EXPECT_NE(xml.find("a &lt; b &amp;"), std::string::npos) << xml;
  EXPECT_NE(xml.find("#rc=3&amp;rp=5xx"), std::string::npos) << xml;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  EXPECT_STREQ(doc.select_node("/Response/Say").node().text().get(), "a < b & \"c\"");
  EXPECT_TRUE(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
}

}  // namespace
}  // namespace partyline
