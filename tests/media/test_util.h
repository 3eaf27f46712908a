// Helpers for the media tests: a scratch folder, the external tools that make test files (skipped
// with a reason when missing), and signal measurements.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "media/media.h"

namespace hearth::media::testing {

inline bool HaveTool(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

#define REQUIRE_TOOL(tool)                                                        \
  do {                                                                            \
    if (!::hearth::media::testing::HaveTool(tool)) {                              \
      GTEST_SKIP() << tool << " is not installed (scripts/install-deps.sh installs it)"; \
    }                                                                             \
  } while (0)

// A fresh folder per test, removed afterwards.
class MediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hearth-media-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs a shell command in the scratch folder; fails the test (with the command) on a non-zero
  // exit.
  void Sh(const std::string& cmd) {
    std::string full = "cd '" + dir_.string() + "' && " + cmd + " >/dev/null 2>'" +
                       Path("stderr.txt") + "'";
    int rc = std::system(full.c_str());
    std::ifstream err(Path("stderr.txt"));
    std::string msg((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    ASSERT_EQ(rc, 0) << cmd << "\n" << msg;
  }
  // ffmpeg with the flags every call wants.
  void Ffmpeg(const std::string& args) { Sh("ffmpeg -nostdin -hide_banner -loglevel error -y " + args); }

  std::vector<uint8_t> Read(const std::string& name) {
    Result<std::vector<uint8_t>> r = ReadFile(Path(name));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<uint8_t>{};
  }
  void Write(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::ofstream(Path(name), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  std::filesystem::path dir_;
};

inline std::vector<uint8_t> Prefix(const std::vector<uint8_t>& b, size_t n) {
  return {b.begin(), b.begin() + std::min(n, b.size())};
}

// Frequency from positive-going zero crossings over the middle 80% of the signal.
inline double ZeroCrossingHz(const std::vector<float>& s, int rate) {
  size_t lo = s.size() / 10, hi = s.size() - s.size() / 10;
  size_t first = 0, last = 0, n = 0;
  for (size_t i = lo + 1; i < hi; ++i) {
    if (s[i - 1] < 0 && s[i] >= 0) {
      if (n == 0) first = i;
      last = i;
      ++n;
    }
  }
  if (n < 2) return 0;
  return double(n - 1) * rate / double(last - first);
}

inline float Peak(const std::vector<float>& s) {
  float p = 0;
  for (float v : s) p = std::max(p, std::fabs(v));
  return p;
}

inline double Rms(const std::vector<float>& s) {
  double sum = 0;
  for (float v : s) sum += double(v) * v;
  return s.empty() ? 0 : std::sqrt(sum / s.size());
}

// The RGB of pixel (x, y).
inline std::array<int, 3> Px(const Image& im, int x, int y) {
  const uint8_t* p = &im.rgb[(size_t(y) * im.width + x) * 3];
  return {p[0], p[1], p[2]};
}

inline ::testing::AssertionResult Near(const std::array<int, 3>& got,
                                       const std::array<int, 3>& want, int tol) {
  for (int c = 0; c < 3; ++c) {
    if (std::abs(got[c] - want[c]) > tol) {
      return ::testing::AssertionFailure()
             << "got (" << got[0] << "," << got[1] << "," << got[2] << "), want (" << want[0]
             << "," << want[1] << "," << want[2] << ") +-" << tol;
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace hearth::media::testing
