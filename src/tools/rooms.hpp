#pragma once
// `partyline rooms` (list the rooms: numbers, PIN counts, participants now, locked) and
// `partyline rooms lock|unlock NAME`, on the running service's state in DATA_DIR.
#include <string>

#include "config/config.hpp"

namespace partyline::tools {

// action: "list", "lock" or "unlock" (`name` for the last two). Returns the exit status.
int rooms(const config::Config& config, const std::string& action, const std::string& name);

}  // namespace partyline::tools
