// libFuzzer target: an `.env` file's text into the parser the service reads --env-file with.
// A malformed line must be a ConfigError; any other exception escapes and is reported.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"
#include "config/env_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partyline::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const Env env = parse_env_file(text);
    for (const auto& [name, value] : env) {
      // Names are validated: never empty, never with '=' or a newline in them.
      if (name.empty() || name.find_first_of("=\n") != std::string::npos) std::abort();
    }
  } catch (const ConfigError&) {
  }
  return 0;
}
