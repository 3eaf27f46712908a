// Test models for the engine tests: written once per binary by the project's test-model writer
// (tools/testmodel.h) into the build tree and loaded once.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "core/check.h"
#include "engine/loader.h"
#include "tools/testmodel.h"

namespace hearth::engine {

inline const LoadedModel& Model(const std::string& variant, const std::string& type) {
  static std::map<std::string, std::unique_ptr<LoadedModel>> cache;
  const std::string key = variant + "-" + type;
  auto& slot = cache[key];
  if (!slot) {
    const std::string dir = std::string(HEARTH_BINARY_DIR) + "/testmodels-unit";
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/" + key + ".gguf";
    testmodel::Options o;
    o.variant = variant;
    o.type = type;
    Status s = testmodel::Write(o, path);
    CHECK(s.ok()) << s.ToString();
    Result<LoadedModel> lm = LoadModel(path, {.progress = false});
    CHECK(lm.ok()) << lm.status().ToString();
    slot = std::make_unique<LoadedModel>(std::move(lm).value());
  }
  return *slot;
}

}  // namespace hearth::engine
