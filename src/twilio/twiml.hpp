#pragma once
// TwiML documents built with pugixml, which escapes every text and attribute value.
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partyline::twilio {

using Attributes = std::vector<std::pair<std::string, std::string>>;

class Twiml {
 public:
  Twiml();
  Twiml& say(std::string_view text);
  // <Gather attrs><Say>prompt</Say></Gather>
  Twiml& gather(const Attributes& attrs, std::string_view prompt);
  // <Dial><Conference attrs>room</Conference></Dial>
  Twiml& dial_conference(const Attributes& attrs, std::string_view room);
  // <Start><Recording attrs/></Start>: a recording of this call that runs beside what follows.
  Twiml& start_recording(const Attributes& attrs);
  Twiml& pause(int seconds);
  Twiml& hangup();
  // One line with the XML declaration, as Twilio's own libraries emit it.
  std::string str() const;

 private:
  pugi::xml_document doc_;
  pugi::xml_node response_;
};

}  // namespace partyline::twilio
