// Cutting real audio, made by ffmpeg in the test (Debian's ffmpeg package, from
// scripts/install-deps.sh); skipped only where ffmpeg is not installed.
#include "transcribe/chunks.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../db/test_dir.hpp"
#include "transcribe/process.hpp"

namespace partyline::transcribe {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using db::testing::TestDir;

const char* const kFfmpeg = "/usr/bin/ffmpeg";
const char* const kFfprobe = "/usr/bin/ffprobe";

bool have_ffmpeg() {
  return ::access(kFfmpeg, X_OK) == 0 && ::access(kFfprobe, X_OK) == 0;
}

// `seconds` of a 440 Hz tone, encoded as the file's extension says with `codec_args`.
fs::path make_audio(const fs::path& file, int seconds, std::vector<std::string> codec_args) {
  std::vector<std::string> argv = {
      kFfmpeg, "-nostdin", "-loglevel", "error",
      "-f",    "lavfi",    "-i",        "sine=frequency=440:duration=" + std::to_string(seconds)};
  argv.insert(argv.end(), codec_args.begin(), codec_args.end());
  argv.push_back(file.string());
  const auto done = run_program(argv, 60s);
  EXPECT_TRUE(done && done->exit_code == 0) << (done ? done->err : done.error().reason);
  return file;
}

double probed_duration(const fs::path& file) {
  const auto done = run_program({kFfprobe, "-v", "error", "-show_entries", "format=duration", "-of",
                                 "default=noprint_wrappers=1:nokey=1", file.string()},
                                60s);
  EXPECT_TRUE(done && done->exit_code == 0);
  return done ? std::stod(done->out) : -1;
}

void write(const fs::path& file, std::size_t bytes) {
  std::ofstream(file) << std::string(bytes, 'x');
}

TEST(Chunks, AFileThatFitsIsUsedAsItIsWithoutFfmpeg) {
  TestDir dir;
  const fs::path audio = dir.path() / "small.mp3";
  write(audio, 1000);
  ChunkOptions options{.max_bytes = 1000,
                       .ffmpeg = "/nonexistent/ffmpeg",
                       .ffprobe = "/nonexistent/ffprobe",
                       .work_dir = dir.path()};
  const auto chunks = split(audio, options);
  ASSERT_TRUE(chunks) << chunks.error().reason;
  EXPECT_FALSE(chunks->was_cut());
  ASSERT_EQ(chunks->list().size(), 1u);
  EXPECT_EQ(chunks->list()[0].file, audio);
  EXPECT_EQ(chunks->list()[0].offset, 0);
}

// Each piece fits; each starts where the one before ends (±0.1 s, by ffprobe on the pieces
// themselves); together they are the whole recording; the temporary folder goes with them.
void expect_cut(const fs::path& audio, std::uint64_t max_bytes, std::size_t at_least,
                const fs::path& work_dir, const std::string& extension) {
  const double whole = probed_duration(audio);
  auto chunks = split(audio, ChunkOptions{.max_bytes = max_bytes, .work_dir = work_dir});
  ASSERT_TRUE(chunks) << chunks.error().reason;
  EXPECT_TRUE(chunks->was_cut());
  const std::vector<Chunk>& list = chunks->list();
  ASSERT_GE(list.size(), at_least);
  EXPECT_EQ(list[0].offset, 0);
  double covered = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    SCOPED_TRACE(list[i].file.string());
    ASSERT_TRUE(fs::exists(list[i].file));
    EXPECT_EQ(list[i].file.extension(), extension);
    EXPECT_LE(fs::file_size(list[i].file), max_bytes);
    EXPECT_NEAR(list[i].offset, covered, 0.1);
    covered += probed_duration(list[i].file);
  }
  EXPECT_NEAR(covered, whole, 0.1);
  const fs::path folder = list[0].file.parent_path();
  EXPECT_NE(folder, audio.parent_path());
  Chunks moved = std::move(*chunks);
  EXPECT_TRUE(fs::exists(folder));
  { const Chunks gone = std::move(moved); }
  EXPECT_FALSE(fs::exists(folder));
}

TEST(Chunks, CutsAnMp3IntoPiecesWhoseOffsetsAddUp) {
  if (!have_ffmpeg()) GTEST_SKIP() << "needs Debian's ffmpeg (" << kFfmpeg << ")";
  TestDir dir;
  // 30 s at 32 kb/s (Twilio's MP3 rate): about 120 KB.
  const fs::path audio = make_audio(dir.path() / "call.mp3", 30, {"-b:a", "32k"});
  expect_cut(audio, 40'000, 3, dir.path(), ".mp3");
}

TEST(Chunks, CutsAWavIntoPiecesWhoseOffsetsAddUp) {
  if (!have_ffmpeg()) GTEST_SKIP() << "needs Debian's ffmpeg (" << kFfmpeg << ")";
  TestDir dir;
  // 20 s of 8 kHz 16-bit mono (Twilio's WAV): 320 KB.
  const fs::path audio =
      make_audio(dir.path() / "call.WAV", 20, {"-ar", "8000", "-ac", "1", "-c:a", "pcm_s16le"});
  expect_cut(audio, 100'000, 4, dir.path(), ".wav");  // in lower case
}

TEST(Chunks, FailsClearlyWithoutFfmpeg) {
  TestDir dir;
  const fs::path audio = dir.path() / "big.mp3";
  write(audio, 2000);
  const auto chunks = split(audio, {.max_bytes = 1000, .ffprobe = "/nonexistent/ffprobe"});
  ASSERT_FALSE(chunks);
  EXPECT_FALSE(chunks.error().transient());
  EXPECT_NE(chunks.error().reason.find("install Debian's ffmpeg"), std::string::npos)
      << chunks.error().reason;
}

TEST(Chunks, RefusesWhatItCannotCut) {
  TestDir dir;
  EXPECT_FALSE(split(dir.path() / "missing.mp3", {}));
  const fs::path bare = dir.path() / "no-extension";
  write(bare, 2000);
  EXPECT_FALSE(split(bare, {.max_bytes = 1000}));
  if (!have_ffmpeg()) return;
  const fs::path garbage = dir.path() / "garbage.mp3";  // not audio: ffprobe finds no duration
  write(garbage, 2000);
  const auto chunks = split(garbage, {.max_bytes = 1000, .work_dir = dir.path()});
  ASSERT_FALSE(chunks);
  EXPECT_NE(chunks.error().reason.find("ffprobe"), std::string::npos) << chunks.error().reason;
  // Not even one second fits.
  const fs::path audio = make_audio(dir.path() / "tone.mp3", 5, {"-b:a", "32k"});
  const auto tiny = split(audio, {.max_bytes = 2000, .work_dir = dir.path()});
  ASSERT_FALSE(tiny);
  EXPECT_NE(tiny.error().reason.find("not even a second"), std::string::npos)
      << tiny.error().reason;
  // Nothing is left behind by the failures.
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("partyline-chunks-")) << entry.path();
  }
}

}  // namespace
}  // namespace partyline::transcribe
