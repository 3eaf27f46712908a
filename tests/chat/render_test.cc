// Small literal renderings that document the Gemma prompt formats (the oracle test proves the same
// renderers against jinja2 on the full corpus).
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chat/chat.h"

namespace hearth::chat {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RenderOk(Family family, const std::vector<Message>& messages, const Options& options = {}) {
  Result<std::string> out = Render(family, messages, options);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : "";
}

constexpr const char* kWeatherTool =
    R"([{"type":"function","function":{"name":"get_weather","description":"Weather now.",)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string","description":"City"}},)"
    R"("required":["city"]}}}])";

Message AssistantCall(std::string id, std::string name, std::string args) {
  Message m;
  m.role = "assistant";
  m.content_form = ContentForm::kNull;
  m.tool_calls.push_back(ToolCall{std::move(id), std::move(name), std::move(args)});
  return m;
}

Message ToolResult(std::string id, std::string text) {
  Message m = Message::Text("tool", std::move(text));
  m.tool_call_id = std::move(id);
  return m;
}

TEST(DetectFamily, RecognisesTheRealTemplates) {
  const std::string dir = std::string(HEARTH_SOURCE_DIR) + "/tests/data/gemma4/";
  EXPECT_EQ(*DetectFamily(ReadFile(dir + "chat-template-31B-it.jinja")), Family::kGemma4);
  EXPECT_EQ(*DetectFamily(ReadFile(dir + "chat-template-31B-it-interleaved.jinja")),
            Family::kGemma4Interleaved);
  EXPECT_EQ(*DetectFamily("{{ bos_token }}{{ '<start_of_turn>' + role }}"), Family::kGemma3);
  EXPECT_EQ(*DetectFamily("{{ '<|turn>' }} some other revision"), Family::kGemma4);
}

