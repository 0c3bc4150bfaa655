#include "rooms/rooms.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "util/crypto.hpp"

namespace partyline::rooms {
namespace {

constexpr unsigned kMinPinLength = 4, kMaxPinLength = 8;
constexpr unsigned kMinParticipants = 2, kMaxParticipants = 250;  // 250: Twilio's limit
constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxFileSize = 1 << 20;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// E.164: '+', a non-zero digit, at most 15 digits in all.
bool valid_number(std::string_view n) {
  return n.size() >= 3 && n.size() <= 16 && n[0] == '+' && n[1] != '0' &&
         std::all_of(n.begin() + 1, n.end(), is_digit);
}

// The same rule as S3_PREFIX: a plain key prefix.
bool valid_prefix(std::string_view p) {
  return p.size() <= 256 && !p.starts_with("/") && p.find("..") == std::string_view::npos &&
         p.find("//") == std::string_view::npos && std::none_of(p.begin(), p.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u < ' ' || u >= 127 || c == '\\';
         });
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "true/false";
    case toml::node_type::array:
      return "a list";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// Reads one TOML document into rooms, naming the file, its line, the room and the field in every
// error. The room is known by its name once read, by its position until then.
class Parser {
 public:
  explicit Parser(const std::string& source) : source_(source) {}

  Rooms parse(std::string_view text) {
    toml::table doc;
    try {
      doc = toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
      room_.clear();
      fail_at(e.source().begin.line, "", "not valid TOML: " + std::string(e.description()));
    }
    for (auto&& [key, node] : doc) {
      if (key.str() != "pin_length" && key.str() != "room") unknown(key, "");
    }
    if (const auto* n = doc.get("pin_length")) {
      pin_length_ = integer(*n, "pin_length", kMinPinLength, kMaxPinLength);
    }
    const auto* list = doc.get("room");
    if (list == nullptr) fail("room", "no [[room]] in the file");
    const auto* rooms = list->as_array();
    if (rooms == nullptr || !rooms->is_array_of_tables() || rooms->empty()) {
      fail_at(list->source().begin.line, "room",
              "expected [[room]] tables, got " + type_name(*list));
    }
    std::vector<Room> out;
    for (std::size_t i = 0; i < rooms->size(); ++i) {
      room_ = "#" + std::to_string(i + 1);
      out.push_back(room(*rooms->get(i)->as_table()));
    }
    check_across(out);
    return Rooms(pin_length_, std::move(out));
  }

 private:
  [[noreturn]] void fail_at(std::int64_t line, const std::string& field, const std::string& what) {
    const std::string where = line > 0 ? source_ + ":" + std::to_string(line) : source_;
    throw RoomsError(where, room_, field, what);
  }
  [[noreturn]] void fail(const std::string& field, const std::string& what) {
    fail_at(0, field, what);
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& field,
                         const std::string& what) {
    fail_at(node.source().begin.line, field, what);
  }
  [[noreturn]] void unknown(const toml::key& key, const std::string& parent) {
    const std::string field = (parent.empty() ? "" : parent + ".") + std::string(key.str());
    fail_at(key.source().begin.line, field, "unknown key (a typo?)");
  }

  unsigned integer(const toml::node& node, const std::string& field, unsigned min, unsigned max) {
    const auto* v = node.as_integer();
    if (v == nullptr) fail(node, field, "expected a whole number, got " + type_name(node));
    if (v->get() < min || v->get() > max) {
      fail(node, field,
           "must be " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
               std::to_string(v->get()));
    }
    return static_cast<unsigned>(v->get());
  }

  bool boolean(const toml::node& node, const std::string& field) {
    const auto* v = node.as_boolean();
    if (v == nullptr) fail(node, field, "expected true or false, got " + type_name(node));
    return v->get();
  }

  std::string string(const toml::node& node, const std::string& field) {
    const auto* v = node.as_string();
    if (v == nullptr) fail(node, field, "expected a quoted string, got " + type_name(node));
    return v->get();
  }

  std::vector<std::string> strings(const toml::node& node, const std::string& field) {
    const auto* list = node.as_array();
    if (list == nullptr)
      fail(node, field, "expected a list of quoted strings, got " + type_name(node));
    std::vector<std::string> out;
    for (const auto& item : *list)
      out.push_back(string(item, field));
    return out;
  }

