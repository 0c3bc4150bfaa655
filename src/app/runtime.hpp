#pragma once
// Who the service is at Twilio (the account and token it checks signatures with and authenticates
// with) and where Twilio reaches it. Built once per process, here: from the configuration, or in
// local mode from DATA_DIR's local credentials (app/local_credentials.hpp).
#include <string>

#include "config/config.hpp"
#include "twilio/credentials.hpp"

namespace partyline::app {

struct Runtime {
  std::string public_base_url;  // local mode: known once the service has bound its port
  twilio::Credentials twilio;
};

// The service creates local mode's credentials on its first start; commands only read them.
enum class LocalCredentialsUse { kReadOnly, kCreate };

// Throws std::runtime_error naming the file when local mode's credentials cannot be read (or,
// with kCreate, written). kReadOnly in local mode: public_base_url, when not configured, is the
// one the running service wrote there.
Runtime load_runtime(const config::Config& config, LocalCredentialsUse use);

// Local mode: records the URL the service listens on next to the credentials, for `simulate`.
// Throws std::runtime_error when the file cannot be written.
void publish_local_runtime(const config::Config& config, const Runtime& runtime);

}  // namespace partyline::app
