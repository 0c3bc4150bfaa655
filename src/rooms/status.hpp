#pragma once
// The rooms as they are now: who is in each one and which are locked, and setting the lock. The
// `partyline rooms` command and the service share this; the console will too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "db/calls.hpp"
#include "db/room_locks.hpp"
#include "rooms/rooms.hpp"
#include "util/result.hpp"

namespace partyline::rooms {

struct RoomStatus {
  std::string name;
  std::vector<std::string> numbers;
  std::size_t host_pins = 0, speaker_pins = 0, producer_pins = 0;  // counts, never the PINs
  int participants = 0;                                            // in the room's conference now
  bool locked = false;
};

// Every room of the set, in the file's order.
std::vector<RoomStatus> status(const Rooms& rooms, db::CallStore& calls, db::RoomLocks& locks);

// Locks (or unlocks) a room of the set: true when that changed something, false when it was
// already so; a failure (kLater) naming the room when the set has no such room.
util::Result<bool> set_locked(const Rooms& rooms, db::RoomLocks& locks, std::string_view name,
                              bool locked, std::int64_t now_ms);

}  // namespace partyline::rooms
