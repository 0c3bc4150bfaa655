#include "rooms/rooms.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace partyline::rooms {
namespace {

// The issue's example, verbatim.
constexpr std::string_view kExample = R"(
pin_length = 4                 # 4..8 digits, the same for every PIN (numDigits of the Gather)

[[room]]
name = "partyline"             # the <Conference> name: letters, digits, '-' and '_', <= 64
numbers = ["+18005550199"]     # optional: a call To one of these numbers goes to this room
max_participants = 15          # 2..250 (Twilio's limit)
beep = "onEnter"               # onEnter | onExit | true | false
record = true
prefix = "partyline/"          # key prefix of this room's recordings (default "<name>/")
consent = "notice"             # notice | press1
wait_for_host = false          # speakers and producers hear the wait audio until a host joins
end_when_host_leaves = false   # the conference ends when the last host leaves
pins = { host = ["1111"], speaker = ["1234"], producer = ["9876"] }
)";

constexpr std::string_view kTwoRooms = R"(
pin_length = 6

[[room]]
name = "studio"
numbers = ["+18005550199", "+442071838750"]
max_participants = 40
beep = "onExit"
record = false
consent = "press1"
wait_for_host = true
end_when_host_leaves = true
pins = { host = ["111111", "111112"], speaker = ["222222"], producer = ["333333"] }

[[room]]
name = "open_mic-2"
beep = false
pins.speaker = ["444444"]
)";

std::vector<std::string> revealed(const std::vector<config::Secret>& pins) {
  std::vector<std::string> out;
  for (const auto& p : pins)
    out.push_back(p.reveal());
  return out;
}

TEST(RoomsFile, ParsesTheIssueExample) {
  const Rooms rooms = parse_rooms_file(kExample, "rooms.toml");
  EXPECT_EQ(rooms.pin_length(), 4u);
  ASSERT_EQ(rooms.all().size(), 1u);
  const Room& r = rooms.all()[0];
  EXPECT_EQ(r.name, "partyline");
  EXPECT_EQ(r.numbers, std::vector<std::string>{"+18005550199"});
  EXPECT_EQ(r.max_participants, 15u);
  EXPECT_EQ(r.beep, Beep::kOnEnter);
  EXPECT_TRUE(r.record);
  EXPECT_EQ(r.prefix, "partyline/");
  EXPECT_EQ(r.consent, config::ConsentMode::kNotice);
  EXPECT_FALSE(r.wait_for_host);
  EXPECT_FALSE(r.end_when_host_leaves);
  EXPECT_EQ(revealed(r.pins.host), std::vector<std::string>{"1111"});
  EXPECT_EQ(revealed(r.pins.speaker), std::vector<std::string>{"1234"});
  EXPECT_EQ(revealed(r.pins.producer), std::vector<std::string>{"9876"});
  EXPECT_TRUE(rooms.pin_gate());
}

TEST(RoomsFile, ParsesEveryOptionAndDefaultsTheOmittedOnes) {
  const Rooms rooms = parse_rooms_file(kTwoRooms, "rooms.toml");
  EXPECT_EQ(rooms.pin_length(), 6u);
  ASSERT_EQ(rooms.all().size(), 2u);
  const Room& studio = rooms.all()[0];
  EXPECT_EQ(studio.numbers.size(), 2u);
  EXPECT_EQ(studio.max_participants, 40u);
  EXPECT_EQ(studio.beep, Beep::kOnExit);
  EXPECT_FALSE(studio.record);
  EXPECT_EQ(studio.prefix, "studio/");  // default: the name
  EXPECT_EQ(studio.consent, config::ConsentMode::kPress1);
  EXPECT_TRUE(studio.wait_for_host);
  EXPECT_TRUE(studio.end_when_host_leaves);
  EXPECT_EQ(studio.pins.host.size(), 2u);

  // Everything omitted is what the single room has always done.
  const Room& mic = rooms.all()[1];
  EXPECT_EQ(mic.name, "open_mic-2");
  EXPECT_TRUE(mic.numbers.empty());
  EXPECT_EQ(mic.max_participants, 15u);
  EXPECT_EQ(mic.beep, Beep::kFalse);
  EXPECT_TRUE(mic.record);
  EXPECT_EQ(mic.prefix, "open_mic-2/");
  EXPECT_EQ(mic.consent, config::ConsentMode::kNotice);
  EXPECT_FALSE(mic.wait_for_host);
  EXPECT_FALSE(mic.end_when_host_leaves);
  EXPECT_TRUE(mic.pins.host.empty());
  EXPECT_TRUE(mic.pins.producer.empty());
  EXPECT_EQ(revealed(mic.pins.speaker), std::vector<std::string>{"444444"});

  const Rooms minimal = parse_rooms_file("[[room]]\nname = \"a\"\n", "x");
  EXPECT_EQ(minimal.pin_length(), 4u);
  EXPECT_FALSE(minimal.pin_gate());
  EXPECT_EQ(minimal.open_room(), &minimal.all()[0]);
}

