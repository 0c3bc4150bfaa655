#pragma once
// `partyline serve`: the service's life from start to SIGTERM — DATA_DIR and the runtime identity,
// the listeners, the backend (stores, storage, pipeline), the periodic reconciler, the log lines
// that say how it runs.
#include "config/config.hpp"

namespace partyline::app {

// Runs until SIGINT/SIGTERM. Returns the process's exit status (2: a configuration error).
int serve(const config::Config& config);

}  // namespace partyline::app
