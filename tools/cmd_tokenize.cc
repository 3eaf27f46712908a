// hearth tokenize / detokenize / render / import-vocab: the vocabulary and chat template of a
// model (or of a vocab-only GGUF) without loading its weights.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chat/chat.h"
#include "gguf/file.h"
#include "gguf/writer.h"
#include "tokenizer/hf_import.h"
#include "tokenizer/vocab.h"
#include "tools/cli_common.h"

namespace hearth::cli {
namespace {

Result<tokenizer::Tokenizer> OpenTokenizer(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> f, gguf::File::Open(path));
  Result<tokenizer::Vocab> v = tokenizer::LoadVocab(*f);
  if (!v.ok()) return v.status().WithContext(path);
  return tokenizer::Tokenizer::Create(std::move(v).value());
}

struct TokenizeOptions {
  std::string model, text;
  bool json = false, bos = false, no_special = false;
};

Status Tokenize(const TokenizeOptions& o) {
  ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, OpenTokenizer(o.model));
  std::vector<int32_t> ids;
  if (o.bos && tok.bos_id() >= 0) ids.push_back(tok.bos_id());
  std::vector<int32_t> body = tok.Encode(o.text, /*parse_special=*/!o.no_special);
  ids.insert(ids.end(), body.begin(), body.end());
  if (o.json) {
    std::printf("%s\n", nlohmann::json({{"ids", ids}}).dump().c_str());
  } else {
    for (int32_t id : ids) {
      nlohmann::json piece = tok.Piece(id, true);
      std::printf("%6d  %s\n", id, piece.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    }
  }
  return Status::Ok();
}

struct DetokenizeOptions {
  std::string model, ids;
  bool special = false;
};

Status Detokenize(const DetokenizeOptions& o) {
  ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, OpenTokenizer(o.model));
  std::string list = o.ids;
  for (char& c : list)
    if (c == ' ' || c == '[' || c == ']' || c == '\n') c = ',';
  std::string cleaned;
  for (size_t i = 0; i < list.size(); ++i)
    if (!(list[i] == ',' && (cleaned.empty() || cleaned.back() == ','))) cleaned += list[i];
  while (!cleaned.empty() && cleaned.back() == ',') cleaned.pop_back();
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseIds(cleaned));
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= tok.n_vocab())
      return InvalidArgumentError("token id " + std::to_string(ids[i]) + " (item " +
                                  std::to_string(i + 1) + ") is outside the vocabulary of " +
                                  std::to_string(tok.n_vocab()));
  std::string text = tok.Decode(ids, o.special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::printf("\n");
  return Status::Ok();
}

struct RenderOptions {
  std::string model, messages_file;
  bool think = false, no_generation_prompt = false;
};

// Renders an OpenAI-style {"messages": [...], "tools": [...]} file through the model's template.
Status Render(const RenderOptions& o) {
  ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, OpenTokenizer(o.model));
  if (tok.vocab().chat_template.empty())
    return FailedPreconditionError(o.model + " has no tokenizer.chat_template");
  ASSIGN_OR_RETURN(chat::Family family, chat::DetectFamily(tok.vocab().chat_template));
  std::ifstream in(o.messages_file);
  if (!in) return NotFoundError("cannot read " + o.messages_file);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("messages") || !j["messages"].is_array())
    return InvalidArgumentError(o.messages_file + ": expected a JSON object with a \"messages\" array");
  std::vector<chat::Message> msgs;
  for (const auto& m : j["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return InvalidArgumentError(o.messages_file + ": every message needs a string \"role\"");
    chat::Message msg;
    msg.role = m["role"].get<std::string>();
    const auto c = m.value("content", nlohmann::json());
    if (c.is_string()) {
      msg.text = c.get<std::string>();
    } else if (c.is_array()) {
      msg.content_form = chat::ContentForm::kParts;
      for (const auto& p : c) {
        chat::Part part;
        const std::string type = p.value("type", "");
        if (type == "text") part.text = p.value("text", "");
        else if (type == "image" || type == "image_url") part.kind = chat::Part::Kind::kImage;
        else if (type == "audio" || type == "input_audio") part.kind = chat::Part::Kind::kAudio;
        else if (type == "video" || type == "input_video") part.kind = chat::Part::Kind::kVideo;
        else return InvalidArgumentError(o.messages_file + ": unknown content part type '" + type + "'");
        msg.parts.push_back(part);
      }
    } else {
      msg.content_form = chat::ContentForm::kNull;
    }
    msgs.push_back(std::move(msg));
  }
  chat::Options opt;
  opt.enable_thinking = o.think;
  opt.add_generation_prompt = !o.no_generation_prompt;
  if (j.contains("tools")) opt.tools_json = j["tools"].dump();
  ASSIGN_OR_RETURN(std::string text, chat::Render(family, msgs, opt));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Status::Ok();
}

