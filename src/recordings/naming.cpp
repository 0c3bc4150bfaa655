#include "recordings/naming.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

namespace partyline::recordings {
namespace {

bool read_int(std::string_view& s, int digits_min, int digits_max, int& out) {
  int n = 0, used = 0;
  while (used < digits_max && used < static_cast<int>(s.size()) && s[used] >= '0' &&
         s[used] <= '9') {
    n = n * 10 + (s[used] - '0');
    ++used;
  }
  if (used < digits_min) return false;
  s.remove_prefix(used);
  out = n;
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

void skip_spaces(std::string_view& s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
}

std::optional<TimePoint> make_time(int y, int mon, int d, int h, int mi, int sec,
                                   int offset_minutes) {
  if (y < 1970 || y > 9999 || mon < 1 || mon > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      sec > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mon)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  const auto t =
      sys_days(ymd) + hours(h) + minutes(mi) + seconds(std::min(sec, 59)) - minutes(offset_minutes);
  return time_point_cast<system_clock::duration>(t);
}

}  // namespace

std::optional<TimePoint> parse_twilio_time(std::string_view s) {
  skip_spaces(s);
  int y = 0, mon = 0, d = 0, h = 0, mi = 0, sec = 0;
  // ISO 8601: YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm)
  if (s.size() >= 19 && s[4] == '-') {
    if (!read_int(s, 4, 4, y) || !expect(s, '-') || !read_int(s, 2, 2, mon) || !expect(s, '-') ||
        !read_int(s, 2, 2, d) || !(expect(s, 'T') || expect(s, ' ')) || !read_int(s, 2, 2, h) ||
        !expect(s, ':') || !read_int(s, 2, 2, mi) || !expect(s, ':') || !read_int(s, 2, 2, sec)) {
      return std::nullopt;
    }
    if (expect(s, '.')) {
      int frac = 0;
      if (!read_int(s, 1, 9, frac)) return std::nullopt;
    }
    int offset = 0;
    if (expect(s, 'Z')) {
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
      const int sign = s.front() == '-' ? -1 : 1;
      s.remove_prefix(1);
      int oh = 0, om = 0;
      if (!read_int(s, 2, 2, oh)) return std::nullopt;
      expect(s, ':');
      if (!read_int(s, 2, 2, om)) return std::nullopt;
      offset = sign * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
    if (!s.empty()) return std::nullopt;
    return make_time(y, mon, d, h, mi, sec, offset);
  }
  // RFC 2822: [Www, ]DD Mon YYYY hh:mm[:ss] (+hhmm|GMT|UT|UTC)
  if (auto comma = s.find(','); comma != std::string_view::npos && comma <= 3) {
    s.remove_prefix(comma + 1);
    skip_spaces(s);
  }
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (!read_int(s, 1, 2, d)) return std::nullopt;
  skip_spaces(s);
  if (s.size() < 3) return std::nullopt;
  const auto it = std::find(kMonths.begin(), kMonths.end(), s.substr(0, 3));
  if (it == kMonths.end()) return std::nullopt;
  mon = static_cast<int>(it - kMonths.begin()) + 1;
  s.remove_prefix(3);
  skip_spaces(s);
  if (!read_int(s, 4, 4, y)) return std::nullopt;
  skip_spaces(s);
  if (!read_int(s, 2, 2, h) || !expect(s, ':') || !read_int(s, 2, 2, mi)) return std::nullopt;
  if (expect(s, ':') && !read_int(s, 2, 2, sec)) return std::nullopt;
  skip_spaces(s);
  int offset = 0;
  if (s == "GMT" || s == "UT" || s == "UTC" || s == "Z") {
  } else if (s.size() == 5 && (s[0] == '+' || s[0] == '-')) {
    const int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int hhmm = 0;
    if (!read_int(s, 4, 4, hhmm)) return std::nullopt;
    offset = sign * ((hhmm / 100) * 60 + hhmm % 100);
  } else {
    return std::nullopt;
  }
  return make_time(y, mon, d, h, mi, sec, offset);
}

namespace {
std::string format(TimePoint t, const char* pattern) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, pattern, &tm);
  return buf;
}
}  // namespace

std::string key_timestamp(TimePoint t) {
  return format(t, "%Y-%m-%dT%H-%M-%SZ");
}
std::string iso8601(TimePoint t) {
  return format(t, "%Y-%m-%dT%H:%M:%SZ");
}

std::string beside(const std::string& key, std::string_view suffix) {
  const auto dot = key.rfind('.'), slash = key.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return key + std::string(suffix);
  }
  return key.substr(0, dot) + std::string(suffix);
}

std::string media_type(std::string_view key) {
  return key.ends_with(".wav") ? "audio/wav" : "audio/mpeg";
}

std::string recording_key(std::string_view prefix, TimePoint start, std::string_view recording_sid,
                          std::string_view extension) {
  return std::string(prefix) + key_timestamp(start) + "-" + std::string(recording_sid) + "." +
         std::string(extension);
}

std::chrono::milliseconds backoff_delay(unsigned attempt, std::chrono::milliseconds min,
                                        std::chrono::milliseconds max, double random01) {
  const auto step_ms = [&] {
    long double step = static_cast<long double>(min.count());
    for (unsigned i = 0; i < attempt && step < max.count(); ++i)
      step *= 2;
    return std::min<long double>(step, static_cast<long double>(max.count()));
  }();
  const double r = std::clamp(random01, 0.0, 1.0);
  const auto ms = static_cast<std::int64_t>(step_ms / 2 + step_ms / 2 * r);
  return std::chrono::milliseconds(std::max<std::int64_t>(ms, 1));
}

}  // namespace partyline::recordings
