#pragma once
// Audio too large for the transcription endpoint (25 MB at OpenAI and Groq) cut into pieces that
// fit, with Debian's ffmpeg: `-f segment -c copy` (no re-encoding), its segment list giving each
// piece's start time. A file that fits is used as it is, so ffmpeg is needed only for large ones.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "util/result.hpp"

namespace partyline::transcribe {

struct ChunkOptions {
  std::uint64_t max_bytes = 25'000'000;  // the endpoint's upload limit (TRANSCRIBE_MAX_BYTES)
  std::filesystem::path ffmpeg = "/usr/bin/ffmpeg";
  std::filesystem::path ffprobe = "/usr/bin/ffprobe";  // the same package; gives the duration
  std::filesystem::path work_dir{};   // where the pieces' temporary folder goes; "": the system's
  std::chrono::seconds timeout{600};  // for each run of ffmpeg or ffprobe
};

struct Chunk {
  std::filesystem::path file;  // the recording's extension, in lower case
  double offset = 0;           // seconds into the recording where this piece starts
};

// The pieces of one recording, in order. Owns the temporary folder they are in and removes it
// (and them) when it goes; a recording that was not cut is one Chunk, the file itself, untouched.
class Chunks {
 public:
  Chunks(Chunks&& other) noexcept;
  Chunks& operator=(Chunks&& other) noexcept;
  Chunks(const Chunks&) = delete;
  Chunks& operator=(const Chunks&) = delete;
  ~Chunks();

  const std::vector<Chunk>& list() const { return chunks_; }
  bool was_cut() const { return !folder_.empty(); }

 private:
  Chunks() = default;
  friend util::Result<Chunks> split(const std::filesystem::path&, const ChunkOptions&);

  std::filesystem::path folder_;  // "" when nothing was cut
  std::vector<Chunk> chunks_;
};

// `audio` (its extension names its format: "mp3", "wav", …) as pieces of at most max_bytes
// each. Over max_bytes: the duration from ffprobe, a piece length that keeps each piece near
// 80% of max_bytes at the file's average bytes per second, ffmpeg cuts with that length (halved
// and cut again, at most twice, if a piece still came out too large). Failure::later when the
// file cannot be read, ffmpeg or ffprobe is missing, fails or overruns the timeout, or no piece
// length of a second or more fits.
util::Result<Chunks> split(const std::filesystem::path& audio, const ChunkOptions& options);

}  // namespace partyline::transcribe
