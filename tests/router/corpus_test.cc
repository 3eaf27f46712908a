// Precision and recall of the built-in detectors on the labelled corpus in tests/router/corpus/
// (generated positives and negatives plus hand-written hard cases). Prints the table that
// docs/ROUTING.md reports, and asserts each figure above a named floor.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/detectors.h"

namespace hearth::router {
namespace {

// Floors set a little under the measured figures (see docs/ROUTING.md), so that a regression in
// any detector fails the test while the generator's random draws leave some slack.
constexpr double kMinOverallPrecision = 0.97;
constexpr double kMinOverallRecall = 0.95;
constexpr double kMinTypePrecision = 0.90;
constexpr double kMinTypeRecall = 0.85;
constexpr size_t kMinPositives = 500;
constexpr size_t kMinNegatives = 500;

struct Row {
  std::string id;
  std::string text;
  std::vector<std::pair<std::string, std::string>> entities;  // type, value
};

std::vector<Row> Load(const std::string& name) {
  std::ifstream in(std::string(HEARTH_SOURCE_DIR) + "/tests/router/corpus/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    Row r{j["id"], j["text"], {}};
    for (const auto& e : j["entities"]) r.entities.emplace_back(e["type"], e["value"]);
    rows.push_back(std::move(r));
  }
  return rows;
}

struct Counts {
  int tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp == 0 ? 1.0 : double(tp) / (tp + fp); }
  double recall() const { return tp + fn == 0 ? 1.0 : double(tp) / (tp + fn); }
};

TEST(CorpusTest, PrecisionAndRecallPerEntityType) {
  std::vector<Row> pos = Load("positives.jsonl");
  std::vector<Row> neg = Load("negatives.jsonl");
  const std::vector<Row> hard = Load("hard_cases.jsonl");
  size_t n_pos = pos.size(), n_neg = neg.size();
  for (const Row& r : hard) (r.entities.empty() ? n_neg : n_pos)++;
  ASSERT_GE(n_pos, kMinPositives);
  ASSERT_GE(n_neg, kMinNegatives);
  std::vector<Row> all = pos;
  all.insert(all.end(), neg.begin(), neg.end());
  all.insert(all.end(), hard.begin(), hard.end());

  auto detector = Detector::Create({});
  ASSERT_TRUE(detector.ok());
  std::map<std::string, Counts> by_type;
  Counts overall;
  int misses_printed = 0;
  for (const Row& r : all) {
    struct Label {
      std::string type;
      size_t begin, end;
      bool matched = false;
    };
    std::vector<Label> labels;
    for (const auto& [type, value] : r.entities) {
      const size_t at = r.text.find(value);
      ASSERT_NE(at, std::string::npos) << r.id << ": value not in text";
      labels.push_back({type, at, at + value.size()});
    }
    for (const Finding& f : detector->Scan(r.text)) {
      bool hit = false;
      for (Label& l : labels) {
        if (!l.matched && l.type == f.type && f.begin < l.end && l.begin < f.end) {
          l.matched = hit = true;
          break;
        }
      }
      Counts& c = by_type[f.type];
      if (hit) {
        ++c.tp, ++overall.tp;
      } else {
        ++c.fp, ++overall.fp;
        if (misses_printed++ < 20) {
          std::printf("  false positive %s in %s: \"%s\"\n", f.type.c_str(), r.id.c_str(),
                      r.text.substr(f.begin, f.size()).c_str());
        }
      }
    }
    for (const Label& l : labels) {
      if (l.matched) continue;
      ++by_type[l.type].fn, ++overall.fn;
      if (misses_printed++ < 40) {
        std::printf("  missed %s in %s: \"%s\"\n", l.type.c_str(), r.id.c_str(),
                    r.text.substr(l.begin, l.end - l.begin).c_str());
      }
    }
  }
  std::printf("| entity type | TP | FP | FN | precision | recall |\n|---|---|---|---|---|---|\n");
  for (const auto& [type, c] : by_type) {
    std::printf("| %s | %d | %d | %d | %.3f | %.3f |\n", type.c_str(), c.tp, c.fp, c.fn,
                c.precision(), c.recall());
  }
  std::printf("| **overall** (%zu positive, %zu negative snippets) | %d | %d | %d | %.3f | %.3f |\n",
              n_pos, n_neg, overall.tp, overall.fp, overall.fn, overall.precision(),
              overall.recall());
  EXPECT_GE(overall.precision(), kMinOverallPrecision);
  EXPECT_GE(overall.recall(), kMinOverallRecall);
  for (const auto& [type, c] : by_type) {
    EXPECT_GE(c.precision(), kMinTypePrecision) << type;
    EXPECT_GE(c.recall(), kMinTypeRecall) << type;
  }
}

}  // namespace
}  // namespace hearth::router
