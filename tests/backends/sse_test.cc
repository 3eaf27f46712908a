#include "backends/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hearth::backends {
namespace {

std::vector<std::string> SplitLines(const std::vector<std::string>& chunks) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  auto on_line = [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  };
  for (const auto& c : chunks) EXPECT_TRUE(splitter.Feed(c, on_line));
  EXPECT_TRUE(splitter.Finish(on_line));
  return lines;
}

TEST(LineSplitter, AllTerminatorsAtEverySplitPoint) {
  const std::string input = "alpha\nbeta\r\ngamma\rdelta\r\n\r\nlast";
  const std::vector<std::string> expected = {"alpha", "beta", "gamma", "delta", "", "last"};
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(SplitLines({input.substr(0, cut), input.substr(cut)}), expected) << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  EXPECT_EQ(SplitLines(bytes), expected);
}

TEST(LineSplitter, CrLfSplitAcrossChunksIsOneTerminator) {
  EXPECT_EQ(SplitLines({"a\r", "\nb\r", "\n"}), (std::vector<std::string>{"a", "b"}));
  // A lone CR at a chunk end followed by a real empty line ("\r" then "\r\n") is two lines.
  EXPECT_EQ(SplitLines({"a\r", "\r\n"}), (std::vector<std::string>{"a", ""}));
}

TEST(LineSplitter, OverlongLineIsAnError) {
  LineSplitter splitter(8);
  auto on_line = [](std::string_view) { return true; };
  EXPECT_TRUE(splitter.Feed("12345", on_line));
  EXPECT_FALSE(splitter.Feed("67890", on_line));
  EXPECT_EQ(splitter.status().code(), StatusCode::kDataLoss);
}

std::vector<SseEvent> ParseAll(const std::vector<std::string>& chunks) {
  SseParser parser;
  std::vector<SseEvent> events;
  auto on_event = [&](const SseEvent& e) {
    events.push_back(e);
    return true;
  };
  for (const auto& c : chunks) EXPECT_TRUE(parser.Feed(c, on_event));
  EXPECT_TRUE(parser.Finish(on_event));
  return events;
}

TEST(SseParser, EventsDataCommentsAndMultiline) {
  const std::string input =
      ": keep-alive ping\n\n"
      "event: message_start\ndata: {\"a\":1}\n\n"
      "data:no-space\r\n\r\n"
      "data: line1\ndata: line2\nid: 7\nretry: 10\n\n"
      "data: [DONE]\n\n"
      "data: unterminated";
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    std::vector<SseEvent> events = ParseAll({input.substr(0, cut), input.substr(cut)});
    ASSERT_EQ(events.size(), 5u) << "cut at " << cut;
    EXPECT_EQ(events[0].event, "message_start");
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].event, "");
    EXPECT_EQ(events[1].data, "no-space");
    EXPECT_EQ(events[2].data, "line1\nline2");
    EXPECT_EQ(events[3].data, "[DONE]");
    EXPECT_EQ(events[4].data, "unterminated");
  }
}

TEST(SseParser, StopsWhenTheCallbackSaysSo) {
  SseParser parser;
  int seen = 0;
  EXPECT_FALSE(parser.Feed("data: 1\n\ndata: 2\n\n", [&](const SseEvent&) {
    ++seen;
    return false;
  }));
  EXPECT_EQ(seen, 1);
}

}  // namespace
}  // namespace hearth::backends
