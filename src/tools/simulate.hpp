#pragma once
// `partyline simulate`: plays Twilio against a running local-mode service. It signs with the
// token in DATA_DIR/local-credentials.json and serves the recording's media itself on
// 127.0.0.1 (which local mode accepts as the media origin), so a newcomer sees the whole flow.
#include "config/config.hpp"

namespace partyline::tools {

// Returns the process exit code; prints progress on stdout, problems on stderr.
int simulate(const config::Config& config);

}  // namespace partyline::tools
