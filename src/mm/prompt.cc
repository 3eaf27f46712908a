// Prompt assembly: media placeholders in the rendered chat text replaced by marker-wrapped blocks
// of embeddings, as llama.cpp's mtmd tokenizer does it (gemma-gguf-spec.md §4.4, §6, §9).
#include <cmath>
#include <cstdio>

#include "mm/projector.h"

namespace hearth::mm {

namespace {

struct Markers {
  std::string_view image_ph, audio_ph, video_ph;  // what the template writes ("" = none)
  std::string_view image_beg, image_end, audio_beg, audio_end;
};

Markers MarkersFor(chat::Family family) {
  Markers m;
  m.image_ph = chat::ImageMarker(family);
  m.audio_ph = chat::AudioMarker(family);
  m.video_ph = chat::VideoMarker(family);
  if (family == chat::Family::kGemma3) {
    m.image_beg = "<start_of_image>";
    m.image_end = "<end_of_image>";
  } else {
    m.image_beg = "<|image>";
    m.image_end = "<image|>";
    m.audio_beg = "<|audio>";
    m.audio_end = "<audio|>";
  }
  return m;
}

std::string Timestamp(double t) {
  const long long s = t > 0 ? static_cast<long long>(std::floor(t)) : 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
  return buf;
}

class Builder {
 public:
  Builder(const tokenizer::Tokenizer& tok) : tok_(tok) {}
  void Text(std::string_view s) { text_ += s; }
  void Flush() {
    if (text_.empty()) return;
    std::vector<int32_t> ids = tok_.Encode(text_, /*parse_special=*/true);
    text_.clear();
    if (ids.empty()) return;
    if (!out_.empty() && !out_.back().is_embd()) {
      out_.back().ids.insert(out_.back().ids.end(), ids.begin(), ids.end());
    } else {
      PromptChunk c;
      c.ids = std::move(ids);
      out_.push_back(std::move(c));
    }
  }
  void Ids(std::vector<int32_t> ids) {
    PromptChunk c;
    c.ids = std::move(ids);
    out_.push_back(std::move(c));
  }
  void Embd(Embeddings e) {
    Flush();
    PromptChunk c;
    c.embd = std::move(e);
    out_.push_back(std::move(c));
  }
  std::vector<PromptChunk> Take() {
    Flush();
    return std::move(out_);
  }

 private:
  const tokenizer::Tokenizer& tok_;
  std::string text_;
  std::vector<PromptChunk> out_;
};

}  // namespace

Result<std::vector<PromptChunk>> AssemblePrompt(std::string_view rendered, chat::Family family,
                                                const tokenizer::Tokenizer& tok,
                                                std::vector<Embeddings> media_in_order,
                                                bool add_bos) {
  const Markers m = MarkersFor(family);
  for (std::string_view marker : {m.image_beg, m.image_end, m.audio_beg, m.audio_end}) {
    if (!marker.empty() && tok.Find(marker) < 0) {
      return FailedPreconditionError("the vocabulary has no '" + std::string(marker) +
                                     "' token, so media cannot be placed in this model's prompt");
    }
  }
  Builder b(tok);
  std::string_view text = rendered;
  if (add_bos && tok.bos_id() >= 0) {
    const std::string bos = tok.TokenText(tok.bos_id());
    if (!bos.empty() && text.substr(0, bos.size()) == bos) text.remove_prefix(bos.size());
    b.Ids({tok.bos_id()});
  }
  size_t next = 0;  // index into media_in_order
  int video = 0;
  auto block = [&](Embeddings& e, std::string_view what) -> Status {
    const bool image = e.kind == Embeddings::Kind::kImage;
    const std::string_view beg = image ? m.image_beg : m.audio_beg;
    const std::string_view end = image ? m.image_end : m.audio_end;
    if (beg.empty()) {
      return InvalidArgumentError("media item " + std::to_string(next) + " is audio, which " +
                                  std::string(chat::FamilyName(family)) + " prompts cannot hold");
    }
    if (e.n_tok <= 0 || static_cast<int64_t>(e.data.size()) != e.n_tok * e.n_embd) {
      return InvalidArgumentError("media item " + std::to_string(next) + " (" + std::string(what) +
                                  ") has no embeddings");
    }
    b.Text(beg);
    b.Embd(std::move(e));
    b.Text(end);
    return Status::Ok();
  };
  auto count_error = [&](std::string_view kind) {
    return InvalidArgumentError("the prompt has more media placeholders than media items (" +
                                std::to_string(media_in_order.size()) + " given; ran out at " +
                                std::string(kind) + ")");
  };
  while (true) {
    size_t pos = std::string_view::npos, len = 0;
    int which = -1;  // 0 image, 1 audio, 2 video
    const std::string_view phs[3] = {m.image_ph, m.audio_ph, m.video_ph};
    for (int k = 0; k < 3; ++k) {
      if (phs[k].empty()) continue;
      const size_t p = text.find(phs[k]);
      if (p != std::string_view::npos && (pos == std::string_view::npos || p < pos)) {
        pos = p;
        len = phs[k].size();
        which = k;
      }
    }
    if (which < 0) break;
    b.Text(text.substr(0, pos));
    text.remove_prefix(pos + len);
    if (which == 2) {
      int taken = 0, frames = 0;
      while (next < media_in_order.size() && media_in_order[next].video_index == video) {
        Embeddings& e = media_in_order[next];
        if (e.kind == Embeddings::Kind::kImage) {
          b.Text((frames++ > 0 ? " " : "") + Timestamp(e.frame_time_s) + " ");
        }
        TRY(block(e, "video"));
        ++next;
        ++taken;
      }
      if (taken == 0) {
        return InvalidArgumentError("video placeholder " + std::to_string(video) +
                                    " has no media items with video_index " +
                                    std::to_string(video));
      }
      ++video;
      continue;
    }
    if (next >= media_in_order.size()) return count_error(which == 0 ? "an image" : "an audio clip");
    Embeddings& e = media_in_order[next];
    const Embeddings::Kind want = which == 0 ? Embeddings::Kind::kImage : Embeddings::Kind::kAudio;
    if (e.kind != want || e.video_index >= 0) {
      return InvalidArgumentError("media item " + std::to_string(next) + " does not match its " +
                                  "placeholder '" + std::string(phs[which]) + "'");
    }
    TRY(block(e, which == 0 ? "image" : "audio"));
    ++next;
  }
  b.Text(text);
  if (next != media_in_order.size()) {
    return InvalidArgumentError(std::to_string(media_in_order.size()) +
                                " media items were given but the prompt places only " +
                                std::to_string(next));
  }
  return b.Take();
}

}  // namespace hearth::mm
