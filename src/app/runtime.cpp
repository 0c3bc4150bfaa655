#include "app/runtime.hpp"

#include "app/local_credentials.hpp"

namespace partyline::app {

Runtime load_runtime(const config::Config& config, LocalCredentialsUse use) {
  if (!config.local_mode) {
    return {config.public_base_url, {config.twilio_account_sid, config.twilio_auth_token}};
  }
  const LocalCredentials local = use == LocalCredentialsUse::kCreate
                                     ? load_or_create_local_credentials(config.data_dir)
                                     : read_local_credentials(config.data_dir);
  // A command run beside a local service reaches it where that service said it listens.
  std::string url = config.public_base_url.empty() && use == LocalCredentialsUse::kReadOnly
                        ? local.public_base_url
                        : config.public_base_url;
  return {std::move(url), {local.account_sid, config::Secret(local.auth_token)}};
}

void publish_local_runtime(const config::Config& config, const Runtime& runtime) {
  if (!config.local_mode) return;
  // The console's password, when there is one already, stays.
  LocalCredentials kept = read_local_credentials(config.data_dir);
  save_local_credentials(config.data_dir,
                         {runtime.twilio.account_sid, runtime.twilio.auth_token.reveal(),
                          runtime.public_base_url, kept.console_password});
}

}  // namespace partyline::app