struct ImportOptions {
  std::string dir, out, name;
};

Status ImportVocab(const ImportOptions& o) {
  ASSIGN_OR_RETURN(tokenizer::Vocab v, tokenizer::ImportHfTokenizer(o.dir));
  gguf::Writer w;
  w.SetString("general.architecture", v.algorithm == tokenizer::Algorithm::kGemma4Bpe ? "gemma4" : "gemma3");
  w.SetString("general.name", o.name.empty() ? "vocab" : o.name);
  w.SetU32("general.quantization_version", 2);
  tokenizer::WriteVocab(v, w);
  TRY(w.WriteFile(o.out));
  std::fprintf(stderr, "wrote %s: %d tokens, %zu merges, %s\n", o.out.c_str(), v.size(),
               v.merges.size(), v.chat_template.empty() ? "no chat template" : "with chat template");
  return Status::Ok();
}

}  // namespace

void AddTokenizeCommands(CLI::App& app, int* exit_code) {
  auto t = std::make_shared<TokenizeOptions>();
  CLI::App* tk = app.add_subcommand("tokenize", "print the token ids of a text");
  tk->add_option("-m,--model", t->model, "GGUF model or vocab file")->required();
  tk->add_option("text", t->text, "the text")->required();
  tk->add_flag("--json", t->json, "print {\"ids\": [...]}");
  tk->add_flag("--bos", t->bos, "prepend the BOS id");
  tk->add_flag("--no-special", t->no_special, "treat control-token text as plain text");
  tk->callback([t, exit_code] {
    Status s = Tokenize(*t);
    if (!s.ok()) *exit_code = Fail(s);
  });

  auto d = std::make_shared<DetokenizeOptions>();
  CLI::App* dt = app.add_subcommand("detokenize", "print the text of token ids");
  dt->add_option("-m,--model", d->model, "GGUF model or vocab file")->required();
  dt->add_option("ids", d->ids, "ids separated by commas or spaces")->required();
  dt->add_flag("--special", d->special, "render control tokens");
  dt->callback([d, exit_code] {
    Status s = Detokenize(*d);
    if (!s.ok()) *exit_code = Fail(s);
  });

  auto r = std::make_shared<RenderOptions>();
  CLI::App* rd = app.add_subcommand("render", "render a conversation through the model's chat template");
  rd->add_option("-m,--model", r->model, "GGUF model or vocab file")->required();
  rd->add_option("messages", r->messages_file, "JSON file: {\"messages\": [...], \"tools\": [...]}")->required();
  rd->add_flag("--think", r->think, "enable thinking");
  rd->add_flag("--no-generation-prompt", r->no_generation_prompt, "do not open a model turn");
  rd->callback([r, exit_code] {
    Status s = Render(*r);
    if (!s.ok()) *exit_code = Fail(s);
  });
}

void AddImportVocabCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ImportOptions>();
  CLI::App* sub = app.add_subcommand("import-vocab", "write a vocab-only GGUF from a Hugging Face tokenizer folder");
  sub->add_option("dir", o->dir, "folder with tokenizer.json and tokenizer_config.json")->required();
  sub->add_option("-o,--output", o->out, "output GGUF path")->required();
  sub->add_option("--name", o->name, "general.name to write");
  sub->callback([o, exit_code] {
    Status s = ImportVocab(*o);
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace hearth::cli