TEST(RoomsFile, BeepTakesEveryTwilioValue) {
  struct Case {
    const char* value;
    Beep beep;
  } cases[] = {{"\"onEnter\"", Beep::kOnEnter}, {"\"onExit\"", Beep::kOnExit},
               {"\"true\"", Beep::kTrue},       {"\"false\"", Beep::kFalse},
               {"true", Beep::kTrue},           {"false", Beep::kFalse}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    const auto rooms =
        parse_rooms_file(std::string("[[room]]\nname = \"a\"\nbeep = ") + c.value + "\n", "x");
    EXPECT_EQ(rooms.all()[0].beep, c.beep);
  }
}

TEST(RoomsFile, RoutesByNumberAndFindsByName) {
  const Rooms rooms = parse_rooms_file(kTwoRooms, "rooms.toml");
  ASSERT_NE(rooms.route("+442071838750"), nullptr);
  EXPECT_EQ(rooms.route("+442071838750")->name, "studio");
  EXPECT_EQ(rooms.route("+18005550199")->name, "studio");
  EXPECT_EQ(rooms.route("+18005550100"), nullptr);
  EXPECT_EQ(rooms.route(""), nullptr);
  EXPECT_EQ(rooms.route("18005550199"), nullptr);
  EXPECT_EQ(rooms.find("open_mic-2"), &rooms.all()[1]);
  EXPECT_EQ(rooms.find("Studio"), nullptr);
  EXPECT_EQ(rooms.open_room(), nullptr);
  EXPECT_TRUE(rooms.pin_gate());
}

TEST(RoomsFile, APinPicksTheRoomAndTheRole) {
  const Rooms rooms = parse_rooms_file(kTwoRooms, "rooms.toml");
  struct Case {
    const char* pin;
    const char* room;
    Role role;
  } cases[] = {{"111111", "studio", Role::kHost},
               {"111112", "studio", Role::kHost},
               {"222222", "studio", Role::kSpeaker},
               {"333333", "studio", Role::kProducer},
               {"444444", "open_mic-2", Role::kSpeaker}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.pin);
    const auto match = rooms.by_pin(c.pin);
    ASSERT_TRUE(match);
    EXPECT_EQ(match->room->name, c.room);
    EXPECT_EQ(match->role, c.role);
  }
  for (const char* wrong : {"", "11111", "1111111", "111113", "11111 ", "#"}) {
    SCOPED_TRACE(wrong);
    EXPECT_FALSE(rooms.by_pin(wrong));
  }
}

TEST(RoomsFile, RoleAndBeepSpellings) {
  EXPECT_EQ(role_name(Role::kHost), "host");
  EXPECT_EQ(role_name(Role::kSpeaker), "speaker");
  EXPECT_EQ(role_name(Role::kProducer), "producer");
  EXPECT_EQ(beep_value(Beep::kOnEnter), "onEnter");
  EXPECT_EQ(beep_value(Beep::kOnExit), "onExit");
  EXPECT_EQ(beep_value(Beep::kTrue), "true");
  EXPECT_EQ(beep_value(Beep::kFalse), "false");
}

