// The three wire formats: OpenAI Chat Completions (also every private OpenAI-compatible endpoint:
// hearth nodes, vLLM, llama.cpp server, Ollama /v1), Anthropic Messages, Gemini generateContent.
// The pure translation functions are exposed for tests; backends are made through CreateBackend
// (factory.h).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/http_backend.h"

namespace hearth::backends {

std::unique_ptr<HttpBackend> NewOpenAiBackend(BackendConfig config, std::string api_key,
                                              std::shared_ptr<const HttpClient> client);
std::unique_ptr<HttpBackend> NewAnthropicBackend(BackendConfig config, std::string api_key,
                                                 std::shared_ptr<const HttpClient> client);
std::unique_ptr<HttpBackend> NewGeminiBackend(BackendConfig config, std::string api_key,
                                              std::shared_ptr<const HttpClient> client);

// OpenAI request -> Anthropic Messages request (system extracted, content blocks, images as
// base64 sources, tools, max_tokens always set).
Result<nlohmann::json> AnthropicRequestFromOpenAi(const nlohmann::json& body,
                                                  const std::string& model,
                                                  int64_t default_max_tokens, bool stream);
// Anthropic message -> OpenAI chat.completion.
Result<nlohmann::json> OpenAiFromAnthropicReply(const nlohmann::json& reply);

// OpenAI request -> Gemini GenerateContentRequest (contents/parts/inline_data, systemInstruction,
// generationConfig, tools).
Result<nlohmann::json> GeminiRequestFromOpenAi(const nlohmann::json& body, int64_t default_max_tokens);
// Gemini GenerateContentResponse -> OpenAI chat.completion.
Result<nlohmann::json> OpenAiFromGeminiReply(const nlohmann::json& reply, const std::string& model);

// "data:image/png;base64,AAAA" -> {"image/png", "AAAA"}; error for other URLs.
struct DataUrl {
  std::string media_type;
  std::string base64;
};
Result<DataUrl> ParseDataUrl(const std::string& url);

}  // namespace hearth::backends
