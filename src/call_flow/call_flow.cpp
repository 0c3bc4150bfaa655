#include "call_flow/call_flow.hpp"

#include <algorithm>
#include <optional>

#include "twilio/twiml.hpp"

namespace partyline::call_flow {
namespace {

using rooms::Role;
using rooms::Room;

constexpr std::string_view kConsentNotice =
    "This call is recorded. By continuing, you consent to recording.";
constexpr int kSilenceSeconds = 600;
constexpr std::array<Role, 3> kRoles = {Role::kHost, Role::kSpeaker, Role::kProducer};

std::string digits_in_words(unsigned n) {
  static constexpr std::array<std::string_view, 9> kWords = {
      "zero", "one", "two", "three", "four", "five", "six", "seven", "eight"};
  return n < kWords.size() ? std::string(kWords[n]) : std::to_string(n);
}

// The attributes Twilio takes from the first participant only (the callbacks, their events,
// record) come first and are the same for every role of a room, whoever happens to join first;
// after them what differs by role.
twilio::Attributes conference_attributes(const Room& room, const std::string& base,
                                         std::optional<Role> role) {
  twilio::Attributes a{
      {"beep", std::string(rooms::beep_value(room.beep))},
      {"maxParticipants", std::to_string(room.max_participants)},
      {"record", room.record ? "record-from-start" : "do-not-record"},
      {"statusCallback", base + "/conf-status"},
      {"statusCallbackEvent", "start end join leave mute hold"},
      {"recordingStatusCallback", base + "/recording-callback"},
      {"recordingStatusCallbackEvent", "completed"},
      {"waitUrl", "silence"},
  };
  if (role == Role::kProducer) a.emplace_back("muted", "true");
  if (role == Role::kHost) {
    a.emplace_back("startConferenceOnEnter", "true");
    if (room.end_when_host_leaves) a.emplace_back("endConferenceOnExit", "true");
  } else if (room.wait_for_host) {
    a.emplace_back("startConferenceOnEnter", "false");
  }
  return a;
}

// With tracks, the caller's own voice (the inbound track, mono) is recorded from here on, beside
// the conference's mix; its callback names the track's route. Nothing else in the call changes.
twilio::Twiml& join_conference(twilio::Twiml& t, const Room& room, const std::string& base,
                               std::optional<Role> role) {
  if (room.tracks) {
    t.start_recording({{"track", "inbound"},
                       {"channels", "mono"},
                       {"recordingStatusCallback", base + "/track-callback"},
                       {"recordingStatusCallbackEvent", "completed"}});
  }
  return t.dial_conference(conference_attributes(room, base, role), room.name);
}

std::string_view joining_text(Role role) {
  switch (role) {
    case Role::kHost:
      return "Joining as the host.";
    case Role::kSpeaker:
      return "Joining as a speaker.";
    case Role::kProducer:
      break;
  }
  return "Joining as a producer, you are muted on entry.";
}

Answer join_answer(const Room& room, const std::string& base, Role role) {
  std::string text(joining_text(role));
  if (room.wait_for_host && role != Role::kHost) {
    text += " If the host has not joined yet, please hold.";
  }
  twilio::Twiml t;
  join_conference(t.say(text), room, base, role);
  const std::string name(rooms::role_name(role));
  return {t.str(), "pin." + name, name, room.name, "", false};
}

twilio::Twiml& pin_gather(twilio::Twiml& t, const std::string& base, unsigned pin_length,
                          unsigned attempt, std::string_view prompt) {
  std::string action = base + "/check-pin";
  if (attempt > 1) action += "?attempt=" + std::to_string(attempt);
  return t
      .gather({{"input", "dtmf"},
               {"timeout", "6"},
               {"numDigits", std::to_string(pin_length)},
               {"action", action}},
              prompt)
      .say("No input received. Goodbye.")
      .hangup();
}

Answer goodbye(std::string_view text, std::string evt) {
  twilio::Twiml t;
  t.say(text).hangup();
  return {t.str(), std::move(evt), "", "", "", false};
}

}  // namespace

Admission admit(const Room& room, Role role, const RoomState& state) {
  if (state.locked && role != Role::kHost) return Admission::kClosed;
  if (state.participants >= room.max_participants) return Admission::kFull;
  return Admission::kJoin;
}

Answers::Entrance Answers::make_entrance(const Room* routed, const std::string& base) const {
  Entrance e;
  e.routed = routed;
  // Who the caller may end up with: the routed room, else the room open to every call, else any
  // room a PIN picks. The notice and the consent gate are those of the strictest of them.
  std::vector<const Room*> reachable;
  const Room* direct = nullptr;  // joined without a PIN
  if (routed != nullptr) {
    reachable.push_back(routed);
    if (!routed->pin_gate()) direct = routed;
  } else if (const Room* open = rooms_.open_room()) {
    reachable.push_back(open);
    direct = open;
  } else {
    for (const auto& r : rooms_.all()) {
      if (r.pin_gate()) reachable.push_back(&r);
    }
  }
  if (reachable.empty()) {
    e.voice = e.consent_given = closed_;
    e.voice.evt = e.consent_given.evt = "room.none";
    return e;
  }
  const bool recorded =
      std::any_of(reachable.begin(), reachable.end(), [](const Room* r) { return r->record; });
  const bool press1 = std::any_of(reachable.begin(), reachable.end(), [](const Room* r) {
    return r->record && r->consent == config::ConsentMode::kPress1;
  });
  const std::string pin_words = digits_in_words(rooms_.pin_length());

  twilio::Twiml voice;
  if (press1) {
    voice
        .gather({{"input", "dtmf"},
                 {"numDigits", "1"},
                 {"timeout", "8"},
                 {"action", base + "/consent"}},
                "This call is recorded. To consent to recording and join, press 1.")
        .say("No consent received. Goodbye.")
        .hangup();
  } else {
    if (recorded) voice.say(kConsentNotice);
    if (direct != nullptr) {
      join_conference(voice, *direct, base, std::nullopt);
    } else {
      pin_gather(voice, base, rooms_.pin_length(), 1,
                 "Enter your " + pin_words + " digit PIN, then press pound.");
    }
  }
  e.voice = {voice.str(),
             "",
             "",
             press1 || direct == nullptr ? "" : direct->name,
             recorded && !press1 ? "notice" : "",
             direct == nullptr};

  twilio::Twiml given;
  if (direct != nullptr) {
    join_conference(given.say("Thank you. Joining the call."), *direct, base, std::nullopt);
  } else {
    pin_gather(given, base, rooms_.pin_length(), 1,
               "Thank you. Enter your " + pin_words + " digit PIN.");
  }
  e.consent_given = {given.str(), "consent.given",  "", direct == nullptr ? "" : direct->name,
                     "press1",    direct == nullptr};
  return e;
}

Answers::Answers(rooms::Rooms rooms, unsigned pin_attempts, const std::string& base)
    : rooms_(std::move(rooms)), pin_attempts_(std::max(1u, pin_attempts)) {
  consent_refused_ =
      goodbye("You did not consent to recording, so you cannot join this call. Goodbye.",
              "consent.refused");
  invalid_pin_ = goodbye("Sorry, that PIN is not valid. Goodbye.", "pin.invalid");
  full_ = goodbye("The line is full. Please try again later.", "room.full");
  closed_ = goodbye("The line is closed.", "room.closed");
  locked_out_ =
      goodbye("Too many wrong PINs from this number. Please try again later.", "pin.locked_out");
  silence_ = call_flow::silence();
  const std::string pin_words = digits_in_words(rooms_.pin_length());
  for (unsigned attempt = 2; attempt <= pin_attempts_; ++attempt) {
    twilio::Twiml t;
    pin_gather(t, base, rooms_.pin_length(), attempt,
               "Sorry, that PIN is not valid. Enter your " + pin_words + " digit PIN again.");
    reprompts_.push_back({t.str(), "pin.invalid", "", "", "", true});
  }
  for (const auto& room : rooms_.all()) {
    std::array<Answer, 3> joins;
    for (const Role role : kRoles)
      joins[static_cast<std::size_t>(role)] = join_answer(room, base, role);
    joins_.push_back(std::move(joins));
    routed_.push_back(make_entrance(&room, base));
  }
  lobby_ = make_entrance(nullptr, base);
}

Answers::Answers(const config::Config& config, const std::string& base)
    : Answers(rooms::load(config), config.pin_attempts, base) {}

std::size_t Answers::index(const Room& room) const {
  return static_cast<std::size_t>(&room - rooms_.all().data());
}

const Answers::Entrance& Answers::entrance(std::string_view to) const {
  const Room* routed = rooms_.route(to);
  return routed == nullptr ? lobby_ : routed_[index(*routed)];
}

const Answer& Answers::voice(std::string_view to) const {
  return entrance(to).voice;
}

const Answer& Answers::consent(const std::string* digits, std::string_view to) const {
  if (digits == nullptr || *digits != "1") return consent_refused_;
  return entrance(to).consent_given;
}

const Answer& Answers::check_pin(const std::string* digits, std::string_view to,
                                 unsigned attempt) const {
  const Entrance& e = entrance(to);
  const auto match = rooms_.by_pin(digits == nullptr ? std::string_view() : *digits);
  if (match && (e.routed == nullptr || e.routed == match->room))
    return join(*match->room, match->role);
  if (attempt >= 1 && attempt < pin_attempts_) return reprompts_[attempt - 1];
  return invalid_pin_;
}

const Answer& Answers::check_pin(const std::string* digits) const {
  return check_pin(digits, {}, pin_attempts_);
}

const Answer& Answers::join(const Room& room, Role role) const {
  return joins_[index(room)][static_cast<std::size_t>(role)];
}

const Answer* Answers::refusal(Admission admission) const {
  switch (admission) {
    case Admission::kFull:
      return &full_;
    case Admission::kClosed:
      return &closed_;
    case Admission::kJoin:
      break;
  }
  return nullptr;
}

Answer voice(const config::Config& config, const std::string& base) {
  return Answers(config, base).voice();
}

Answer consent(const config::Config& config, const std::string& base, const std::string* digits) {
  return Answers(config, base).consent(digits);
}

Answer check_pin(const config::Config& config, const std::string& base, const std::string* digits) {
  return Answers(config, base).check_pin(digits);
}

std::string silence() {
  twilio::Twiml t;
  t.pause(kSilenceSeconds);
  return t.str();
}

}  // namespace partyline::call_flow
