#include "rooms/status.hpp"

namespace partyline::rooms {

std::vector<RoomStatus> status(const Rooms& rooms, db::CallStore& calls, db::RoomLocks& locks) {
  const auto participants = calls.participants_by_room();
  const auto locked = locks.all();
  std::vector<RoomStatus> out;
  for (const auto& r : rooms.all()) {
    RoomStatus s;
    s.name = r.name;
    s.numbers = r.numbers;
    s.host_pins = r.pins.host.size();
    s.speaker_pins = r.pins.speaker.size();
    s.producer_pins = r.pins.producer.size();
    if (auto it = participants.find(r.name); it != participants.end()) s.participants = it->second;
    s.locked = locked.contains(r.name);
    out.push_back(std::move(s));
  }
  return out;
}

util::Result<bool> set_locked(const Rooms& rooms, db::RoomLocks& locks, std::string_view name,
                              bool locked, std::int64_t now_ms) {
  const Room* room = rooms.find(name);
  if (room == nullptr) {
    return util::Failure::later("no room \"" + std::string(name) + "\" in the rooms file");
  }
  return locked ? locks.lock(room->name, now_ms) : locks.unlock(room->name);
}

}  // namespace partyline::rooms
