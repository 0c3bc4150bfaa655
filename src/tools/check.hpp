#pragma once
// `partyline check`: tests the configuration for real (Twilio credentials, storage write/read/
// delete, DATA_DIR, PUBLIC_BASE_URL) and prints a pass/fail table. Exit status 0 only if all pass.
#include "config/config.hpp"

namespace partyline::tools {

int check(const config::Config& config);

}  // namespace partyline::tools
