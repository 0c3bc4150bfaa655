#include "storage/local_store.hpp"

#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

#include "util/crypto.hpp"

namespace partyline::storage {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kCopyBuffer = 256 * 1024;

std::string errno_text(std::string_view what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// Closes on every path out of put_if_absent.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Copies src to the already open dst; returns "" or the error.
std::string copy_to(int src, int dst, std::uint64_t& copied) {
  std::vector<char> buffer(kCopyBuffer);
  copied = 0;
  for (;;) {
    const ssize_t r = ::read(src, buffer.data(), buffer.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno_text("read spool file", errno);
    }
    if (r == 0) return "";
    if (!write_all(dst, buffer.data(), static_cast<std::size_t>(r))) {
      return errno_text("write temp file", errno);
    }
    copied += static_cast<std::uint64_t>(r);
  }
}

// The local disk, a bad key or an object of another size: not repeated at once.
util::Failure failure(std::string error) {
  return util::Failure::later(std::move(error));
}

// The final object exists already: same size is taken as the same recording (keys are
// deterministic per RecordingSid); a different size is never overwritten.
util::Result<PutOutcome> existing(const fs::path& final_path, std::uint64_t size) {
  struct stat st {};
  if (::stat(final_path.c_str(), &st) != 0) return failure(errno_text("stat existing", errno));
  if (static_cast<std::uint64_t>(st.st_size) != size) {
    return failure("object exists with size " + std::to_string(st.st_size) + ", local size " +
                   std::to_string(size) + "; not overwritten");
  }
  return PutOutcome::kAlreadyExists;
}

}  // namespace

bool is_temp_file_name(const std::string& name) {
  constexpr std::string_view kMark = ".tmp-";
  constexpr std::size_t kHex = 16;
  if (name.size() < 2 + kMark.size() + kHex || name.front() != '.') return false;
  const std::string_view tail = std::string_view(name).substr(name.size() - kHex - kMark.size());
  return tail.starts_with(kMark) &&
         std::all_of(tail.begin() + kMark.size(), tail.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::size_t LocalStore::remove_temp_files() {
  std::size_t removed = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_regular_file(entry_ec) || !is_temp_file_name(it->path().filename().string()))
      continue;
    if (fs::remove(it->path(), entry_ec)) ++removed;
  }
  return removed;
}

bool is_safe_key(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.find('\0') != std::string::npos) return false;
  std::string_view rest(key);
  for (;;) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) return true;
    rest.remove_prefix(slash + 1);
  }
}

LocalStore::LocalStore(fs::path root) : root_(fs::absolute(std::move(root)).lexically_normal()) {}

std::optional<fs::path> LocalStore::path_for(const std::string& key) const {
  if (!is_safe_key(key)) return std::nullopt;
  return root_ / key;
}

std::string LocalStore::location(const std::string& key) const {
  const auto path = path_for(key);
  return path ? path->string() : std::string();
}

util::Result<std::string> LocalStore::read_small(const std::string& key) {
  const auto path = path_for(key);
  if (!path) return failure("invalid key");
  std::ifstream in(*path, std::ios::binary);
  if (!in) return failure("cannot read " + path->string());
  std::string body(1 << 20, '\0');
  in.read(body.data(), static_cast<std::streamsize>(body.size()));
  body.resize(static_cast<std::size_t>(in.gcount()));
  return util::Result<std::string>(boost::system::in_place_value, std::move(body));
}

util::Result<void> LocalStore::remove(const std::string& key) {
  const auto path = path_for(key);
  if (!path) return failure("invalid key");
  if (::unlink(path->c_str()) != 0 && errno != ENOENT) return failure(errno_text("unlink", errno));
  return {};
}

util::Result<Head> LocalStore::head(const std::string& key) {
  const auto path = path_for(key);
  if (!path) return failure("invalid key");
  struct stat st {};
  if (::stat(path->c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) return failure(errno_text("stat", errno));
    return Head{};
  }
  return Head{.exists = true, .size = static_cast<std::uint64_t>(st.st_size)};
}

util::Result<PutOutcome> LocalStore::put_if_absent(const std::string& key, const Object& object) {
  const auto final_path = path_for(key);
  if (!final_path) return failure("invalid key");
  const fs::path dir = final_path->parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return failure("create directories: " + ec.message());

  // Cheap early answer for the common retry; link() below is what actually decides.
  if (::access(final_path->c_str(), F_OK) == 0) return existing(*final_path, object.size);

  Fd src(::open(object.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) return failure(errno_text("open spool file", errno));

  // Same directory as the final name, so link() cannot cross file systems.
  std::string temp_name = ".";  // built with += : g++ 12 -O3 warns falsely on "." + string
  temp_name += final_path->filename().string();
  temp_name += ".tmp-";
  temp_name += util::hex_lower(util::random_bytes(8));
  const fs::path temp = dir / temp_name;
  std::uint64_t copied = 0;
  {
    Fd dst(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!dst.valid()) return failure(errno_text("create temp file", errno));
    std::string error = copy_to(src.get(), dst.get(), copied);
    if (error.empty() && copied != object.size) {
      error = "spool file has " + std::to_string(copied) + " bytes, expected " +
              std::to_string(object.size);
    }
    if (error.empty() && ::fsync(dst.get()) != 0) error = errno_text("fsync temp file", errno);
    if (!error.empty()) {
      ::unlink(temp.c_str());
      return failure(error);
    }
  }

  // link() fails with EEXIST instead of replacing, unlike rename(): the create-only publish.
  const int linked = ::link(temp.c_str(), final_path->c_str());
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return existing(*final_path, object.size);
    return failure(errno_text("link", link_errno));
  }

  // The new directory entry is durable only once the directory itself is synced.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return failure(errno_text("open directory", errno));
  if (::fsync(dir_fd.get()) != 0) return failure(errno_text("fsync directory", errno));

  return PutOutcome::kStored;
}

}  // namespace partyline::storage
