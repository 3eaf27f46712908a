// hearth-reference: the independent plain forward pass that the engine is tested against.
//
//   hearth-reference MODEL.gguf --prompt-tokens 2,105,... [-n N] [--top-logprobs K]
//                    [--numerics exact|llamacpp] [--dump-logits] [--verbose]
//
// Feeds the prompt ids as given (no BOS added), then generates N tokens greedily (default 8) and
// prints one JSON object:
//   {"tokens": [{"id": 123, "top_logprobs": [{"id": 123, "logprob": -0.12}, ...]}, ...]}
// with the K (default 20) most likely ids of the full-vocabulary log-softmax of the final logits.
// Generation stops after an end-of-generation token (included). Ids listed in
// tokenizer.ggml.suppress_tokens are never chosen (llama.cpp applies them as a sampler bias) but
// keep their log-probabilities. With --dump-logits it instead
// prints the final logits of the last prompt position as one JSON array and generates nothing.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "reference/forward.h"
#include "reference/gguf_reader.h"
#include "reference/model.h"

namespace hearth::reference {
namespace {

struct Options {
  std::string model_path;
  std::vector<int> prompt;
  int n_generate = 8;
  int top_k = 20;
  Numerics numerics = Numerics::kExact;
  bool dump_logits = false;
  bool verbose = false;
};

constexpr const char* kUsage =
    "usage: hearth-reference MODEL.gguf --prompt-tokens ID,ID,... [-n N] [--top-logprobs K]\n"
    "                        [--numerics exact|llamacpp] [--dump-logits] [--verbose]\n";

bool ParseInt(const std::string& s, long lo, long hi, int* out) {
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

Result<Options> ParseOptions(int argc, char** argv) {
  Options o;
  bool have_prompt = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* what) -> Result<std::string> {
      if (i + 1 >= argc) return InvalidArgumentError(std::string(what) + " needs a value");
      return std::string(argv[++i]);
    };
    if (arg == "--prompt-tokens") {
      ASSIGN_OR_RETURN(std::string list, value("--prompt-tokens"));
      size_t start = 0;
      while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        int id;
        if (!ParseInt(list.substr(start, comma - start), 0, 1L << 30, &id)) {
          return InvalidArgumentError("bad token id in --prompt-tokens: '" +
                                      list.substr(start, comma - start) + "'");
        }
        o.prompt.push_back(id);
        start = comma + 1;
      }
      have_prompt = true;
    } else if (arg == "-n") {
      ASSIGN_OR_RETURN(std::string v, value("-n"));
      if (!ParseInt(v, 0, 1 << 20, &o.n_generate)) return InvalidArgumentError("bad -n " + v);
    } else if (arg == "--top-logprobs") {
      ASSIGN_OR_RETURN(std::string v, value("--top-logprobs"));
      if (!ParseInt(v, 0, 1 << 24, &o.top_k)) {
        return InvalidArgumentError("bad --top-logprobs " + v);
      }
    } else if (arg == "--numerics") {
      ASSIGN_OR_RETURN(std::string v, value("--numerics"));
      if (v == "exact") {
        o.numerics = Numerics::kExact;
      } else if (v == "llamacpp") {
        o.numerics = Numerics::kLlamaCpp;
      } else {
        return InvalidArgumentError("--numerics must be exact or llamacpp, got " + v);
      }
    } else if (arg == "--dump-logits") {
      o.dump_logits = true;
    } else if (arg == "--verbose") {
      o.verbose = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return InvalidArgumentError("unknown option " + arg);
    } else if (o.model_path.empty()) {
      o.model_path = arg;
    } else {
      return InvalidArgumentError("unexpected argument " + arg);
    }
  }
  if (o.model_path.empty()) return InvalidArgumentError("no model file given");
  if (!have_prompt || o.prompt.empty()) return InvalidArgumentError("--prompt-tokens is required");
  return o;
}

