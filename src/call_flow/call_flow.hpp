#pragma once
// What a caller meets: the TwiML each voice webhook answers. Pure: the rooms and the webhook's
// fields in, a TwiML document and the event to log out.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "rooms/rooms.hpp"

namespace partyline::call_flow {

struct Answer {
  std::string twiml;
  std::string evt;   // e.g. "pin.producer"; empty when nothing beyond the request line is logged
  std::string role;  // "host", "producer", "speaker" or "" (no PIN, or not joining)
  std::string room;  // the room the answer dials, or "" when it does not dial
  // How this answer obtains the caller's consent to recording: "notice" (it plays the notice;
  // staying on the line is consent), "press1" (the caller has just pressed 1), or "".
  std::string consent;
  // The caller is asked for a PIN here or after consenting (a number locked out by the PIN
  // guard is refused instead).
  bool pin_gate = false;
};

// Whether a caller for a room gets in, from what the service knows of the room right now.
enum class Admission { kJoin, kFull, kClosed };
struct RoomState {
  unsigned participants = 0;
  bool locked = false;
};
// A locked room still takes its hosts; a full one nobody (Twilio's maxParticipants stays the hard
// limit, this answers before Twilio would refuse in silence). A caller without a PIN counts as a
// speaker.
Admission admit(const rooms::Room& room, rooms::Role role, const RoomState& state);

// Every answer, built once per room set: each depends only on the rooms and on which branch the
// webhook's fields take (the PINs are still compared per request, in constant time).
class Answers {
 public:
  Answers(rooms::Rooms rooms, unsigned pin_attempts, const std::string& base);
  // The rooms of the configuration (rooms::load) and its PIN_ATTEMPTS.
  Answers(const config::Config& config, const std::string& base);
  Answers(const Answers&) = delete;
  Answers& operator=(const Answers&) = delete;

  const rooms::Rooms& rooms() const { return rooms_; }

  // to: the number called (the webhook's To); a number of no room leads to the PIN gate over
  // every room, or to the one room open to every call.
  const Answer& voice(std::string_view to = {}) const;
  const Answer& consent(const std::string* digits, std::string_view to = {}) const;
  // attempt: which PIN entry this is, 1 for the first (re-prompts carry the next one in the
  // action URL, ?attempt=N). A wrong PIN re-prompts until pin_attempts are used.
  const Answer& check_pin(const std::string* digits, std::string_view to, unsigned attempt) const;
  // The routes before rooms: no To, and every wrong PIN the last one.
  const Answer& check_pin(const std::string* digits) const;

  // The TwiML that joins this room (one of rooms()) in this role.
  const Answer& join(const rooms::Room& room, rooms::Role role) const;
  // "The line is full." / "The line is closed.", then a hangup (kJoin: nullptr).
  const Answer* refusal(Admission admission) const;
  // A caller number locked out by the PIN guard: refused without a prompt.
  const Answer& locked_out() const { return locked_out_; }
  // The target of waitUrl="silence": a long pause, so a lone caller hears nothing and Twilio does
  // not re-request the document in a tight loop.
  const std::string& silence() const { return silence_; }

 private:
  // One way in: a number of a room, or the lobby (any other number).
  struct Entrance {
    const rooms::Room* routed = nullptr;  // PINs of this room only; nullptr: every room's
    Answer voice, consent_given;
  };
  const Entrance& entrance(std::string_view to) const;
  Entrance make_entrance(const rooms::Room* routed, const std::string& base) const;
  std::size_t index(const rooms::Room& room) const;

  rooms::Rooms rooms_;
  unsigned pin_attempts_;
  std::vector<std::array<Answer, 3>> joins_;  // per room, per rooms::Role
  std::vector<Entrance> routed_;              // per room
  Entrance lobby_;
  std::vector<Answer> reprompts_;  // [n]: the prompt for attempt n + 2
  Answer consent_refused_, invalid_pin_, full_, closed_, locked_out_;
  std::string silence_;
};

// The answers of the configuration's rooms, one at a time (tests and tools).
Answer voice(const config::Config& config, const std::string& base);
Answer consent(const config::Config& config, const std::string& base, const std::string* digits);
Answer check_pin(const config::Config& config, const std::string& base, const std::string* digits);
std::string silence();

}  // namespace partyline::call_flow
