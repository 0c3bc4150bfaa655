#include "transcribe/chunks.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "transcribe/process.hpp"

namespace partyline::transcribe {
namespace {

namespace fs = std::filesystem;

constexpr double kFill = 0.8;  // of max_bytes, at the average rate: room for a denser stretch
constexpr int kAttempts = 3;   // cuts, each with half the previous piece length
constexpr const char* kList = "list.csv";

util::Failure failed(std::string what) {
  return util::Failure::later("cutting the audio: " + std::move(what));
}

// The first line of a helper's complaint, for the reason.
std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > 300) line.resize(300);
  return line;
}

std::optional<double> to_number(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

util::Result<Finished> run(const ChunkOptions& options, std::vector<std::string> argv,
                           const fs::path& directory = {}) {
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return failed(argv[0] + " is needed for audio over " + std::to_string(options.max_bytes) +
                  " bytes (install Debian's ffmpeg)");
  }
  auto finished = run_program(argv, options.timeout, directory);
  if (!finished) return failed(finished.error().reason);
  if (finished->exit_code != 0) {
    return failed(fs::path(argv[0]).filename().string() + " exited with " +
                  std::to_string(finished->exit_code) + ": " + first_line(finished->err));
  }
  return finished;
}

// Seconds of audio in `file`, as ffprobe reads its container.
util::Result<double> duration_of(const fs::path& file, const ChunkOptions& options) {
  auto probe = run(options, {options.ffprobe.string(), "-v", "error", "-protocol_whitelist", "file",
                             "-show_entries", "format=duration", "-of",
                             "default=noprint_wrappers=1:nokey=1", file.string()});
  if (!probe) return probe.error();
  const auto seconds = to_number(probe->out);
  if (!seconds || *seconds <= 0) return failed("ffprobe found no duration in the file");
  return *seconds;
}

// ffmpeg's segment list (-segment_list_type csv): one "name,start,end" line per piece, in order.
util::Result<std::vector<Chunk>> read_list(const fs::path& folder) {
  std::ifstream in(folder / kList);
  if (!in) return failed("ffmpeg wrote no segment list");
  std::vector<Chunk> chunks;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto first = line.find(',');
    const auto second = first == std::string::npos ? first : line.find(',', first + 1);
    if (second == std::string::npos) return failed("a malformed segment list line: " + line);
    const std::string name = line.substr(0, first);
    const auto start = to_number(std::string_view(line).substr(first + 1, second - first - 1));
    const bool ours = name.starts_with("chunk-") && name.find('/') == std::string::npos;
    const double previous = chunks.empty() ? -1 : chunks.back().offset;
    if (!ours || !start || *start < 0 || *start <= previous) {
      return failed("an unexpected segment list line: " + line);
    }
    chunks.push_back({folder / name, *start});
  }
  if (chunks.empty()) return failed("ffmpeg made no pieces");
  return chunks;
}

// One cut into `folder` with pieces of `seconds` (-y: over the pieces of an earlier cut, which
// were longer and so fewer); the pieces, or a failure.
util::Result<std::vector<Chunk>> cut(const fs::path& audio, const std::string& extension,
                                     long seconds, const fs::path& folder,
                                     const ChunkOptions& options) {
  std::vector<std::string> argv = {options.ffmpeg.string(), "-nostdin", "-hide_banner", "-y"};
  argv.insert(argv.end(),
              {"-loglevel", "error", "-protocol_whitelist", "file", "-i", audio.string()});
  // The first audio stream, not re-encoded, each piece's timestamps starting from 0.
  argv.insert(argv.end(), {"-map", "0:a:0", "-c", "copy", "-reset_timestamps", "1"});
  argv.insert(argv.end(), {"-f", "segment", "-segment_time", std::to_string(seconds)});
  argv.insert(argv.end(), {"-segment_list", kList, "-segment_list_type", "csv"});
  argv.push_back("chunk-%04d." + extension);
  auto done = run(options, std::move(argv), folder);
  if (!done) return done.error();
  return read_list(folder);
}

bool all_fit(const std::vector<Chunk>& chunks, std::uint64_t max_bytes) {
  return std::all_of(chunks.begin(), chunks.end(), [&](const Chunk& c) {
    std::error_code ec;
    const auto size = fs::file_size(c.file, ec);
    return !ec && size <= max_bytes;
  });
}

// "mp3" from "…/x.MP3"; "" when the name has no plain extension.
std::string extension_of(const fs::path& file) {
  std::string ext = file.extension().string();
  if (ext.size() < 2) return {};
  ext.erase(0, 1);
  for (char& c : ext) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return {};
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return ext;
}

}  // namespace

Chunks::Chunks(Chunks&& other) noexcept
    : folder_(std::exchange(other.folder_, {})), chunks_(std::move(other.chunks_)) {}

Chunks& Chunks::operator=(Chunks&& other) noexcept {
  if (this != &other) {
    Chunks old(std::move(*this));  // removes this one's folder as it goes
    folder_ = std::exchange(other.folder_, {});
    chunks_ = std::move(other.chunks_);
  }
  return *this;
}

Chunks::~Chunks() {
  if (folder_.empty()) return;
  std::error_code ignored;
  fs::remove_all(folder_, ignored);
}

util::Result<Chunks> split(const fs::path& audio, const ChunkOptions& options) {
  std::error_code ec;
  const std::uint64_t size = fs::file_size(audio, ec);
  if (ec) return failed("cannot read " + audio.filename().string() + ": " + ec.message());
  Chunks result;
  if (size <= options.max_bytes) {
    result.chunks_.push_back({audio, 0});
    return result;
  }
  const std::string extension = extension_of(audio);
  if (extension.empty()) return failed("the file name has no extension to tell its format");
  const auto duration = duration_of(fs::absolute(audio), options);
  if (!duration) return duration.error();
  const double bytes_per_second = static_cast<double>(size) / *duration;
  long seconds =
      std::lround(std::floor(kFill * static_cast<double>(options.max_bytes) / bytes_per_second));
  if (seconds < 1) {
    return failed("not even a second of this audio fits in " + std::to_string(options.max_bytes) +
                  " bytes");
  }

  const fs::path parent = options.work_dir.empty() ? fs::temp_directory_path(ec) : options.work_dir;
  std::string pattern = (parent / "partyline-chunks-XXXXXX").string();
  if (ec || ::mkdtemp(pattern.data()) == nullptr) {
    return failed("cannot make a temporary folder in " + parent.string());
  }
  result.folder_ = pattern;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto chunks = cut(fs::absolute(audio), extension, seconds, result.folder_, options);
    if (!chunks) return chunks.error();
    if (all_fit(*chunks, options.max_bytes)) {
      result.chunks_ = std::move(*chunks);
      return result;
    }
    seconds /= 2;
    if (seconds < 1) break;
  }
  return failed("pieces still larger than " + std::to_string(options.max_bytes) + " bytes");
}

}  // namespace partyline::transcribe
