// The TwiML per room, role and option. Today's single room is covered attribute for attribute by
// the golden files (tests/unit/twilio/twiml_test.cpp).
#include <gtest/gtest.h>

#include <map>
#include <pugixml.hpp>

#include "call_flow/call_flow.hpp"

namespace partyline::call_flow {
namespace {

using rooms::Role;
using Attrs = std::map<std::string, std::string>;

constexpr std::string_view kRooms = R"(
pin_length = 6

[[room]]
name = "studio"
numbers = ["+18005550199"]
max_participants = 40
beep = "onExit"
wait_for_host = true
end_when_host_leaves = true
pins = { host = ["111111"], speaker = ["222222"], producer = ["333333"] }

[[room]]
name = "newsroom"
beep = false
record = false
max_participants = 2
pins = { host = ["444444"], speaker = ["555555"], producer = ["666666"] }
)";

const std::string kBase = "https://calls.example.com";
const std::string kStudioNumber = "+18005550199";

rooms::Rooms parse(std::string_view text) {
  return rooms::parse_rooms_file(text, "rooms.toml");
}

struct Doc {
  explicit Doc(const std::string& xml) { EXPECT_TRUE(doc.load_string(xml.c_str())) << xml; }
  pugi::xml_node node(const char* xpath) const { return doc.select_node(xpath).node(); }
  bool has(const char* xpath) const { return static_cast<bool>(node(xpath)); }
  Attrs attrs(const char* xpath) const {
    Attrs out;
    for (auto a : node(xpath).attributes())
      out[a.name()] = a.value();
    return out;
  }
  pugi::xml_document doc;
};

Attrs conference(const Answer& a) {
  return Doc(a.twiml).attrs("/Response/Dial/Conference");
}

TEST(RoomsTwiml, EachRoleJoinsWithItsAttributes) {
  const Answers answers(parse(kRooms), 1, kBase);
  const auto& studio = *answers.rooms().find("studio");

  const auto host = conference(answers.join(studio, Role::kHost));
  EXPECT_EQ(host.at("startConferenceOnEnter"), "true");
  EXPECT_EQ(host.at("endConferenceOnExit"), "true");
  EXPECT_FALSE(host.contains("muted"));

  const auto speaker = conference(answers.join(studio, Role::kSpeaker));
  EXPECT_EQ(speaker.at("startConferenceOnEnter"), "false");  // wait_for_host
  EXPECT_FALSE(speaker.contains("endConferenceOnExit"));
  EXPECT_FALSE(speaker.contains("muted"));

  const auto producer = conference(answers.join(studio, Role::kProducer));
  EXPECT_EQ(producer.at("startConferenceOnEnter"), "false");
  EXPECT_FALSE(producer.contains("endConferenceOnExit"));
  EXPECT_EQ(producer.at("muted"), "true");

  for (const Role role : {Role::kHost, Role::kSpeaker, Role::kProducer}) {
    const auto& a = answers.join(studio, role);
    const std::string name(rooms::role_name(role));
    SCOPED_TRACE(name);
    EXPECT_EQ(a.role, name);
    EXPECT_EQ(a.evt, "pin." + name);
    EXPECT_EQ(a.room, "studio");
    const Doc d(a.twiml);
    EXPECT_STREQ(d.node("/Response/Dial/Conference").text().get(), "studio");
    const std::string said = d.node("/Response/Say").text().get();
    // Those who wait for the host are told so; the host is not.
    EXPECT_EQ(said.find("please hold") != std::string::npos, role != Role::kHost) << said;
  }
}

TEST(RoomsTwiml, WithoutTheOptionsOnlyTheHostSaysItStartsTheRoom) {
  const Answers answers(parse(kRooms), 1, kBase);
  const auto& newsroom = *answers.rooms().find("newsroom");
  const auto host = conference(answers.join(newsroom, Role::kHost));
  EXPECT_EQ(host.at("startConferenceOnEnter"), "true");
  EXPECT_FALSE(host.contains("endConferenceOnExit"));
  for (const Role role : {Role::kSpeaker, Role::kProducer}) {
    const auto a = conference(answers.join(newsroom, role));
    EXPECT_FALSE(a.contains("startConferenceOnEnter"));
    EXPECT_FALSE(a.contains("endConferenceOnExit"));
    EXPECT_EQ(
        Doc(answers.join(newsroom, role).twiml).node("/Response/Say").text().get(),
        std::string(role == Role::kSpeaker ? "Joining as a speaker."
                                           : "Joining as a producer, you are muted on entry."));
  }
}

TEST(RoomsTwiml, RoomOptionsBecomeConferenceAttributes) {
  const Answers answers(parse(kRooms), 1, kBase);
  const auto studio = conference(answers.join(*answers.rooms().find("studio"), Role::kSpeaker));
  EXPECT_EQ(studio.at("beep"), "onExit");
  EXPECT_EQ(studio.at("maxParticipants"), "40");
  EXPECT_EQ(studio.at("record"), "record-from-start");
  const auto newsroom = conference(answers.join(*answers.rooms().find("newsroom"), Role::kSpeaker));
  EXPECT_EQ(newsroom.at("beep"), "false");
  EXPECT_EQ(newsroom.at("maxParticipants"), "2");
  EXPECT_EQ(newsroom.at("record"), "do-not-record");
  for (const auto* a : {&studio, &newsroom}) {
    EXPECT_EQ(a->at("statusCallback"), kBase + "/conf-status");
    EXPECT_EQ(a->at("recordingStatusCallback"), kBase + "/recording-callback");
    EXPECT_EQ(a->at("waitUrl"), "silence");
  }
}

// Twilio takes these from whoever joins first, so every role of a room must carry the same ones.
TEST(RoomsTwiml, FirstParticipantAttributesAreTheSameForEveryRole) {
  const Answers answers(parse(kRooms), 1, kBase);
  for (const auto& room : answers.rooms().all()) {
    SCOPED_TRACE(room.name);
    std::vector<Attrs> shared;
    for (const Role role : {Role::kHost, Role::kSpeaker, Role::kProducer}) {
      Attrs a = conference(answers.join(room, role));
      for (const char* name : {"statusCallback", "statusCallbackEvent", "recordingStatusCallback",
                               "recordingStatusCallbackEvent", "record"}) {
        EXPECT_TRUE(a.contains(name)) << name;
      }
      for (const char* per_role : {"muted", "startConferenceOnEnter", "endConferenceOnExit"})
        a.erase(per_role);
      shared.push_back(a);
    }
    EXPECT_EQ(shared[0], shared[1]);
    EXPECT_EQ(shared[0], shared[2]);
  }
}

TEST(RoomsTwiml, APinFromAnyNumberPicksTheRoomAndRole) {
  const Answers answers(parse(kRooms), 1, kBase);
  const Doc voice(answers.voice("+18005550100").twiml);
  const auto gather = voice.attrs("/Response/Gather");
  EXPECT_EQ(gather.at("numDigits"), "6");
  EXPECT_EQ(gather.at("action"), kBase + "/check-pin");
  EXPECT_STREQ(voice.node("/Response/Gather/Say").text().get(),
               "Enter your six digit PIN, then press pound.");
  // Some room records: the notice is played.
  EXPECT_STREQ(voice.node("/Response/Say").text().get(),
               "This call is recorded. By continuing, you consent to recording.");
  struct Case {
    std::string pin;
    const char* room;
    const char* role;
  } cases[] = {{"111111", "studio", "host"},      {"222222", "studio", "speaker"},
               {"333333", "studio", "producer"},  {"444444", "newsroom", "host"},
               {"555555", "newsroom", "speaker"}, {"666666", "newsroom", "producer"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.pin);
    const auto& a = answers.check_pin(&c.pin, "+18005550100", 1);
    EXPECT_EQ(a.room, c.room);
    EXPECT_EQ(a.role, c.role);
    EXPECT_EQ(a.twiml,
              answers
                  .join(*answers.rooms().find(c.room), a.role == "host"      ? Role::kHost
                                                       : a.role == "speaker" ? Role::kSpeaker
                                                                             : Role::kProducer)
                  .twiml);
  }
}

TEST(RoomsTwiml, ARoutedNumberTakesOnlyItsRoomsPins) {
  const Answers answers(parse(kRooms), 1, kBase);
  const std::string studio_pin = "222222", newsroom_pin = "555555";
  EXPECT_EQ(answers.check_pin(&studio_pin, kStudioNumber, 1).room, "studio");
  const auto& other = answers.check_pin(&newsroom_pin, kStudioNumber, 1);
  EXPECT_EQ(other.evt, "pin.invalid");
  EXPECT_FALSE(Doc(other.twiml).has("/Response/Dial"));
  // From elsewhere the same PIN is good.
  EXPECT_EQ(answers.check_pin(&newsroom_pin, "+18005550100", 1).room, "newsroom");
}

TEST(RoomsTwiml, AWrongPinRepromptsUntilTheAttemptsAreUsed) {
  const Answers answers(parse(kRooms), 3, kBase);
  const std::string wrong = "999999";
  for (unsigned attempt = 1; attempt <= 2; ++attempt) {
    SCOPED_TRACE(attempt);
    const auto& a = answers.check_pin(&wrong, kStudioNumber, attempt);
    EXPECT_EQ(a.evt, "pin.invalid");
    EXPECT_EQ(a.role, "");
    const Doc d(a.twiml);
    const auto gather = d.attrs("/Response/Gather");
    EXPECT_EQ(gather.at("numDigits"), "6");
    EXPECT_EQ(gather.at("action"), kBase + "/check-pin?attempt=" + std::to_string(attempt + 1));
    EXPECT_STREQ(d.node("/Response/Gather/Say").text().get(),
                 "Sorry, that PIN is not valid. Enter your six digit PIN again.");
    EXPECT_FALSE(d.has("/Response/Dial"));
    EXPECT_TRUE(d.has("/Response/Hangup"));  // after no input
  }
  for (unsigned attempt : {3u, 4u, 0u}) {
    SCOPED_TRACE(attempt);
    const auto& last = answers.check_pin(&wrong, kStudioNumber, attempt);
    EXPECT_EQ(last.evt, "pin.invalid");
    const Doc d(last.twiml);
    EXPECT_FALSE(d.has("/Response/Gather"));
    EXPECT_STREQ(d.node("/Response/Say").text().get(), "Sorry, that PIN is not valid. Goodbye.");
    EXPECT_TRUE(d.has("/Response/Hangup"));
  }
  EXPECT_FALSE(Doc(answers.check_pin(nullptr, "", 1).twiml).has("/Response/Dial"));
  // The right PIN on a later attempt still joins.
  const std::string host = "111111";
  EXPECT_EQ(answers.check_pin(&host, kStudioNumber, 2).role, "host");
  // The routes before rooms: every wrong PIN is the last.
  EXPECT_FALSE(Doc(answers.check_pin(&wrong).twiml).has("/Response/Gather"));

  // Today's room, four digits.
  config::Config c;
  c.pin_speaker = config::Secret("1234");
  const Answers today(rooms::default_rooms(c), 2, "");
  const std::string wrong4 = "0000";
  const Doc d(today.check_pin(&wrong4, "", 1).twiml);
  EXPECT_EQ(d.attrs("/Response/Gather").at("numDigits"), "4");
  EXPECT_EQ(d.attrs("/Response/Gather").at("action"), "/check-pin?attempt=2");
}

TEST(RoomsTwiml, ConsentFollowsTheStrictestRoomACallerCanReach) {
  const auto text = std::string(kRooms) +
                    "\n[[room]]\nname = \"vault\"\nnumbers = [\"+18005550111\"]\n"
                    "consent = \"press1\"\npins.speaker = [\"777777\"]\n";
  const Answers answers(parse(text), 1, kBase);
  // From any number a PIN may pick the vault: press 1 first.
  const Doc lobby(answers.voice("+18005550100").twiml);
  EXPECT_EQ(lobby.attrs("/Response/Gather").at("action"), kBase + "/consent");
  const std::string one = "1";
  const Doc given(answers.consent(&one, "+18005550100").twiml);
  EXPECT_EQ(given.attrs("/Response/Gather").at("numDigits"), "6");
  EXPECT_STREQ(given.node("/Response/Gather/Say").text().get(),
               "Thank you. Enter your six digit PIN.");
  EXPECT_EQ(answers.consent(&one, "+18005550100").evt, "consent.given");
  EXPECT_EQ(answers.consent(nullptr, "+18005550100").evt, "consent.refused");
  // The studio's own number leads only to the studio: the notice.
  const Doc studio(answers.voice(kStudioNumber).twiml);
  EXPECT_EQ(studio.attrs("/Response/Gather").at("action"), kBase + "/check-pin");
  EXPECT_TRUE(studio.has("/Response/Say"));
  // The vault's number: press 1.
  EXPECT_EQ(Doc(answers.voice("+18005550111").twiml).attrs("/Response/Gather").at("action"),
            kBase + "/consent");
}

TEST(RoomsTwiml, RoomsWithoutPinsAreJoinedDirectly) {
  const Answers answers(parse(R"(
[[room]]
name = "hotline"
numbers = ["+18005550199"]
record = false
beep = "true"

[[room]]
name = "lobby"
)"),
                        1, kBase);
  // Not recorded: no notice, straight in.
  const auto& hotline = answers.voice(kStudioNumber);
  const Doc h(hotline.twiml);
  EXPECT_FALSE(h.has("/Response/Say"));
  EXPECT_STREQ(h.node("/Response/Dial/Conference").text().get(), "hotline");
  EXPECT_EQ(h.attrs("/Response/Dial/Conference").at("beep"), "true");
  EXPECT_EQ(hotline.room, "hotline");
  // Any other number: the open room, with the notice.
  const Doc l(answers.voice("+18005550100").twiml);
  EXPECT_TRUE(l.has("/Response/Say"));
  EXPECT_STREQ(l.node("/Response/Dial/Conference").text().get(), "lobby");
  EXPECT_FALSE(l.has("/Response/Gather"));
}

TEST(RoomsTwiml, ACallToNoRoomIsClosedWhenNoPinCanPickOne) {
  const Answers answers(parse("[[room]]\nname = \"a\"\nnumbers = [\"+18005550199\"]\n"), 1, kBase);
  const auto& a = answers.voice("+18005550100");
  EXPECT_EQ(a.evt, "room.none");
  const Doc d(a.twiml);
  EXPECT_STREQ(d.node("/Response/Say").text().get(), "The line is closed.");
  EXPECT_TRUE(d.has("/Response/Hangup"));
  EXPECT_FALSE(d.has("/Response/Dial"));
  EXPECT_TRUE(Doc(answers.voice(kStudioNumber).twiml).has("/Response/Dial"));
}

TEST(RoomsTwiml, FullClosedAndLockedOutAnswersHangUp) {
  const Answers answers(parse(kRooms), 1, kBase);
  EXPECT_EQ(answers.refusal(Admission::kJoin), nullptr);
  struct Case {
    const Answer* answer;
    const char* says;
    const char* evt;
  } cases[] = {
      {answers.refusal(Admission::kFull), "The line is full. Please try again later.", "room.full"},
      {answers.refusal(Admission::kClosed), "The line is closed.", "room.closed"},
      {&answers.locked_out(), "Too many wrong PINs from this number. Please try again later.",
       "pin.locked_out"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.says);
    ASSERT_NE(c.answer, nullptr);
    EXPECT_EQ(c.answer->evt, c.evt);
    const Doc d(c.answer->twiml);
    EXPECT_STREQ(d.node("/Response/Say").text().get(), c.says);
    EXPECT_TRUE(d.has("/Response/Hangup"));
    EXPECT_FALSE(d.has("/Response/Dial"));
    EXPECT_FALSE(d.has("/Response/Gather"));
  }
}

TEST(RoomsTwiml, AdmissionLetsHostsIntoALockedRoomButNobodyIntoAFullOne) {
  const auto rooms = parse(kRooms);
  const auto& studio = *rooms.find("studio");  // 40 participants at most
  struct Case {
    Role role;
    RoomState state;
    Admission expected;
  } cases[] = {
      {Role::kSpeaker, {0, false}, Admission::kJoin},
      {Role::kSpeaker, {39, false}, Admission::kJoin},
      {Role::kSpeaker, {40, false}, Admission::kFull},
      {Role::kHost, {40, false}, Admission::kFull},
      {Role::kSpeaker, {3, true}, Admission::kClosed},
      {Role::kProducer, {3, true}, Admission::kClosed},
      {Role::kHost, {3, true}, Admission::kJoin},
      {Role::kProducer, {40, true}, Admission::kClosed},
      {Role::kHost, {41, true}, Admission::kFull},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(rooms::role_name(c.role)) + " " +
                 std::to_string(c.state.participants) + (c.state.locked ? " locked" : ""));
    EXPECT_EQ(admit(studio, c.role, c.state), c.expected);
  }
}