  Room room(const toml::table& t) {
    Room r;
    static const std::vector<std::string_view> kKeys = {
        "name",    "numbers",       "max_participants",     "beep", "record", "prefix",
        "consent", "wait_for_host", "end_when_host_leaves", "pins", "tracks"};
    const auto* name = t.get("name");
    if (name == nullptr) fail_at(t.source().begin.line, "name", "missing (every room needs one)");
    r.name = string(*name, "name");
    if (!valid_name(r.name)) {
      fail(*name, "name",
           in_quotes(r.name) + " is not a room name: 1 to 64 letters, digits, '-' or '_'");
    }
    room_ = r.name;
    for (auto&& [key, node] : t) {
      if (std::find(kKeys.begin(), kKeys.end(), key.str()) == kKeys.end()) unknown(key, "");
    }
    r.prefix = r.name + "/";
    for (auto&& [key, node] : t) {
      const std::string field(key.str());
      if (field == "numbers") {
        r.numbers = strings(node, field);
        for (const auto& n : r.numbers) {
          if (!valid_number(n))
            fail(node, field, in_quotes(n) + " is not an E.164 number (+18005550199)");
        }
      } else if (field == "max_participants") {
        r.max_participants = integer(node, field, kMinParticipants, kMaxParticipants);
      } else if (field == "beep") {
        r.beep = beep(node);
      } else if (field == "record") {
        r.record = boolean(node, field);
      } else if (field == "prefix") {
        r.prefix = string(node, field);
        if (!valid_prefix(r.prefix)) {
          fail(node, field,
               "expected a plain key prefix such as " + r.name +
                   "/ (no leading '/', no '..', no '//')");
        }
      } else if (field == "consent") {
        const std::string mode = string(node, field);
        if (mode == "notice") {
          r.consent = config::ConsentMode::kNotice;
        } else if (mode == "press1") {
          r.consent = config::ConsentMode::kPress1;
        } else {
          fail(node, field, "expected \"notice\" or \"press1\", got " + in_quotes(mode));
        }
      } else if (field == "wait_for_host") {
        r.wait_for_host = boolean(node, field);
      } else if (field == "end_when_host_leaves") {
        r.end_when_host_leaves = boolean(node, field);
      } else if (field == "tracks") {
        r.tracks = boolean(node, field);
      } else if (field == "pins") {
        r.pins = pins(node);
      }
    }
    if (r.wait_for_host && r.pins.host.empty()) {
      fail_at(t.source().begin.line, "wait_for_host",
              "needs at least one host PIN (pins.host): nobody could start the room");
    }
    if (r.end_when_host_leaves && r.pins.host.empty()) {
      fail_at(t.source().begin.line, "end_when_host_leaves",
              "needs at least one host PIN (pins.host): there is no host to leave");
    }
    return r;
  }

  Beep beep(const toml::node& node) {
    if (const auto* b = node.as_boolean()) return b->get() ? Beep::kTrue : Beep::kFalse;
    const std::string v = string(node, "beep");
    for (const Beep b : {Beep::kOnEnter, Beep::kOnExit, Beep::kTrue, Beep::kFalse}) {
      if (v == beep_value(b)) return b;
    }
    fail(node, "beep", "expected \"onEnter\", \"onExit\", true or false, got " + in_quotes(v));
  }

  Pins pins(const toml::node& node) {
    const auto* t = node.as_table();
    if (t == nullptr) {
      fail(node, "pins",
           "expected a table such as { speaker = [\"1234\"] }, got " + type_name(node));
    }
    Pins out;
    for (auto&& [key, list] : *t) {
      const std::string role(key.str());
      std::vector<config::Secret>* into = role == "host"       ? &out.host
                                          : role == "speaker"  ? &out.speaker
                                          : role == "producer" ? &out.producer
                                                               : nullptr;
      if (into == nullptr) unknown(key, "pins");
      const std::string field = "pins." + role;
      for (const auto& pin : strings(list, field)) {
        // The PIN itself never goes into a message: the error may reach a shared log.
        if (pin.size() != pin_length_ || !std::all_of(pin.begin(), pin.end(), is_digit)) {
          fail(list, field,
               "every PIN must be exactly " + std::to_string(pin_length_) +
                   " digits (pin_length), one is not");
        }
        into->emplace_back(pin);
      }
    }
    return out;
  }

  // What no single room can tell: names, numbers and PINs unique across the file, and every room
  // reachable by some call.
  void check_across(const std::vector<Room>& rooms) {
    std::map<std::string, std::string> names, numbers, pins;
    const Room* open = nullptr;
    const bool file_has_pins =
        std::any_of(rooms.begin(), rooms.end(), [](const Room& r) { return r.pin_gate(); });
    for (const auto& r : rooms) {
      room_ = r.name;
      if (!names.emplace(r.name, r.name).second) fail("name", "two rooms have this name");
      for (const auto& n : r.numbers) {
        const auto [it, added] = numbers.emplace(n, r.name);
        if (!added) {
          fail("numbers", in_quotes(n) + (it->second == r.name ? " is listed twice"
                                                               : " is also a number of room " +
                                                                     in_quotes(it->second)));
        }
      }
      for (const Role role : {Role::kHost, Role::kSpeaker, Role::kProducer}) {
        for (const auto& pin : r.pins.of(role)) {
          const std::string field = "pins." + std::string(role_name(role));
          const auto [it, added] = pins.emplace(pin.reveal(), r.name + " " + field);
          if (!added) {
            fail(field, "a PIN here is also a PIN of room " + it->second +
                            " (every PIN picks one room and one role)");
          }
        }
      }
      if (!r.numbers.empty() || r.pin_gate()) continue;
      if (file_has_pins) {
        fail("pins",
             "a room without numbers needs PINs when other rooms have PINs: callers to "
             "no listed number are asked for a PIN");
      }
      if (open != nullptr) {
        fail("numbers", "room " + in_quotes(open->name) +
                            " also has neither numbers nor PINs: only one room can take every "
                            "other call");
      }
      open = &r;
    }
  }

