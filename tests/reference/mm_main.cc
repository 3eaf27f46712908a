// hearth-mm-reference: the independent reference of the Gemma multimodal projectors (mm.h).
//
//   hearth-mm-reference --mmproj F.gguf (--image IMG.ppm [--min-tokens N --max-tokens N]
//                       | --audio A.f32) [--stage preprocess|embeddings]
//                       [--numerics exact|llamacpp]
//
// Prints one JSON object on stdout (see README.md); any error: a message on stderr, exit code 2.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "reference/gguf_reader.h"
#include "reference/mm.h"

namespace hearth::reference::mm {
namespace {

constexpr const char* kUsage =
    "usage: hearth-mm-reference --mmproj F.gguf (--image IMG.ppm [--min-tokens N] [--max-tokens N]"
    "\n                           | --audio A.f32) [--stage preprocess|embeddings]"
    "\n                           [--numerics exact|llamacpp]\n";

struct Args {
  std::string mmproj, image, audio;
  Options options;
};

Result<Args> Parse(int argc, char** argv) {
  Args a;
  bool have_min = false, have_max = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return InvalidArgumentError(arg + " needs a value (or is unknown)");
    const std::string v = argv[++i];
    auto number = [&](int* out) -> Status {
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 1000000) {
        return InvalidArgumentError("bad " + arg + " '" + v + "' (a positive integer)");
      }
      *out = static_cast<int>(n);
      return Status::Ok();
    };
    if (arg == "--mmproj") {
      a.mmproj = v;
    } else if (arg == "--image") {
      a.image = v;
    } else if (arg == "--audio") {
      a.audio = v;
    } else if (arg == "--min-tokens") {
      TRY(number(&a.options.min_tokens));
      have_min = true;
    } else if (arg == "--max-tokens") {
      TRY(number(&a.options.max_tokens));
      have_max = true;
    } else if (arg == "--numerics") {
      if (v != "exact" && v != "llamacpp") {
        return InvalidArgumentError("bad --numerics '" + v + "' (exact or llamacpp)");
      }
      a.options.numerics = v == "exact" ? Numerics::kExact : Numerics::kLlamaCpp;
    } else if (arg == "--stage") {
      if (v != "preprocess" && v != "embeddings") {
        return InvalidArgumentError("bad --stage '" + v + "' (preprocess or embeddings)");
      }
      a.options.preprocess_only = v == "preprocess";
    } else {
      return InvalidArgumentError("unknown option " + arg);
    }
  }
  if (a.mmproj.empty()) return InvalidArgumentError("--mmproj is required");
  if (a.image.empty() == a.audio.empty()) {
    return InvalidArgumentError("give exactly one of --image and --audio");
  }
  if ((have_min || have_max) && a.image.empty()) {
    return InvalidArgumentError("--min-tokens/--max-tokens apply to images only");
  }
  return a;
}

int Main(int argc, char** argv) {
  auto args = Parse(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "hearth-mm-reference: %s\n%s", args.status().ToString().c_str(), kUsage);
    return 2;
  }
  auto file = GgufFile::Open(args->mmproj);
  if (!file.ok()) {
    std::fprintf(stderr, "hearth-mm-reference: %s: %s\n", args->mmproj.c_str(),
                 file.status().ToString().c_str());
    return 2;
  }
  Result<Output> out = InternalError("unreachable");
  if (!args->image.empty()) {
    auto image = ReadPpm(args->image);
    if (!image.ok()) {
      std::fprintf(stderr, "hearth-mm-reference: %s\n", image.status().ToString().c_str());
      return 2;
    }
    out = RunImage(*file, *image, args->options);
  } else {
    auto samples = ReadF32Samples(args->audio);
    if (!samples.ok()) {
      std::fprintf(stderr, "hearth-mm-reference: %s\n", samples.status().ToString().c_str());
      return 2;
    }
    out = RunAudio(*file, *samples, args->options);
  }
  if (!out.ok()) {
    std::fprintf(stderr, "hearth-mm-reference: %s: %s\n", args->mmproj.c_str(),
                 out.status().ToString().c_str());
    return 2;
  }
  const std::string json = ToJson(*out);
  std::fwrite(json.data(), 1, json.size(), stdout);
  return 0;
}

}  // namespace
}  // namespace hearth::reference::mm

int main(int argc, char** argv) { return hearth::reference::mm::Main(argc, argv); }
