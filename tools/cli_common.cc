#include "tools/cli_common.h"

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "chat/chat.h"
#include "core/thread_pool.h"

namespace hearth::cli {

void ModelOptions::Add(CLI::App& app) {
  app.add_option("-m,--model", model_path, "GGUF model file (any shard of a split model)")
      ->required();
  app.add_option("-t,--threads", threads, "threads (default: physical cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("-c,--ctx-size", n_ctx, "context size in tokens (0: the model's trained context)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app.add_option("-b,--batch-size", n_batch, "prompt tokens per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  app.add_option("--kv-type", kv_type, "KV cache type: f16 or q8_0")
      ->check(CLI::IsMember({"f16", "q8_0"}));
  app.add_option("--max-memory", max_memory,
                 "memory budget for the model (e.g. 8G; default: the RAM available now)");
  app.add_flag("--ignore-memory-check", ignore_memory_check,
               "start even when the memory plan says the model will not fit");
}

Result<model::KvType> ModelOptions::KvType() const {
  if (kv_type == "f16") return model::KvType::kF16;
  if (kv_type == "q8_0") return model::KvType::kQ8_0;
  return InvalidArgumentError("unknown KV cache type '" + kv_type + "'");
}

void SamplingOptions::Add(CLI::App& app) {
  engine::SamplingParams& s = gen.sampling;
  app.add_option("-n,--n-predict", gen.max_tokens, "tokens to generate (-1: until the end)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 30));
  app.add_option("--temp", s.temperature, "temperature (0: greedy)");
  app.add_option("--top-k", s.top_k, "top-k (0: off)");
  app.add_option("--top-p", s.top_p, "top-p (1: off)");
  app.add_option("--min-p", s.min_p, "min-p (0: off)");
  app.add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty (1: off)");
  app.add_option("--presence-penalty", s.presence_penalty, "presence penalty");
  app.add_option("--frequency-penalty", s.frequency_penalty, "frequency penalty");
  app.add_option("--repeat-last-n", s.penalty_last_n, "tokens the penalties look back (-1: all)");
  app.add_option("-s,--seed", s.seed, "random seed");
  app.add_option("--stop", gen.stop, "stop string (repeatable)");
  app.add_flag("--ignore-eos", gen.ignore_eos, "keep generating after end-of-generation tokens");
}

int Fail(const Status& s) {
  std::fprintf(stderr, "hearth: %s\n", s.message().c_str());
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 2;
    case StatusCode::kResourceExhausted:
      return 3;
    default:
      return 1;
  }
}

Result<engine::LoadedModel> LoadChecked(const ModelOptions& mo) {
  ASSIGN_OR_RETURN(model::KvType kv_type, mo.KvType());
  ASSIGN_OR_RETURN(engine::LoadedModel lm, engine::LoadModel(mo.model_path));
  const model::Config& c = lm.model->config();
  const int64_t n_ctx = mo.n_ctx > 0 ? mo.n_ctx : c.n_ctx_train;
  if (n_ctx > c.n_ctx_train) {
    std::fprintf(stderr, "hearth: warning: context %lld exceeds the %d tokens the model was trained on\n",
                 static_cast<long long>(n_ctx), c.n_ctx_train);
  }
  engine::MemoryPlan plan = engine::PlanMemory(lm.model->file(), c, n_ctx, mo.n_batch, kv_type);
  if (!mo.max_memory.empty()) {
    ASSIGN_OR_RETURN(int64_t budget, ParseBytes(mo.max_memory));
    plan.ram_available = std::min(plan.ram_available > 0 ? plan.ram_available : budget, budget);
  }
  if (!mo.ignore_memory_check) TRY(engine::CheckFits(plan));
  return lm;
}

Result<int64_t> ParseBytes(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end == s.c_str() || errno != 0 || !(v > 0))
    return InvalidArgumentError("'" + s + "' is not a memory size (e.g. 8G, 512M)");
  double mul = 1;
  const std::string unit = end;
  if (unit == "K" || unit == "k" || unit == "KiB") mul = 1024.0;
  else if (unit == "M" || unit == "MiB") mul = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB") mul = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TiB") mul = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty()) return InvalidArgumentError("'" + s + "': unknown unit '" + unit + "' (use K, M, G or T)");
  return static_cast<int64_t>(v * mul);
}

Result<std::vector<int32_t>> ParseIds(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string item = s.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno != 0 || v < 0 || v > INT32_MAX)
      return InvalidArgumentError("token id '" + item + "' (item " + std::to_string(ids.size() + 1) +
                                  ") is not a non-negative integer");
    ids.push_back(static_cast<int32_t>(v));
    i = j + 1;
  }
  return ids;
}

Result<std::vector<int32_t>> BuildPrompt(const tokenizer::Tokenizer& tok, const std::string& system,
                                         const std::string& user, bool raw, bool think) {
  std::vector<int32_t> ids;
  if (tok.add_bos() && tok.bos_id() >= 0) ids.push_back(tok.bos_id());
  std::string text;
  if (raw) {
    text = system.empty() ? user : system + "\n\n" + user;
  } else {
    const std::string& tmpl = tok.vocab().chat_template;
    if (tmpl.empty())
      return FailedPreconditionError("the model has no chat template (tokenizer.chat_template); "
                                     "use --raw to send the prompt as is");
    ASSIGN_OR_RETURN(chat::Family family, chat::DetectFamily(tmpl));
    std::vector<chat::Message> msgs;
    if (!system.empty()) msgs.push_back(chat::Message::Text("system", system));
    msgs.push_back(chat::Message::Text("user", user));
    chat::Options opt;
    opt.enable_thinking = think;
    ASSIGN_OR_RETURN(text, chat::Render(family, msgs, opt));
    // The template writes <bos> itself; the tokenizer adds the id (spec §8.3), so strip the text.
    if (!ids.empty() && text.rfind(opt.bos_text, 0) == 0) text.erase(0, opt.bos_text.size());
  }
  std::vector<int32_t> body = tok.Encode(text, /*parse_special=*/true);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

}  // namespace hearth::cli
