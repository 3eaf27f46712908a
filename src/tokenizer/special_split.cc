// Special-token splitting (gemma-gguf-spec.md §8): the literal text of every CONTROL,
// USER_DEFINED or UNKNOWN token becomes that single token, longest token text first, each token
// splitting every remaining raw fragment at all its leftmost non-overlapping occurrences. A byte
// trie first finds which special texts occur at all, so only those few take part in the
// longest-first passes (6,415 special tokens in Gemma 3; a plain scan per token would be slow).
#include <algorithm>

#include "tokenizer/tables.h"

namespace hearth::tokenizer {
namespace {

bool IsSpecialType(TokenType t) {
  return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
}

// llama.cpp skips CONTROL/UNKNOWN-attributed tokens unless parse_special, even when they are also
// USER_DEFINED (an EOG token that was USER_DEFINED, like Gemma 3's "</s>").
bool Eligible(uint8_t attr, bool parse_special) {
  if (attr & (kAttrControl | kAttrUnknown)) return parse_special;
  return (attr & kAttrUserDefined) != 0;
}

}  // namespace

void BuildSpecialTrie(const Vocab& v, TokenizerTables* t) {
  t->trie_edges.clear();
  t->trie_token.assign(1, -1);
  for (int32_t id = 0; id < v.size(); ++id) {
    if (!IsSpecialType(v.types[id]) || v.tokens[id].empty()) continue;
    int32_t node = 0;
    for (unsigned char c : v.tokens[id]) {
      uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
      auto it = t->trie_edges.find(key);
      if (it == t->trie_edges.end()) {
        int32_t child = static_cast<int32_t>(t->trie_token.size());
        t->trie_token.push_back(-1);
        it = t->trie_edges.emplace(key, child).first;
      }
      node = it->second;
    }
    t->trie_token[node] = id;  // duplicate texts: the last id wins, as in token_to_id
  }
}

std::vector<Fragment> SplitSpecial(const Vocab& v, const TokenizerTables& t, std::string_view text,
                                   bool parse_special) {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back(Fragment{-1, 0, text.size()});
  if (t.trie_token.size() <= 1) return frags;

  // Which eligible special tokens occur anywhere in the text?
  std::vector<int32_t> found;
  for (size_t i = 0; i < text.size(); ++i) {
    int32_t node = 0;
    for (size_t j = i; j < text.size(); ++j) {
      uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[j]);
      auto it = t.trie_edges.find(key);
      if (it == t.trie_edges.end()) break;
      node = it->second;
      int32_t id = t.trie_token[node];
      if (id >= 0 && Eligible(t.attrs[id], parse_special)) found.push_back(id);
    }
  }
  if (found.empty()) return frags;
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  std::stable_sort(found.begin(), found.end(), [&](int32_t a, int32_t b) {
    return v.tokens[a].size() > v.tokens[b].size();
  });

  std::vector<Fragment> next;
  for (int32_t id : found) {
    const std::string& needle = v.tokens[id];
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      std::string_view raw = text.substr(f.off, f.len);
      size_t base = 0;
      while (base < raw.size()) {
        size_t m = raw.find(needle, base);
        if (m == std::string_view::npos) break;
        if (m > base) next.push_back(Fragment{-1, f.off + base, m - base});
        next.push_back(Fragment{id, f.off + m, needle.size()});
        base = m + needle.size();
      }
      if (base < raw.size()) next.push_back(Fragment{-1, f.off + base, raw.size() - base});
    }
    frags.swap(next);
  }
  return frags;
}

}  // namespace hearth::tokenizer