// Every problem stops the start with one line naming the room and the field.
TEST(RoomsFile, EveryProblemNamesTheRoomAndTheField) {
  const std::string a = "[[room]]\nname = \"a\"\n";
  const std::string b = "[[room]]\nname = \"b\"\n";
  struct Case {
    std::string text;
    std::string room;   // "" when the problem is outside any room
    std::string field;  // "" for a file that is not TOML at all
    std::string says;   // part of the message
  } cases[] = {
      // PINs
      {a + "pins = { speaker = [\"1234\"] }\n" + b + "pins = { producer = [\"1234\"] }\n", "b",
       "pins.producer", "also a PIN of room a pins.speaker"},
      {a + "pins = { host = [\"1234\"], speaker = [\"1234\"] }\n", "a", "pins.speaker",
       "also a PIN of room a pins.host"},
      {a + "pins = { speaker = [\"1234\", \"1234\"] }\n", "a", "pins.speaker", "also a PIN"},
      {a + "pins = { host = [\"12345\"] }\n", "a", "pins.host", "exactly 4 digits"},
      {"pin_length = 6\n" + a + "pins = { host = [\"1234\"] }\n", "a", "pins.host",
       "exactly 6 digits"},
      {a + "pins = { speaker = [\"12a4\"] }\n", "a", "pins.speaker", "exactly 4 digits"},
      {a + "pins = { speaker = [1234] }\n", "a", "pins.speaker", "expected a quoted string"},
      {a + "pins = { speaker = \"1234\" }\n", "a", "pins.speaker", "expected a list"},
      {a + "pins = [\"1234\"]\n", "a", "pins", "expected a table"},
      {a + "pins = { guest = [\"1234\"] }\n", "a", "pins.guest", "unknown key"},
      {"pin_length = 3\n" + a, "", "pin_length", "must be 4 to 8, got 3"},
      {"pin_length = 9\n" + a, "", "pin_length", "must be 4 to 8, got 9"},
      {"pin_length = \"4\"\n" + a, "", "pin_length", "expected a whole number, got a string"},
      // names
      {a + "pins.speaker = [\"1234\"]\n" + a + "pins.speaker = [\"4321\"]\n", "a", "name",
       "two rooms have this name"},
      {"[[room]]\nname = \"my room\"\n", "#1", "name", "not a room name"},
      {"[[room]]\nname = \"" + std::string(65, 'x') + "\"\n", "#1", "name", "not a room name"},
      {"[[room]]\nname = \"\"\n", "#1", "name", "not a room name"},
      {"[[room]]\nname = \"a/b\"\n", "#1", "name", "not a room name"},
      {"[[room]]\nnumbers = [\"+18005550199\"]\n", "#1", "name", "missing"},
      {"[[room]]\nname = 7\n", "#1", "name", "expected a quoted string, got an integer"},
      // numbers
      {a + "numbers = [\"+18005550199\"]\n" + b + "numbers = [\"+18005550199\"]\n", "b", "numbers",
       "\"+18005550199\" is also a number of room \"a\""},
      {a + "numbers = [\"+18005550199\", \"+18005550199\"]\n", "a", "numbers", "listed twice"},
      {a + "numbers = [\"18005550199\"]\n", "a", "numbers", "not an E.164 number"},
      {a + "numbers = [\"+1 800 555 0199\"]\n", "a", "numbers", "not an E.164 number"},
      {a + "numbers = [\"+01234\"]\n", "a", "numbers", "not an E.164 number"},
      {a + "numbers = [\"+1234567890123456\"]\n", "a", "numbers", "not an E.164 number"},
      {a + "numbers = \"+18005550199\"\n", "a", "numbers", "expected a list"},
      // values out of range, wrong types
      {a + "max_participants = 1\n", "a", "max_participants", "must be 2 to 250, got 1"},
      {a + "max_participants = 251\n", "a", "max_participants", "must be 2 to 250, got 251"},
      {a + "max_participants = \"15\"\n", "a", "max_participants", "expected a whole number"},
      {a + "max_participants = 15.5\n", "a", "max_participants", "expected a whole number"},
      {a + "beep = \"sometimes\"\n", "a", "beep",
       "expected \"onEnter\", \"onExit\", true or false"},
      {a + "beep = 1\n", "a", "beep", "expected a quoted string"},
      {a + "record = \"yes\"\n", "a", "record", "expected true or false, got a string"},
      {a + "consent = \"always\"\n", "a", "consent", "expected \"notice\" or \"press1\""},
      {a + "prefix = \"/abs/\"\n", "a", "prefix", "plain key prefix"},
      {a + "prefix = \"a/../b/\"\n", "a", "prefix", "plain key prefix"},
      {a + "wait_for_host = \"true\"\n", "a", "wait_for_host", "expected true or false"},
      {a + "end_when_host_leaves = 1\n", "a", "end_when_host_leaves", "expected true or false"},
      // options that cannot work
      {a + "wait_for_host = true\npins.speaker = [\"1234\"]\n", "a", "wait_for_host",
       "needs at least one host PIN"},
      {a + "end_when_host_leaves = true\npins.speaker = [\"1234\"]\n", "a", "end_when_host_leaves",
       "needs at least one host PIN"},
      // unreachable rooms
      {a + "pins.speaker = [\"1234\"]\n" + b, "b", "pins", "needs PINs"},
      {a + b, "b", "numbers", "room \"a\" also has neither numbers nor PINs"},
      // unknown keys anywhere
      {a + "max_participant = 15\n", "a", "max_participant", "unknown key"},
      {"pin_lenght = 4\n" + a, "", "pin_lenght", "unknown key"},
      {"[pins]\nspeaker = [\"1234\"]\n" + a, "", "pins", "unknown key"},
      // no rooms, not TOML
      {"pin_length = 4\n", "", "room", "no [[room]]"},
      {"room = \"a\"\n", "", "room", "expected [[room]] tables"},
      {"room = []\n", "", "room", "expected [[room]] tables"},
      {a + "name = \"b\"\n", "", "", "not valid TOML"},
      {"[[room]\nname = \"a\"\n", "", "", "not valid TOML"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      parse_rooms_file(c.text, "rooms.toml");
      ADD_FAILURE() << "accepted";
    } catch (const RoomsError& e) {
      const std::string message = e.what();
      EXPECT_EQ(e.room, c.room) << message;
      EXPECT_EQ(e.field, c.field) << message;
      EXPECT_EQ(e.variable, "ROOMS_FILE");
      EXPECT_TRUE(message.starts_with("ROOMS_FILE: rooms.toml")) << message;
      if (!c.room.empty()) {
        EXPECT_NE(message.find("room \"" + c.room + "\""), std::string::npos) << message;
      }
      EXPECT_NE(message.find(c.field), std::string::npos) << message;
      EXPECT_NE(message.find(c.says), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(RoomsFile, ErrorsGiveTheLineAndNeverThePin) {
  try {
    parse_rooms_file("[[room]]\nname = \"a\"\n\npins = { speaker = [\"98765\"] }\n", "rooms.toml");
    FAIL() << "accepted";
  } catch (const RoomsError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("rooms.toml:4"), std::string::npos) << message;
    EXPECT_EQ(message.find("98765"), std::string::npos) << message;
  }
  try {
    parse_rooms_file(
        "[[room]]\nname = \"a\"\npins.speaker = [\"9876\"]\n"
        "[[room]]\nname = \"b\"\npins.host = [\"9876\"]\n",
        "rooms.toml");
    FAIL() << "accepted";
  } catch (const RoomsError& e) {
    EXPECT_EQ(std::string(e.what()).find("9876"), std::string::npos) << e.what();
  }
}

TEST(DefaultRooms, IsTheOneRoomOfTheEnvironment) {
  config::Config c;
  c.pin_speaker = config::Secret("1234");
  c.pin_producer = config::Secret("9876");
  c.consent_mode = config::ConsentMode::kPress1;
  c.s3_prefix = "calls/";
  const Rooms rooms = default_rooms(c);
  EXPECT_EQ(rooms.pin_length(), 4u);
  ASSERT_EQ(rooms.all().size(), 1u);
  const Room& r = rooms.all()[0];
  EXPECT_EQ(r.name, "partyline");
  EXPECT_TRUE(r.numbers.empty());
  EXPECT_EQ(r.max_participants, 15u);
  EXPECT_EQ(r.beep, Beep::kOnEnter);
  EXPECT_TRUE(r.record);
  EXPECT_EQ(r.prefix, "calls/");
  EXPECT_EQ(r.consent, config::ConsentMode::kPress1);
  EXPECT_FALSE(r.wait_for_host);
  EXPECT_FALSE(r.end_when_host_leaves);
  EXPECT_TRUE(r.pins.host.empty());
  EXPECT_EQ(revealed(r.pins.speaker), std::vector<std::string>{"1234"});
  EXPECT_EQ(revealed(r.pins.producer), std::vector<std::string>{"9876"});
  EXPECT_TRUE(rooms.pin_gate());
  EXPECT_EQ(rooms.by_pin("9876")->role, Role::kProducer);
  EXPECT_EQ(rooms.route("+18005550199"), nullptr);

  const Rooms open = default_rooms(config::Config{});
  EXPECT_FALSE(open.pin_gate());
  EXPECT_EQ(open.open_room(), &open.all()[0]);
  EXPECT_EQ(open.all()[0].prefix, "partyline/");
  EXPECT_FALSE(open.by_pin(""));
}

TEST(DefaultRooms, LoadReadsTheRoomsFileOnlyWhenSet) {
  config::Config c;
  c.pin_speaker = config::Secret("1234");
  EXPECT_EQ(load(c).by_pin("1234")->room->name, "partyline");

  const auto path = std::filesystem::path(testing::TempDir()) / "rooms_load_test.toml";
  {
    std::ofstream out(path);
    out << kTwoRooms;
  }
  config::Config with_file;
  with_file.rooms_file = path;
  const Rooms rooms = load(with_file);
  EXPECT_EQ(rooms.all().size(), 2u);
  EXPECT_EQ(rooms.by_pin("444444")->room->name, "open_mic-2");

  {
    std::ofstream out(path);
    out << "[[room]]\nname = \"a\"\nbeep = \"loud\"\n";
  }
  try {
    load(with_file);
    ADD_FAILURE() << "accepted";
  } catch (const RoomsError& e) {
    EXPECT_EQ(e.source, path.string() + ":3");
    EXPECT_EQ(e.field, "beep");
  }
  std::filesystem::remove(path);
  try {
    load(with_file);
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const RoomsError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ": cannot be read"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace partyline::rooms