TEST(DetectFamily, OtherTemplatesAreUnimplementedAndNamed) {
  Result<Family> f = DetectFamily("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(f.status().message().find("<|im_start|>"), std::string::npos) << f.status().message();
}

TEST(Gemma3, SystemIsFoldedIntoTheFirstUserTurn) {
  EXPECT_EQ(RenderOk(Family::kGemma3, {Message::Text("system", "Be brief. "),
                                       Message::Text("user", "  Hi  "),
                                       Message::Text("assistant", "Hello."),
                                       Message::Text("user", "Bye")}),
            "<bos><start_of_turn>user\nBe brief. \n\nHi<end_of_turn>\n"
            "<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n"
            "<start_of_turn>model\n");
}

TEST(Gemma3, ImagesBecomeMarkersAudioIsDropped) {
  Message m = Message::Parts("user", {{Part::Kind::kImage, ""},
                                      {Part::Kind::kText, " What is it? "},
                                      {Part::Kind::kAudio, ""}});
  Options no_prompt;
  no_prompt.add_generation_prompt = false;
  EXPECT_EQ(RenderOk(Family::kGemma3, {m}, no_prompt),
            "<bos><start_of_turn>user\n<start_of_image>What is it?<end_of_turn>\n");
}

TEST(Gemma3, RolesMustAlternate) {
  Result<std::string> out =
      Render(Family::kGemma3, {Message::Text("user", "a"), Message::Text("user", "b")}, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find(
                "Conversation roles must alternate user/assistant/user/assistant/..."),
            std::string::npos);
}

TEST(Gemma3, NullContentIsAnInvalidContentType) {
  Message m = Message::Text("user", "");
  m.content_form = ContentForm::kNull;
  Result<std::string> out = Render(Family::kGemma3, {m}, {});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Invalid content type"), std::string::npos);
}

TEST(Gemma4, PlainTurnsEndWithAnEmptyThoughtChannelWhenThinkingIsOff) {
  EXPECT_EQ(RenderOk(Family::kGemma4, {Message::Text("user", "Hi")}),
            "<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
}

TEST(Gemma4, ThinkingOpensASystemTurnWithTheThinkToken) {
  Options options;
  options.enable_thinking = true;
  EXPECT_EQ(RenderOk(Family::kGemma4, {Message::Text("system", " Be careful. "),
                                       Message::Text("user", "2+2?")}, options),
            "<bos><|turn>system\n<|think|>\nBe careful.<turn|>\n"
            "<|turn>user\n2+2?<turn|>\n<|turn>model\n");
}

TEST(Gemma4, EarlierThoughtsAreStrippedFromModelTurns) {
  EXPECT_EQ(RenderOk(Family::kGemma4,
                     {Message::Text("user", "q"),
                      Message::Text("assistant", "<|channel>thought\nhmm<channel|> Four. "),
                      Message::Text("user", "ok")}),
            "<bos><|turn>user\nq<turn|>\n<|turn>model\nFour.<turn|>\n<|turn>user\nok<turn|>\n"
            "<|turn>model\n<|channel>thought\n<channel|>");
}

TEST(Gemma4, ToolDeclarationsUseTheGemmaNotation) {
  Options options;
  options.tools_json = kWeatherTool;
  options.add_generation_prompt = false;
  EXPECT_EQ(RenderOk(Family::kGemma4, {Message::Text("user", "Weather?")}, options),
            "<bos><|turn>system\n<|tool>declaration:get_weather{description:<|\"|>Weather now.<|\"|>,"
            "parameters:{properties:{city:{description:<|\"|>City<|\"|>,type:<|\"|>STRING<|\"|>}},"
            "required:[<|\"|>city<|\"|>],type:<|\"|>OBJECT<|\"|>}}<tool|><turn|>\n"
            "<|turn>user\nWeather?<turn|>\n");
}

TEST(Gemma4, ToolCallsAndResponsesShareTheModelTurn) {
  EXPECT_EQ(RenderOk(Family::kGemma4,
                     {Message::Text("user", "Weather?"),
                      AssistantCall("c1", "get_weather", R"({"city":"Paris","days":2})"),
                      ToolResult("c1", "18C"), Message::Text("assistant", "It is 18C.")}),
            "<bos><|turn>user\nWeather?<turn|>\n<|turn>model\n"
            "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,days:2}<tool_call|>"
            "<|tool_response>response:get_weather{value:<|\"|>18C<|\"|>}<tool_response|>"
            "It is 18C.<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
}

TEST(Gemma4, APendingToolCallEndsWithAnOpenToolResponse) {
  EXPECT_EQ(RenderOk(Family::kGemma4, {Message::Text("user", "Weather?"),
                                       AssistantCall("c1", "get_weather", R"({"city":"Oslo"})")}),
            "<bos><|turn>user\nWeather?<turn|>\n<|turn>model\n"
            "<|tool_call>call:get_weather{city:<|\"|>Oslo<|\"|>}<tool_call|><|tool_response>");
}

TEST(Gemma4, ToolResponseWithoutAName) {
  Result<std::string> out = Render(Family::kGemma4,
                                   {Message::Text("user", "q"), AssistantCall("c1", "f", "{}"),
                                    ToolResult("other", "x")},
                                   {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(Gemma4Interleaved, ToolMessagesAreOrdinaryTurns) {
  Message call = AssistantCall("c1", "f", R"({"x":1})");
  call.reasoning = "need f";
  EXPECT_EQ(RenderOk(Family::kGemma4Interleaved,
                     {Message::Text("user", "q"), call, ToolResult("c1", "done")}),
            "<bos><|turn>user\nq<turn|>\n<|turn>model\n<|channel>thought\nneed f<channel|>"
            "<|tool_call>call:f{x:1}<tool_call|><turn|>\n<|turn>tool\ndone<turn|>\n"
            "<|turn>model\n<|channel>thought\n<channel|>");
}

TEST(Gemma4, MediaPartsBecomePlaceholders) {
  Message m = Message::Parts("user", {{Part::Kind::kImage, ""},
                                      {Part::Kind::kText, " and "},
                                      {Part::Kind::kAudio, ""},
                                      {Part::Kind::kVideo, ""}});
  Options options;
  options.add_generation_prompt = false;
  options.bos_text = "";
  EXPECT_EQ(RenderOk(Family::kGemma4, {m}, options),
            "<|turn>user\n<|image|>and<|audio|><|video|><turn|>\n");
}

TEST(Markers, PerFamily) {
  EXPECT_EQ(ImageMarker(Family::kGemma3), "<start_of_image>");
  EXPECT_EQ(AudioMarker(Family::kGemma3), "");
  EXPECT_EQ(VideoMarker(Family::kGemma3), "");
  for (Family f : {Family::kGemma4, Family::kGemma4Interleaved}) {
    EXPECT_EQ(ImageMarker(f), "<|image|>");
    EXPECT_EQ(AudioMarker(f), "<|audio|>");
    EXPECT_EQ(VideoMarker(f), "<|video|>");
  }
}

TEST(RenderErrors, BadInputIsInvalidArgument) {
  for (Family f : {Family::kGemma3, Family::kGemma4, Family::kGemma4Interleaved}) {
    Result<std::string> empty = Render(f, {}, {});
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);

    Result<std::string> bad_utf8 = Render(f, {Message::Text("user", "caf\xC3")}, {});
    ASSERT_FALSE(bad_utf8.ok());
    EXPECT_EQ(bad_utf8.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bad_utf8.status().message().find("message 0"), std::string::npos);

    Options bad_tools;
    bad_tools.tools_json = "[{\"type\":";
    Result<std::string> tools = Render(f, {Message::Text("user", "x")}, bad_tools);
    ASSERT_FALSE(tools.ok());
    EXPECT_EQ(tools.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(tools.status().message().find("tools_json"), std::string::npos);
  }
}

}  // namespace
}  // namespace hearth::chat
