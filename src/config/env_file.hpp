#pragma once
// `.env` files in the form users know from dotenv: KEY=VALUE lines, `#` comments, optional
// `export `, single quotes literal, double quotes with \n \t \" \\ escapes.
#include <filesystem>
#include <string_view>

#include "config/config.hpp"

namespace partyline::config {

// Parses the text; throws ConfigError("--env-file", "line N: ...") on a malformed line.
Env parse_env_file(std::string_view text);

// Reads the file and merges it under `env`: variables already in the environment win.
Env merge_env_file(const Env& env, const std::filesystem::path& file);

}  // namespace partyline::config