void PrintConfig(const Model& m) {
  const Config& c = m.config;
  std::fprintf(stderr, "arch %s n_embd %d n_layer %d n_vocab %d n_swa %d n_pl %d softcap %g "
               "q_scale %g experts %d/%d n_ff_exp %d eog:",
               c.arch.c_str(), c.n_embd, c.n_layer, c.n_vocab, c.n_swa, c.n_pl, c.softcap,
               c.attn_q_scale, c.n_expert_used, c.n_expert, c.n_ff_exp);
  for (int id : m.eog_ids) std::fprintf(stderr, " %d", id);
  std::fprintf(stderr, "\n");
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerConfig& l = c.layers[il];
    const LayerWeights& w = m.layers[il];
    std::fprintf(stderr, "  layer %d %s heads %d/%d hd %d n_ff %d rot %d base %g scale %g "
                 "freqs %d kv_src %d moe %d v %d q_type %u\n",
                 il, l.sliding ? "swa " : "full", l.n_head, l.n_head_kv, l.head_dim, l.n_ff,
                 l.n_rot, l.rope_base, l.rope_scale, l.use_rope_freqs, l.kv_source, l.moe,
                 w.attn_v.present(), w.attn_q.type);
  }
}

// Natural-log softmax over the whole vocabulary, in double.
Vec LogSoftmax(const Vec& logits) {
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (double v : logits) sum += std::exp(v - max);
  const double log_z = max + std::log(sum);
  Vec out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - log_z;
  return out;
}

void PrintStep(int id, const Vec& logprobs, int top_k, bool first) {
  std::vector<int> order(logprobs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  const int k = std::min<int>(top_k, static_cast<int>(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return logprobs[a] != logprobs[b] ? logprobs[a] > logprobs[b] : a < b;
  });
  std::printf("%s{\"id\": %d, \"top_logprobs\": [", first ? "" : ", ", id);
  for (int i = 0; i < k; ++i) {
    std::printf("%s{\"id\": %d, \"logprob\": %.9f}", i ? ", " : "", order[i], logprobs[order[i]]);
  }
  std::printf("]}");
}

int Run(int argc, char** argv) {
  Result<Options> opts = ParseOptions(argc, argv);
  if (!opts.ok()) {
    std::fprintf(stderr, "hearth-reference: %s\n%s", opts.status().ToString().c_str(), kUsage);
    return 2;
  }
  const Options& o = *opts;
  Result<GgufFile> file = GgufFile::Open(o.model_path);
  if (!file.ok()) {
    std::fprintf(stderr, "hearth-reference: %s\n", file.status().ToString().c_str());
    return 1;
  }
  Result<Model> model = LoadModel(*file);
  if (!model.ok()) {
    std::fprintf(stderr, "hearth-reference: %s: %s\n", o.model_path.c_str(),
                 model.status().ToString().c_str());
    return 1;
  }
  if (o.verbose) PrintConfig(*model);
  for (int id : o.prompt) {
    if (id >= model->config.n_vocab) {
      std::fprintf(stderr, "hearth-reference: prompt token %d outside the vocabulary (%d)\n", id,
                   model->config.n_vocab);
      return 2;
    }
  }

  ForwardPass pass(*model, o.numerics);
  Vec logits;
  for (size_t i = 0; i < o.prompt.size(); ++i) {
    logits = pass.Step(o.prompt[i], i + 1 == o.prompt.size());
  }
  if (o.dump_logits) {
    std::printf("[");
    for (size_t i = 0; i < logits.size(); ++i) std::printf("%s%.9g", i ? ", " : "", logits[i]);
    std::printf("]\n");
    return 0;
  }
  std::printf("{\"tokens\": [");
  for (int step = 0; step < o.n_generate; ++step) {
    const Vec logprobs = LogSoftmax(logits);
    // Greedy choice; suppressed ids are a sampler bias in llama.cpp, so they are never chosen
    // but keep their place in the log-probabilities.
    int id = -1;
    for (int i = 0; i < static_cast<int>(logits.size()); ++i) {
      if (!model->suppressed_ids.count(i) && (id < 0 || logits[i] > logits[id])) id = i;
    }
    PrintStep(id, logprobs, o.top_k, step == 0);
    if (model->eog_ids.count(id) || step + 1 == o.n_generate) break;
    logits = pass.Step(id, true);
  }
  std::printf("]}\n");
  return 0;
}

}  // namespace
}  // namespace hearth::reference

int main(int argc, char** argv) { return hearth::reference::Run(argc, argv); }