TEST(RoomsTwiml, ARoomWithTracksStartsEachCallersInboundTrackBeforeTheDial) {
  const Answers answers(parse(R"(
pin_length = 4

[[room]]
name = "show"
numbers = ["+18005550199"]
tracks = true
pins = { host = ["1111"], speaker = ["2222"] }
)"),
                        1, kBase);
  const Attrs expected{{"track", "inbound"},
                       {"channels", "mono"},
                       {"recordingStatusCallback", kBase + "/track-callback"},
                       {"recordingStatusCallbackEvent", "completed"}};
  for (const Role role : {Role::kHost, Role::kSpeaker}) {
    const Doc d(answers.join(*answers.rooms().find("show"), role).twiml);
    EXPECT_EQ(d.attrs("/Response/Start/Recording"), expected);
    // <Start> comes before <Dial>: the track runs from the moment the caller joins.
    EXPECT_STREQ(d.node("/Response/Start").next_sibling().name(), "Dial");
    EXPECT_EQ(conference(answers.join(*answers.rooms().find("show"), role)).at("record"),
              "record-from-start");
  }
  // A room joined without a PIN: the same on the voice answer itself.
  const Answers open(parse("pin_length = 4\n[[room]]\nname = \"open\"\ntracks = true\n"), 1, kBase);
  const Doc direct(open.voice("+18005550100").twiml);
  EXPECT_EQ(direct.attrs("/Response/Start/Recording"), expected);
}

TEST(RoomsTwiml, WithoutTracksNoCallRecordingIsStarted) {
  const Answers answers(parse(kRooms), 1, kBase);
  for (const Role role : {Role::kHost, Role::kSpeaker, Role::kProducer}) {
    EXPECT_FALSE(Doc(answers.join(*answers.rooms().find("studio"), role).twiml).has("//Start"));
  }
}

}  // namespace
}  // namespace partyline::call_flow
