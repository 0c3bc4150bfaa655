#pragma once
// The rooms a call can join and who may join them how: parsed once from ROOMS_FILE (TOML), or
// made from the environment's one room, then never changed (a reload builds a new set).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace partyline::rooms {

enum class Role { kHost, kSpeaker, kProducer };
// "host", "speaker", "producer": the log's and the call records' spelling.
std::string_view role_name(Role role);

// The <Conference beep> values.
enum class Beep { kOnEnter, kOnExit, kTrue, kFalse };
std::string_view beep_value(Beep beep);

struct Pins {
  std::vector<config::Secret> host, speaker, producer;
  const std::vector<config::Secret>& of(Role role) const;
  bool empty() const { return host.empty() && speaker.empty() && producer.empty(); }
};

struct Room {
  std::string name;                  // the <Conference> name
  std::vector<std::string> numbers;  // E.164; a call To one of them joins this room
  unsigned max_participants = 15;
  Beep beep = Beep::kOnEnter;
  bool record = true;
  std::string prefix;  // key prefix of its recordings
  config::ConsentMode consent = config::ConsentMode::kNotice;
  bool wait_for_host = false;
  bool end_when_host_leaves = false;
  // Each caller's own voice recorded as a track of its own, beside the mix (billed by Twilio
  // per track: off by default).
  bool tracks = false;
  Pins pins;

  bool pin_gate() const { return !pins.empty(); }
};

// A room name: 1 to 64 letters, digits, '-' or '_' (the <Conference> name).
bool valid_name(std::string_view name);

struct PinMatch {
  const Room* room;
  Role role;
};

// Thrown by parse_rooms_file and load: one line naming the file, the room and the field. A
// ConfigError of ROOMS_FILE, so the start stops with exit code 2 like any bad variable.
struct RoomsError : config::ConfigError {
  RoomsError(std::string source, std::string room, std::string field, const std::string& problem);
  std::string source, room, field;
};

class Rooms {
 public:
  // rooms: already validated (parse_rooms_file, default_rooms); at least one.
  Rooms(unsigned pin_length, std::vector<Room> rooms);

  unsigned pin_length() const { return pin_length_; }
  const std::vector<Room>& all() const { return rooms_; }
  const Room* find(std::string_view name) const;
  // The room a call To this number joins, or none.
  const Room* route(std::string_view to_number) const;
  // The room and role of a PIN. Every PIN of every room is compared, in constant time, so the
  // answer's timing says nothing about which PINs exist.
  std::optional<PinMatch> by_pin(std::string_view digits) const;
  // The room a call to no listed number joins without a PIN (a room with neither numbers nor
  // PINs), or none: then the PIN decides (pin_gate) or the call is refused.
  const Room* open_room() const;
  // Whether a call to no listed number is asked for a PIN.
  bool pin_gate() const { return open_room() == nullptr && has_pins_; }

 private:
  unsigned pin_length_;
  std::vector<Room> rooms_;
  bool has_pins_ = false;
};

// Pure: the TOML text in, a validated room set out, or RoomsError. source_name names the file in
// the messages.
Rooms parse_rooms_file(std::string_view text, const std::string& source_name);

// Without ROOMS_FILE: the one room "partyline" as the environment describes it (PIN_SPEAKER,
// PIN_PRODUCER, CONSENT_MODE, S3_PREFIX), everything else as the service has always done.
Rooms default_rooms(const config::Config& config);

// ROOMS_FILE read and parsed when set (RoomsError when unreadable or invalid), else default_rooms.
Rooms load(const config::Config& config);

}  // namespace partyline::rooms
