// hearth make-test-model: write a tiny (or real-shaped) random-weight Gemma GGUF.
#include <cstdio>
#include <memory>

#include "tools/cli_common.h"
#include "tools/testmodel.h"

namespace hearth::cli {

void AddMakeTestModelCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<testmodel::Options>();
  auto out = std::make_shared<std::string>();
  auto mmproj = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("make-test-model", "write a random-weight Gemma GGUF for tests");
  sub->add_option("-o,--output", *out, "output path")->required();
  sub->add_option("--variant", o->variant, "g4-12b, g4-e2b, g4-moe, g3-1b, g3-4b")
      ->check(CLI::IsMember(testmodel::Variants()));
  sub->add_option("--type", o->type, "tensor type of the 2-D weights (f32, q8_0, q4_k, ..., q4_k_m)")
      ->check(CLI::IsMember(testmodel::TypeNames()));
  sub->add_option("--seed", o->seed, "random seed");
  sub->add_flag("--real-shape", o->real_shape, "the real model's dimensions (large)");
  sub->add_option("--mmproj", *mmproj,
                  "write a multimodal projector for --variant instead of a model: gemma4uv, "
                  "gemma4ua, gemma4v, gemma4a, gemma3, or a vision,audio pair as in real files (gemma4uv,gemma4ua)");
  sub->callback([o, out, mmproj, exit_code] {
    Status s = Status::Ok();
    if (!mmproj->empty()) {
      s = testmodel::WriteMmproj({.types = *mmproj, .variant = o->variant, .seed = o->seed,
                                  .real_shape = o->real_shape},
                                 *out);
    } else {
      s = testmodel::Write(*o, *out);
    }
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace hearth::cli