  std::string source_;
  std::string room_;
  unsigned pin_length_ = kMinPinLength;
};

}  // namespace

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                  c == '_';
         });
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kHost:
      return "host";
    case Role::kSpeaker:
      return "speaker";
    case Role::kProducer:
      return "producer";
  }
  return "";
}

std::string_view beep_value(Beep beep) {
  switch (beep) {
    case Beep::kOnEnter:
      return "onEnter";
    case Beep::kOnExit:
      return "onExit";
    case Beep::kTrue:
      return "true";
    case Beep::kFalse:
      return "false";
  }
  return "";
}

const std::vector<config::Secret>& Pins::of(Role role) const {
  switch (role) {
    case Role::kHost:
      return host;
    case Role::kSpeaker:
      return speaker;
    case Role::kProducer:
      break;
  }
  return producer;
}

namespace {
std::string rooms_message(const std::string& source, const std::string& room,
                          const std::string& field, const std::string& problem) {
  std::string out = source;
  if (!room.empty()) out += ": room " + in_quotes(room);
  if (!field.empty()) out += ": " + field;
  return out + ": " + problem;
}
}  // namespace

RoomsError::RoomsError(std::string source_, std::string room_, std::string field_,
                       const std::string& problem)
    : config::ConfigError("ROOMS_FILE", rooms_message(source_, room_, field_, problem)),
      source(std::move(source_)),
      room(std::move(room_)),
      field(std::move(field_)) {}

Rooms::Rooms(unsigned pin_length, std::vector<Room> rooms)
    : pin_length_(pin_length), rooms_(std::move(rooms)) {
  has_pins_ = std::any_of(rooms_.begin(), rooms_.end(), [](const Room& r) { return r.pin_gate(); });
}

const Room* Rooms::find(std::string_view name) const {
  for (const auto& r : rooms_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const Room* Rooms::route(std::string_view to_number) const {
  if (to_number.empty()) return nullptr;
  for (const auto& r : rooms_) {
    if (std::find(r.numbers.begin(), r.numbers.end(), to_number) != r.numbers.end()) return &r;
  }
  return nullptr;
}

std::optional<PinMatch> Rooms::by_pin(std::string_view digits) const {
  std::optional<PinMatch> match;
  for (const auto& r : rooms_) {
    for (const Role role : {Role::kHost, Role::kSpeaker, Role::kProducer}) {
      for (const auto& pin : r.pins.of(role)) {
        // No early exit: every PIN costs the same comparison whether or not one matched.
        const bool equal = !pin.empty() && util::constant_time_equal(pin.reveal(), digits);
        if (equal && !match) match = PinMatch{&r, role};
      }
    }
  }
  return match;
}

const Room* Rooms::open_room() const {
  if (has_pins_) return nullptr;
  for (const auto& r : rooms_) {
    if (r.numbers.empty()) return &r;
  }
  return nullptr;
}

Rooms parse_rooms_file(std::string_view text, const std::string& source_name) {
  return Parser(source_name).parse(text);
}

Rooms default_rooms(const config::Config& config) {
  Room r;
  r.name = "partyline";
  r.prefix = config.s3_prefix;
  r.consent = config.consent_mode;
  // Today's order of precedence: a PIN set for both roles would be the producer's.
  if (!config.pin_producer.empty()) r.pins.producer.push_back(config.pin_producer);
  if (!config.pin_speaker.empty() && config.pin_speaker.reveal() != config.pin_producer.reveal()) {
    r.pins.speaker.push_back(config.pin_speaker);
  }
  std::vector<Room> rooms;
  rooms.push_back(std::move(r));
  return Rooms(kMinPinLength, std::move(rooms));
}

Rooms load(const config::Config& config) {
  if (config.rooms_file.empty()) return default_rooms(config);
  const std::string source = config.rooms_file.string();
  std::ifstream in(config.rooms_file, std::ios::binary);
  if (!in) throw RoomsError(source, "", "", "cannot be read");
  std::string text(kMaxFileSize + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw RoomsError(source, "", "", "cannot be read");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileSize) throw RoomsError(source, "", "", "larger than 1 MiB");
  return parse_rooms_file(text, source);
}

}  // namespace partyline::rooms
