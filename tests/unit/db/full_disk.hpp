#pragma once
// A full DATA_DIR without filling a disk: a SQLite VFS that wraps the default one, registered as
// the default while it lives, and fails every write with SQLITE_FULL ("database or disk is full",
// what SQLite reports on ENOSPC) while full() is on. Only connections opened while it is
// registered are affected; destroy them before it.
#include <sqlite3.h>

#include <atomic>
#include <mutex>

namespace partyline::db::testing {

class FullDisk {
 public:
  FullDisk() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "partyline-full-disk";
    vfs_.pNext = nullptr;
    vfs_.xOpen = &FullDisk::open;
    // Everything else goes to the real VFS with itself as the argument (it may read pAppData).
    vfs_.xDelete = [](sqlite3_vfs*, const char* n, int s) { return real_->xDelete(real_, n, s); };
    vfs_.xAccess = [](sqlite3_vfs*, const char* n, int f, int* o) {
      return real_->xAccess(real_, n, f, o);
    };
    vfs_.xFullPathname = [](sqlite3_vfs*, const char* n, int size, char* out) {
      return real_->xFullPathname(real_, n, size, out);
    };
    vfs_.xRandomness = [](sqlite3_vfs*, int n, char* out) {
      return real_->xRandomness(real_, n, out);
    };
    vfs_.xSleep = [](sqlite3_vfs*, int us) { return real_->xSleep(real_, us); };
    vfs_.xCurrentTime = [](sqlite3_vfs*, double* t) { return real_->xCurrentTime(real_, t); };
    vfs_.xGetLastError = [](sqlite3_vfs*, int n, char* out) {
      return real_->xGetLastError(real_, n, out);
    };
    vfs_.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* t) {
      return real_->xCurrentTimeInt64(real_, t);
    };
    active_ = this;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~FullDisk() {
    sqlite3_vfs_unregister(&vfs_);
    active_ = nullptr;
  }
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;

  void full(bool on) { full_ = on; }
  int failed_writes() const { return failed_; }

 private:
  // The real VFS gives database files and journals different methods: each kind gets its own
  // copy with xWrite replaced, and write() finds the real one by the copy the file points to.
  struct Wrapped {
    const sqlite3_io_methods* real = nullptr;
    sqlite3_io_methods copy{};
  };
  static constexpr int kKinds = 8;

  static int open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out) {
    const int rc = real_->xOpen(real_, name, file, flags, out);
    if (rc != SQLITE_OK || file->pMethods == nullptr) return rc;
    std::lock_guard lock(active_->mutex_);
    for (auto& kind : active_->kinds_) {
      if (kind.real == nullptr) {
        kind.real = file->pMethods;
        kind.copy = *file->pMethods;
        kind.copy.xWrite = &FullDisk::write;
      }
      if (kind.real == file->pMethods) {
        file->pMethods = &kind.copy;
        break;
      }
    }
    return rc;
  }
  static int write(sqlite3_file* file, const void* data, int n, sqlite3_int64 offset) {
    if (active_->full_) {
      ++active_->failed_;
      return SQLITE_FULL;
    }
    for (const auto& kind : active_->kinds_) {
      if (&kind.copy == file->pMethods) return kind.real->xWrite(file, data, n, offset);
    }
    return SQLITE_IOERR_WRITE;
  }

  static inline sqlite3_vfs* real_ = nullptr;
  static inline FullDisk* active_ = nullptr;
  sqlite3_vfs vfs_{};
  std::mutex mutex_;
  Wrapped kinds_[kKinds];
  std::atomic<bool> full_{false};
  std::atomic<int> failed_{0};
};

}  // namespace partyline::db::testing
