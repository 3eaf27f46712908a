// Gemma 4 BPE as llama.cpp runs it for tokenizer model "gemma4" (gemma-gguf-spec.md §8.2):
// spaces become ▁, the fragment is pre-split into runs of newlines and runs of anything else, a
// newline run that is itself a token is emitted whole, and every other piece starts from UTF-8
// characters and applies merges by lowest rank (ties: leftmost) until none applies. Symbols with
// no token fall back to <0xXX> byte tokens. A min-heap of candidate pairs makes it O(n log n).
#include <queue>

#include "tokenizer/tables.h"

namespace hearth::tokenizer {
namespace {

struct Symbol {
  int prev, next;
  size_t off, len;
  int32_t id;  // token id of the symbol's text, -1 if it is not a token
};

struct Pair {
  int32_t rank;
  int left, right;
  size_t left_len, right_len;  // when pushed; a change means the entry is stale
};

struct LowerPriority {
  bool operator()(const Pair& a, const Pair& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

int32_t Lookup(const TokenizerTables& t, std::string_view s) {
  auto it = t.token_to_id.find(s);
  return it == t.token_to_id.end() ? -1 : it->second;
}

void BpePiece(const Vocab& v, const TokenizerTables& t, std::string_view text,
              std::vector<int32_t>* out) {
  std::vector<Symbol> sym;
  sym.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    size_t len = Utf8SymbolLen(text, off);
    int idx = static_cast<int>(sym.size());
    sym.push_back(Symbol{idx - 1, idx + 1, off, len, Lookup(t, text.substr(off, len))});
    off += len;
  }
  sym.back().next = -1;

  std::priority_queue<Pair, std::vector<Pair>, LowerPriority> queue;
  std::string key;
  auto rank_of = [&](const Symbol& a, const Symbol& b) -> int32_t {
    if (a.id >= 0 && b.id >= 0) {
      auto it = t.merge_rank.find((static_cast<uint64_t>(a.id) << 32) | static_cast<uint32_t>(b.id));
      if (it != t.merge_rank.end()) return it->second;
    }
    if (t.merge_rank_text.empty()) return -1;
    key.assign(text.substr(a.off, a.len));
    key += ' ';
    key.append(text.substr(b.off, b.len));
    auto it = t.merge_rank_text.find(key);
    return it == t.merge_rank_text.end() ? -1 : it->second;
  };
  auto try_add = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    int32_t rank = rank_of(sym[l], sym[r]);
    if (rank >= 0) queue.push(Pair{rank, l, r, sym[l].len, sym[r].len});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    Pair p = queue.top();
    queue.pop();
    Symbol& l = sym[p.left];
    Symbol& r = sym[p.right];
    if (l.len != p.left_len || r.len != p.right_len || l.next != p.right) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.id = Lookup(t, text.substr(l.off, l.len));
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = p.left;
    try_add(l.prev, p.left);
    try_add(p.left, l.next);
  }

  for (int i = 0; i != -1; i = sym[i].next) {
    if (sym[i].id >= 0) out->push_back(sym[i].id);
    else AppendByteFallback(v, t, text.substr(sym[i].off, sym[i].len), out);
  }
}

}  // namespace

void BuildMergeRanks(const Vocab& v, TokenizerTables* t) {
  t->merge_rank.clear();
  t->merge_rank.reserve(v.merges.size());
  t->merge_rank_text.clear();
  for (size_t r = 0; r < v.merges.size(); ++r) {
    const std::string& m = v.merges[r];
    size_t sp = m.find(' ', 1);  // ValidateVocab guarantees a split point
    std::string_view a = std::string_view(m).substr(0, sp);
    std::string_view b = std::string_view(m).substr(sp + 1);
    int32_t ia = Lookup(*t, a), ib = Lookup(*t, b);
    int32_t rank = static_cast<int32_t>(r);
    if (ia >= 0 && ib >= 0) {
      // The first (lowest) rank wins for a repeated pair, as in llama.cpp's bpe_ranks.emplace.
      t->merge_rank.emplace((static_cast<uint64_t>(ia) << 32) | static_cast<uint32_t>(ib), rank);
    } else {
      t->merge_rank_text.emplace(m, rank);
    }
  }
}

void EncodeGemma4Bpe(const Vocab& v, const TokenizerTables& t, std::string_view raw,
                     std::vector<int32_t>* out) {
  std::string text = EscapeSpaces(raw);
  std::string_view s = text;
  for (size_t i = 0; i < s.size();) {
    bool newline = s[i] == '\n';
    size_t j = i;
    while (j < s.size() && (s[j] == '\n') == newline) ++j;
    std::string_view piece = s.substr(i, j - i);
    int32_t whole = newline ? Lookup(t, piece) : -1;
    if (whole >= 0) out->push_back(whole);
    else BpePiece(v, t, piece, out);
    i = j;
  }
}

}  // namespace hearth::tokenizer
