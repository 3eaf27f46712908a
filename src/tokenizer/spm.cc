// SentencePiece-style merging as llama.cpp's llm_tokenizer_spm does it (gemma-gguf-spec.md §8.1):
// start from one symbol per UTF-8 character, repeatedly merge the adjacent pair whose
// concatenation is a token with the highest score (ties: leftmost), then emit each symbol's token
// or its bytes' <0xXX> tokens. A max-heap of candidate pairs makes it O(n log n); stale entries
// (a side already merged away) are skipped when popped.
#include <queue>

#include "tokenizer/tables.h"

namespace hearth::tokenizer {
namespace {

struct Symbol {
  int prev, next;
  size_t off, len;  // bytes of the fragment; len 0 once merged into its left neighbour
};

struct Bigram {
  float score;
  int left, right;
  size_t size;  // bytes of the concatenation when pushed
};

struct LowerPriority {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void EncodeSpm(const Vocab& v, const TokenizerTables& t, std::string_view text,
               std::vector<int32_t>* out) {
  if (text.empty()) return;
  std::vector<Symbol> sym;
  sym.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    size_t len = Utf8SymbolLen(text, off);
    int idx = static_cast<int>(sym.size());
    sym.push_back(Symbol{idx - 1, idx + 1, off, len});
    off += len;
  }
  sym.back().next = -1;

  std::priority_queue<Bigram, std::vector<Bigram>, LowerPriority> queue;
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    size_t size = sym[l].len + sym[r].len;
    if (size > t.max_token_bytes) return;
    auto it = t.token_to_id.find(text.substr(sym[l].off, size));
    if (it == t.token_to_id.end()) return;
    queue.push(Bigram{v.scores[it->second], l, r, size});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    Bigram b = queue.top();
    queue.pop();
    Symbol& l = sym[b.left];
    Symbol& r = sym[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int i = 0; i != -1; i = sym[i].next) {
    std::string_view s = text.substr(sym[i].off, sym[i].len);
    auto it = t.token_to_id.find(s);
    if (it != t.token_to_id.end()) out->push_back(it->second);
    else AppendByteFallback(v, t, s, out);
  }
}

}  // namespace hearth::tokenizer
