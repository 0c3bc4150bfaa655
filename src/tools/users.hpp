#pragma once
// `partyline users [list]`, `users add NAME [--role admin|producer]`, `users passwd NAME`,
// `users remove NAME`: the console's users, in DATA_DIR's console database. A password is read
// from standard input: one line when it is not a terminal; on a terminal, asked twice without echo.
// passwd and remove end that user's sessions.
#include <string>

#include "config/config.hpp"

namespace partyline::tools {

// action: "list", "add", "passwd" or "remove"; role: "admin" or "producer" (add only).
// Returns the exit status: 0, 1 (no such user, the name taken, I/O), 2 (bad name, role or
// password).
int users(const config::Config& config, const std::string& action, const std::string& name,
          const std::string& role);

}  // namespace partyline::tools
