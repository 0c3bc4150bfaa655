#include "twilio/twiml.hpp"

#include <sstream>

namespace partyline::twilio {

Twiml::Twiml() {
  auto decl = doc_.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  response_ = doc_.append_child("Response");
}

Twiml& Twiml::say(std::string_view text) {
  response_.append_child("Say").text().set(std::string(text).c_str());
  return *this;
}

Twiml& Twiml::gather(const Attributes& attrs, std::string_view prompt) {
  auto gather = response_.append_child("Gather");
  for (const auto& [k, v] : attrs)
    gather.append_attribute(k.c_str()) = v.c_str();
  gather.append_child("Say").text().set(std::string(prompt).c_str());
  return *this;
}

Twiml& Twiml::dial_conference(const Attributes& attrs, std::string_view room) {
  auto conference = response_.append_child("Dial").append_child("Conference");
  for (const auto& [k, v] : attrs)
    conference.append_attribute(k.c_str()) = v.c_str();
  conference.text().set(std::string(room).c_str());
  return *this;
}

Twiml& Twiml::start_recording(const Attributes& attrs) {
  auto recording = response_.append_child("Start").append_child("Recording");
  for (const auto& [k, v] : attrs)
    recording.append_attribute(k.c_str()) = v.c_str();
  return *this;
}

Twiml& Twiml::pause(int seconds) {
  response_.append_child("Pause").append_attribute("length") = seconds;
  return *this;
}

Twiml& Twiml::hangup() {
  response_.append_child("Hangup");
  return *this;
}

std::string Twiml::str() const {
  std::ostringstream out;
  doc_.save(out, "", pugi::format_raw, pugi::encoding_utf8);
  return out.str();
}

}  // namespace partyline::twilio
