#include "call_flow/call_flow.hpp"

#include "twilio/twiml.hpp"
#include "util/crypto.hpp"

namespace partyline::call_flow {
namespace {

constexpr std::string_view kConsentNotice =
    "This call is recorded. By continuing, you consent to recording.";
constexpr int kSilenceSeconds = 600;

twilio::Attributes conference_attributes(const std::string& base, bool muted) {
  twilio::Attributes a{
      {"beep", "onEnter"},
      {"maxParticipants", std::to_string(kMaxParticipants)},
      {"record", "record-from-start"},
      {"statusCallback", base + "/conf-status"},
      {"statusCallbackEvent", "start end join leave mute hold"},
      {"recordingStatusCallback", base + "/recording-callback"},
      {"recordingStatusCallbackEvent", "completed"},
      {"waitUrl", "silence"},
  };
  if (muted) a.emplace_back("muted", "true");
  return a;
}

twilio::Twiml& pin_gather(twilio::Twiml& t, const std::string& base, std::string_view prompt) {
  return t
      .gather({{"input", "dtmf"},
               {"timeout", "6"},
               {"numDigits", "4"},
               {"action", base + "/check-pin"}},
              prompt)
      .say("No input received. Goodbye.")
      .hangup();
}

bool pin_matches(const config::Secret& pin, const std::string& digits) {
  return !pin.empty() && util::constant_time_equal(pin.reveal(), digits);
}

}  // namespace

Answer voice(const config::Config& config, const std::string& base) {
  twilio::Twiml t;
  if (config.consent_mode == config::ConsentMode::kPress1) {
    t.gather(
         {{"input", "dtmf"}, {"numDigits", "1"}, {"timeout", "8"}, {"action", base + "/consent"}},
         "This call is recorded. To consent to recording and join, press 1.")
        .say("No consent received. Goodbye.")
        .hangup();
    return {t.str(), "", ""};
  }
  t.say(kConsentNotice);
  if (config.pin_gate()) {
    pin_gather(t, base, "Enter your four digit PIN, then press pound.");
  } else {
    t.dial_conference(conference_attributes(base, false), kRoom);
  }
  return {t.str(), "", ""};
}

Answer consent(const config::Config& config, const std::string& base, const std::string* digits) {
  twilio::Twiml t;
  if (digits == nullptr || *digits != "1") {
    t.say("You did not consent to recording, so you cannot join this call. Goodbye.").hangup();
    return {t.str(), "consent.refused", ""};
  }
  if (config.pin_gate()) {
    pin_gather(t, base, "Thank you. Enter your four digit PIN.");
  } else {
    t.say("Thank you. Joining the call.")
        .dial_conference(conference_attributes(base, false), kRoom);
  }
  return {t.str(), "consent.given", ""};
}

namespace {

enum class PinRole { kProducer, kSpeaker, kInvalid };

PinRole classify_pin(const config::Config& config, const std::string* digits) {
  const std::string entered = digits ? *digits : std::string();
  // Both comparisons always run, in constant time, so timing says nothing about either PIN.
  const bool producer = pin_matches(config.pin_producer, entered);
  const bool speaker = pin_matches(config.pin_speaker, entered);
  if (producer) return PinRole::kProducer;
  if (speaker) return PinRole::kSpeaker;
  return PinRole::kInvalid;
}

Answer pin_answer(const config::Config&, const std::string& base, PinRole role) {
  twilio::Twiml t;
  switch (role) {
    case PinRole::kProducer:
      t.say("Joining as a producer, you are muted on entry.")
          .dial_conference(conference_attributes(base, true), kRoom);
      return {t.str(), "pin.producer", "producer"};
    case PinRole::kSpeaker:
      t.say("Joining as a speaker.").dial_conference(conference_attributes(base, false), kRoom);
      return {t.str(), "pin.speaker", "speaker"};
    case PinRole::kInvalid:
      break;
  }
  t.say("Sorry, that PIN is not valid. Goodbye.").hangup();
  return {t.str(), "pin.invalid", ""};
}

}  // namespace

Answer check_pin(const config::Config& config, const std::string& base, const std::string* digits) {
  return pin_answer(config, base, classify_pin(config, digits));
}

Answers::Answers(const config::Config& config, const std::string& base)
    : config_(config),
      voice_(call_flow::voice(config, base)),
      producer_(pin_answer(config, base, PinRole::kProducer)),
      speaker_(pin_answer(config, base, PinRole::kSpeaker)),
      invalid_pin_(pin_answer(config, base, PinRole::kInvalid)),
      silence_(call_flow::silence()) {
  const std::string one = "1";
  consent_given_ = call_flow::consent(config, base, &one);
  consent_refused_ = call_flow::consent(config, base, nullptr);
}

const Answer& Answers::consent(const std::string* digits) const {
  return digits != nullptr && *digits == "1" ? consent_given_ : consent_refused_;
}

const Answer& Answers::check_pin(const std::string* digits) const {
  switch (classify_pin(config_, digits)) {
    case PinRole::kProducer:
      return producer_;
    case PinRole::kSpeaker:
      return speaker_;
    case PinRole::kInvalid:
      break;
  }
  return invalid_pin_;
}

std::string silence() {
  twilio::Twiml t;
  t.pause(kSilenceSeconds);
  return t.str();
}

}  // namespace partyline::call_flow
